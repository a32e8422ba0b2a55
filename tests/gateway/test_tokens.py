"""Token endpoints: fields, single-use refresh that kills the old tokens at once (strict, the platform's rule) or
after ``--token-grace`` seconds, 1010 for dead tokens."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tuya_connector import TuyaOpenAPI

from support.server import CloudServer
from support.signed import SignedClient
from tuyacloud.clock import Clock


def test_token_result_has_the_reference_fields(client: SignedClient, cloud: CloudServer) -> None:
    body = client.connect()
    assert body["success"] is True
    assert isinstance(body["t"], int) and isinstance(body["tid"], str) and len(body["tid"]) == 32
    result = body["result"]
    assert set(result) >= {"access_token", "refresh_token", "expire_time", "expire", "uid"}
    assert (result["expire_time"], result["expire"]) == (7200, 7200)  # the full lifetime, as the platform says
    assert len(result["access_token"]) == 32 and len(result["refresh_token"]) == 32


def test_refresh_invalidates_the_old_access_and_refresh_tokens_at_once(client: SignedClient) -> None:
    """The default is Tuya's documented rule: after a refresh the old access token and refresh token are invalid."""
    old_access, old_refresh = client.access_token, client.refresh_token
    body = client.get(f"/v1.0/token/{old_refresh}", token="")
    assert body["success"], body
    new_access = body["result"]["access_token"]
    assert new_access != old_access and body["result"]["expire_time"] == 7200
    stale = client.get("/v1.0/iot-03/device-categories", token=old_access)
    assert (stale["success"], stale["code"], stale["msg"]) == (False, 1010, "token invalid")
    assert client.get("/v1.0/iot-03/device-categories", token=new_access)["success"]
    # A refresh token works once.
    again = client.get(f"/v1.0/token/{old_refresh}", token="")
    assert (again["success"], again["code"], again["msg"]) == (False, 1010, "token invalid")


GRACE_S = 60


@pytest.fixture
def graced(tmp_path: Path) -> Iterator[CloudServer]:
    """A server started with a grace period (``serve --token-grace 60``) and a clock the test moves."""
    server = CloudServer(tmp_path, clock=Clock(), create_demo=False, simulator=False, token_grace_s=GRACE_S).start()
    yield server
    server.stop()


def test_the_grace_option_keeps_the_old_access_token_for_its_seconds_only(graced: CloudServer) -> None:
    project = graced.create_project(name="grace")
    client = SignedClient(graced.url, project["access_id"], project["access_secret"])
    now = str(graced.clock.now_ms())
    assert client.connect()["success"]
    old_access, old_refresh = client.access_token, client.refresh_token
    body = client.get(f"/v1.0/token/{old_refresh}", token="", t=now)
    assert body["success"], body
    new_access = body["result"]["access_token"]
    graced.clock.step((GRACE_S - 1) * 1000)
    now = str(graced.clock.now_ms())
    assert client.get("/v1.0/iot-03/device-categories", token=old_access, t=now)["success"]
    # The refresh token stays single-use during the grace.
    again = client.get(f"/v1.0/token/{old_refresh}", token="", t=now)
    assert (again["success"], again["code"]) == (False, 1010)
    graced.clock.step(2000)
    now = str(graced.clock.now_ms())
    stale = client.get("/v1.0/iot-03/device-categories", token=old_access, t=now)
    assert (stale["success"], stale["code"], stale["msg"]) == (False, 1010, "token invalid")
    assert client.get("/v1.0/iot-03/device-categories", token=new_access, t=now)["success"]


def _refresh_while_a_parallel_caller_holds_the_old_token(server: CloudServer) -> dict[str, Any]:
    """tuya-connector-python shared between threads: one thread refreshes (its token is due), another sends the
    access token it read just before. Returns what the second one got."""
    project = server.create_project(name="parallel refresh")
    plug = server.add_devices(project["access_id"], "cz")[0]["id"]
    api = TuyaOpenAPI(server.url, project["access_id"], project["access_secret"])
    assert api.connect()["success"]
    parallel = TuyaOpenAPI(server.url, project["access_id"], project["access_secret"])
    parallel.token_info = copy.copy(api.token_info)  # what the other thread read before the refresh
    old_access = api.token_info.access_token
    api.token_info.expire_time = 0  # due: the next call refreshes with the refresh token first
    assert api.get(f"/v1.0/devices/{plug}")["success"]
    assert api.token_info.access_token != old_access
    answer: dict[str, Any] = parallel.get(f"/v1.0/devices/{plug}")
    return answer


def test_connector_python_parallel_caller_gets_one_1010_by_default(cloud: CloudServer) -> None:
    answer = _refresh_while_a_parallel_caller_holds_the_old_token(cloud)
    assert (answer["success"], answer["code"], answer["msg"]) == (False, 1010, "token invalid")


def test_connector_python_parallel_caller_succeeds_with_the_grace(graced: CloudServer) -> None:
    answer = _refresh_while_a_parallel_caller_holds_the_old_token(graced)
    assert answer["success"] is True, answer


def test_unknown_token_is_1010_token_invalid(client: SignedClient) -> None:
    body: dict[str, Any] = client.get("/v1.0/iot-03/device-categories", token="0" * 32)
    assert (body["success"], body["code"], body["msg"]) == (False, 1010, "token invalid")


def test_grant_type_other_than_1_is_refused(client: SignedClient) -> None:
    body = client.get("/v1.0/token", {"grant_type": 2}, token="")
    assert (body["success"], body["code"]) == (False, 1003)


def test_legacy_signatures_only_for_projects_that_opt_in(cloud: CloudServer) -> None:
    """The pre-2021 algorithm signs neither path nor body: refused unless the project opts in."""
    from tuyacloud.signing import sign_legacy

    for opted_in in (False, True):
        project = cloud.control("POST", "/projects", {"name": "legacy", "legacy_signing": opted_in})
        client = SignedClient(cloud.url, project["access_id"], project["access_secret"])
        t = str(int(time.time() * 1000))
        legacy = sign_legacy(client_id=project["access_id"], secret=project["access_secret"], t=t)
        body = client.get("/v1.0/token", {"grant_type": 1}, token="", t=t, sign=legacy)
        if not opted_in:
            assert (body["success"], body["code"]) == (False, 1004)
            continue
        assert body["success"], body
        token = body["result"]["access_token"]
        business = sign_legacy(client_id=project["access_id"], secret=project["access_secret"], t=t,
                               access_token=token)
        assert client.get("/v1.0/iot-03/device-categories", token=token, t=t, sign=business)["success"]


def test_refresh_signed_the_old_way_is_accepted(client: SignedClient) -> None:
    """tuya-connector-nodejs signs its refresh call with the old algorithm while sending its stale token."""
    from tuyacloud.signing import sign_legacy

    t = str(int(time.time() * 1000))
    sign = sign_legacy(client_id=client.access_id, secret=client.secret, t=t, access_token=client.access_token)
    body = client.get(f"/v1.0/token/{client.refresh_token}", t=t, sign=sign)
    assert body["success"], body
