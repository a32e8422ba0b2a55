"""Shared fixtures: a real server on a free port (SQLite, or PostgreSQL when TUYACLOUD_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from support.server import CloudServer  # noqa: E402
from support.signed import SignedClient  # noqa: E402


@pytest.fixture(scope="session")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    """One server for the session (demo project included); tests make their own projects on it."""
    server = CloudServer(tmp_path_factory.mktemp("cloud")).start()
    yield server
    server.stop()


@pytest.fixture
def project(cloud: CloudServer) -> dict[str, Any]:
    return cloud.create_project()


@pytest.fixture
def client(cloud: CloudServer, project: dict[str, Any]) -> SignedClient:
    c = SignedClient(cloud.url, project["access_id"], project["access_secret"])
    assert c.connect()["success"]
    return c
