"""Fixtures of the schemathesis parts (the machinery: ``tests/support/fuzz.py``): each test module names its part
in ``PART`` and gets a world of its own on the session's server, so the parts can run in different processes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis

from support.fuzz import FuzzWorld, engine_subset, install_hooks, random_phase_positive
from support.server import CloudServer


@pytest.fixture(scope="module")
def fuzz_world(cloud: CloudServer, request: pytest.FixtureRequest) -> FuzzWorld:
    return FuzzWorld(cloud, request.module.PART)


@pytest.fixture
def api_schema(cloud: CloudServer, fuzz_world: FuzzWorld) -> Any:
    schema = schemathesis.openapi.from_url(f"{cloud.url}/openapi.json")
    install_hooks(schema, fuzz_world)
    random_phase_positive(schema)
    engine_subset(schema)
    return schema


@pytest.fixture(scope="module")
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        # The requests go to the test server on 127.0.0.1: no proxy settings to read from the environment, which
        # requests otherwise does for every request (about 2% of the fuzzing's CPU).
        s.trust_env = False
        yield s
