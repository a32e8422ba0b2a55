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

# pytest-playwright's fixtures that start Playwright (a test asking for any of them starts its event loop).
PLAYWRIGHT_FIXTURES = {"playwright", "browser_type", "browser", "launch_browser", "context", "new_context", "page"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests (those using Playwright's fixtures) run last: sync Playwright keeps an event loop running in
    the main thread while it is started (tests/console/conftest.py starts it per module), and ``asyncio.run()``
    (store and domain tests) refuses to start meanwhile."""
    browser = {id(item) for item in items if PLAYWRIGHT_FIXTURES & set(getattr(item, "fixturenames", ()))}
    if browser:
        items[:] = [i for i in items if id(i) not in browser] + [i for i in items if id(i) in browser]


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
