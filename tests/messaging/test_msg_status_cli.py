"""``tuyacloud messages status``, run as a user runs it (a subprocess on a running server's store): per
subscription the backlog, the oldest unacknowledged message, the connected consumers and the last ack, as
JSON and as a table, agreeing with the control API's ``GET /_tuyacloud/projects/{id}/subscriptions``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from support.pulsar import PulsarConsumer, wait_for_subscription
from support.server import CloudServer


def _status(cloud: CloudServer, *args: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "tuyacloud"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "tuyacloud.cli.main"]
    command += ["messages", "status", *args, "--data-dir", str(cloud.settings.data_dir)]
    if cloud.settings.database_url:
        command += ["--database-url", cloud.settings.database_url]
    env = {k: v for k, v in os.environ.items() if k not in ("TUYACLOUD_DATA_DIR", "TUYACLOUD_DATABASE_URL")}
    env["COLUMNS"] = "250"
    return subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)


def test_messages_status_shows_backlog_consumers_and_last_ack(cloud: CloudServer) -> None:
    project = cloud.create_project(name="msg status")
    access_id, secret = project["access_id"], project["access_secret"]
    lamp = cloud.add_devices(access_id, "dj")[0]["id"]
    consumer = PulsarConsumer(cloud.port, access_id, secret, ack_timeout_ms=30_000)
    try:
        consumer.connect()
        consumer.ack(consumer.get())  # bindUser acknowledged
        wait_for_subscription(cloud.control, access_id, lambda s: s["backlog"] == 0 and s["last_ack_ms"])
        cloud.control("POST", f"/devices/{lamp}/report", {"status": {"temp_value_v2": 640}})
        pending = consumer.get()  # delivered, not acknowledged
        assert pending.status_value("temp_value_v2") == 640

        done = _status(cloud, "--project", access_id, "--json")
        assert done.returncode == 0, done.stderr
        rows = {r["env"]: r for r in json.loads(done.stdout)}
        assert set(rows) == {"event", "event-test"}
        event, test = rows["event"], rows["event-test"]
        assert event["topic"] == f"persistent://{access_id}/out/event"
        assert event["subscription"] == f"{access_id}-sub"
        assert event["backlog"] == 1 and event["oldest_unacked_ms"] == pending.message["t"]
        assert isinstance(event["last_ack_ms"], int)
        assert [(c["address"], c["active"]) for c in event["consumers"]] == [("127.0.0.1", True)]
        # Nobody consumed event-test: both messages wait there, and it was never acknowledged.
        assert (test["backlog"], test["last_ack_ms"], test["consumers"]) == (2, None, [])
        assert test["oldest_unacked_ms"] is not None and test["oldest_unacked_ms"] <= event["oldest_unacked_ms"]

        control = {r["env"]: r for r in cloud.control("GET", f"/projects/{access_id}/subscriptions")}
        for env in ("event", "event-test"):
            for key in ("topic", "subscription", "backlog", "oldest_unacked_ms", "last_ack_ms"):
                assert control[env][key] == rows[env][key], (env, key)
            assert [c["id"] for c in control[env]["consumers"]] == [c["id"] for c in rows[env]["consumers"]]

        table = _status(cloud, "--project", access_id)
        assert table.returncode == 0, table.stderr
        assert f"persistent://{access_id}/out/event" in table.stdout and "(active)" in table.stdout

        unknown = _status(cloud, "--project", "x" * 20, "--json")
        assert unknown.returncode == 1 and json.loads(unknown.stdout)["code"] == 1005  # --json: errors as JSON
    finally:
        consumer.close()
