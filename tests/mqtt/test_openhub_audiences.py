"""Who receives what when many links are connected: the channel finds a message's links through an index of what
each link's token sees (by asset or home, and by owner), not by asking every link. These tests change what a
token sees while its link stays connected (a grant, a new home member, a member removed, a device removed, a
credential revoked or expired) and check that every link then gets exactly the events of the devices it may see.

To prove that a link did *not* get an event, each check sends the events it must not get first and one it must
get last: a link's messages arrive in commit order, so once that last one is there, nothing before it is on its
way any more."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.custom import ok
from support.openhub import SMART_HOME_PATH, Site, Subscriber, eventually, get_config, make_site, mqtt_server
from support.server import CloudServer
from support.smarthome import add_home_device, create_home, smart_home_project, sync_user, user_login

_values = itertools.count(1)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    s = mqtt_server(tmp_path_factory.mktemp("audiences"), simulator=False)
    yield s
    s.stop()


def _report(server: CloudServer, device_id: str) -> int:
    """A status report of the plug with a value never used before; returns the value."""
    value = next(_values)
    server.control("POST", f"/devices/{device_id}/report", {"status": {"countdown_1": value}})
    return value


def _values_of(sub: Subscriber, device_id: str) -> list[int]:
    return [s["value"] for s in sub.reports(device_id) if s["code"] == "countdown_1"]


def _check(server: CloudServer, links: dict[str, Subscriber], sees: dict[str, set[str]],
           devices: list[str]) -> None:
    """One report of each device, then one more of a device each link sees (its sentinel): every link must end up
    with the reports of exactly the devices in ``sees`` (those of this round)."""
    sent = {device: _report(server, device) for device in devices}
    last: dict[str, int] = {}
    for name, seen in sees.items():
        sentinel = sorted(seen)[0]
        last[name] = _report(server, sentinel)
    for name, sub in links.items():
        sentinel = sorted(sees[name])[0]
        eventually(lambda sub=sub, sentinel=sentinel, name=name: last[name] in _values_of(sub, sentinel),
                   what=f"{name}'s sentinel report")
        got = {device for device, value in sent.items() if value in _values_of(sub, device)}
        assert got == sees[name], name


def _until_seen(server: CloudServer, sub: Subscriber, device_id: str, what: str) -> None:
    """Reports of the device until one reaches the link (visibility is read again every few seconds)."""

    def reached() -> bool:
        value = _report(server, device_id)
        try:
            eventually(lambda: value in _values_of(sub, device_id), timeout=1.0)
        except AssertionError:
            return False
        return True

    eventually(reached, what=what)


def _devices(sub: Subscriber) -> set[str]:
    return {d["devId"] for d in sub.data()}


def _plug(server: CloudServer, access_id: str, asset_id: str) -> str:
    device: dict[str, Any] = server.control("POST", f"/projects/{access_id}/devices",
                                            {"category": "cz", "asset_id": asset_id})[0]
    return str(device["id"])


def test_custom_links_follow_grants_removals_and_revocation(server: CloudServer) -> None:
    site: Site = make_site(server, ("ann", "ben", "cat"))
    access_id = site.project["access_id"]
    plugs = {name: _plug(server, access_id, site.assets[name]) for name in ("ann", "ben", "cat")}
    spare = _plug(server, access_id, site.assets["cat"])
    links = {name: Subscriber(get_config(site.users[name], site.uids[name])).start().ready()
             for name in ("ann", "ben", "cat")}
    links["ben2"] = Subscriber(get_config(site.users["ben"], site.uids["ben"], link_id="tests.second")).start().ready()
    links["project"] = Subscriber(get_config(site.client, site.project["uid"])).start().ready()
    everything = set(plugs.values()) | {spare}
    try:
        sees = {"ann": {plugs["ann"]}, "ben": {plugs["ben"]}, "ben2": {plugs["ben"]},
                "cat": {plugs["cat"], spare}, "project": everything}
        _check(server, links, sees, sorted(everything))

        # ben is granted ann's asset: both of ben's links see ann's plug too, nobody else changes
        ok(site.client.post("/v1.0/iot-03/assets/actions/user-authorized",
                            {"uid": site.uids["ben"], "asset_id": site.assets["ann"]}))
        for name in ("ben", "ben2"):
            _until_seen(server, links[name], plugs["ann"], f"ann's plug at {name}'s link")
        sees["ben"] = sees["ben2"] = {plugs["ben"], plugs["ann"]}
        _check(server, links, sees, sorted(everything))

        # cat's spare plug is removed: its delete event reaches cat and the project, and then nothing of it
        ok(site.client.request("DELETE", f"/v1.0/iot-03/devices/{spare}"))
        for name in ("cat", "project"):
            eventually(lambda name=name: any(d.get("bizCode") == "delete" and d.get("devId") == spare
                                             for d in links[name].data()), what=f"the delete event at {name}'s link")
        assert not any(d.get("devId") == spare and d.get("bizCode") == "delete"
                       for name in ("ann", "ben", "ben2") for d in links[name].data())
        everything.discard(spare)
        sees["cat"], sees["project"] = {plugs["cat"]}, set(everything)
        _check(server, links, sees, sorted(everything))

        # ann is deleted: her credential is revoked and her client disconnected; ben still gets her plug's events
        ok(site.client.request("DELETE", f"/v1.0/iot-02/users/{site.uids['ann']}"))
        eventually(lambda: links["ann"].disconnects, what="the revoked link's disconnection")
        before = len(links["ann"].data())
        remaining = {name: sub for name, sub in links.items() if name != "ann"}
        _check(server, remaining, {name: sees[name] for name in remaining}, sorted(everything))
        assert len(links["ann"].data()) == before
    finally:
        for sub in links.values():
            sub.stop()


def test_home_links_follow_members_and_devices(server: CloudServer) -> None:
    sh = smart_home_project(server, name="audiences")
    access_id = sh.project["access_id"]
    uids = {name: sync_user(sh.client, sh.schema, f"{name}@example.com") for name in ("hal", "ivy", "joe")}
    homes = {name: create_home(sh.client, uids[name], f"{name}'s home") for name in ("hal", "ivy")}
    lights = {name: add_home_device(server, access_id, uids[name], homes[name], "cz")["id"] for name in ("hal", "ivy")}
    links: dict[str, Subscriber] = {}
    for name in ("hal", "ivy", "joe"):
        user = user_login(sh.client, sh.schema, f"{name}@example.com")
        links[name] = Subscriber(get_config(user, uids[name], "1.0", SMART_HOME_PATH), "1.0").start().ready()
    try:
        # joe belongs to no home yet: a report of every light, and then joe joins hal's home (shared with him)
        for device in lights.values():
            _report(server, device)
        _check(server, {k: links[k] for k in ("hal", "ivy")},
               {"hal": {lights["hal"]}, "ivy": {lights["ivy"]}}, sorted(lights.values()))
        ok(sh.client.post(f"/v1.0/homes/{homes['hal']}/members",
                          {"app_schema": sh.schema, "member": {"member_account": "joe@example.com", "admin": False}}))
        _until_seen(server, links["joe"], lights["hal"], "hal's light at joe's link")
        assert lights["ivy"] not in _devices(links["joe"])
        sees = {"hal": {lights["hal"]}, "ivy": {lights["ivy"]}, "joe": {lights["hal"]}}
        _check(server, links, sees, sorted(lights.values()))

        # a light added to ivy's home reaches ivy (its bindUser, then its reports), not hal or joe
        lamp = add_home_device(server, access_id, uids["ivy"], homes["ivy"], "cz")["id"]
        sees["ivy"] = {lights["ivy"], lamp}
        _check(server, links, sees, sorted([*lights.values(), lamp]))
        assert any(d.get("bizCode") == "bindUser" and d.get("devId") == lamp for d in links["ivy"].data())

        # joe leaves hal's home and joins ivy's: once ivy's light reaches him, both changes have been read (one
        # read of his homes), and hal's light no longer reaches him
        ok(sh.client.request("DELETE", f"/v1.0/homes/{homes['hal']}/members/{uids['joe']}"))
        ok(sh.client.post(f"/v1.0/homes/{homes['ivy']}/members",
                          {"app_schema": sh.schema, "member": {"member_account": "joe@example.com", "admin": False}}))
        _until_seen(server, links["joe"], lights["ivy"], "ivy's light at joe's link")
        sees["joe"] = {lights["ivy"], lamp}
        _check(server, links, sees, sorted([*lights.values(), lamp]))

        # ivy's lamp is removed: its delete event reaches ivy and joe (its home's members), not hal
        ok(sh.client.request("DELETE", f"/v1.0/devices/{lamp}"))
        for name in ("ivy", "joe"):
            eventually(lambda name=name: any(d.get("bizCode") == "delete" and d.get("devId") == lamp
                                             for d in links[name].data()), what=f"the lamp's delete at {name}'s link")
        sees["ivy"] = sees["joe"] = {lights["ivy"]}
        _check(server, links, sees, sorted(lights.values()))
        assert lamp not in _devices(links["hal"])
    finally:
        for sub in links.values():
            sub.stop()


def test_an_expired_link_stops_and_the_others_go_on(tmp_path: Path) -> None:
    server = mqtt_server(tmp_path, simulator=False, mqtt_link_ttl_s=300)
    try:
        site = make_site(server, ("kay", "lou"))
        access_id = site.project["access_id"]
        kay = Subscriber(get_config(site.users["kay"], site.uids["kay"])).start().ready()
        kay.client.reconnect_delay_set(30, 60)
        server.clock.step(200_000)
        lou = Subscriber(get_config(site.users["lou"], site.uids["lou"])).start().ready()
        links = {"kay": kay, "lou": lou}
        ids = {name: _plug(server, access_id, site.assets[name]) for name in links}
        try:
            _check(server, links, {name: {ids[name]} for name in links}, sorted(ids.values()))
            server.clock.step(101_000)  # kay's credential (300 s) has expired, lou's (issued 200 s later) has not
            eventually(lambda: kay.disconnects, what="the expired link's disconnection")
            before = len(kay.data())
            _check(server, {"lou": lou}, {"lou": {ids["lou"]}}, sorted(ids.values()))
            assert len(kay.data()) == before
        finally:
            kay.stop()
            lou.stop()
    finally:
        server.stop()
