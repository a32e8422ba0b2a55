"""Quotas are off by default: a server run without ``--quotas`` limits nothing (no monthly count, no frequency limit,
no device cap), and a project given a plan of its own through the control API is limited on that same server."""

from __future__ import annotations

from typing import Any

from tuya_connector import TuyaOpenAPI

from support.server import ADMIN_TOKEN, CloudServer
from tuyacloud.testing.control import ControlClient


def _connected(cloud: CloudServer, project: dict[str, Any]) -> TuyaOpenAPI:
    api = TuyaOpenAPI(cloud.url, project["access_id"], project["access_secret"])
    assert api.connect()["success"]
    return api


def test_off_by_default_nothing_is_limited(cloud: CloudServer) -> None:
    with ControlClient(cloud.url, ADMIN_TOKEN) as control:
        project = control.create_project("No limits")
        devices = control.add_devices(project["access_id"], "dj", 51)  # over the trial's cap of 50
        light = devices[0]["id"]
        api = _connected(cloud, project)
        control.freeze()
        try:  # ten property issues in one second of the cloud's clock: the trial allows four
            answers = [api.post(f"/v2.0/cloud/thing/{light}/shadow/properties/issue",
                                {"properties": '{"switch_led": true}'}) for _ in range(10)]
        finally:
            control.unfreeze()
        assert all(a["success"] for a in answers), answers
        view = control.quotas(project["access_id"])
    assert view["enabled"] is False and view["plan"] == "off" and view["server_plan"] == "off"
    assert view["calls"]["limit"] is None and view["devices"] == {"used": 51, "limit": None, "remaining": None}
    assert view["refused"] == {"quota": 0, "frequency": 0, "devices": 0}


def test_a_project_given_the_trial_plan_is_limited_on_a_server_without_quotas(cloud: CloudServer) -> None:
    with ControlClient(cloud.url, ADMIN_TOKEN) as control:
        limited, free = control.create_project("Trial here"), control.create_project("Free")
        view = control.set_quotas(limited["access_id"], plan="trial", monthly_calls=5, devices=2)
        assert view["enabled"] is True and view["calls"]["limit"] == 5 and view["devices"]["limit"] == 2
        api = _connected(cloud, limited)  # 1
        answers = [api.get("/v1.0/iot-03/devices") for _ in range(6)]
        assert [a["success"] for a in answers] == [True] * 4 + [False] * 2
        assert answers[4]["code"] == 28841004
        free_api = _connected(cloud, free)
        assert all(free_api.get("/v1.0/iot-03/devices")["success"] for _ in range(10))
        # Back to the plan's figure (null), then back to the server's plan: no limits again.
        assert control.set_quotas(limited["access_id"], monthly_calls=None)["calls"]["limit"] == 53_909
        assert control.set_quotas(limited["access_id"], plan="default")["enabled"] is False
        assert api.get("/v1.0/iot-03/devices")["success"]
