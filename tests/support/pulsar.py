"""A small Pulsar-WebSocket consumer for tests, on websocket-client, with its own reading of the message format.

Decryption and signature checks are written here from the reference rules, not taken
from ``tuyacloud.messaging.codec``, so the tests compare the server against an independent implementation (and
``test_msg_format`` checks this one against the reference's vectors):

* key = ``access_secret[8:24]``; ECB with PKCS#7, or GCM with blob = 12-byte nonce || ciphertext || 16-byte tag
  and no AAD, chosen by the frame's ``properties.em``;
* ``sign`` = md5 of the non-empty top-level fields but ``sign`` as ``k=v``, sorted by key, joined by ``||``,
  then ``||`` + secret.

A reader thread puts every frame it receives on a queue (acknowledging it at once when ``auto_ack`` is set), so
tests wait for messages with a timeout and never block on a socket.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import websocket
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

CONNECT_TIMEOUT_S = 5.0


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def password_for(access_id: str, access_secret: str) -> str:
    """The reference rule (6.2): ``md5hex(access_id + md5hex(access_secret))[8:24]``."""
    return md5_hex(access_id + md5_hex(access_secret))[8:24]


def decrypt_ecb(data: str, access_secret: str) -> bytes:
    cipher = Cipher(algorithms.AES(access_secret[8:24].encode()), modes.ECB())  # noqa: S305 - the protocol's
    decryptor = cipher.decryptor()
    padded = decryptor.update(base64.b64decode(data)) + decryptor.finalize()
    pad = padded[-1]
    assert 1 <= pad <= 16 and padded.endswith(bytes([pad]) * pad), f"bad PKCS#7 padding {padded[-16:]!r}"
    return padded[:-pad]


def decrypt_gcm(data: str, access_secret: str) -> bytes:
    blob = base64.b64decode(data)
    nonce, ciphertext_and_tag = blob[:12], blob[12:]
    assert len(ciphertext_and_tag) >= 16, "a GCM blob ends with a 16-byte tag"
    return AESGCM(access_secret[8:24].encode()).decrypt(nonce, ciphertext_and_tag, None)


def expected_sign(message: dict[str, Any], access_secret: str) -> str:
    parts = [f"{k}={v}" for k, v in sorted(message.items()) if k != "sign" and v is not None and v != ""]
    return md5_hex("||".join(parts) + "||" + access_secret)


@dataclass
class Received:
    frame: dict[str, Any]  # the Pulsar ConsumerMessage
    message: dict[str, Any]  # the Tuya message (decoded payload)
    data: dict[str, Any]  # decrypted data
    data_text: str
    at: float  # time.monotonic() when it arrived

    @property
    def message_id(self) -> str:
        return str(self.frame["messageId"])

    @property
    def redelivery(self) -> int:
        return int(self.frame.get("redeliveryCount", 0))

    @property
    def em(self) -> str | None:
        return self.frame.get("properties", {}).get("em")

    @property
    def protocol(self) -> int:
        return int(self.message["protocol"])

    @property
    def device_id(self) -> str | None:
        return self.data.get("devId")

    def status_value(self, code: str) -> Any:
        for item in self.data.get("status", []):
            if item.get("code") == code:
                return item.get("value")
        raise KeyError(code)


def open_socket(port: int, access_id: str, password: str, *, env: str = "event", tenant: str | None = None,
                subscription: str | None = None, ack_timeout_ms: int = 3000, sub_type: str = "Failover",
                namespace: str = "out", headers: dict[str, str] | None = None,
                host: str | None = None) -> websocket.WebSocket:
    """Connect as connector-py does (username/password headers); raises WebSocketBadStatusException if refused."""
    tenant = tenant or access_id
    subscription = subscription or f"{access_id}-sub"
    url = (f"ws://127.0.0.1:{port}/ws/v2/consumer/persistent/{tenant}/{namespace}/{env}/{subscription}"
           f"?ackTimeoutMillis={ack_timeout_ms}&subscriptionType={sub_type}")
    header = {"Connection": "Upgrade", "username": access_id, "password": password}
    header.update(headers or {})
    options = {"host": host} if host else {}
    return websocket.create_connection(url, header=header, timeout=CONNECT_TIMEOUT_S, **options)


class PulsarConsumer:
    """One consumer on a subscription; ``received`` is a queue of ``Received``."""

    def __init__(self, port: int, access_id: str, access_secret: str, *, env: str = "event",
                 ack_timeout_ms: int = 3000, subscription: str | None = None, auto_ack: bool = False,
                 on_message: Callable[[Received], None] | None = None) -> None:
        self.port = port
        self.access_id = access_id
        self.access_secret = access_secret
        self.env = env
        self.ack_timeout_ms = ack_timeout_ms
        self.subscription = subscription
        self.auto_ack = auto_ack
        self.on_message = on_message
        self.received: queue.Queue[Received] = queue.Queue()
        self.errors: list[str] = []
        self.close_code: int | None = None  # of a close frame from the server
        self.close_reason = ""
        self.ws: websocket.WebSocket | None = None
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()

    def connect(self) -> PulsarConsumer:
        self.ws = open_socket(self.port, self.access_id, password_for(self.access_id, self.access_secret),
                              env=self.env, subscription=self.subscription, ack_timeout_ms=self.ack_timeout_ms)
        self.ws.settimeout(0.2)
        self._closing.clear()
        self._thread = threading.Thread(target=self._read, args=(self.ws,), daemon=True)
        self._thread.start()
        return self

    @property
    def connected(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _read(self, ws: websocket.WebSocket) -> None:
        while not self._closing.is_set():
            try:
                opcode, text = ws.recv_data(control_frame=True)  # pings are answered inside
            except websocket.WebSocketTimeoutException:
                continue
            except Exception as exc:  # the connection is gone
                if not self._closing.is_set():
                    self.errors.append(f"socket ended: {exc!r}")
                return
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                if len(text) >= 2:
                    self.close_code = int.from_bytes(text[:2], "big")
                    self.close_reason = text[2:].decode("utf-8", "replace")
                if not self._closing.is_set():
                    self.errors.append(f"closed by the server: {self.close_code} {self.close_reason}")
                return
            if opcode not in (websocket.ABNF.OPCODE_TEXT, websocket.ABNF.OPCODE_BINARY) or not text:
                continue
            try:
                received = self.decode(text)
            except Exception as exc:  # a frame the tests could not read is a failure they report
                self.errors.append(f"undecodable frame {text[:200]!r}: {exc!r}")
                continue
            if self.on_message is not None:
                self.on_message(received)
            self.received.put(received)
            if self.auto_ack:
                try:
                    self.ack(received)
                except Exception as exc:
                    if not self._closing.is_set():
                        self.errors.append(f"ack failed: {exc!r}")
                    return

    def decode(self, text: str | bytes) -> Received:
        frame = json.loads(text)
        payload = base64.b64decode(frame["payload"])
        message = json.loads(payload.decode("ascii"))
        em = frame["properties"].get("em")
        if em == "aes_gcm":
            plain = decrypt_gcm(message["data"], self.access_secret)
        else:
            assert em in (None, "aes_ecb"), f"unknown em {em!r}"
            plain = decrypt_ecb(message["data"], self.access_secret)
        data_text = plain.decode("utf-8")
        return Received(frame, message, json.loads(data_text), data_text, time.monotonic())

    def ack(self, received: Received) -> None:
        assert self.ws is not None
        self.ws.send(json.dumps({"messageId": received.message_id}))

    def nack(self, received: Received) -> None:
        assert self.ws is not None
        self.ws.send(json.dumps({"type": "negativeAcknowledge", "messageId": received.message_id}))

    def get(self, timeout: float = 5.0) -> Received:
        """The next frame; fails the test when none arrives in time."""
        try:
            return self.received.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no message within {timeout} s (errors: {self.errors})") from None

    def get_many(self, count: int, timeout: float = 10.0,
                 accept: Callable[[Received], bool] | None = None) -> list[Received]:
        """``count`` frames (those ``accept`` says yes to; others are dropped) within ``timeout`` overall."""
        out: list[Received] = []
        deadline = time.monotonic() + timeout
        while len(out) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"got {len(out)} of {count} messages in {timeout} s (errors: {self.errors})")
            try:
                item = self.received.get(timeout=left)
            except queue.Empty:
                continue
            if accept is None or accept(item):
                out.append(item)
        return out

    def quiet(self, seconds: float) -> list[Received]:
        """Everything that arrives during ``seconds`` (for checking that nothing does)."""
        out: list[Received] = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                out.append(self.received.get(timeout=left))
            except queue.Empty:
                break
        return out

    def close(self) -> None:
        self._closing.set()
        if self._thread is not None:
            self._thread.join(timeout=3)  # the reader notices within its 0.2 s receive timeout
        if self.ws is not None:
            with contextlib.suppress(Exception):
                self.ws.close(timeout=2)
        self.ws = None

    def __enter__(self) -> PulsarConsumer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def subscription(control: Callable[..., Any], access_id: str, env: str = "event") -> dict[str, Any]:
    """The default subscription's row of ``GET /_tuyacloud/projects/{id}/subscriptions``."""
    rows = control("GET", f"/projects/{access_id}/subscriptions")
    return next(r for r in rows if r["env"] == env and r["subscription"] == f"{access_id}-sub")


def wait_for_subscription(control: Callable[..., Any], access_id: str, check: Callable[[dict[str, Any]], bool],
                          env: str = "event", timeout: float = 5.0) -> dict[str, Any]:
    """Poll the control API until ``check`` holds for the subscription's row; fail with the last row otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        row = subscription(control, access_id, env)
        if check(row):
            return row
        if time.monotonic() > deadline:
            raise AssertionError(f"subscription never reached the expected state: {row}")
        time.sleep(0.05)
