"""Signing: the reference vectors V1-V9 and properties of sign/verify.

The vectors pin exact signatures. The properties check, over random requests, that what ``sign_request`` produces
verifies the way the server builds a ``SignedRequest`` from the wire, that changing any signed part breaks it,
and that the client quirks of section 9 (``{}`` signed as empty, Java's missing blank line, any query order)
still verify. A small independent implementation of the documented algorithm (``reference_sign``) is the oracle.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from collections.abc import Mapping
from dataclasses import replace
from urllib.parse import quote, quote_plus, urlencode

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tuyacloud.signing import (
    BRACES_BODY_SHA256,
    EMPTY_BODY_SHA256,
    SignedRequest,
    explain,
    hmac_upper,
    matches_documented,
    parse_query,
    sign_legacy,
    sign_request,
    verify,
)

CLIENT_ID = "1KAD46OrT9HafiKdsXeg"
SECRET = "4OHBOnWOqaEC1mWXOpVL3yV50s0qGSRC"
T = "1588925778000"
TOKEN = "3f4eda2bdec17232f67c0b188af3eec1"
NONCE = "5138cc3a9033d69856923fd07b491173"
E = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
V2_BODY = b'{"commands": [{"code": "switch_1", "value": true}]}'
V7_BODY = (b'{"country_code":"1","username":"user@example.com","password":"1a1dc91c907325c69271ddf0c944bc72",'
           b'"schema":"smartlife"}')
V3_HEADERS = {"area_id": "29a33e8796834b1efa6", "call_id": "8afdb70ab2ed11eb85290242ac130003"}


def received(method: str, path: str, raw_query: str = "", body: bytes = b"", *, sign: str, t: str = T,
             access_token: str = "", nonce: str = "", headers: Mapping[str, str] | None = None,
             client_id: str = CLIENT_ID) -> SignedRequest:
    """A ``SignedRequest`` as the gateway builds it: header names lower-cased, the query as sent."""
    lower = {k.lower(): v for k, v in (headers or {}).items()}
    lower.update({"client_id": client_id, "sign": sign, "t": t, "access_token": access_token})
    if nonce:
        lower["nonce"] = nonce
    return SignedRequest(method=method, path=path, raw_query=raw_query, body=body, headers=lower,
                         client_id=client_id, sign=sign, t=t, access_token=access_token, nonce=nonce)


def reference_sign(secret: str, prefix: str, method: str, body: bytes, headers_part: str, url: str) -> str:
    """The documented formula written out independently of ``tuyacloud.signing``."""
    sts = f"{method}\n{hashlib.sha256(body).hexdigest()}\n{headers_part}\n{url}"
    return hmac.new(secret.encode(), (prefix + sts).encode(), hashlib.sha256).hexdigest().upper()


# --- the reference vectors --------------------------------------------------------------------------------------
def test_empty_body_hashes() -> None:
    assert EMPTY_BODY_SHA256 == E
    assert BRACES_BODY_SHA256 == "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    assert hashlib.sha256(V2_BODY).hexdigest() == "f91c1e221662f76e44b8eb47289228b9ce8cbb8c635ee66494c1f3b040e7372a"
    assert hashlib.sha256(V7_BODY).hexdigest() == "993ed44d04cddd9ac59ead11cc7286b096ea1e93555d73ad6e77e2c7cf47b741"


def test_v1_token_request() -> None:
    expected = "7BA26C076E5ECB1E959BE274A0FFB397B2B1865FC7BCED8F1C78AC5653C20CAA"
    got = sign_request(client_id=CLIENT_ID, secret=SECRET, method="GET", path="/v1.0/token",
                       query=[("grant_type", "1")], t=T)
    assert got == expected
    # The token header is ignored on token paths, whatever a client sends in it.
    assert sign_request(client_id=CLIENT_ID, secret=SECRET, method="GET", path="/v1.0/token",
                        query=[("grant_type", "1")], t=T, access_token="stale") == expected
    assert verify(received("GET", "/v1.0/token", "grant_type=1", sign=expected), SECRET) == "current"
    assert verify(received("GET", "/v1.0/token", "grant_type=1", sign=expected, access_token="stale"),
                  SECRET) == "current"


def test_v2_business_post_with_nonce() -> None:
    expected = "64AE6F7A0FBCEAC9248B9C1488863D747F7011E6D71FF946FE8D0803C9BE4DE9"
    path = "/v1.0/iot-03/devices/vdevo161234567/commands"
    got = sign_request(client_id=CLIENT_ID, secret=SECRET, method="POST", path=path, body=V2_BODY, t=T,
                       access_token=TOKEN, nonce=NONCE)
    assert got == expected
    assert verify(received("POST", path, body=V2_BODY, sign=expected, access_token=TOKEN, nonce=NONCE),
                  SECRET) == "current"


def test_v2b_business_post_without_nonce() -> None:
    expected = "E7427F51854726E3E68F04C212CB93CBF86D003C5D387357397C90B534F9101A"
    path = "/v1.0/iot-03/devices/vdevo161234567/commands"
    got = sign_request(client_id=CLIENT_ID, secret=SECRET, method="POST", path=path, body=V2_BODY, t=T,
                       access_token=TOKEN)
    assert got == expected
    assert verify(received("POST", path, body=V2_BODY, sign=expected, access_token=TOKEN), SECRET) == "current"


def test_v3_signed_headers() -> None:
    expected = "AE4481C692AA80B25F3A7E12C3A5FD9BBF6251539DD78E565A1A72A508A88784"
    path = "/v2.0/apps/schema/users"
    got = sign_request(client_id=CLIENT_ID, secret=SECRET, method="GET", path=path,
                       query=[("page_size", "50"), ("page_no", "1")], t=T, access_token=TOKEN, nonce=NONCE,
                       signed_headers=V3_HEADERS)
    assert got == expected
    wire = {**V3_HEADERS, "Signature-Headers": "area_id:call_id"}
    assert verify(received("GET", path, "page_size=50&page_no=1", sign=expected, access_token=TOKEN, nonce=NONCE,
                           headers=wire), SECRET) == "current"


def test_v3j_java_style_header_block() -> None:
    expected = "4B8387A3DB50A9A6A14F5DC99FF3B758A1AC423E6B0FF64F1ED6C3BB80139FDD"
    path = "/v2.0/apps/schema/users"
    block = "area_id:29a33e8796834b1efa6\ncall_id:8afdb70ab2ed11eb85290242ac130003"
    assert reference_sign(SECRET, CLIENT_ID + TOKEN + T + NONCE, "GET", b"", block,
                          path + "?page_no=1&page_size=50") == expected
    wire = {**V3_HEADERS, "Signature-Headers": "area_id:call_id"}
    assert verify(received("GET", path, "page_size=50&page_no=1", sign=expected, access_token=TOKEN, nonce=NONCE,
                           headers=wire), SECRET) == "current"


def test_v4a_legacy_token_request() -> None:
    expected = "CEAAFB5CCDC2F723A9FD3E91D3D2238EE0DD9A6D7C3C365DEB50FC2AF277AA83"
    assert sign_legacy(client_id=CLIENT_ID, secret=SECRET, t=T) == expected
    assert verify(received("GET", "/v1.0/token", "grant_type=1", sign=expected), SECRET) == "legacy"


def test_v4b_legacy_business_request() -> None:
    expected = "36C30E300F226B68ADD014DD1EF56A81EDB7B7A817840485769B9D6C96D0FAA1"
    assert sign_legacy(client_id=CLIENT_ID, secret=SECRET, t=T, access_token=TOKEN) == expected
    # The old algorithm authenticates neither URL nor body: any request with the right time verifies.
    assert verify(received("POST", "/v1.0/devices/x/commands", body=b'{"a":1}', sign=expected,
                           access_token=TOKEN), SECRET) == "legacy"


def test_v5_tinytuya_content_type_header() -> None:
    expected = "E6ECBE01F3FC5AAA1A991BDF44ED1C77F1D85527772A99B1812445F2EFB279A0"
    path = "/v1.0/iot-03/devices/vdevo161234567/commands"
    got = sign_request(client_id=CLIENT_ID, secret=SECRET, method="POST", path=path, body=V2_BODY, t=T,
                       access_token=TOKEN, signed_headers={"Content-type": "application/json"})
    assert got == expected
    # On the wire the header name arrives lower-cased; the block spells it as Signature-Headers lists it.
    wire = {"content-type": "application/json", "signature-headers": "Content-type"}
    assert verify(received("POST", path, body=V2_BODY, sign=expected, access_token=TOKEN, headers=wire),
                  SECRET) == "current"


def test_v6_refresh() -> None:
    expected = "1038A82343D9DE65B483F1BF7F1898851A552AB1F381CA072A4BD99CA064E0CD"
    path = "/v1.0/token/a1b2c3d4e5f60718293a4b5c6d7e8f90"
    assert sign_request(client_id=CLIENT_ID, secret=SECRET, method="GET", path=path, t=T) == expected
    assert verify(received("GET", path, sign=expected), SECRET) == "current"
    assert verify(received("GET", path, sign=expected, access_token=TOKEN), SECRET) == "current"


def test_v7_homebridge_login() -> None:
    expected = "886D9EB288685663DDFCF734D5CF145142528E191590FB676A9A81AF0A22530F"
    path = "/v1.0/iot-01/associated-users/actions/authorized-login"
    nonce = "c247a08b-afac-4f06-b4d3-bd52ab91be84"
    got = sign_request(client_id=CLIENT_ID, secret=SECRET, method="POST", path=path, body=V7_BODY, t=T,
                       nonce=nonce, signed_headers={"client_id": CLIENT_ID})
    assert got == expected
    wire = {"signature-headers": "client_id"}
    assert verify(received("POST", path, body=V7_BODY, sign=expected, nonce=nonce, headers=wire),
                  SECRET) == "current"


def test_v8_encoded_comma_in_query() -> None:
    expected = "36B4E8CB9E56F5C078FE58894DD86390873ED6F0CBF0B1570FC7C78C047247D7"
    path = "/v1.0/iot-03/devices"
    raw = "page_size=20&device_ids=vdevo1%2Cvdevo2"
    assert parse_query(raw) == [("page_size", "20"), ("device_ids", "vdevo1,vdevo2")]
    got = sign_request(client_id=CLIENT_ID, secret=SECRET, method="GET", path=path, query=parse_query(raw), t=T,
                       access_token=TOKEN)
    assert got == expected
    assert verify(received("GET", path, raw, sign=expected, access_token=TOKEN), SECRET) == "current"
    assert verify(received("GET", path, "device_ids=vdevo1,vdevo2&page_size=20", sign=expected,
                           access_token=TOKEN), SECRET) == "current"


def test_v9_node_braces_body_on_get() -> None:
    expected = "92375936CB34F618CF39DA2A55CF72E40E2EDD07583F9D254E94D31E9AF6F247"
    path = "/v1.0/devices/vdevo1"
    got = sign_request(client_id=CLIENT_ID, secret=SECRET, method="GET", path=path, body=b"{}", t=T,
                       access_token=TOKEN)
    assert got == expected
    assert verify(received("GET", path, body=b"{}", sign=expected, access_token=TOKEN), SECRET) == "current"


@pytest.mark.parametrize("sign", ["", "0" * 64, "7BA26C076E5ECB1E959BE274A0FFB397B2B1865FC7BCED8F1C78AC5653C20CA",
                                  "7BA26C076E5ECB1E959BE274A0FFB397B2B1865FC7BCED8F1C78AC5653C20CAA0"])
def test_wrong_signatures_do_not_verify(sign: str) -> None:
    assert verify(received("GET", "/v1.0/token", "grant_type=1", sign=sign), SECRET) is None


def test_lower_case_signature_is_accepted() -> None:
    lower = "7BA26C076E5ECB1E959BE274A0FFB397B2B1865FC7BCED8F1C78AC5653C20CAA".lower()
    assert verify(received("GET", "/v1.0/token", "grant_type=1", sign=lower), SECRET) == "current"


# --- properties ---------------------------------------------------------------------------------------------------
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)  # any encodable text: no lone surrogates
SAFE = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~", min_size=1, max_size=10)
QUERY_VALUE = st.one_of(TEXT, st.sampled_from(["", " ", "a,b", "a b", "+", "%", "&", "=", "a+b", "ümlaut", "日本",
                                               "x=y&z"]))
QUERY_KEY = st.one_of(SAFE, st.sampled_from(["device_ids", "page size", "ä", "k+", "codes"]))
QUERIES = st.dictionaries(QUERY_KEY, QUERY_VALUE, max_size=5)
HEADER_NAME = st.text("abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=8).filter(
    lambda n: n not in ("signature-headers", "sign", "t", "client_id", "access_token", "nonce"))
HEADER_VALUE = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=16)
SIGNED_HEADERS = st.dictionaries(HEADER_NAME, HEADER_VALUE, max_size=3)
BODIES = st.one_of(st.just(b""), st.just(b"{}"), st.binary(max_size=64),
                   TEXT.map(lambda s: json.dumps({"commands": [{"code": "x", "value": s}]}).encode()))
PATHS = st.one_of(
    st.lists(SAFE, min_size=1, max_size=4).map(lambda parts: "/" + "/".join(parts)),
    st.sampled_from(["/v1.0/devices/vdevo1/commands", "/v1.0/iot-03/devices", "/v1.0/token", "/v1.0/token/abc",
                     "/v1.0/devices/"]),
)
METHODS = st.sampled_from(["GET", "POST", "PUT", "DELETE"])
DIGITS = st.integers(10**12, 10**13 - 1).map(str)


def wire_query(query: Mapping[str, str], quote_via: str = "plus") -> str:
    """The query as a client puts it on the wire: percent-encoded, ``+`` or ``%20`` for spaces."""
    return urlencode(list(query.items()), quote_via=quote_plus if quote_via == "plus" else quote)


@st.composite
def signed_requests(draw: st.DrawFn) -> tuple[SignedRequest, dict[str, str], dict[str, str]]:
    """A request signed by ``sign_request`` and received as the gateway would see it."""
    method, path, body = draw(METHODS), draw(PATHS), draw(BODIES)
    query, headers = draw(QUERIES), draw(SIGNED_HEADERS)
    client_id, secret = draw(SAFE), draw(SAFE)
    t, token, nonce = draw(DIGITS), draw(st.one_of(st.just(""), SAFE)), draw(st.one_of(st.just(""), SAFE))
    sign = sign_request(client_id=client_id, secret=secret, method=method, path=path, query=list(query.items()),
                        body=body, t=t, access_token=token, nonce=nonce, signed_headers=headers)
    wire_headers = dict(headers)
    if headers:
        wire_headers["Signature-Headers"] = ":".join(headers)
    req = received(method, path, wire_query(query, draw(st.sampled_from(["plus", "percent"]))), body, sign=sign,
                   t=t, access_token=token, nonce=nonce, headers=wire_headers, client_id=client_id)
    return req, query, {"secret": secret}


PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(signed_requests())
def test_signed_request_verifies(case: tuple[SignedRequest, dict[str, str], dict[str, str]]) -> None:
    req, _, extra = case
    assert verify(req, extra["secret"]) == "current"


@PROPERTY_SETTINGS
@given(METHODS, PATHS, QUERIES, BODIES, SIGNED_HEADERS, SAFE, SAFE, DIGITS, SAFE)
def test_sign_request_matches_the_documented_formula(method: str, path: str, query: dict[str, str], body: bytes,
                                                     headers: dict[str, str], client_id: str, secret: str, t: str,
                                                     token: str) -> None:
    got = sign_request(client_id=client_id, secret=secret, method=method, path=path, query=list(query.items()),
                       body=body, t=t, access_token=token, signed_headers=headers)
    url = path + ("?" + "&".join(f"{k}={v}" for k, v in sorted(query.items())) if query else "")
    block = "".join(f"{k}:{v}\n" for k, v in headers.items())
    prefix = client_id + ("" if path.startswith("/v1.0/token") else token) + t
    assert got == reference_sign(secret, prefix, method, body, block, url)


@PROPERTY_SETTINGS
@given(signed_requests(), st.randoms(use_true_random=False))
def test_query_order_on_the_wire_does_not_matter(case: tuple[SignedRequest, dict[str, str], dict[str, str]],
                                                 rnd: random.Random) -> None:
    req, query, extra = case
    items = list(query.items())
    rnd.shuffle(items)
    shuffled = replace(req, raw_query=urlencode(items))
    assert verify(shuffled, extra["secret"]) == "current"
    # and a client that signed in its own (unsorted) order, as hb-official does, verifies too
    reordered = sign_request(client_id=req.client_id, secret=extra["secret"], method=req.method, path=req.path,
                             query=items, body=req.body, t=req.t, access_token=req.access_token, nonce=req.nonce,
                             signed_headers={k: req.headers[k.lower()] for k in
                                             req.headers.get("signature-headers", "").split(":") if k})
    assert verify(replace(shuffled, sign=reordered), extra["secret"]) == "current"


@PROPERTY_SETTINGS
@given(signed_requests(), st.data())
def test_changing_any_signed_part_breaks_the_signature(case: tuple[SignedRequest, dict[str, str], dict[str, str]],
                                                       data: st.DataObject) -> None:
    req, query, extra = case
    secret = extra["secret"]
    changes: list[tuple[str, SignedRequest, str]] = [
        ("t", replace(req, t=req.t + "1"), secret),
        ("secret", req, secret + "x"),
        ("client_id", replace(req, client_id=req.client_id + "x"), secret),
        ("nonce", replace(req, nonce=req.nonce + "x"), secret),
        ("method", replace(req, method="PATCH"), secret),
        ("path", replace(req, path=req.path + "x"), secret),
        # a different body; "" and "{}" stand in for each other (a client quirk), so never swap those two
        ("body", replace(req, body=req.body + b"x"), secret),
    ]
    if not req.path.startswith("/v1.0/token"):  # token calls are signed without the access token
        changes.append(("token", replace(req, access_token=req.access_token + "x"), secret))
    if query:
        key = data.draw(st.sampled_from(sorted(query)), label="query key")
        changed = {**query, key: query[key] + data.draw(st.sampled_from(["x", " ", ",", "ü"]), label="suffix")}
        changes.append(("query value", replace(req, raw_query=wire_query(changed)), secret))
        changes.append(("query dropped", replace(req, raw_query=wire_query(
            {k: v for k, v in query.items() if k != key})), secret))
    names = [n for n in req.headers.get("signature-headers", "").split(":") if n]
    if names:
        name = data.draw(st.sampled_from(names), label="signed header").lower()
        headers = {**req.headers, name: req.headers[name] + "x"}
        changes.append(("signed header", replace(req, headers=headers), secret))
    for label, changed_req, key in changes:
        assert verify(changed_req, key) is None, label


@PROPERTY_SETTINGS
@given(METHODS, PATHS, QUERIES, SAFE, SAFE, DIGITS, SAFE)
def test_braces_body_signed_as_empty_verifies(method: str, path: str, query: dict[str, str], client_id: str,
                                              secret: str, t: str, token: str) -> None:
    """connector-py/iot-py hash ``""`` for an empty dict but send ``{}``; node-conn the other way round."""
    as_empty = sign_request(client_id=client_id, secret=secret, method=method, path=path, query=list(query.items()),
                            body=b"", t=t, access_token=token)
    as_braces = sign_request(client_id=client_id, secret=secret, method=method, path=path,
                             query=list(query.items()), body=b"{}", t=t, access_token=token)
    raw = wire_query(query)
    assert verify(received(method, path, raw, b"{}", sign=as_empty, t=t, access_token=token, client_id=client_id),
                  secret) == "current"
    assert verify(received(method, path, raw, b"", sign=as_braces, t=t, access_token=token, client_id=client_id),
                  secret) == "current"
    # but a real body is never stood in for by either
    for body in (b"{ }", b"[]", b"{}x"):
        for sign in (as_empty, as_braces):
            assert verify(received(method, path, raw, body, sign=sign, t=t, access_token=token,
                                   client_id=client_id), secret) is None


@PROPERTY_SETTINGS
@given(METHODS, PATHS, QUERIES, BODIES, SIGNED_HEADERS.filter(bool), SAFE, SAFE, DIGITS, SAFE, SAFE)
def test_java_no_blank_line_header_block_verifies(method: str, path: str, query: dict[str, str], body: bytes,
                                                  headers: dict[str, str], client_id: str, secret: str, t: str,
                                                  token: str, nonce: str) -> None:
    url = path + ("?" + "&".join(f"{k}={v}" for k, v in sorted(query.items())) if query else "")
    java_block = "\n".join(f"{k}:{v}" for k, v in headers.items())
    prefix = client_id + ("" if path.startswith("/v1.0/token") else token) + t + nonce
    sign = reference_sign(secret, prefix, method, body, java_block, url)
    wire = {**headers, "Signature-Headers": ":".join(headers)}
    req = received(method, path, wire_query(query), body, sign=sign, t=t, access_token=token, nonce=nonce,
                   headers=wire, client_id=client_id)
    assert verify(req, secret) == "current"
    changed = {k.lower(): v for k, v in wire.items()}
    first = next(iter(headers)).lower()
    changed[first] += "x"
    assert verify(replace(req, headers={**req.headers, first: changed[first]}), secret) is None


@PROPERTY_SETTINGS
@given(signed_requests())
def test_header_names_are_looked_up_case_insensitively(
        case: tuple[SignedRequest, dict[str, str], dict[str, str]]) -> None:
    req, _, extra = case
    names = req.headers.get("signature-headers", "")
    assume(names)
    # Signature-Headers may list a name in any case; the block spells it as listed, so sign it that way.
    upper_names = names.upper()
    headers = {**req.headers, "signature-headers": upper_names}
    signed = {n: req.headers[n.lower()] for n in upper_names.split(":") if n}
    sign = sign_request(client_id=req.client_id, secret=extra["secret"], method=req.method, path=req.path,
                        query=parse_query(req.raw_query), body=req.body, t=req.t, access_token=req.access_token,
                        nonce=req.nonce, signed_headers=signed)
    assert verify(replace(req, headers=headers, sign=sign), extra["secret"]) == "current"


@given(st.dictionaries(QUERY_KEY, QUERY_VALUE, max_size=5))
def test_parse_query_round_trips_both_space_encodings(query: dict[str, str]) -> None:
    assert dict(parse_query(wire_query(query, "plus"))) == query
    assert dict(parse_query(wire_query(query, "percent"))) == query


@settings(max_examples=300, deadline=None)
@given(secret=st.text(max_size=150), message=st.text(max_size=600))
def test_hmac_with_cached_key_pads_is_hmac_sha256(secret: str, message: str) -> None:
    """The verifier's HMAC keeps each secret's key pads (signing._key_pads): the same bytes as the library's HMAC
    for any secret, longer than SHA-256's block too (such a key is hashed first), any text, and again on reuse."""
    expected = hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest().upper()
    assert hmac_upper(secret, message) == expected
    assert hmac_upper(secret, message) == expected  # the cached pads are copied, never consumed


