"""A client's command is checked inside its unit of work, against the device the unit reads for update
(domain/devices/commands.py). What a client sees must not depend on that: each refusal keeps its code, its words and
its place in the order of checks (the device exists, is the project's, is not frozen, the command fits its
instruction set, it is online), a refused command writes nothing, and a device the project sees through a linked
app (an app user's) still takes the project's commands. Both command families and the v2.0 shadow issue go this way.
"""

from __future__ import annotations

from typing import Any

from support.custom import device_log_events, ok
from support.devapis import last_seq, messages_after, signed
from support.server import CloudServer
from support.signed import SignedClient
from support.smarthome import add_home_device, create_home, smart_home_project, sync_user

PATHS = ("/v1.0/devices/{}/commands", "/v1.0/iot-03/devices/{}/commands")
ON = {"commands": [{"code": "switch_1", "value": True}]}
UNKNOWN_CODE = {"commands": [{"code": "no_such_code", "value": True}]}
BAD_VALUE = {"commands": [{"code": "switch_1", "value": "yes"}]}


def _refusal(response: dict[str, Any]) -> tuple[int, str, str]:
    assert response["success"] is False, response
    return int(response["code"]), str(response["msg"]), str(response.get("detail", ""))


def _status(c: SignedClient, device_id: str) -> dict[str, Any]:
    return {s["code"]: s["value"] for s in ok(c.get(f"/v1.0/devices/{device_id}/status"))}



def _shadow(c: SignedClient, device_id: str, properties: dict[str, Any]) -> dict[str, Any]:
    return c.post(f"/v2.0/cloud/thing/{device_id}/shadow/properties/issue", {"properties": properties})


def test_refusals_keep_their_order_and_words_and_write_nothing(cloud: CloudServer) -> None:
    project = cloud.create_project(name="command checks")
    stranger = cloud.create_project(name="command checks stranger")
    aid = project["access_id"]
    c = signed(cloud, project)
    plug = cloud.add_devices(aid, "cz")[0]["id"]
    foreign = cloud.add_devices(stranger["access_id"], "cz")[0]["id"]
    before, status_before, logs_before = last_seq(cloud, aid), _status(c, plug), device_log_events(c, plug)

    for path in PATHS:
        assert _refusal(c.post(path.format("vdevo_no_such_device"), ON)) == (
            2010, "device not exist", "device 'vdevo_no_such_device' does not exist")
        assert _refusal(c.post(path.format(foreign), UNKNOWN_CODE))[:3] == (
            1106, "permission deny", "the device is not linked to this project")
        code, msg, detail = _refusal(c.post(path.format(plug), UNKNOWN_CODE))
        assert (code, msg) == (2008, "command or value not support") and "no_such_code" in detail
        assert _refusal(c.post(path.format(plug), BAD_VALUE))[:2] == (2008, "command or value not support")
        assert _refusal(c.post(path.format(plug), {"commands": []}))[:2] == (1100, "param is empty")
    assert _refusal(_shadow(c, "vdevo_no_such_device", {"switch_1": True}))[0] == 2010
    assert _refusal(_shadow(c, plug, {"no_such_code": True}))[:2] == (2008, "command or value not support")

    # Offline: a command that does not fit is refused for that first; one that fits, for being offline.
    cloud.control("POST", f"/devices/{plug}/online", {"online": False})
    for path in PATHS:
        assert _refusal(c.post(path.format(plug), UNKNOWN_CODE))[0] == 2008
        assert _refusal(c.post(path.format(plug), ON))[:2] == (2001, "device is offline")
    assert _refusal(_shadow(c, plug, {"switch_1": True}))[:2] == (2001, "device is offline")

    # Frozen comes before both.
    ok(c.request("PUT", f"/v1.0/iot-03/devices/{plug}/freeze-state", json={"state": 1}))
    for path in PATHS:
        code, msg, detail = _refusal(c.post(path.format(plug), UNKNOWN_CODE))
        assert (code, msg) == (1106, "permission deny") and "frozen" in detail
    ok(c.request("PUT", f"/v1.0/iot-03/devices/{plug}/freeze-state", json={"state": 0}))
    cloud.control("POST", f"/devices/{plug}/online", {"online": True})

    assert _status(c, plug) == status_before
    sent = messages_after(cloud, aid, before)
    assert [m["data"].get("bizCode") for m in sent] == ["offline", "online"]  # the online changes, nothing else
    assert [log for log in device_log_events(c, plug) if log not in logs_before] == [(1, ""), (2, "")]

    # And then it obeys, through each way in.
    assert ok(c.post(PATHS[0].format(plug), ON)) is True
    assert _status(c, plug)["switch_1"] is True
    assert ok(c.post(PATHS[1].format(plug), {"commands": [{"code": "switch_1", "value": False}]})) is True
    assert ok(_shadow(c, plug, {"switch_1": True})) is not None
    assert _status(c, plug)["switch_1"] is True
    reports = [m for m in messages_after(cloud, aid, before) if "bizCode" not in m["data"]]
    assert [[s["value"] for s in m["data"]["status"] if s["code"] == "switch_1"] for m in reports] == [
        [True], [False], [True]]


def test_a_linked_apps_device_takes_the_projects_commands(cloud: CloudServer) -> None:
    sh = smart_home_project(cloud, name="command checks linked")
    uid = sync_user(sh.client, sh.schema, "command-checks@example.com")
    home = create_home(sh.client, uid)
    plug = add_home_device(cloud, sh.project["access_id"], uid, home, category="cz")
    stored = cloud.in_domain(lambda ctx: ctx.store.get_device(plug["id"], sh.project.get("region", "us")))
    assert stored is not None and stored.access_id != sh.project["access_id"]  # the app's, seen through the link
    before = last_seq(cloud, sh.project["access_id"])

    for value, path in ((True, PATHS[0]), (False, PATHS[1])):
        assert ok(sh.client.post(path.format(plug["id"]), {"commands": [{"code": "switch_1", "value": value}]}))
        assert _status(sh.client, plug["id"])["switch_1"] is value
    code, msg, detail = _refusal(sh.client.post(PATHS[0].format(plug["id"]), UNKNOWN_CODE))
    assert (code, msg) == (2008, "command or value not support") and "no_such_code" in detail
    sent = messages_after(cloud, sh.project["access_id"], before)
    assert [[s["value"] for s in m["data"]["status"] if s["code"] == "switch_1"] for m in sent] == [[True], [False]]
