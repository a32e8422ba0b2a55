"""The Tuya message format on the Pulsar topic: pure functions.

``data`` is the JSON of the event, AES-128 encrypted with ``access_secret[8:24]``: ECB with PKCS#7 (default;
tuya-connector-python only speaks this) or GCM (12-byte nonce, ciphertext, 16-byte tag, no AAD) when the project
chooses it. The outer message is signed with MD5 over its sorted fields and the secret. The Pulsar WebSocket
frame carries the message JSON in base64, with the ``em`` property saying which cipher was used.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import os
import time
from typing import Any

import orjson
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ECB, GCM = "aes_ecb", "aes_gcm"
PV = "2.0"


def message_key(access_secret: str) -> bytes:
    return access_secret[8:24].encode()


def ws_password(access_id: str, access_secret: str) -> str:
    """The Pulsar ``password`` header: ``md5(access_id + md5(secret))[8:24]``."""
    inner = hashlib.md5(access_secret.encode()).hexdigest()
    return hashlib.md5((access_id + inner).encode()).hexdigest()[8:24]


@functools.lru_cache(maxsize=1024)
def _ecb_encryptor(key: bytes) -> Any:
    """ECB chains nothing between blocks, so one encryptor per key serves every (padded) message."""
    return Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # noqa: S305 - the protocol's choice


def _pkcs7(data: bytes) -> bytes:
    n = 16 - len(data) % 16
    return data + bytes([n]) * n


def encrypt_ecb(plaintext: bytes, key: bytes) -> str:
    return base64.b64encode(_ecb_encryptor(key).update(_pkcs7(plaintext))).decode()


def decrypt_ecb(data: str, key: bytes) -> bytes:
    decryptor = Cipher(algorithms.AES(key), modes.ECB()).decryptor()  # noqa: S305
    padded = decryptor.update(base64.b64decode(data)) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


def encrypt_gcm(plaintext: bytes, key: bytes, nonce: bytes | None = None) -> str:
    nonce = nonce or os.urandom(12)
    return base64.b64encode(nonce + AESGCM(key).encrypt(nonce, plaintext, None)).decode()


def decrypt_gcm(data: str, key: bytes) -> bytes:
    blob = base64.b64decode(data)
    return AESGCM(key).decrypt(blob[:12], blob[12:], None)


def sign(fields: dict[str, Any], access_secret: str) -> str:
    """MD5 of ``k=v`` for every non-empty field but ``sign``, sorted by key, joined by ``||``, then ``||secret``."""
    parts = [f"{k}={v}" for k, v in sorted(fields.items()) if k != "sign" and v not in (None, "")]
    return hashlib.md5(("||".join(parts) + "||" + access_secret).encode()).hexdigest()


def tuya_message(protocol: int, data: dict[str, Any], access_secret: str, encryption: str, t: int) -> bytes:
    """The decoded payload: ``{"data", "protocol", "pv", "sign", "t"}`` (pure ASCII: ``data`` is base64).

    Built for every message delivered, so written out rather than through :func:`sign` over a sorted dict: the
    fields are fixed, always non-empty (``data`` is base64 of at least one block, ``protocol`` and ``t`` are
    integers), and listed here in key order; ``tests/messaging/test_msg_format.py`` checks the result against
    :func:`sign` and Tuya's published example."""
    plaintext = orjson.dumps(data)
    key = message_key(access_secret)
    if encryption == GCM:
        encrypted = encrypt_gcm(plaintext, key)
        text = f"data={encrypted}||encryptVersion=v2||protocol={protocol}||pv={PV}||t={t}||{access_secret}"
        return orjson.dumps({"data": encrypted, "encryptVersion": "v2", "protocol": protocol, "pv": PV,
                             "sign": hashlib.md5(text.encode()).hexdigest(), "t": t})
    encrypted = encrypt_ecb(plaintext, key)
    text = f"data={encrypted}||protocol={protocol}||pv={PV}||t={t}||{access_secret}"
    return orjson.dumps({"data": encrypted, "protocol": protocol, "pv": PV,
                         "sign": hashlib.md5(text.encode()).hexdigest(), "t": t})


@functools.lru_cache(maxsize=64)
def _publish_second(second: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))


def publish_time(ms: int) -> str:
    """Pulsar's ``publishTime`` text, e.g. ``2021-08-06T14:04:03.123Z`` (the second's text is kept: messages of
    one second share it)."""
    return f"{_publish_second(ms // 1000)}.{ms % 1000:03d}Z"


def message_id(seq: int) -> str:
    """Opaque to clients (they echo it in acks); ledger:entry:partition like real ids, base64 as Pulsar sends."""
    return base64.b64encode(f"{seq}:0:-1".encode()).decode()


def seq_of(message_id_text: str) -> int | None:
    try:
        return int(base64.b64decode(message_id_text, validate=True).decode().split(":", 1)[0])
    except (ValueError, UnicodeDecodeError):
        return None


def frame(seq: int, payload: bytes, encryption: str, tid: str, published_ms: int, redelivery: int,
          key: str) -> bytes:
    return orjson.dumps({
        "messageId": message_id(seq),
        "payload": base64.b64encode(payload).decode(),
        "properties": {"em": encryption, "tid": tid},
        "publishTime": publish_time(published_ms),
        "redeliveryCount": redelivery,
        "key": key,
    })
