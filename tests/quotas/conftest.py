"""A server with the trial's quotas on (``serve --quotas trial``) and a small monthly call quota, so a test reaches
it in a few dozen calls; each test makes its own project, whose counts start at zero."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.console import ADMIN_PASSWORD
from support.server import ADMIN_TOKEN, CloudServer
from tuyacloud.testing.control import ControlClient

MONTHLY_CALLS = 25


@pytest.fixture(scope="module")
def trial(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    server = CloudServer(tmp_path_factory.mktemp("trial"), quotas="trial", quota_calls=MONTHLY_CALLS,
                         simulator=False, console_admin_password=ADMIN_PASSWORD).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def trial_control(trial: CloudServer) -> Iterator[ControlClient]:
    with ControlClient(trial.url, ADMIN_TOKEN) as control:
        yield control
