"""Token endpoints: fields, single-use refresh with a grace period, 1010 for dead tokens."""

from __future__ import annotations

import time
from typing import Any

from support.server import CloudServer
from support.signed import SignedClient


def test_token_result_has_the_reference_fields(client: SignedClient, cloud: CloudServer) -> None:
    body = client.connect()
    assert body["success"] is True
    assert isinstance(body["t"], int) and isinstance(body["tid"], str) and len(body["tid"]) == 32
    result = body["result"]
    assert set(result) >= {"access_token", "refresh_token", "expire_time", "expire", "uid"}
    assert isinstance(result["expire_time"], int) and 7000 < result["expire_time"] <= 7200
    assert len(result["access_token"]) == 32 and len(result["refresh_token"]) == 32


def test_refresh_is_single_use_and_old_token_has_grace(client: SignedClient) -> None:
    old_access, old_refresh = client.access_token, client.refresh_token
    body = client.get(f"/v1.0/token/{old_refresh}", token="")
    assert body["success"], body
    new_access = body["result"]["access_token"]
    assert new_access != old_access
    # The old access token still works during the grace period, so parallel requests do not fail.
    assert client.get("/v1.0/iot-03/device-categories", token=old_access)["success"]
    assert client.get("/v1.0/iot-03/device-categories", token=new_access)["success"]
    # A refresh token works once.
    again = client.get(f"/v1.0/token/{old_refresh}", token="")
    assert (again["success"], again["code"], again["msg"]) == (False, 1010, "token invalid")


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
