"""Projects and access tokens kept in memory by each server process on PostgreSQL stay right across processes.

Two ``tuyacloud serve`` processes on one database both serve a project's signed requests (so both keep its project
and token); a third process, the CLI, rotates the project's secret; a token is refreshed through one process and the
old one used on the other. Every process must stop accepting what changed, promptly (the database's notification
reaches it within milliseconds; the test allows a loaded machine a few seconds) and accept the new at once.
PostgreSQL only: SQLite serves one process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support.faults import eventually
from support.scaleout import client, control, health, needs_postgres, new_database, start
from support.serve_process import cli_json
from support.signed import SignedClient

pytestmark = needs_postgres

PROMPT_S = 3.0  # the notification arrives within milliseconds; a loaded, shared machine gets some slack
SIGN_INVALID, TOKEN_INVALID = 1004, 1010


def _cache(server: Any) -> dict[str, Any]:
    info: dict[str, Any] = health(server)["tasks"]["pg-listen"]
    return info


def _status(c: SignedClient, device_id: str) -> dict[str, Any]:
    return c.get(f"/v1.0/devices/{device_id}/status")


def test_a_change_made_anywhere_reaches_every_process_cache(tmp_path: Path) -> None:
    data, db = tmp_path / "data", new_database()
    a = start(data, db, "a", "--no-simulator", "--token-grace", "0")
    b = start(data, db, "b", "--no-simulator", "--token-grace", "0")
    try:
        project = control(a, "POST", "/projects", {"name": "cached", "region": "us", "method": "custom"})
        device = control(a, "POST", "/projects/" + project["access_id"] + "/devices",
                         {"category": "cz", "count": 1})[0]["id"]
        ca = client(a, project)
        cb = client(b, project, ca.access_token)
        for c in (ca, cb, ca, cb):  # the second request on each process is answered from its cache
            assert _status(c, device)["success"]
        for server in (a, b):
            info = _cache(server)
            assert info["cache_live"] is True, info
            assert info["cache_hits"] >= 2, info  # project and token, at least

        # A third process (the CLI) changes the project: both servers refuse the old secret.
        old_secret = project["access_secret"]
        rotated = cli_json(data, db, "project", "rotate-secret", project["access_id"])
        assert rotated["access_secret"] != old_secret
        for c in (ca, cb):
            eventually(lambda c=c: _status(c, device).get("code") == SIGN_INVALID, timeout=PROMPT_S, every=0.05,
                       what=f"{c.base_url} refusing the old secret")
            c.secret = rotated["access_secret"]
            assert _status(c, device)["success"]

        # A token refreshed through a (no grace period): b, which kept the old token, refuses it.
        old_token = ca.access_token
        assert _status(cb, device)["success"]  # b has the token now
        refreshed = ca.get(f"/v1.0/token/{ca.refresh_token}")
        assert refreshed["success"], refreshed
        cb.access_token = old_token
        eventually(lambda: _status(cb, device).get("code") == TOKEN_INVALID, timeout=PROMPT_S, every=0.05,
                   what="b refusing the refreshed token")
        ca.access_token = cb.access_token = refreshed["result"]["access_token"]
        for c in (ca, cb):  # the new token was never kept anywhere: it works at once on both
            assert _status(c, device)["success"]
        assert _cache(b)["cache_forgotten"] >= 2
    finally:
        a.stop()
        b.stop()
