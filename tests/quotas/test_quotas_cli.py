"""``tuyacloud serve --quotas trial`` (here through its environment variables, as a container sets it) and
``tuyacloud project quotas`` on the same data while the server runs: the server picks a project's new plan up
within a second, its counts are what the command shows, and the command resets them."""

from __future__ import annotations

import time
from pathlib import Path

from tuya_connector import TuyaOpenAPI

from support.serve_process import ServeProcess, cli, cli_json, database_for_test


def test_serve_with_trial_quotas_and_the_project_quotas_command(tmp_path: Path) -> None:
    data, db = tmp_path / "data", database_for_test()
    server = ServeProcess(data, db, "quotas", "--no-demo", "--no-simulator", "--no-mqtt",
                          env={"TUYACLOUD_QUOTAS": "trial", "TUYACLOUD_QUOTA_CALLS": "6"}).wait_ready()
    try:
        assert "quotas:       trial (6 calls a month" in server.stdout
        project = cli_json(data, db, "project", "create", "--name", "Quota CLI")
        api = TuyaOpenAPI(server.url, project["access_id"], project["access_secret"])
        assert api.connect()["success"]
        answers = [api.get("/v1.0/iot-03/devices") for _ in range(6)]
        assert [a["success"] for a in answers] == [True] * 5 + [False]
        assert answers[-1]["code"] == 28841004

        time.sleep(1.5)  # the server writes its counts every second
        view = cli_json(data, db, "project", "quotas", project["access_id"])
        assert view["calls"]["used"] == 6 and view["server_plan"] is None  # the server's plan is not known here
        # Give the project a larger quota of its own: the running server follows within a flush.
        view = cli_json(data, db, "project", "quotas", project["access_id"], "--plan", "trial",
                        "--monthly-calls", "8")
        assert view["enabled"] is True and view["calls"] == {"used": 6, "limit": 8, "remaining": 2}
        deadline = time.monotonic() + 10
        while not api.get("/v1.0/iot-03/devices")["success"]:
            assert time.monotonic() < deadline, "the server did not pick the new quota up"
            time.sleep(0.2)
        text = cli(data, db, "project", "quotas", project["access_id"], "--reset")
        assert "API calls this month" in text and "plan: trial (its own)" in text, text
        time.sleep(1.5)
        assert api.get("/v1.0/iot-03/devices")["success"]
    finally:
        server.terminate()
