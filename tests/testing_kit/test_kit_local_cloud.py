"""``tuyacloud.testing`` used directly, as code outside pytest's fixtures uses it: the context manager, several
clouds in one process, the control client's clock and its messages, and its errors."""

from __future__ import annotations

import json
import queue
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from tuya_connector import TuyaCloudPulsarTopic, TuyaOpenAPI, TuyaOpenPulsar

from support import web
from tuyacloud.testing import ControlError, LocalCloud, local_cloud


@pytest.fixture(scope="module")
def kit_cloud() -> Iterator[LocalCloud]:
    with local_cloud(simulator=False) as cloud:
        yield cloud


def test_the_context_manager_serves_then_cleans_up() -> None:
    with local_cloud() as cloud:
        data_dir, port = cloud.data_dir, cloud.port
        assert (data_dir / "tuyacloud.db").exists()
        api = TuyaOpenAPI(cloud.url, cloud.access_id, cloud.access_secret)
        assert api.connect()["success"] is True
        light = cloud.add_device("dj", name="Desk")
        assert api.get(f"/v1.0/devices/{light.id}")["result"]["name"] == "Desk"
    assert not data_dir.exists()
    with socket.socket() as s, pytest.raises(ConnectionRefusedError):  # nothing listens any more
        s.connect(("127.0.0.1", port))


def test_a_given_data_dir_is_kept(tmp_path: Path) -> None:
    with local_cloud(tmp_path / "cloud") as cloud:
        access_id = cloud.access_id
    assert (tmp_path / "cloud" / "tuyacloud.db").exists()
    with local_cloud(tmp_path / "cloud") as again:  # the same data, a new first project beside the old one
        assert access_id in [p["access_id"] for p in again.control.projects()]
        assert again.access_id != access_id


def test_clouds_in_one_process_are_separate(kit_cloud: LocalCloud) -> None:
    with local_cloud(region="eu", method="smart_home") as other:
        assert other.url != kit_cloud.url
        assert [p["access_id"] for p in other.control.projects()] == [other.access_id]
        assert (other.region, other.project.info["method"]) == ("eu", "smart_home")
        other.control.freeze(at_ms=1_700_000_000_000)
        assert other.control.now_ms() == 1_700_000_000_000
        assert kit_cloud.control.clock()["frozen"] is False


def test_the_clock_moves_what_clients_see(kit_cloud: LocalCloud) -> None:
    project = kit_cloud.new_project(name="clock")
    api = TuyaOpenAPI(kit_cloud.url, project.access_id, project.access_secret)
    try:
        frozen = kit_cloud.control.freeze()
        assert api.connect()["t"] == frozen
        assert kit_cloud.control.step(seconds=7201) == frozen + 7_201_000
        answer = api.get("/v1.0/iot-03/devices", {"page_size": 10})
        assert answer["t"] == frozen + 7_201_000
        assert (answer["success"], answer["code"]) == (False, 1010)  # the two-hour token has expired
    finally:
        kit_cloud.control.reset_clock()
    clock = kit_cloud.control.clock()
    assert clock["frozen"] is False and clock["offset_ms"] == 0


def test_messages_are_read_in_order_and_filtered(kit_cloud: LocalCloud) -> None:
    project = kit_cloud.new_project(name="messages")
    plug, light = project.add_device("cz"), project.add_device("dj")
    assert [(m.device_id, m.biz_code) for m in project.new_messages()] == [(plug.id, "bindUser"),
                                                                             (light.id, "bindUser")]
    kit_cloud.control.report(plug.id, {"switch_1": False})
    kit_cloud.control.take_offline(light.id)
    new = project.new_messages()
    assert [(m.protocol, m.device_id) for m in new] == [(4, plug.id), (20, light.id)]
    assert new[0].status == {"switch_1": False} and new[0].data["devId"] == plug.id
    assert new[1].biz_code == "offline"
    assert project.new_messages() == []
    assert [m.seq for m in project.messages(device_id=light.id)] == [new[1].seq - 2, new[1].seq]
    assert project.messages(protocol=4) == [new[0]]
    assert project.wait_for_message(lambda m: m.biz_code == "offline").device_id == light.id
    with pytest.raises(TimeoutError):
        project.wait_for_message(lambda m: m.biz_code == "online", timeout=0.2)


