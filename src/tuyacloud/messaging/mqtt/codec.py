"""The open-hub's message format, as tuya-iot-py-sdk 0.6.6 decodes it: pure functions.

``{"data", "protocol", "pv": "2.0", "sign", "t"}`` where ``data`` is the event's JSON encrypted with the
credential's ``password[8:24]``: version 1.0 is AES-128-ECB with PKCS#7 padding, base64; version 2.0 is base64 of
``[4-byte big-endian IV length][IV][ciphertext][16-byte GCM tag]``, AES-128-GCM with ``str(t)`` as associated data.
The version is the one the config call asked for, whatever the project's type.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import os
from typing import Any

import orjson
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tuyacloud.messaging import codec

IV_LENGTH = 12
_IV_POOL = 4096 // IV_LENGTH  # IVs taken from the system's random source at once


class _Ivs:
    """Random GCM IVs, drawn from ``os.urandom`` a few hundred at a time: one ``getrandom`` system call per message
    was a measurable part of a message's cost on a virtual machine (docs/performance.md, session 8). The bytes are
    the same CSPRNG output, each used once."""

    __slots__ = ("_at", "_pool")

    def __init__(self) -> None:
        self._pool = b""
        self._at = 0

    def reset(self) -> None:
        self._pool, self._at = b"", 0

    def take(self) -> bytes:
        if self._at >= len(self._pool):
            self._pool, self._at = os.urandom(IV_LENGTH * _IV_POOL), 0
        iv = self._pool[self._at:self._at + IV_LENGTH]
        self._at += IV_LENGTH
        return iv


_ivs = _Ivs()
# A forked child must never use the IVs left in its parent's pool: the same IV twice under one key breaks GCM.
os.register_at_fork(after_in_child=_ivs.reset)


@functools.lru_cache(maxsize=4096)
def _gcm(key: bytes) -> AESGCM:
    """One cipher object per key (a link's): it keeps no state between messages, and making one sets up the key."""
    return AESGCM(key)


def encrypt_v2(plaintext: bytes, key: bytes, t: int, iv: bytes | None = None) -> str:
    iv = iv or _ivs.take()
    sealed = _gcm(key).encrypt(iv, plaintext, str(t).encode())
    return base64.b64encode(len(iv).to_bytes(4, "big") + iv + sealed).decode()


def decrypt_v2(data: str, key: bytes, t: int) -> bytes:
    blob = base64.b64decode(data)
    size = int.from_bytes(blob[:4], "big")
    iv = blob[4:4 + size]
    return AESGCM(key).decrypt(iv, blob[4 + size:], str(t).encode())


def encrypt(plaintext: bytes, key: str, version: str, t: int) -> str:
    if version == "2.0":
        return encrypt_v2(plaintext, key.encode(), t)
    return codec.encrypt_ecb(plaintext, key.encode())


def decrypt(data: str, key: str, version: str, t: int) -> Any:
    raw = decrypt_v2(data, key.encode(), t) if version == "2.0" else codec.decrypt_ecb(data, key.encode())
    return orjson.loads(raw)


def plain_payload(protocol: int, data: dict[str, Any], t: int) -> bytes:
    """The payload tuya-device-sharing-sdk (Home Assistant) reads: the message as plain JSON, not encrypted."""
    return orjson.dumps({"data": data, "protocol": protocol, "pv": codec.PV, "t": t})


def payload(protocol: int, plaintext: bytes, key: str, version: str, t: int) -> bytes:
    """The MQTT payload; ``sign`` is the MD5 signature the message service uses, keyed with the message key
    (clients do not check it).

    Built for every message published, so written out as :func:`codec.tuya_message` is rather than through
    :func:`codec.sign` over a sorted dict: the fields are fixed and never empty, listed here in key order
    (tests/mqtt/test_openhub_publish_bytes.py checks the result against the general form)."""
    data = encrypt(plaintext, key, version, t)
    text = f"data={data}||protocol={protocol}||pv={codec.PV}||t={t}||{key}"
    return orjson.dumps({"data": data, "protocol": protocol, "pv": codec.PV,
                         "sign": hashlib.md5(text.encode()).hexdigest(), "t": t})
