"""Order per device under concurrent commands: 50 commands from 5 threads to 5 lamps, each lamp's commands
racing each other. Every command that succeeded has exactly one status report, and each lamp's reports arrive
in the order its changes committed, which the device's report log records.
"""

from __future__ import annotations

import random
import threading
from collections import defaultdict
from typing import Any

from support.pulsar import PulsarConsumer, wait_for_subscription
from support.server import CloudServer
from support.signed import SignedClient

DEVICES = 5
PER_DEVICE = 10
THREADS = 5
CODE = "temp_value_v2"


def test_reports_of_each_device_arrive_in_commit_order(cloud: CloudServer) -> None:
    project = cloud.create_project(name="msg order")
    access_id, secret = project["access_id"], project["access_secret"]
    lamps = [d["id"] for d in cloud.add_devices(access_id, "dj", DEVICES)]
    main = SignedClient(cloud.url, access_id, secret)
    assert main.connect()["success"]

    # Distinct values per lamp, so every report names its command; the work list is shuffled so that the
    # commands of one lamp are sent by different threads at the same time.
    work = [(lamp, 100 + 10 * j + i) for i, lamp in enumerate(lamps) for j in range(PER_DEVICE)]
    random.Random(7).shuffle(work)
    lock = threading.Lock()
    succeeded: dict[str, set[int]] = defaultdict(set)
    failures: list[Any] = []

    def sender() -> None:
        client = SignedClient(cloud.url, access_id, secret)
        client.access_token = main.access_token
        while True:
            with lock:
                if not work:
                    return
                lamp, value = work.pop()
            try:
                body = client.post(f"/v1.0/devices/{lamp}/commands", {"commands": [{"code": CODE, "value": value}]})
            except Exception as exc:  # recorded, asserted below
                body = {"exception": repr(exc)}
            with lock:
                if body.get("success") is True:
                    succeeded[lamp].add(value)
                else:
                    failures.append(body)

    consumer = PulsarConsumer(cloud.port, access_id, secret, ack_timeout_ms=30_000, auto_ack=True)
    try:
        consumer.connect()
        threads = [threading.Thread(target=sender, daemon=True) for _ in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not any(t.is_alive() for t in threads), "senders did not finish"
        assert failures == []
        assert sum(len(v) for v in succeeded.values()) == DEVICES * PER_DEVICE

        got = consumer.get_many(DEVICES + DEVICES * PER_DEVICE, timeout=20)
        assert all(m.redelivery == 0 for m in got)
        assert len({m.message_id for m in got}) == len(got)
        reports: dict[str, list[Any]] = defaultdict(list)
        for m in got:
            if m.protocol == 4:
                reports[m.device_id or ""].append(m.status_value(CODE))
        for lamp in lamps:
            assert sorted(reports[lamp]) == sorted(succeeded[lamp]), f"{lamp}: one report per command"
            logs = main.get(f"/v1.0/iot-03/devices/{lamp}/report-logs", {"codes": CODE, "size": 100})
            assert logs["success"] is True, logs
            committed = [int(e["value"]) for e in reversed(logs["result"]["logs"])]  # the log is newest first
            assert reports[lamp] == committed, f"{lamp}: reports out of commit order"
            status = {s["code"]: s["value"] for s in main.get(f"/v1.0/devices/{lamp}/status")["result"]}
            assert status[CODE] == committed[-1], "the last report is the device's current status"
        wait_for_subscription(cloud.control, access_id, lambda s: s["backlog"] == 0)
        assert consumer.errors == []
    finally:
        consumer.close()


# --- commands racing on one device -----------------------------------------------------------------------
def _race(cloud: CloudServer, name: str, commands: list[tuple[str, int]], threads: int) -> tuple[
        SignedClient, str, list[Any], PulsarConsumer]:
    """Sends ``commands`` to one lamp from ``threads`` threads at once; returns its reports as received."""
    project = cloud.create_project(name=name)
    access_id, secret = project["access_id"], project["access_secret"]
    lamp = cloud.add_devices(access_id, "dj")[0]["id"]
    main = SignedClient(cloud.url, access_id, secret)
    assert main.connect()["success"]
    consumer = PulsarConsumer(cloud.port, access_id, secret, ack_timeout_ms=30_000, auto_ack=True).connect()
    work = list(commands)
    lock = threading.Lock()
    start = threading.Barrier(threads)
    answers: list[Any] = []

    def sender() -> None:
        client = SignedClient(cloud.url, access_id, secret)
        client.access_token = main.access_token
        start.wait(timeout=10)
        while True:
            with lock:
                if not work:
                    return
                code, value = work.pop()
            body = client.post(f"/v1.0/devices/{lamp}/commands", {"commands": [{"code": code, "value": value}]})
            with lock:
                answers.append(body.get("success"))

    pool = [threading.Thread(target=sender, daemon=True) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=60)
    assert answers == [True] * len(commands)
    got = consumer.get_many(1 + len(commands), timeout=20)
    return main, lamp, [m for m in got if m.protocol == 4], consumer


def test_message_t_of_one_device_never_goes_backwards(cloud: CloudServer) -> None:
    _, _, reports, consumer = _race(cloud, "msg t order", [(CODE, v) for v in range(100, 160)], threads=8)
    try:
        times = [m.message["t"] for m in reports]
        item_times = [next(i["t"] for i in m.data["status"] if i["code"] == CODE) for m in reports]
        assert times == sorted(times), "a later report of the device carries an earlier t"
        assert item_times == sorted(item_times)
    finally:
        consumer.close()


def test_no_change_is_lost_when_two_codes_of_one_device_race(cloud: CloudServer) -> None:
    """Two commands on different codes at once, 20 times: both reports are sent, so both changes must stay."""
    project = cloud.create_project(name="msg lost update")
    access_id, secret = project["access_id"], project["access_secret"]
    lamp = cloud.add_devices(access_id, "dj")[0]["id"]
    main = SignedClient(cloud.url, access_id, secret)
    assert main.connect()["success"]
    clients = []
    for _ in range(2):
        c = SignedClient(cloud.url, access_id, secret)
        c.access_token = main.access_token
        clients.append(c)
    consumer = PulsarConsumer(cloud.port, access_id, secret, ack_timeout_ms=30_000, auto_ack=True).connect()
    try:
        lost = []
        for i in range(20):
            start = threading.Barrier(2)
            answers: list[Any] = []

            def send(client: SignedClient, code: str, value: int, start: threading.Barrier = start,
                     answers: list[Any] = answers) -> None:
                start.wait(timeout=10)
                answers.append(client.post(f"/v1.0/devices/{lamp}/commands",
                                           {"commands": [{"code": code, "value": value}]}).get("success"))

            pair = [threading.Thread(target=send, args=(clients[0], CODE, 100 + i), daemon=True),
                    threading.Thread(target=send, args=(clients[1], "bright_value_v2", 100 + i), daemon=True)]
            for t in pair:
                t.start()
            for t in pair:
                t.join(timeout=30)
            assert answers == [True, True]
            status = {s["code"]: s["value"] for s in main.get(f"/v1.0/devices/{lamp}/status")["result"]}
            if (status[CODE], status["bright_value_v2"]) != (100 + i, 100 + i):
                lost.append((i, status[CODE], status["bright_value_v2"]))
        reports = [m for m in consumer.get_many(41, timeout=20) if m.protocol == 4]
        assert len(reports) == 40  # every change was reported ...
        assert lost == [], "... but the device's status lost some of them"
    finally:
        consumer.close()
