"""The per-request encryption and signature of the device-sharing API (Home Assistant's Tuya integration).

Pure functions, no I/O: every request picks a fresh request id ``rid``; both sides derive from it and the
session's refresh token a ``hash_key`` (hex MD5 of rid + refresh token) and an AES-128 key (the first 16 hex
characters of HMAC-SHA256 keyed by rid over hash_key, used as 16 ASCII bytes). The query travels as
``?encdata=`` and the body as ``{"encdata": ...}``, each base64 of a 12-byte nonce, the AES-GCM ciphertext and its
tag; the client sends the nonce and the ciphertext base64-encoded separately and concatenated, which decodes the
same because 12 bytes encode to 16 characters without padding. The signature is hex HMAC-SHA256 keyed by
hash_key over ``X-appKey=..||X-requestId=..||X-sid=..||X-time=..||X-token=..`` (empty values left out) followed
by the query's and the body's encdata. The answer's ``result`` is encrypted with the same key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SIGNED_HEADERS = ("X-appKey", "X-requestId", "X-sid", "X-time", "X-token")
NONCE_LEN = 12


class DecryptError(ValueError):
    """encdata that is not base64, too short, or fails its authentication tag."""


def hash_key(rid: str, refresh_token: str) -> str:
    return hashlib.md5((rid + refresh_token).encode()).hexdigest()


def secret(rid: str, key_hash: str, sid: str = "") -> str:
    """The 16-character AES key. A non-empty ``sid`` mixes in characters of itself, as the client does: the
    character at (code of each of its first 16) mod 16. A ``sid`` too short for one of those positions makes no
    key (the client itself fails on it): :class:`DecryptError`, never an ``IndexError``."""
    message = key_hash
    if sid:
        picks = [ord(sid[i]) % 16 for i in range(min(len(sid), 16))]
        if max(picks) >= len(sid):
            raise DecryptError(f"X-sid is too short to make this request's key ({len(sid)} characters)")
        message += "_" + "".join(sid[i] for i in picks)
    return hmac.new(rid.encode(), message.encode(), hashlib.sha256).hexdigest()[:16]


def sign(key_hash: str, headers: Mapping[str, str], query_encdata: str = "", body_encdata: str = "") -> str:
    text = "||".join(f"{name}={headers[name]}" for name in SIGNED_HEADERS if headers.get(name, ""))
    return hmac.new(key_hash.encode(), (text + query_encdata + body_encdata).encode(), hashlib.sha256).hexdigest()


def sign_ok(key_hash: str, headers: Mapping[str, str], given: str, query_encdata: str = "",
            body_encdata: str = "") -> bool:
    if not given.isascii():  # never a hex digest; and compare_digest raises TypeError on non-ASCII text
        return False
    return hmac.compare_digest(sign(key_hash, headers, query_encdata, body_encdata), given.lower())


def encrypt(plain: str | bytes, key: str, nonce: bytes | None = None) -> str:
    data = plain.encode() if isinstance(plain, str) else plain
    iv = nonce if nonce is not None else os.urandom(NONCE_LEN)
    return base64.b64encode(iv + AESGCM(key.encode()).encrypt(iv, data, None)).decode()


def decrypt(encdata: str, key: str) -> bytes:
    try:
        raw = base64.b64decode(encdata, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DecryptError("encdata is not base64") from exc
    if len(raw) < NONCE_LEN + 16:
        raise DecryptError("encdata is too short")
    try:
        return AESGCM(key.encode()).decrypt(raw[:NONCE_LEN], raw[NONCE_LEN:], None)
    except InvalidTag as exc:
        raise DecryptError("encdata does not decrypt with this request's key") from exc
