"""End to end with the real tinytuya 1.20 ``Cloud`` over HTTPS under the real Tuya host names.

tinytuya only builds ``https://openapi.tuya<region>.com`` URLs. The server here serves TLS with the certificate
``tuyacloud.tlscert`` makes (its SAN names every real endpoint host); the test process trusts the generated CA
through ``REQUESTS_CA_BUNDLE`` and routes the real names to the local port by patching urllib3's
``create_connection`` (in this test process only). SNI and the Host header stay the real name, so the Host selects
the data center exactly as on the platform. Nothing of the server is patched.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import tinytuya

from support.server import CloudServer
from support.tinytuya_tls import route_tuya_hosts, start_tls
from tuyacloud.clock import Clock
from tuyacloud.tlscert import TlsFiles, ensure_certificates

DEVICES = 60  # more than tinytuya's page of 50 on /v1.0/iot-01/associated-users/devices
TOKEN_TTL_S = 7200


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return ensure_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def tls_cloud(tmp_path_factory: pytest.TempPathFactory, tls: TlsFiles) -> Iterator[CloudServer]:
    server = start_tls(tmp_path_factory.mktemp("tls-cloud"), tls, create_demo=False, usage_flush_s=0.05)
    yield server
    server.stop()


@pytest.fixture
def routed(monkeypatch: pytest.MonkeyPatch, tls: TlsFiles, tls_cloud: CloudServer) -> list[str]:
    return route_tuya_hosts(monkeypatch, tls, tls_cloud.port)


@pytest.fixture(scope="module")
def us_project(tls_cloud: CloudServer) -> dict[str, Any]:
    project = tls_cloud.create_project(name="e2e tinytuya", region="us")
    lights = tls_cloud.add_devices(project["access_id"], "dj", 1)
    plugs = tls_cloud.add_devices(project["access_id"], "cz", DEVICES - 1)
    return {"project": project, "light": lights[0], "devices": lights + plugs}


def _cloud(project: dict[str, Any], region: str = "us") -> tinytuya.Cloud:
    return tinytuya.Cloud(apiRegion=region, apiKey=project["access_id"], apiSecret=project["access_secret"])


@pytest.fixture
def cloud_api(routed: list[str], us_project: dict[str, Any]) -> tinytuya.Cloud:
    c = _cloud(us_project["project"])
    assert c.error is None, c.error
    assert c.token and len(c.token) == 32
    return c


def _status(c: tinytuya.Cloud, device_id: str) -> dict[str, Any]:
    response = c.getstatus(device_id)
    assert response.get("success") is True, response
    return {s["code"]: s["value"] for s in response["result"]}


def test_connects_over_https_to_the_real_host_name(routed: list[str], us_project: dict[str, Any]) -> None:
    c = _cloud(us_project["project"])
    assert c.error is None and c.token and len(c.token) == 32
    assert routed and set(routed) == {"openapi.tuyaus.com"}
    # tinytuya derives a clock offset from the response ``t``: ours is the wall clock.
    assert c.server_time_offset == 0


def _usage(server: CloudServer, access_id: str) -> dict[str, int]:
    return {row["api"]: row["calls"] for row in server.control("GET", f"/projects/{access_id}/usage")}


def _usage_after(server: CloudServer, access_id: str, before: dict[str, int],
                 expected: dict[str, int]) -> dict[str, int]:
    """The calls per API since ``before``, once the server's usage flush has caught up with ``expected``."""
    deadline = time.monotonic() + 10
    while True:
        now = _usage(server, access_id)
        delta = {api: now.get(api, 0) - before.get(api, 0) for api in expected}
        if delta == expected or time.monotonic() > deadline:
            return delta
        time.sleep(0.05)


def test_getdevices_lists_every_device_with_its_local_key(cloud_api: tinytuya.Cloud, tls_cloud: CloudServer,
                                                          us_project: dict[str, Any]) -> None:
    access_id = us_project["project"]["access_id"]
    before = _usage(tls_cloud, access_id)
    listed = cloud_api.getdevices()
    assert isinstance(listed, list), listed
    by_id = {d["id"]: d for d in listed}
    expected = {d["id"]: d for d in us_project["devices"]}
    assert set(by_id) == set(expected) and len(listed) == DEVICES
    for device_id, device in expected.items():
        got = by_id[device_id]
        assert got["key"] == device["local_key"]
        assert got["name"] == device["name"]
        assert got["category"] == device["category"] and got["product_id"] == device["product_id"]
        assert got["uuid"] == device["uuid"]  # from /v1.0/devices/factory-infos
        assert got["icon"].startswith("https://images.tuyaus.com/")
        assert "node_id" in got  # merged in from the per-user /v1.3/iot-03/devices pass
    # The three APIs tinytuya walks: 60 devices = 2 pages of 50 linked-user devices, 1 page of 75 per user,
    # and factory infos in chunks of 50 ids.
    expected = {"GET /v1.0/iot-01/associated-users/devices": 2, "GET /v1.3/iot-03/devices": 1,
                "GET /v1.0/devices/factory-infos": 2}
    assert _usage_after(tls_cloud, access_id, before, expected) == expected
    raw = cloud_api.getdevices(verbose=True)
    # 60 devices at tinytuya's 50 per page: two fetches following last_row_key/has_more.
    assert raw["fetches"] == 2 and raw["total"] == DEVICES


