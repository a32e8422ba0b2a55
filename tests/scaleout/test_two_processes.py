"""Two `tuyacloud serve` processes on one PostgreSQL database, as two hosts would run them: any process accepts any
request, background work runs once across them, a consumer on either gets the messages, and when one is killed
with SIGKILL mid-burst the other goes on serving and takes over what the dead one held within the lease times.

Each lamp's commands go through both processes in turn, one at a time, with values that name them, so the order
of a lamp's messages can be compared with the order of its acknowledged commands. PostgreSQL only: SQLite serves
one process (``serve --workers`` refuses it).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from support.faults import Serve, eventually
from support.pulsar import PulsarConsumer, Received
from support.scaleout import (
    Sender,
    client,
    control,
    first_reports,
    merged,
    needs_postgres,
    new_database,
    report_log,
    start,
    task_info,
    wait_all,
)
from support.signed import SignedClient

pytestmark = needs_postgres

MINUTE = 60_000
SHARDS = 16  # tuyacloud.simulator.runner.SHARDS
LAMPS = 6
THREADS = 3
PLUGS = 3
SETTLE_S = 0.8  # a poke crosses from one process to the other (read every 0.25 s)
SIM_LEASE_S = 6 + 2  # runner.LEASE_S + RENEW_S
TASK_LEASE_S = 10 + 2.5  # domain/task_lease.py LEASE_S + RENEW_S
CONSUMER_LEASE_S = 5 + 1  # messaging/hub.py LEASE_MS + RENEW_S
SLACK_S = 6  # a loaded, shared machine


def _all(consumers: list[PulsarConsumer]) -> list[Received]:
    return [m for c in consumers for m in list(c.received.queue)]


def _status(c: SignedClient, device_id: str) -> dict[str, Any]:
    body = c.get(f"/v1.0/devices/{device_id}/status")
    assert body["success"], body
    return {s["code"]: s["value"] for s in body["result"]}


def _clock(servers: list[Serve], body: dict[str, Any]) -> None:
    for server in servers:
        control(server, "POST", "/clock", body)


def _wait_delivered(consumers: list[PulsarConsumer], expected: dict[str, list[int]], timeout: float) -> None:
    def done() -> bool:
        reports = first_reports(_all(consumers))
        return all(len(reports.get(lamp, [])) >= len(values) for lamp, values in expected.items())

    eventually(done, timeout=timeout, every=0.1, what="every committed command's message delivered")


def test_two_processes_share_requests_consumers_timers_and_the_simulator(tmp_path: Path) -> None:
    data, db = tmp_path / "data", new_database()
    a = start(data, db, "a")
    b = start(data, db, "b")
    servers = [a, b]
    consumers: list[PulsarConsumer] = []
    try:
        project = control(a, "POST", "/projects", {"name": "two processes", "region": "us", "method": "custom"})
        access_id, secret = project["access_id"], project["access_secret"]
        add = "/projects/" + access_id + "/devices"
        lamps = [d["id"] for d in control(a, "POST", add, {"category": "dj", "count": LAMPS})]
        plugs = [d["id"] for d in control(b, "POST", add, {"category": "cz", "count": PLUGS})]
        curtain = control(a, "POST", add, {"category": "cl", "count": 1})[0]["id"]
        time.sleep(2.5)  # both simulators have seen the new devices (they look every 2 s)
        assert (task_info(a, "simulator", "shards"), task_info(b, "simulator", "shards")) == (SHARDS, 0)

        t0 = int(time.time() * 1000) + 1000  # both clocks frozen at one instant (not before now: no going back)
        _clock(servers, {"freeze": True, "at_ms": t0})
        ca, cb = client(a, project), client(b, project)
        consumers.append(PulsarConsumer(a.port, access_id, secret, auto_ack=True).connect())
        time.sleep(0.3)
        consumers.append(PulsarConsumer(b.port, access_id, secret, auto_ack=True).connect())

        # A daily timer per plug at the next minute but one, made through process b.
        due = (t0 // MINUTE + 2) * MINUTE
        at = datetime.fromtimestamp(due / 1000, ZoneInfo("Asia/Shanghai")).strftime("%H:%M")
        for plug in plugs:
            body = cb.post(f"/v2.0/cloud/timer/device/{plug}", {
                "alias_name": "once", "time": at, "timezone_id": "Asia/Shanghai", "loops": "1111111",
                "functions": [{"code": "switch_1", "value": True}]})
            assert body["success"], body

        # The curtain: commanded through b, driven by a (which holds every shard): 10 % per simulated second.
        assert cb.post(f"/v1.0/devices/{curtain}/commands", {"commands": [{"code": "control", "value": "open"}]}
                       )["success"]
        time.sleep(SETTLE_S)
        _clock(servers, {"step_ms": 5000})
        eventually(lambda: _status(ca, curtain)["percent_state"] > 0, what="the curtain moving")
        time.sleep(SETTLE_S)
        percent = _status(cb, curtain)["percent_state"]
        assert 45 <= percent <= 55, f"{percent} % after 5 s: each tick must happen once, not once per process"

        # Commands through both processes at once, each lamp's in turn through a and b.
        stop = threading.Event()
        senders = [Sender(servers, project, ca.access_token, lamps[i::THREADS], stop) for i in range(THREADS)]
        for s in senders:
            s.start()
        time.sleep(2.0)
        stop.set()
        wait_all(senders)
        sent = merged(senders)
        assert all(o == "ok" for v in sent.values() for _, o in v), "a command failed with both processes up"
        assert all(s.answered_by[0] and s.answered_by[1] for s in senders), "each process answered commands"
        ok = {lamp: [v for v, _ in sent[lamp]] for lamp in lamps}
        _wait_delivered(consumers, ok, timeout=20)

        # The timers' minute, on both clocks: each plug's timer runs once, through one process or the other.
        _clock(servers, {"step_ms": 3 * MINUTE})
        for plug in plugs:
            eventually(lambda p=plug: _status(ca, p)["switch_1"] is True, what="the timer's command")
        time.sleep(1.0)  # several scheduler polls of both processes: a second run would show now

        received = _all(consumers)
        reports = first_reports(received)
        for lamp in lamps:
            # every acknowledged command has exactly its message, in the order the commands were acknowledged
            assert reports[lamp] == ok[lamp], f"{lamp}: delivered {reports[lamp][-5:]} vs sent {ok[lamp][-5:]}"
            assert report_log(ca, lamp) == ok[lamp]
        switched = first_reports(received, "switch_1")
        for plug in plugs:
            assert switched[plug].count(True) == 1, f"timer of {plug} fired {switched[plug].count(True)} times"
        assert all(c.errors == [] for c in consumers), [c.errors for c in consumers]
        # Failover semantics across processes: both consumers are listed, whichever process one asks, one active.
        for server in servers:
            subscription = next(r for r in control(server, "GET", f"/projects/{access_id}/subscriptions")
                                if r["env"] == "event")
            listed = subscription["consumers"]
            assert len(listed) == 2 and [c["active"] for c in listed] == [True, False], listed
    finally:
        for c in consumers:
            c.close()
        for s in servers:
            s.stop()


def test_kill_9_of_one_process_mid_burst_the_other_serves_and_takes_its_leases_over(tmp_path: Path) -> None:
    data, db = tmp_path / "data", new_database()
    a = start(data, db, "a")
    b = start(data, db, "b")
    consumers: list[PulsarConsumer] = []
    try:
        project = control(a, "POST", "/projects", {"name": "kill -9", "region": "us", "method": "custom"})
        access_id, secret = project["access_id"], project["access_secret"]
        lamps = [d["id"] for d in control(a, "POST", f"/projects/{access_id}/devices",
                                          {"category": "dj", "count": LAMPS})]
        eventually(lambda: task_info(a, "housekeeping", "sweeps") is True, what="a holding the housekeeping lease")
        eventually(lambda: task_info(b, "housekeeping", "sweeps") is False, what="b standing by for the sweeps")
        assert (task_info(a, "simulator", "shards"), task_info(b, "simulator", "shards")) == (SHARDS, 0)
        ca = client(a, project)
        consumers.append(PulsarConsumer(a.port, access_id, secret, auto_ack=True).connect())  # active, on a
        time.sleep(0.5)
        standby = PulsarConsumer(b.port, access_id, secret, auto_ack=True).connect()
        consumers.append(standby)

        stop = threading.Event()
        senders = [Sender([a, b], project, ca.access_token, lamps[i::THREADS], stop) for i in range(THREADS)]
        for s in senders:
            s.start()
        time.sleep(1.5)
        a.kill()  # SIGKILL mid-burst: nothing is handed over
        killed_at = time.monotonic()
        before = sum(s.answered_by[1] for s in senders)
        eventually(lambda: sum(s.answered_by[1] for s in senders) > before + 20, timeout=10,
                   what="b answering commands after the kill")
        # Each lease's take-over is timed from the kill, all three watched together (one after the other, each
        # with its own time-out, a late one would hide behind the waits before it).
        takeovers: dict[str, Callable[[], bool]] = {
            "subscription": lambda: standby.received.qsize() > 0,
            "simulator shards": lambda: task_info(b, "simulator", "shards") == SHARDS,
            "housekeeping": lambda: task_info(b, "housekeeping", "sweeps") is True,
        }
        bounds = {"subscription": CONSUMER_LEASE_S, "simulator shards": SIM_LEASE_S, "housekeeping": TASK_LEASE_S}
        taken: dict[str, float] = {}
        while len(taken) < len(takeovers) and time.monotonic() - killed_at < TASK_LEASE_S + 2 * SLACK_S:
            for name, check in takeovers.items():
                if name not in taken and check():
                    taken[name] = time.monotonic() - killed_at
            time.sleep(0.1)
        for name, bound in bounds.items():
            assert name in taken, f"b did not take the {name} over ({taken})"
            assert taken[name] < bound + SLACK_S, f"the {name} taken over {taken[name]:.1f} s after the kill"
        stop.set()
        wait_all(senders)

        sent = merged(senders)
        cb = client(b, project)
        logs = {lamp: report_log(cb, lamp) for lamp in lamps}
        for lamp in lamps:
            ok = [v for v, o in sent[lamp] if o == "ok"]
            unknown = {v for v, o in sent[lamp] if o == "unknown"}
            assert [v for v in logs[lamp] if v not in unknown] == ok, f"{lamp}: an acknowledged command was lost"
            assert set(logs[lamp]) <= set(ok) | unknown, f"{lamp}: a change nobody sent"
        _wait_delivered(consumers, logs, timeout=20)
        reports = first_reports(_all(consumers))
        for lamp in lamps:
            # everything committed was delivered, in commit order, nothing else (redeliveries counted once)
            assert reports[lamp] == logs[lamp], f"{lamp}: delivered {reports[lamp][-5:]} vs log {logs[lamp][-5:]}"
        assert standby.errors == []
    finally:
        for c in consumers:
            c.close()
        a.stop()
        b.stop()
