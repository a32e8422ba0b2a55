"""tuyacloud's pytest plugin, registered through the ``pytest11`` entry point: installing tuyacloud gives every
pytest run these fixtures.

- ``tuya_cloud``: a fresh cloud for one test (own server, data directory, clock and project).
- ``tuya_cloud_server``: one cloud for the whole session; ``tuya_project``: a fresh project on it for one test,
  the fast choice when a test does not need a cloud of its own (it shares the clock, which is reset after it).
- ``tuya_cloud_options`` / ``tuya_cloud_server_options``: override them to configure ``tuya_cloud`` /
  ``tuya_cloud_server`` (``LocalCloud`` keyword arguments).

pytest imports this module in every run of everyone who installed tuyacloud, so it imports nothing but pytest at
module level; the cloud's modules are imported by the fixtures, on first use.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest  # only pytest loads this module (the pytest11 entry point), so pytest is installed

if TYPE_CHECKING:
    from tuyacloud.testing.cloud import CloudProject, LocalCloud


@pytest.fixture
def tuya_cloud_options() -> dict[str, Any]:
    """Keyword arguments for ``tuya_cloud``'s ``LocalCloud`` (override in a conftest.py or test module), e.g.
    ``{"region": "eu", "simulator": False, "token_ttl_s": 60}``."""
    return {}


@pytest.fixture
def tuya_cloud(tmp_path_factory: pytest.TempPathFactory, tuya_cloud_options: dict[str, Any]) -> Iterator[LocalCloud]:
    """A tuyacloud started for this test on a free port with a fresh data directory and a fresh project:
    ``url``, ``access_id``, ``access_secret``, ``add_device(category)``, ``control`` (clock, reports, online,
    messages) and ``messages()``. Stopped after the test; its data directory stays with pytest's temporary files."""
    from tuyacloud.testing.cloud import LocalCloud

    cloud = LocalCloud(tmp_path_factory.mktemp("tuya_cloud"), **tuya_cloud_options).start()
    try:
        yield cloud
    finally:
        cloud.stop()


@pytest.fixture(scope="session")
def tuya_cloud_server_options() -> dict[str, Any]:
    """Keyword arguments for ``tuya_cloud_server``'s ``LocalCloud`` (override it, session-scoped, in a
    conftest.py)."""
    return {}


@pytest.fixture(scope="session")
def tuya_cloud_server(tmp_path_factory: pytest.TempPathFactory,
                      tuya_cloud_server_options: dict[str, Any]) -> Iterator[LocalCloud]:
    """One tuyacloud for the whole test session (see ``tuya_project`` for a fresh project on it per test)."""
    from tuyacloud.testing.cloud import LocalCloud

    cloud = LocalCloud(tmp_path_factory.mktemp("tuya_cloud_server"), **tuya_cloud_server_options).start()
    try:
        yield cloud
    finally:
        cloud.stop()


@pytest.fixture
def tuya_project(tuya_cloud_server: LocalCloud) -> Iterator[CloudProject]:
    """A fresh project (custom development, data center ``us``) on the session's cloud: its own credentials,
    devices and messages, in milliseconds. The cloud's clock is shared: it is put back to the wall clock after the
    test, so a test that steps or freezes it leaves nothing behind."""
    project = tuya_cloud_server.new_project()
    try:
        yield project
    finally:
        tuya_cloud_server.control.reset_clock()
