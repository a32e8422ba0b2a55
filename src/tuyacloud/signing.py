"""Tuya request signing: pure functions shared by the server, the console's API Explorer and our own clients.

The current algorithm::

    stringToSign = METHOD \\n sha256(body) \\n signed-header lines \\n url
    sign = UPPER(HEX(HMAC-SHA256(secret, client_id [+ access_token] + t + nonce + stringToSign)))

and the earlier one (section 1.2): ``HMAC(secret, client_id [+ access_token] + t)``. The verifier accepts the
variants real clients produce (section 9): a ``{}`` body signed as empty and vice versa, Java's missing blank
line after the header block, queries signed in the order sent, and no nonce or a reused one.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote_plus

EMPTY_BODY_SHA256 = hashlib.sha256(b"").hexdigest()
BRACES_BODY_SHA256 = hashlib.sha256(b"{}").hexdigest()

# How an API is signed, as its route declares it (the gateway verifies it; the console's tools show it).
TOKEN_AUTH = "token"  # token endpoints: signed without an access token
LOGIN_AUTH = "login"  # signed like business calls but with an empty access token
BUSINESS_AUTH = "business"  # signed with a valid access token


def is_token_path(path: str) -> bool:
    """Token calls are signed without an access token, whatever the ``access_token`` header holds."""
    return path.startswith("/v1.0/token")


def hmac_upper(secret: str, message: str) -> str:
    return _hmac_hex(secret, message).upper()


_BLOCK = 64  # SHA-256's block size: HMAC's key pads are this long


@functools.lru_cache(maxsize=1024)
def _key_pads(secret: str) -> tuple[hashlib._Hash, hashlib._Hash]:
    """HMAC-SHA256's inner and outer hashes with the key's pads already absorbed (RFC 2104), once per secret: a
    signature is then two hash copies and two short updates, a third of what ``hmac.digest`` costs per call
    (it keys a new HMAC context every time). The secret is a project's, so there are few of them."""
    key = secret.encode()
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    return (hashlib.sha256(bytes(b ^ 0x36 for b in key)), hashlib.sha256(bytes(b ^ 0x5C for b in key)))


def _hmac_hex(secret: str, message: str) -> str:
    """HMAC-SHA256(secret, message) in lower-case hex, exactly as ``hmac.new(...).hexdigest()``."""
    inner, outer = _key_pads(secret)
    inner, outer = inner.copy(), outer.copy()
    inner.update(message.encode())
    outer.update(inner.digest())
    return outer.hexdigest()


def parse_query(raw_query: str) -> list[tuple[str, str]]:
    """Decoded ``(key, value)`` pairs in the order sent; ``+`` and ``%20`` both decode to a space."""
    pairs: list[tuple[str, str]] = []
    if not raw_query:
        return pairs
    for part in raw_query.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        pairs.append((unquote_plus(key), unquote_plus(value)))
    return pairs


def canonical_url(path: str, pairs: Iterable[tuple[str, str]], sort: bool = True) -> str:
    """The Url part: path, then ``k=v`` joined by ``&`` (first value per key), sorted by key unless told not to."""
    seen: dict[str, str] = {}
    for key, value in pairs:
        if key not in seen:
            seen[key] = value
    items = sorted(seen.items()) if sort else list(seen.items())
    if not items:
        return path
    return path + "?" + "&".join(f"{k}={v}" for k, v in items)


def header_block(signature_headers: str | None, headers: Mapping[str, str], java_style: bool = False) -> str:
    """Signed header lines, names spelled as listed in ``Signature-Headers``; lookup is case-insensitive.

    ``java_style`` reproduces tuya-connector (Java), which joins lines with ``\\n`` and omits the final one.
    """
    if not signature_headers:
        return ""
    lower = {k.lower(): v for k, v in headers.items()}
    names = [n.strip() for n in signature_headers.split(":") if n.strip()]
    lines = [f"{name}:{lower.get(name.lower(), '')}" for name in names]
    if not lines:
        return ""
    if java_style:
        return "\n".join(lines)
    return "".join(line + "\n" for line in lines)


def string_to_sign(method: str, body_sha256: str, headers_part: str, url: str) -> str:
    return f"{method.upper()}\n{body_sha256}\n{headers_part}\n{url}"


@dataclass(frozen=True)
class Signature:
    """A signature with the parts that produced it, so the console can show how a request was signed."""

    string_to_sign: str
    prefix: str  # client_id [+ access_token] + t + nonce: the message is prefix + string_to_sign
    sign: str


def compute_signature(
    *,
    client_id: str,
    secret: str,
    method: str,
    path: str,
    query: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
    t: str,
    access_token: str = "",
    nonce: str = "",
    signed_headers: Mapping[str, str] | None = None,
) -> Signature:
    """The documented (current) algorithm, step by step: what a well-behaved client computes."""
    names = ":".join(signed_headers) if signed_headers else ""
    headers_part = header_block(names, signed_headers or {})
    sts = string_to_sign(method, hashlib.sha256(body).hexdigest(), headers_part, canonical_url(path, query))
    token = "" if is_token_path(path) else access_token
    prefix = client_id + token + t + nonce
    return Signature(string_to_sign=sts, prefix=prefix, sign=hmac_upper(secret, prefix + sts))


def sign_request(
    *,
    client_id: str,
    secret: str,
    method: str,
    path: str,
    query: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
    t: str,
    access_token: str = "",
    nonce: str = "",
    signed_headers: Mapping[str, str] | None = None,
) -> str:
    """What a well-behaved client sends (current algorithm): used by the console and our tests and benches."""
    return compute_signature(
        client_id=client_id, secret=secret, method=method, path=path, query=query, body=body, t=t,
        access_token=access_token, nonce=nonce, signed_headers=signed_headers,
    ).sign


