"""SIGTERM while commands stream in and a Pulsar consumer is connected: ``tuyacloud serve`` (a subprocess) answers
what it accepted, commits everything queued, exits 0 and prints exactly one line after its banner. After a restart
on the same data, each lamp's report log is exactly the commands it acknowledged, in order (plus, at most, the
one a client sent as the listener closed and never got an answer to): nothing acknowledged is lost.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

from support import web
from support.pulsar import PulsarConsumer
from support.serve_process import ServeProcess, cli_json, database_for_test
from support.signed import SignedClient

LAMPS = 12
THREADS = 4
LOAD_BEFORE_STOP_S = 1.5
CODE = "temp_value_v2"  # 0..1000: each command's value names it
STOPPED = re.compile(r"^tuyacloud stopped: drained (\d+) in-flight requests?, (\d+) WebSocket sessions? and "
                     r"(\d+) queued commits?$")


class Sender(threading.Thread):
    """Commands to its lamps in turn, one at a time, until the server stops answering."""

    def __init__(self, url: str, access_id: str, secret: str, token: str, lamps: list[str]) -> None:
        super().__init__(daemon=True)
        self.client = SignedClient(url, access_id, secret)
        self.client.access_token = token
        self.client.http = web.LeanClient(timeout=30)
        self.lamps = lamps
        self.sent: dict[str, list[tuple[int, str]]] = {lamp: [] for lamp in lamps}  # (value, ok|failed|unanswered)

    def run(self) -> None:
        for n in range(1, 1001):
            for lamp in self.lamps:
                try:
                    body = self.client.post(f"/v1.0/devices/{lamp}/commands",
                                            {"commands": [{"code": CODE, "value": n}]})
                except Exception:  # refused or cut: the server has stopped listening
                    self.sent[lamp].append((n, "unanswered"))
                    return
                self.sent[lamp].append((n, "ok" if body.get("success") is True else "failed"))


def test_sigterm_drains_in_flight_requests_and_the_commit_queue_then_exits_0_with_one_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    db = database_for_test()
    project = cli_json(data, db, "project", "create", "--name", "Stop")
    access_id, secret = project["access_id"], project["access_secret"]
    lamps = [d["id"] for d in cli_json(data, db, "device", "add-virtual", "--project", access_id,
                                       "--category", "dj", "--count", str(LAMPS))]
    servers: list[ServeProcess] = []
    try:
        first = ServeProcess(data, db, "first", "--no-demo", "--no-simulator").wait_ready()
        servers.append(first)
        banner = first.stdout
        api = SignedClient(first.url, access_id, secret)
        assert api.connect()["success"]
        consumer = PulsarConsumer(first.port, access_id, secret, auto_ack=True).connect()
        senders = [Sender(first.url, access_id, secret, api.access_token, lamps[i::THREADS]) for i in range(THREADS)]
        for s in senders:
            s.start()
        time.sleep(LOAD_BEFORE_STOP_S)
        started = time.monotonic()
        status = first.terminate()
        stopped_in = time.monotonic() - started
        for s in senders:
            s.join(timeout=30)
        assert not any(s.is_alive() for s in senders), "a sender hung after SIGTERM"
        consumer.close()

        assert status == 0, first.stderr
        assert stopped_in < 20, f"took {stopped_in:.1f}s to stop"
        after_banner = first.stdout[len(banner):].splitlines()
        stopped = STOPPED.match(after_banner[0]) if len(after_banner) == 1 else None
        assert stopped, after_banner
        assert stopped.group(2) == "1", after_banner  # the consumer's session, closed with 1012
        assert "Traceback" not in first.stderr, first.stderr
        assert consumer.close_code in (None, 1012), consumer.close_code  # "service restart": reconnect elsewhere
        sent: dict[str, list[tuple[int, str]]] = {}
        for s in senders:
            sent.update(s.sent)
        ok_count = sum(o == "ok" for v in sent.values() for _, o in v)
        assert ok_count >= LAMPS, f"too few commands before the stop to mean anything: {ok_count}"
        assert all(o != "failed" for v in sent.values() for _, o in v), "a command was refused during the stop"

        second = ServeProcess(data, db, "second", "--no-demo", "--no-simulator").wait_ready()
        servers.append(second)
        api = SignedClient(second.url, access_id, secret)
        assert api.connect()["success"]
        for lamp in lamps:
            body = api.get(f"/v1.0/iot-03/devices/{lamp}/report-logs", {"codes": CODE, "size": 100})
            assert body["success"], body
            entries = list(body["result"]["logs"])
            while body["result"]["has_more"]:
                body = api.get(f"/v1.0/iot-03/devices/{lamp}/report-logs",
                               {"codes": CODE, "size": 100, "last_row_key": body["result"]["last_row_key"]})
                entries += body["result"]["logs"]
            committed = [int(e["value"]) for e in reversed(entries)]  # the log is newest first
            ok = [v for v, o in sent[lamp] if o == "ok"]
            unanswered = [v for v, o in sent[lamp] if o == "unanswered"]
            assert committed in (ok, ok + unanswered), f"{lamp}: committed {committed[-5:]} vs sent {sent[lamp][-5:]}"
    finally:
        for server in servers:
            server.kill()
