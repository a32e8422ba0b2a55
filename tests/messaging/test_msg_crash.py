"""A crash mid-flow: ``tuyacloud serve`` (a subprocess) is killed with SIGKILL while commands stream in and a
consumer acknowledges what it gets; after a restart on the same data the consumer reconnects. Every command
that was answered ``success: true`` has its status report delivered (duplicates allowed), no report exists for
a change that did not commit, each lamp's reports follow its report log, and its final status is its last
committed command. Runs on the engine under test (SQLite, or PostgreSQL with TUYACLOUD_TEST_DATABASE_URL).
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from support import web
from support.cli import cli_command, cli_env
from support.pulsar import PulsarConsumer, Received, expected_sign
from support.serve_process import wait_serving
from support.server import free_port, fresh_postgres_database, migrated_sqlite
from support.signed import SignedClient

ENGINE = "postgresql" if os.environ.get("TUYACLOUD_TEST_DATABASE_URL") else "sqlite"
LAMPS = 6
THREADS = 3
RUN_BEFORE_KILL_S = 1.5
MAX_PER_LAMP = 1000  # values 1..1000 of temp_value_v2 are distinct, so each report names its command
CODE = "temp_value_v2"
START_TIMEOUT_S = 30


def cli_json(data: Path, db: str | None, *args: str) -> Any:
    command = [*cli_command(), *args, "--json", "--data-dir", str(data), *(["--database-url", db] if db else [])]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, env=cli_env())
    assert done.returncode == 0, f"{args} exited {done.returncode}: {done.stderr or done.stdout}"
    return json.loads(done.stdout)


class Serve:
    """``tuyacloud serve --no-demo`` as a child process; output goes to files (nothing blocks on a pipe)."""

    def __init__(self, data: Path, db: str | None, name: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.out = data.parent / f"{name}.out"
        self.err = data.parent / f"{name}.err"
        command = [*cli_command(), "serve", "--no-demo", "--port", str(self.port), "--data-dir", str(data)]
        if db:
            command += ["--database-url", db]
        with self.out.open("w") as out, self.err.open("w") as err:
            self.proc = subprocess.Popen(command, stdout=out, stderr=err, env=cli_env())
        self.token = ""

    def wait_ready(self) -> Serve:
        self.token = wait_serving(self.proc, self.url, self.out, self.err, START_TIMEOUT_S)
        return self

    def subscription(self, access_id: str) -> dict[str, Any]:
        body = web.get(f"{self.url}/_tuyacloud/projects/{access_id}/subscriptions", timeout=10,
                       headers={"Authorization": f"Bearer {self.token}"}).json()
        assert body["success"], body
        return next(r for r in body["result"] if r["env"] == "event")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()  # SIGKILL: no shutdown code runs
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


class Sender(threading.Thread):
    """Sends commands to its lamps in turn, one at a time, until told to stop or the server goes away."""

    def __init__(self, url: str, access_id: str, secret: str, token: str, lamps: list[str],
                 stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.client = SignedClient(url, access_id, secret)
        self.client.access_token = token
        self.client.http = web.LeanClient(timeout=10)
        self.lamps = lamps
        self.stop = stop
        self.sent: dict[str, list[tuple[int, str]]] = {lamp: [] for lamp in lamps}  # (value, ok|failed|unknown)

    def run(self) -> None:
        n = 0
        while not self.stop.is_set() and n < MAX_PER_LAMP:
            n += 1
            for lamp in self.lamps:
                try:
                    body = self.client.post(f"/v1.0/devices/{lamp}/commands",
                                            {"commands": [{"code": CODE, "value": n}]})
                except Exception:  # no answer: the server died with the command in flight
                    self.sent[lamp].append((n, "unknown"))
                    return
                self.sent[lamp].append((n, "ok" if body.get("success") is True else "failed"))


def _first_reports(received: list[Received]) -> dict[str, list[int]]:
    """Per lamp, the values of its status reports in order of first arrival (redeliveries dropped)."""
    seen: set[str] = set()
    out: dict[str, list[int]] = defaultdict(list)
    for m in received:
        if m.protocol != 4 or m.data["dataId"] in seen:
            continue
        seen.add(m.data["dataId"])
        out[m.device_id or ""].append(m.status_value(CODE))
    return out


@pytest.mark.parametrize("engine", [ENGINE])
def test_kill_9_mid_flow_loses_no_committed_message_and_invents_none(tmp_path: Path, engine: str) -> None:
    data = tmp_path / "data"
    server_url = os.environ.get("TUYACLOUD_TEST_DATABASE_URL")
    # A database at the newest schema (the template's copy): what is proven here starts after the first start.
    db = fresh_postgres_database(server_url, migrated=True) if engine == "postgresql" and server_url else None
    if db is None:
        migrated_sqlite(data)
    project = cli_json(data, db, "project", "create", "--name", "Crash")
    access_id, secret = project["access_id"], project["access_secret"]
    lamps = [d["id"] for d in cli_json(data, db, "device", "add-virtual", "--project", access_id,
                                       "--category", "dj", "--count", str(LAMPS))]

    servers: list[Serve] = []
    consumers: list[PulsarConsumer] = []
    received: list[Received] = []
    try:
        first = Serve(data, db, "first").wait_ready()
        servers.append(first)
        api = SignedClient(first.url, access_id, secret)
        assert api.connect()["success"]
        before = PulsarConsumer(first.port, access_id, secret, ack_timeout_ms=3000, auto_ack=True)
        consumers.append(before)
        before.connect()

        stop = threading.Event()
        senders = [Sender(first.url, access_id, secret, api.access_token, lamps[i::THREADS], stop)
                   for i in range(THREADS)]
        for s in senders:
            s.start()
        time.sleep(RUN_BEFORE_KILL_S)
        first.kill()
        stop.set()
        for s in senders:
            s.join(timeout=15)
        assert not any(s.is_alive() for s in senders), "a sender hung after the kill"
        before.close()
        received += list(before.received.queue)
        sent: dict[str, list[tuple[int, str]]] = {}
        for s in senders:
            sent.update(s.sent)
        ok_count = sum(o == "ok" for v in sent.values() for _, o in v)
        assert ok_count >= 2 * LAMPS, f"too few commands before the kill to mean anything: {ok_count}"

        second = Serve(data, db, "second").wait_ready()
        servers.append(second)
        api = SignedClient(second.url, access_id, secret)
        assert api.connect()["success"]
        logs: dict[str, list[int]] = {}
        for lamp in lamps:
            body = api.get(f"/v1.0/iot-03/devices/{lamp}/report-logs", {"codes": CODE, "size": 100})
            assert body["success"], body
            entries = list(body["result"]["logs"])
            while body["result"]["has_more"]:
                body = api.get(f"/v1.0/iot-03/devices/{lamp}/report-logs",
                               {"codes": CODE, "size": 100, "last_row_key": body["result"]["last_row_key"]})
                entries += body["result"]["logs"]
            logs[lamp] = [int(e["value"]) for e in reversed(entries)]  # commit order (the log is newest first)

        # What committed: every acknowledged command, in the order sent, plus perhaps the one in flight.
        for lamp in lamps:
            ok = [v for v, o in sent[lamp] if o == "ok"]
            in_flight = [v for v, o in sent[lamp] if o == "unknown"]
            assert logs[lamp] in (ok, ok + in_flight), f"{lamp}: log {logs[lamp][-5:]} vs sent {sent[lamp][-5:]}"

        after = PulsarConsumer(second.port, access_id, secret, ack_timeout_ms=3000, auto_ack=True)
        consumers.append(after)
        after.connect()
        expected_total = LAMPS + sum(len(v) for v in logs.values())  # bindUser events + status reports
        deadline = time.monotonic() + 20  # includes the dead process's consumer lease running out
        while True:
            everything = received + list(after.received.queue)
            reports = _first_reports(everything)
            binds = {m.device_id for m in everything if m.data.get("bizCode") == "bindUser"}
            if len(binds) + sum(len(v) for v in reports.values()) >= expected_total and \
                    second.subscription(access_id)["backlog"] == 0:
                break
            assert time.monotonic() < deadline, (
                f"not everything delivered: {sum(len(v) for v in reports.values())} reports, {len(binds)} "
                f"binds of {expected_total}; backlog {second.subscription(access_id)['backlog']}")
            time.sleep(0.1)
        assert binds == set(lamps)
        for lamp in lamps:
            # Every committed change was delivered, in commit order; nothing else was.
            assert reports[lamp] == logs[lamp], f"{lamp}: delivered {reports[lamp][-5:]} vs log {logs[lamp][-5:]}"
            ok = [v for v, o in sent[lamp] if o == "ok"]
            assert set(ok) <= set(reports[lamp]), f"{lamp}: a command answered success has no message"
            status = {s["code"]: s["value"] for s in api.get(f"/v1.0/devices/{lamp}/status")["result"]}
            assert status[CODE] == logs[lamp][-1], f"{lamp}: status is not the last committed command"
            assert status[CODE] in ok[-1:] + [v for v, o in sent[lamp] if o == "unknown"]
        assert all(m.message["sign"] == expected_sign(m.message, secret) for m in everything)
        assert after.errors == []

        # The CLI reads the same store: nothing left to deliver, an acknowledgement recorded.
        after.close()
        rows = cli_json(data, db, "messages", "status", "--project", access_id)
        event = next(r for r in rows if r["env"] == "event")
        assert event["backlog"] == 0 and event["last_ack_ms"] is not None
    finally:
        for c in consumers:
            c.close()
        for s in servers:
            s.stop()