def sign_legacy(*, client_id: str, secret: str, t: str, access_token: str = "") -> str:
    """The pre-2021 algorithm: no string to sign, so nothing of the request but the time is authenticated."""
    return hmac_upper(secret, client_id + access_token + t)


@dataclass(frozen=True)
class SignedRequest:
    """What the verifier needs from a received request; header names are looked up case-insensitively."""

    method: str
    path: str
    raw_query: str
    body: bytes
    headers: Mapping[str, str]  # lower-cased names
    client_id: str
    sign: str
    t: str
    access_token: str
    nonce: str

    @classmethod
    def received(cls, method: str, path: str, raw_query: str, body: bytes, headers: Mapping[str, str],
                 client_id: str, sign: str, t: str, access_token: str, nonce: str) -> SignedRequest:
        """The same object as the constructor makes, for the gateway's every request: a frozen dataclass's
        ``__init__`` sets each of its ten fields through ``object.__setattr__`` (about 3 µs here, a third of a
        signature's check); filling the instance's ``__dict__`` at once costs a third of that."""
        made = object.__new__(cls)
        made.__dict__.update(method=method, path=path, raw_query=raw_query, body=body, headers=headers,
                             client_id=client_id, sign=sign, t=t, access_token=access_token, nonce=nonce)
        return made


@dataclass(frozen=True)
class Explanation:
    """How the server sees a request: for the console's "verify signature" page and for support."""

    valid: bool
    matched: str | None
    string_to_sign: str
    sign_prefix: str
    expected_sign: str


def _candidates(req: SignedRequest) -> Iterable[tuple[str, str, str]]:
    """(variant name, message, string to sign) in order of likelihood; cheap ones first.

    The documented variant comes first and is worked out alone: nearly every request matches it, and the others
    (query in the order sent, the other empty-body hash, Java's header block) are worked out only when it fails."""
    token = "" if is_token_path(req.path) else req.access_token
    prefix = req.client_id + token + req.t + req.nonce
    pairs = parse_query(req.raw_query)
    url = canonical_url(req.path, pairs)
    body_hash = hashlib.sha256(req.body).hexdigest()
    sig_headers = req.headers.get("signature-headers", "")
    block = header_block(sig_headers, req.headers)
    sts = string_to_sign(req.method, body_hash, block, url)
    yield "current", prefix + sts, sts
    urls = [url]
    unsorted = canonical_url(req.path, pairs, sort=False)
    if unsorted != url:
        urls.append(unsorted)
    hashes = [body_hash]
    if req.body in (b"", b"{}"):
        hashes = [body_hash, EMPTY_BODY_SHA256 if body_hash != EMPTY_BODY_SHA256 else BRACES_BODY_SHA256]
    blocks = [block]
    java = header_block(sig_headers, req.headers, java_style=True)
    if java and java != block:
        blocks.append(java)
    first = True
    for url in urls:
        for h in hashes:
            for block in blocks:
                if first:  # the documented variant, tried above
                    first = False
                    continue
                sts = string_to_sign(req.method, h, block, url)
                yield "current", prefix + sts, sts
    yield "legacy", req.client_id + token + req.t, ""
    if is_token_path(req.path) and req.access_token:
        # node-conn's refresh call signs the old way while also sending its stale token.
        yield "legacy", req.client_id + req.access_token + req.t, ""


def matches_documented(method: str, path: str, raw_query: str, body: bytes, headers: Mapping[str, str],
                       client_id: str, sign: str, t: str, access_token: str, nonce: str, secret: str) -> bool:
    """Whether ``sign`` is the documented variant's signature of the request (constant-time compare): what nearly
    every request carries, worked out from the request's parts without a :class:`SignedRequest` or the generator
    of every variant. The gateway asks this first and :func:`verify` (which tries this variant again, then the
    others) only when it says no, so the answer is :func:`verify`'s in every case."""
    token = "" if path.startswith("/v1.0/token") else access_token  # is_token_path, inlined: every request
    url = canonical_url(path, parse_query(raw_query)) if raw_query else path
    body_hash = hashlib.sha256(body).hexdigest() if body else EMPTY_BODY_SHA256
    sig_headers = headers.get("signature-headers")
    block = header_block(sig_headers, headers) if sig_headers else ""
    message = f"{client_id}{token}{t}{nonce}{method.upper()}\n{body_hash}\n{block}\n{url}"
    return hmac.compare_digest(_hmac_hex(secret, message).upper().encode(), sign.upper().encode())


def verify(req: SignedRequest, secret: str, allow_legacy: bool = True) -> str | None:
    """The name of the variant whose signature matches (constant-time compare), or None.

    ``allow_legacy`` admits the pre-2021 algorithm, which authenticates neither the path nor the body.
    """
    given = req.sign.upper().encode()
    for name, message, _ in _candidates(req):
        if name == "legacy" and not allow_legacy:
            break
        expected = _hmac_hex(secret, message).upper().encode()
        if hmac.compare_digest(expected, given):
            return name
    return None


def explain(req: SignedRequest, secret: str) -> Explanation:
    """The documented (first) variant's string to sign and signature, and whether any variant matched."""
    first = next(iter(_candidates(req)))
    _, message, sts = first
    matched = verify(req, secret)
    return Explanation(
        valid=matched is not None,
        matched=matched,
        string_to_sign=sts,
        sign_prefix=message[: len(message) - len(sts)],
        expected_sign=hmac_upper(secret, message),
    )