def test_status_functions_properties_and_dps(cloud_api: tinytuya.Cloud, us_project: dict[str, Any]) -> None:
    light = us_project["light"]["id"]
    status = _status(cloud_api, light)
    assert isinstance(status["switch_led"], bool)
    functions = cloud_api.getfunctions(light)
    assert functions["success"] is True and functions["result"]["category"] == "dj"
    function_codes = {f["code"] for f in functions["result"]["functions"]}
    assert {"switch_led", "bright_value_v2"} <= function_codes
    properties = cloud_api.getproperties(light)
    assert properties["success"] is True
    assert {f["code"] for f in properties["result"]["functions"]} == function_codes
    assert set(status) <= {s["code"] for s in properties["result"]["status"]} | function_codes
    dps = cloud_api.getdps(light)
    assert dps["success"] is True
    dp_ids = {f["code"]: f["dp_id"] for f in dps["result"]["functions"]}
    assert set(dp_ids) == function_codes and all(isinstance(v, int) and v > 0 for v in dp_ids.values())


def test_sendcommand_changes_the_status(cloud_api: tinytuya.Cloud, us_project: dict[str, Any]) -> None:
    light = us_project["light"]["id"]
    before = _status(cloud_api, light)
    target = not before["switch_led"]
    # tinytuya POSTs with Signature-Headers: Content-type (a signed header).
    sent = cloud_api.sendcommand(light, {"commands": [{"code": "switch_led", "value": target},
                                                      {"code": "bright_value_v2", "value": 555}]})
    assert sent.get("success") is True and sent["result"] is True, sent
    after = _status(cloud_api, light)
    assert after["switch_led"] is target and after["bright_value_v2"] == 555
    refused = cloud_api.sendcommand(light, {"commands": [{"code": "bright_value_v2", "value": "bright"}]})
    # tinytuya shows the platform's exact text (ours is in the envelope's ``detail``, which tinytuya does not show)
    assert refused.get("Payload") == "Error from Tuya Cloud: 'command or value not support'", refused
    assert _status(cloud_api, light) == after


def test_invalid_token_is_renewed_transparently(cloud_api: tinytuya.Cloud, us_project: dict[str, Any]) -> None:
    light = us_project["light"]["id"]
    cloud_api.token = "0" * 32  # the server never issued it: 1010 "token invalid"
    status = _status(cloud_api, light)  # tinytuya sees "token invalid", gets a token, retries once
    assert "switch_led" in status
    assert cloud_api.token not in (None, "0" * 32) and len(cloud_api.token) == 32
    assert _status(cloud_api, light) == status


@pytest.fixture
def tls_clocked(tmp_path: Path, tls: TlsFiles) -> Iterator[CloudServer]:
    server = start_tls(tmp_path, tls, clock=Clock(), create_demo=False, simulator=False)
    yield server
    server.stop()


def test_expired_token_is_renewed_transparently(tls_clocked: CloudServer, tls: TlsFiles,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Two hours pass for both sides: tinytuya keeps its token until refused, then renews it and retries."""
    route_tuya_hosts(monkeypatch, tls, tls_clocked.port)
    project = tls_clocked.create_project(name="expiry", region="us")
    plug = tls_clocked.add_devices(project["access_id"], "cz")[0]["id"]
    c = _cloud(project)
    old = c.token
    assert old and _status(c, plug)["switch_1"] is False
    elapsed = TOKEN_TTL_S + 300
    tls_clocked.clock.step(elapsed * 1000)
    monkeypatch.setattr(sys.modules["tinytuya.Cloud"], "time", SimpleNamespace(time=lambda: time.time() + elapsed))
    sent = c.sendcommand(plug, {"commands": [{"code": "switch_1", "value": True}]})
    assert sent.get("success") is True, sent
    assert c.token not in (None, old)
    assert _status(c, plug)["switch_1"] is True


def test_refusals_reach_tinytuya_with_the_platform_text(cloud_api: tinytuya.Cloud) -> None:
    """tinytuya compares and shows ``msg``: it is the platform's exact text, our explanation is in ``detail``."""
    missing = "vdevo0000000000000000"
    raw = cloud_api.cloudrequest(f"/v1.0/devices/{missing}/specifications")
    assert (raw["success"], raw["code"], raw["msg"]) == (False, 2010, "device not exist"), raw
    assert missing in raw["detail"]
    shown = cloud_api.getdps(missing)
    assert shown["Payload"] == "Error from Tuya Cloud: 'device not exist'", shown


def test_project_of_another_data_center_is_refused_with_1106(routed: list[str], tls_cloud: CloudServer) -> None:
    project = tls_cloud.create_project(name="e2e tinytuya eu", region="eu")
    plug = tls_cloud.add_devices(project["access_id"], "cz")[0]["id"]
    at_us = _cloud(project, "us")
    assert at_us.token is None
    assert at_us.error is not None and "permission deny" in at_us.error["Payload"]
    raw = at_us._tuyaplatform("token?grant_type=1")  # what tinytuya received, with its code
    assert (raw["success"], raw["code"]) == (False, 1106)
    assert "eu data center" in raw["detail"] and "openapi.tuyaeu.com" in raw["detail"], raw
    # The same credentials at the project's own data center work.
    at_eu = _cloud(project, "eu")
    assert at_eu.error is None and at_eu.token
    assert "switch_1" in _status(at_eu, plug)
    assert routed[-1] == "openapi.tuyaeu.com"
