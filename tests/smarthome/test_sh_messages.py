"""App users' devices reach the message service of every project their app is linked to, and only those: a
command through one linked project is reported on both projects' topics; after an unlink, the unlinked project
stops receiving; a project the app was never linked to receives nothing."""

from __future__ import annotations

from support.custom import ok
from support.pulsar import PulsarConsumer
from support.server import CloudServer
from support.signed import SignedClient
from support.smarthome import add_home_device, create_home, link, smart_home_project, sync_user


def _switch(c: SignedClient, device_id: str, on: bool) -> None:
    ok(c.post(f"/v1.0/devices/{device_id}/commands", {"commands": [{"code": "switch_led", "value": on}]}))


def _consumer(cloud: CloudServer, project: dict[str, str]) -> PulsarConsumer:
    return PulsarConsumer(cloud.port, project["access_id"], project["access_secret"], auto_ack=True).connect()


def test_linked_projects_receive_app_users_device_messages(cloud: CloudServer) -> None:
    sh = smart_home_project(cloud, name="First linked")
    second = cloud.create_project(name="Second linked", region="us", method="smart_home")
    outsider = cloud.create_project(name="Never linked", region="us", method="smart_home")
    ok(link(cloud, sh.schema, second["access_id"]))
    uid = sync_user(sh.client, sh.schema, "messages@example.com")
    home = create_home(sh.client, uid)
    with _consumer(cloud, sh.project) as first_c, _consumer(cloud, second) as second_c, \
            _consumer(cloud, outsider) as outsider_c:
        lamp = add_home_device(cloud, sh.project["access_id"], uid, home, "dj")["id"]
        for consumer in (first_c, second_c):
            added = consumer.get()
            assert added.protocol == 20 and added.device_id == lamp

        _switch(sh.client, lamp, True)
        for consumer in (first_c, second_c):
            report = consumer.get()
            assert report.protocol == 4 and report.device_id == lamp
            assert report.status_value("switch_led") is True

        cloud.control("DELETE", f"/apps/{sh.schema}/links/{second['access_id']}")
        _switch(sh.client, lamp, False)
        assert first_c.get().status_value("switch_led") is False
        assert second_c.quiet(0.5) == [], "an unlinked project still receives the app's messages"
        assert outsider_c.quiet(0.2) == [], "a project never linked received the app's messages"
        assert not (first_c.errors or second_c.errors or outsider_c.errors)
