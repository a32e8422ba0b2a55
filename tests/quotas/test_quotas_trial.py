"""Quotas reached and reset, through tuya-connector-python over HTTP against a server run with the trial's quotas
(``serve --quotas trial``, here with a monthly quota of 25 calls so a test reaches it quickly): the exact
``28841004`` text, the device cap's ``60001001``, the per-API frequency limits' ``1110`` and their recovery a
second later on the cloud's clock, the monthly count surviving a restart, and the control API's reset and month
move that a test of back-off code needs."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from tuya_connector import TuyaOpenAPI

from support.server import ADMIN_TOKEN, CloudServer
from support.smarthome import add_home_device, control, create_home, smart_home_project, sync_user
from tuyacloud.testing.control import ControlClient, ControlError

QUOTA_TEXT = "Please upgrade to the official version: Your quota of Trial Edition is used up."
MONTHLY_CALLS = 25  # the trial fixture's quota (conftest.py)
DEVICE_POOL_TEXT = "Your controllable device pool quota is insufficient."
FREQUENCY_TEXT = "concurrent request over limit"


def _connected(cloud: CloudServer, project: dict[str, Any]) -> TuyaOpenAPI:
    api = TuyaOpenAPI(cloud.url, project["access_id"], project["access_secret"])
    assert api.connect()["success"]
    return api


def _calls_until_refused(api: TuyaOpenAPI, path: str, most: int) -> tuple[int, dict[str, Any]]:
    """How many calls succeed before the first refusal, and that refusal."""
    for done in range(most):
        answer = api.get(path)
        if not answer["success"]:
            return done, answer
    raise AssertionError(f"no refusal within {most} calls")


def test_the_monthly_quota_is_used_up_with_the_platform_text_and_reset(
        trial: CloudServer, trial_control: ControlClient) -> None:
    project = trial_control.create_project("Quota reached")
    light = trial_control.add_devices(project["access_id"], "dj")[0]["id"]
    api = _connected(trial, project)  # the token call counts too
    done, refused = _calls_until_refused(api, f"/v1.0/iot-03/devices/{light}/status", MONTHLY_CALLS + 5)
    assert done == MONTHLY_CALLS - 1, done
    assert (refused["code"], refused["msg"]) == (28841004, QUOTA_TEXT), refused
    assert "25 API calls" in refused["detail"], refused
    assert list(refused)[:5] == ["code", "msg", "success", "t", "tid"]
    # Every API is refused, the token call included (a client cannot reconnect its way out).
    fresh = TuyaOpenAPI(trial.url, project["access_id"], project["access_secret"])
    assert fresh.connect()["code"] == 28841004
    status = trial_control.quotas(project["access_id"])
    assert status["plan"] == "trial" and status["suspended"] is True
    assert status["calls"] == {"used": MONTHLY_CALLS, "limit": MONTHLY_CALLS, "remaining": 0}
    assert status["refused"]["quota"] >= 2

    after = trial_control.reset_quotas(project["access_id"])
    assert after["calls"]["used"] == 0 and after["suspended"] is False
    assert api.get(f"/v1.0/iot-03/devices/{light}/status")["success"]
    assert trial_control.quotas(project["access_id"])["calls"]["used"] == 1


def test_moving_to_the_next_month_lifts_the_quota(trial: CloudServer, trial_control: ControlClient) -> None:
    project = trial_control.create_project("Next month")
    api = _connected(trial, project)
    done, refused = _calls_until_refused(api, "/v1.0/iot-03/devices", MONTHLY_CALLS + 5)
    assert refused["code"] == 28841004
    before = trial_control.quotas(project["access_id"])["period"]
    moved = trial_control.next_quota_month(project["access_id"])
    assert moved["period"] != before and moved["month_offset"] == 1
    assert moved["calls"]["used"] == 0
    assert api.get("/v1.0/iot-03/devices")["success"]


def test_another_project_is_not_affected(trial: CloudServer, trial_control: ControlClient) -> None:
    spent, other = trial_control.create_project("Spent"), trial_control.create_project("Untouched")
    _calls_until_refused(_connected(trial, spent), "/v1.0/iot-03/devices", MONTHLY_CALLS + 5)
    assert _connected(trial, other).get("/v1.0/iot-03/devices")["success"]


def test_a_burst_over_the_frequency_limit_answers_1110_and_recovers_a_second_later(
        trial: CloudServer, trial_control: ControlClient) -> None:
    project = trial_control.create_project("Burst")
    trial_control.set_quotas(project["access_id"], monthly_calls=1000)
    light = trial_control.add_devices(project["access_id"], "dj")[0]["id"]
    api = _connected(trial, project)
    issue = f"/v2.0/cloud/thing/{light}/shadow/properties/issue"
    body = {"properties": '{"switch_led": true}'}
    trial_control.freeze()  # one second of the cloud's clock for the whole burst
    try:
        answers = [api.post(issue, body) for _ in range(6)]
        assert [a["success"] for a in answers] == [True] * 4 + [False] * 2, answers
        refused = answers[4]
        assert (refused["code"], refused["msg"]) == (1110, FREQUENCY_TEXT), refused
        assert "4 calls per second" in refused["detail"]
        # Another API has its own window (shadow get: 50 a second).
        gets = [api.get(f"/v2.0/cloud/thing/{light}/shadow/properties") for _ in range(50)]
        assert all(g["success"] for g in gets)
        assert api.get(f"/v2.0/cloud/thing/{light}/shadow/properties")["code"] == 1110
        trial_control.step(ms=1000)  # the next second
        assert api.post(issue, body)["success"]
    finally:
        trial_control.unfreeze()
    status = trial_control.quotas(project["access_id"])
    assert status["refused"]["frequency"] == 3
    assert status["frequency_limits"]["POST /v2.0/cloud/thing/{device_id}/shadow/properties/issue"] == 4
    # Refused calls are not counted against the month: 1 token + 4 + 50 + 1 accepted.
    assert status["calls"]["used"] == 56


def test_the_thing_model_is_limited_to_ten_a_second(trial: CloudServer, trial_control: ControlClient) -> None:
    project = trial_control.create_project("Model")
    light = trial_control.add_devices(project["access_id"], "dj")[0]["id"]
    api = _connected(trial, project)
    trial_control.freeze()
    try:
        codes = [api.get(f"/v2.0/cloud/thing/{light}/model").get("code") for _ in range(11)]
    finally:
        trial_control.unfreeze()
    assert codes == [None] * 10 + [1110], codes


def test_the_fifty_first_device_is_refused(trial: CloudServer, trial_control: ControlClient) -> None:
    project = trial_control.create_project("Device cap")
    access_id = project["access_id"]
    trial_control.add_devices(access_id, "cz", 49)
    with pytest.raises(ControlError) as too_many:  # two at once would make 51: none is added
        trial_control.add_devices(access_id, "cz", 2)
    assert (too_many.value.code, too_many.value.msg) == (60001001, DEVICE_POOL_TEXT)
    assert "49 of its 50 devices" in too_many.value.detail
    trial_control.add_devices(access_id, "cz")  # the fiftieth
    with pytest.raises(ControlError) as refused:
        trial_control.add_devices(access_id, "dj")
    assert refused.value.code == 60001001
    # Pairing is refused the same way: the phone's token works, the device cannot join.
    api = _connected(trial, project)
    token = api.post("/v1.0/iot-03/device-registration/token", {"pairing_type": "EZ", "time_zone_id": "Europe/Berlin"})
    assert token["success"], token
    with pytest.raises(ControlError) as paired:
        trial_control.call("POST", f"/registration/{token['result']['token']}/pair", {"category": "cz"})
    assert paired.value.code == 60001001
    status = trial_control.quotas(access_id)
    assert status["devices"] == {"used": 50, "limit": 50, "remaining": 0}
    assert status["refused"]["devices"] == 3


def test_a_project_plan_overrides_the_server(trial: CloudServer, trial_control: ControlClient) -> None:
    project = trial_control.create_project("Unlimited here")
    view = trial_control.set_quotas(project["access_id"], plan="off")
    assert view["enabled"] is False and view["project_plan"] == "off" and view["server_plan"] == "trial"
    api = _connected(trial, project)
    assert all(api.get("/v1.0/iot-03/devices")["success"] for _ in range(MONTHLY_CALLS + 5))
    with pytest.raises(ControlError) as bad:
        trial_control.set_quotas(project["access_id"], plan="gold")
    assert bad.value.code == 1109


@pytest.mark.parametrize(("settings", "says"), [
    ({"plan": "trial", "devices": True}, "devices must be an integer >= 0"),
    ({"plan": "trial", "monthly_calls": "20"}, "monthly_calls must be an integer >= 0"),
    ({"plan": "trial", "monthly_messages": -1}, "monthly_messages must be an integer >= 0"),
    ({"plan": 7}, "plan must be one of"),
])
def test_a_quota_setting_of_the_wrong_type_is_refused_whole(trial: CloudServer, trial_control: ControlClient,
                                                            settings: dict[str, Any], says: str) -> None:
    """The control API checks the JSON types before the domain sees them (a boolean is not a figure): 1109 with the
    rule, and nothing of the change is kept (the plan given beside the bad figure neither)."""
    project = trial_control.create_project("Typed quotas")
    with pytest.raises(ControlError) as bad:
        trial_control.set_quotas(project["access_id"], **settings)
    assert bad.value.code == 1109 and says in bad.value.detail, bad.value
    assert trial_control.quotas(project["access_id"])["project_plan"] is None
    with pytest.raises(ControlError) as months:
        trial_control.call("POST", f"/projects/{project['access_id']}/quotas/month", {"months": "1"})
    assert months.value.code == 1109 and "months must be an integer" in months.value.detail


def test_the_months_count_survives_a_restart(tmp_path: Path) -> None:
    first = CloudServer(tmp_path, quotas="trial", quota_calls=10, simulator=False).start()
    try:
        project = first.create_project("Restarted")
        api = _connected(first, project)  # 1
        for _ in range(5):  # 6
            assert api.get("/v1.0/iot-03/devices")["success"]
    finally:
        first.stop()  # the last counts are written on the way down
    second = CloudServer(tmp_path, database_url=first.settings.database_url, quotas="trial", quota_calls=10,
                         simulator=False).start()
    try:
        api = _connected(second, project)  # 7
        done, refused = _calls_until_refused(api, "/v1.0/iot-03/devices", 10)
        assert done == 3 and refused["code"] == 28841004, (done, refused)
    finally:
        second.stop()


def test_app_users_devices_count_against_a_smart_home_projects_cap(trial: CloudServer,
                                                                   trial_control: ControlClient) -> None:
    home_project = smart_home_project(trial, "Smart home cap")
    access_id = home_project.project["access_id"]
    trial_control.set_quotas(access_id, devices=2, monthly_calls=1000)
    uid = sync_user(home_project.client, home_project.schema, "cap-user@example.com")
    home = create_home(home_project.client, uid)
    add_home_device(trial, access_id, uid, home)
    add_home_device(trial, access_id, uid, home)
    refused = control(trial, "POST", f"/projects/{access_id}/devices", {"category": "dj", "user": uid,
                                                                        "home_id": home})
    assert (refused["code"], refused["msg"]) == (60001001, DEVICE_POOL_TEXT), refused
    assert trial_control.quotas(access_id)["devices"] == {"used": 2, "limit": 2, "remaining": 0}


def test_concurrent_creations_never_pass_the_device_cap(tmp_path: Path) -> None:
    """Twelve creations at once, through two server processes' stores on one database, for the last three places
    under a cap of four: exactly three get in (each read the count before any of the others had committed)."""
    first = CloudServer(tmp_path, quotas="trial", simulator=False).start()
    second: CloudServer | None = None
    try:
        project = first.create_project("Racing the cap")
        access_id = project["access_id"]
        first.add_devices(access_id, "cz")  # also makes the project's root asset, out of the race
        with ControlClient(first.url, ADMIN_TOKEN) as control_first:
            control_first.set_quotas(access_id, devices=4)
        second = CloudServer(tmp_path, database_url=first.settings.database_url, quotas="trial",
                             simulator=False).start()
        servers = [first, second]
        start = threading.Barrier(12)

        def create(n: int) -> int | None:
            with ControlClient(servers[n % 2].url, ADMIN_TOKEN) as control:
                control.health()  # connected before the race starts
                start.wait()
                try:
                    control.add_devices(access_id, "dj")
                except ControlError as refused:
                    return int(refused.code)
                return None

        with ThreadPoolExecutor(12) as pool:
            outcomes = list(pool.map(create, range(12)))
        assert sorted(outcomes, key=str) == [60001001] * 9 + [None] * 3, outcomes
        with ControlClient(first.url, ADMIN_TOKEN) as control_first:
            assert control_first.quotas(access_id)["devices"] == {"used": 4, "limit": 4, "remaining": 0}
    finally:
        if second is not None:
            second.stop()
        first.stop()