def test_the_messages_endpoint_pages_and_refuses_bad_input(kit_cloud: LocalCloud) -> None:
    project = kit_cloud.new_project(name="pages")
    project.add_devices("dj", count=3)
    control = kit_cloud.control
    every = control.messages(project.access_id)
    assert len(every) == 3 and sorted(m["seq"] for m in every) == [m["seq"] for m in every]
    assert control.messages(project.access_id, after=every[0]["seq"], limit=1) == [every[1]]
    for params in ({"limit": 0}, {"limit": 1001}, {"after": -1}, {"after": "x"}):
        with pytest.raises(ControlError) as refused:
            control.call("GET", f"/projects/{project.access_id}/messages", params=params)
        assert refused.value.code == 1109, params
    with pytest.raises(ControlError) as unknown:
        control.messages("no-such-project")
    assert unknown.value.code == 1005  # clientId invalid
    answer = web.get(f"{kit_cloud.url}/_tuyacloud/projects/{project.access_id}/messages").json()
    assert (answer["success"], answer["code"]) == (False, 1106)  # no admin token


def test_server_settings_pass_through() -> None:
    with local_cloud(timestamp_window_s=900, simulator=False) as cloud:
        api = TuyaOpenAPI(cloud.url, cloud.access_id, cloud.access_secret)
        assert api.connect()["success"] is True
        cloud.control.step(seconds=901)  # the client's clock did not move: its signatures look 15 minutes old
        answer = api.get("/v1.0/iot-03/devices", {"page_size": 10})
        assert (answer["success"], answer["code"]) == (False, 1013)


def test_unknown_settings_are_refused() -> None:
    with pytest.raises(TypeError, match="token_tll_s"):
        LocalCloud(token_tll_s=60)


def test_a_cloud_that_cannot_start_says_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "tuyacloud.db").write_text("not a database")
    with pytest.raises(RuntimeError, match="did not start"):
        LocalCloud(tmp_path).start()
    assert "file is not a database" in caplog.text  # uvicorn's log of the failed start-up, captured by pytest


def test_bad_settings_leave_nothing_behind() -> None:
    threads = set(threading.enumerate())
    cloud = LocalCloud(region="mars")
    with pytest.raises(ValueError, match="unknown region 'mars'"):
        cloud.start()
    assert not cloud.data_dir.exists()
    assert set(threading.enumerate()) <= threads


def test_a_project_the_cloud_refuses_is_a_control_error(kit_cloud: LocalCloud) -> None:
    with pytest.raises(ControlError) as refused:
        kit_cloud.new_project(region="mars")
    assert refused.value.code == 1109 and "mars" in refused.value.detail


def test_a_script_outside_pytest(tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent('''
        from tuya_connector import TuyaCloudPulsarTopic, TuyaOpenAPI, TuyaOpenPulsar
        from tuyacloud.testing import local_cloud

        with local_cloud() as cloud:
            plug = cloud.add_device("cz")
            api = TuyaOpenAPI(cloud.url, cloud.access_id, cloud.access_secret)
            api.connect()
            api.post(f"/v1.0/devices/{plug.id}/commands", {"commands": [{"code": "switch_1", "value": False}]})
            print(cloud.wait_for_message(device_id=plug.id, protocol=4).status)
    '''))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "{'switch_1': False}"


def test_messages_read_are_what_a_pulsar_consumer_receives(kit_cloud: LocalCloud) -> None:
    project = kit_cloud.new_project(name="pulsar")
    plug = project.add_device("cz")
    kit_cloud.control.report(plug.id, switch_1=False)
    received: queue.Queue[str] = queue.Queue()
    pulsar = TuyaOpenPulsar(project.access_id, project.access_secret, project.pulsar_url, TuyaCloudPulsarTopic.PROD)
    pulsar.daemon = True
    pulsar.add_message_listener(received.put)
    pulsar.start()
    try:
        got = [json.loads(received.get(timeout=15)) for _ in range(2)]
    finally:  # TuyaOpenPulsar.stop() races its own thread: end the loop, then close the socket
        pulsar._stop_event.set()
        pulsar.message_listeners = set()
        if pulsar.ws_app is not None:
            pulsar.ws_app.close()
    assert got == [m.data for m in project.messages()]
    assert got[1]["status"][0]["code"] == "switch_1" and got[1]["status"][0]["value"] is False
