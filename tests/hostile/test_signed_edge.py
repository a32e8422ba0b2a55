"""Signed-request limits checked at the edge, before the project lookup and the signature: each refusal is the
Tuya envelope with its code, never a 500 and never the cost of verifying a monstrous request.

(What a refusal costs is measured by bench/hostile.py, not timed here.)
"""

from __future__ import annotations

from typing import Any

import pytest

from support.custom import code, ok
from support.hostile import exchange, signed_head
from support.server import CloudServer
from support.signed import SignedClient


def _envelope(cloud: CloudServer, raw: bytes) -> dict[str, Any]:
    answer = exchange(cloud.port, raw, timeout=30)
    assert answer is not None, "no answer"
    assert answer.status == 200, answer
    body: dict[str, Any] = answer.json()
    return body


def test_a_huge_signature_headers_is_refused_at_the_head_limit(cloud: CloudServer, project: dict[str, Any]) -> None:
    """The issue's 1.4 MiB ``Signature-Headers: h0:h1:...:h199999`` with a wrong sign: refused while the head
    arrives (1109), not verified (237 ms of event loop each)."""
    names = ":".join(f"h{i}" for i in range(200_000))
    raw = signed_head(project["access_id"], project["access_secret"], "GET", "/v1.0/devices/x", sign="00" * 32,
                      extra={"Signature-Headers": names})
    assert len(raw) > 1_400_000
    body = _envelope(cloud, raw)
    assert body["success"] is False and body["code"] == 1109, body
    assert "request head is larger than" in body.get("detail", "")


def test_many_signature_header_names_within_the_head_limit_are_refused(cloud: CloudServer,
                                                                       project: dict[str, Any]) -> None:
    names = ":".join(f"h{i}" for i in range(5000))  # about 30 KB: under the head limit
    raw = signed_head(project["access_id"], project["access_secret"], "GET", "/v1.0/devices/x", sign="00" * 32,
                      extra={"Signature-Headers": names})
    body = _envelope(cloud, raw)
    assert body["code"] == 1109 and "Signature-Headers lists more than 20" in body.get("detail", ""), body


def test_a_t_of_5000_digits_is_request_time_invalid_not_a_500(cloud: CloudServer, project: dict[str, Any]) -> None:
    body = _envelope(cloud, signed_head(project["access_id"], project["access_secret"], "GET", "/v1.0/token",
                                        query="grant_type=1", t="1" * 5000))
    assert body["code"] == 1013, body


def test_a_long_nonce_is_refused_even_when_signed(cloud: CloudServer, project: dict[str, Any]) -> None:
    head = signed_head(project["access_id"], project["access_secret"], "GET", "/v1.0/token", query="grant_type=1",
                       nonce="n" * 129)
    assert _envelope(cloud, head)["code"] == 1109
    uuid = signed_head(project["access_id"], project["access_secret"], "GET", "/v1.0/token", query="grant_type=1",
                       nonce="5138cc3a-9033-d698-5692-3fd07b491173")
    assert _envelope(cloud, uuid)["success"] is True


@pytest.mark.parametrize("method", ["MD5", "HMAC-SHA1", "none"])
def test_a_sign_method_other_than_hmac_sha256_is_refused(cloud: CloudServer, project: dict[str, Any],
                                                         method: str) -> None:
    head = signed_head(project["access_id"], project["access_secret"], "GET", "/v1.0/token", query="grant_type=1",
                       extra={"sign_method": method})
    body = _envelope(cloud, head)
    assert body["code"] == 1004 and "sign_method must be HMAC-SHA256" in body.get("detail", ""), body


@pytest.mark.parametrize("method", [None, "HMAC-SHA256", "hmac-sha256"])
def test_hmac_sha256_or_no_sign_method_is_accepted(cloud: CloudServer, project: dict[str, Any],
                                                   method: str | None) -> None:
    extra = {"sign_method": method} if method else {}
    head = signed_head(project["access_id"], project["access_secret"], "GET", "/v1.0/token", query="grant_type=1",
                       extra=extra)
    assert _envelope(cloud, head)["success"] is True


def test_too_many_headers_are_refused(cloud: CloudServer, project: dict[str, Any]) -> None:
    extra = {f"x-filler-{i}": "1" for i in range(120)}
    head = signed_head(project["access_id"], project["access_secret"], "GET", "/v1.0/token", query="grant_type=1",
                       extra=extra)
    body = _envelope(cloud, head)
    assert body["code"] == 1109 and "more than 100 request headers" in body.get("detail", ""), body


@pytest.mark.parametrize("raw", ["+5", "1_0", " 5", "5 ", "\u0665", "0x10", "9" * 5000])
def test_query_integers_follow_a_strict_grammar(client: SignedClient, raw: str) -> None:
    assert code(client.get("/v1.0/iot-03/devices", {"page_size": raw})) == 1109


def test_plain_query_integers_still_work(client: SignedClient) -> None:
    assert ok(client.get("/v1.0/iot-03/devices", {"page_size": "5"})) is not None
