"""Tuya's Node connector (@tuya/tuya-connector-nodejs 2.1.2, pinned in tests/node/package.json), driven from Python.

``scripts/test`` installs it with ``npm ci`` when npm is on the machine; without Node or the installed package the
tests that use it are skipped (``require_node_connector``), never faked. Each :func:`node_calls` runs one Node
process that makes the planned calls, in order, through the connector's own methods (token, signing, retry on
1010 included) and returns the envelopes it got.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

NODE_DIR = Path(__file__).resolve().parent.parent / "node"
PACKAGE = NODE_DIR / "node_modules" / "@tuya" / "tuya-connector-nodejs"


def node_connector_missing() -> str | None:
    """Why the Node connector cannot run here, or None when it can."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (PACKAGE / "package.json").is_file():
        return "the Node connector is not installed (cd tests/node && npm ci)"
    return None


require_node_connector = pytest.mark.skipif(node_connector_missing() is not None,
                                            reason=node_connector_missing() or "")


def service(name: str, method: str, **param: Any) -> dict[str, Any]:
    """A call of one of the connector's service methods, e.g. ``service("device", "reset", device_id=...)``."""
    return {"service": name, "method": method, "param": param}


def request(method: str, path: str, *, body: Any = None, query: dict[str, Any] | None = None) -> dict[str, Any]:
    """A call through the connector's generic ``TuyaContext.request``."""
    req: dict[str, Any] = {"method": method, "path": path}
    if body is not None:
        req["body"] = body
    if query is not None:
        req["query"] = query
    return {"request": req}


def node_calls(base_url: str, project: dict[str, Any], *calls: dict[str, Any]) -> list[Any]:
    plan = {"baseUrl": base_url, "accessKey": project["access_id"], "secretKey": project["access_secret"],
            "calls": list(calls)}
    done = subprocess.run(["node", str(NODE_DIR / "drive.js")], input=json.dumps(plan), capture_output=True,
                          text=True, cwd=NODE_DIR, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    answers: list[Any] = json.loads(done.stdout)
    return answers