def test_the_gateways_fast_constructor_makes_the_same_frozen_request() -> None:
    """``SignedRequest.received`` (the gateway's, on every request) fills the instance without the frozen
    ``__init__``: the object must be the constructor's, field for field, and as frozen."""
    from dataclasses import FrozenInstanceError, fields

    values = {"method": "POST", "path": "/v1.0/devices/d1/commands", "raw_query": "a=1", "body": V2_BODY,
              "headers": {"client_id": CLIENT_ID}, "client_id": CLIENT_ID, "sign": "S", "t": T,
              "access_token": TOKEN, "nonce": NONCE}
    fast, slow = SignedRequest.received(**values), SignedRequest(**values)
    assert fast == slow and type(fast) is SignedRequest
    assert {f.name: getattr(fast, f.name) for f in fields(fast)} == values
    assert vars(fast) == vars(slow)
    with pytest.raises(FrozenInstanceError):
        fast.t = "0"  # type: ignore[misc]


def _documented(req: SignedRequest, secret: str) -> bool:
    return matches_documented(req.method, req.path, req.raw_query, req.body, req.headers, req.client_id, req.sign,
                              req.t, req.access_token, req.nonce, secret)


@PROPERTY_SETTINGS
@given(signed_requests(), st.data())
def test_the_gateways_first_check_is_the_documented_variant(
        case: tuple[SignedRequest, dict[str, str], dict[str, str]], data: st.DataObject) -> None:
    """The gateway asks ``matches_documented`` first and ``verify`` only when it says no: it must say yes exactly
    when the signature is the documented variant's (``explain``'s expected one), whatever else signed it."""
    req, _, extra = case
    secret = extra["secret"]
    assert _documented(req, secret) and verify(req, secret) == "current"
    other = data.draw(st.sampled_from([
        req.sign.lower(),
        sign_legacy(client_id=req.client_id, secret=secret, t=req.t, access_token=req.access_token),
        hmac_upper(secret, "anything else"),
        "",
        "0" * 64,
    ]))
    changed = replace(req, sign=other)
    assert _documented(changed, secret) == (other.upper() == explain(changed, secret).expected_sign)
    if _documented(changed, secret):
        assert verify(changed, secret) == "current"
