"""One server with its MQTT broker for the open-hub tests of a module, and a custom project with two users on two
assets (a device each), so visibility can be checked."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.openhub import Site, make_site, mqtt_server
from support.server import CloudServer


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    server = mqtt_server(tmp_path_factory.mktemp("openhub"), simulator=False)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def site(hub: CloudServer) -> Site:
    return make_site(hub)
