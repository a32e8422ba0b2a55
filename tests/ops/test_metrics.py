"""``GET /metrics``: Prometheus text format read back with prometheus-client's own parser, behind the admin token,
with route templates (never raw paths) as labels, and counters that move with what the real clients do:
tuya-connector-python's requests and commands, a Pulsar consumer's deliveries and acknowledgements, the backlog of
a subscription nobody is reading, the store's commit batches.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from tuya_connector import TuyaOpenAPI

from support import web
from support.pulsar import PulsarConsumer
from support.server import ADMIN_TOKEN, CloudServer

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(cloud: CloudServer) -> tuple[str, Samples]:
    response = web.get(f"{cloud.url}/metrics", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return response.text, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """Sum over every sample of ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= set(ls))


def wait_for(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.05)


def test_metrics_need_the_admin_token(cloud: CloudServer) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        response = web.get(f"{cloud.url}/metrics", headers=headers, timeout=10)
        assert response.status_code == 401
        assert response.json()["success"] is False
        assert "tuyacloud_requests_total" not in response.text


def test_requests_are_counted_by_route_template_and_tuya_code(cloud: CloudServer, project: dict[str, Any]) -> None:
    device = cloud.add_devices(project["access_id"], "dj")[0]["id"]
    _, before = scrape(cloud)
    api = TuyaOpenAPI(cloud.url, project["access_id"], project["access_secret"])
    assert api.connect()["success"]
    for _ in range(3):
        assert api.get(f"/v1.0/iot-03/devices/{device}/status")["success"]
    assert api.post(f"/v1.0/iot-03/devices/{device}/commands",
                    {"commands": [{"code": "switch_led", "value": False}]})["success"]
    bad_value = api.post(f"/v1.0/iot-03/devices/{device}/commands",
                         {"commands": [{"code": "switch_led", "value": "maybe"}]})
    assert bad_value["success"] is False
    wrong_secret = TuyaOpenAPI(cloud.url, project["access_id"], "0" * 32).connect()
    assert wrong_secret["success"] is False
    assert api.get("/v1.0/no/such/api")["success"] is False

    text, after = scrape(cloud)
    status_route = "/v1.0/iot-03/devices/{device_id}/status"
    command_route = "/v1.0/iot-03/devices/{device_id}/commands"

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("tuyacloud_requests_total", method="GET", route=status_route, status="200", code="success") == 3
    assert grew("tuyacloud_requests_total", method="POST", route=command_route, status="200", code="success") == 1
    assert grew("tuyacloud_requests_total", method="POST", route=command_route, status="200",
                code=str(bad_value["code"])) == 1
    assert grew("tuyacloud_requests_total", method="GET", route="/v1.0/token", status="200",
                code=str(wrong_secret["code"])) == 1
    assert grew("tuyacloud_requests_total", method="GET", route="unmatched", status="200", code="1108") == 1
    assert grew("tuyacloud_request_duration_seconds_count", method="GET", route=status_route) == 3
    assert grew("tuyacloud_request_duration_seconds_bucket", method="GET", route=status_route, le="+Inf") == 3
    assert value(after, "tuyacloud_request_duration_seconds_sum", method="GET", route=status_route) > 0
    assert grew("tuyacloud_commands_total", source="client") >= 1
    # labels are templates: no device id, Access ID or path a client sent appears in a request label
    request_lines = [line for line in text.splitlines() if line.startswith("tuyacloud_request")]
    assert request_lines
    for line in request_lines:
        assert device not in line and project["access_id"] not in line and "/no/such" not in line, line
    # the control API and the console are counted with their HTTP status
    assert total(after, "tuyacloud_requests_total", route="/_tuyacloud/projects/{access_id}/devices",
                 status="200") >= 1


def test_messages_consumers_backlog_and_commits(cloud: CloudServer, project: dict[str, Any]) -> None:
    access_id, secret = project["access_id"], project["access_secret"]
    lamp = cloud.add_devices(access_id, "dj")[0]["id"]
    api = TuyaOpenAPI(cloud.url, access_id, secret)
    assert api.connect()["success"]

    def command(value: int) -> None:
        assert api.post(f"/v1.0/iot-03/devices/{lamp}/commands",
                        {"commands": [{"code": "temp_value_v2", "value": value}]})["success"]

    sub = {"project": access_id, "env": "event", "subscription": f"{access_id}-sub"}
    _, before = scrape(cloud)
    consumer = PulsarConsumer(cloud.port, access_id, secret, auto_ack=True).connect()
    try:
        assert wait_for(lambda: value(scrape(cloud)[1], "tuyacloud_consumers_connected", **sub) == 1)
        command(101)
        command(102)
        seen: list[Any] = []
        while 102 not in seen:  # the simulator may report too: keep the commanded values
            received = consumer.received.get(timeout=10)
            if received.device_id == lamp and "temp_value_v2" in received.data_text:
                seen.append(received.status_value("temp_value_v2"))
        assert seen == [101, 102]
        # acknowledgements are recorded in batches: wait until the backlog is empty
        assert wait_for(lambda: value(scrape(cloud)[1], "tuyacloud_subscription_backlog", **sub) == 0)
    finally:
        consumer.close()
    assert not consumer.errors
    assert wait_for(lambda: value(scrape(cloud)[1], "tuyacloud_consumers_connected", **sub) == 0)

    # nobody connected: what is emitted now waits in the subscription's backlog
    command(103)
    command(104)
    command(105)
    _, after = scrape(cloud)
    assert value(after, "tuyacloud_subscription_backlog", **sub) >= 3  # the simulator may add reports

    def grew(name: str) -> float:
        return value(after, name) - value(before, name)

    assert grew("tuyacloud_messages_emitted_total") >= 5
    assert grew("tuyacloud_messages_delivered_total") >= 2
    assert grew("tuyacloud_messages_acknowledged_total") >= 2
    assert grew("tuyacloud_commit_batch_units_count") >= 5  # one commit at least per command
    assert grew("tuyacloud_commit_batch_units_sum") >= grew("tuyacloud_commit_batch_units_count")
    assert grew("tuyacloud_commit_seconds_count") == grew("tuyacloud_commit_batch_units_count")
    assert value(after, "tuyacloud_commit_queue_units") == 0
    assert value(after, "process_resident_memory_bytes") > 0
    assert value(after, "tuyacloud_store_up") == 1


def test_each_app_has_its_own_registry(cloud: CloudServer, tmp_path: Any) -> None:
    """Two clouds in one process (as in these tests) count separately: no global registry."""
    other = CloudServer(tmp_path / "other").start()
    try:
        _, fresh = scrape(other)
        _, busy = scrape(cloud)
        assert total(fresh, "tuyacloud_requests_total", route="/metrics") == 0  # its only request is in flight
        assert total(busy, "tuyacloud_requests_total", route="/metrics") >= 1
    finally:
        other.stop()
