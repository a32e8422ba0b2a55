"""The Pulsar WebSocket consumer endpoint Tuya's message service uses:
``/ws/v2/consumer/persistent/{access_id}/out/{event|event-test}/{subscription}``.

Authentication is by the ``username`` (Access ID) and ``password`` (``md5(id + md5(secret))[8:24]``) upgrade
headers; a refused upgrade answers HTTP 401 with the reason (as the Pulsar proxy does). Client frames: acks
``{"messageId": ...}``, ``{"type": "negativeAcknowledge", "messageId": ...}``; WebSocket pings are answered by
the server. Region-scoped like the OpenAPI: the Host header (``mqe.tuyaus.com`` ...) picks the data center.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.responses import JSONResponse
from starlette.websockets import WebSocket, WebSocketDisconnect
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

from tuyacloud.limits import json_refusal, parse_int
from tuyacloud.messaging import ENVS, codec
from tuyacloud.messaging.hub import Consumer, Hub
from tuyacloud.models import Project
from tuyacloud.regions import RegionResolver

log = logging.getLogger("tuyacloud.messaging")
PATH = "/ws/v2/consumer/persistent/{tenant}/{namespace}/{topic}/{subscription}"
# What a subscription name may be (clients use "<access id>-sub"): a name is stored, shown and sent back, so
# control characters, a NUL (which PostgreSQL text refuses) or kilobytes of it are refused at the upgrade.
SUBSCRIPTION = re.compile(r"[A-Za-z0-9_.:-]{1,128}")


async def _refuse(websocket: WebSocket, status: int, reason: str) -> None:
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(JSONResponse({"error": reason}, status_code=status))
    else:
        await websocket.close(code=1008, reason=reason[:120])


async def _authenticate(websocket: WebSocket, hub: Hub, regions: RegionResolver) -> tuple[Project, str] | str:
    """The project and env, or the reason for refusing."""
    p = websocket.path_params
    if p["namespace"] != "out" or p["topic"] not in ENVS:
        topic = f"persistent://{p['tenant']}/{p['namespace']}/{p['topic']}"[:200]
        return f"unknown topic {topic}; use out/event or out/event-test"
    if not SUBSCRIPTION.fullmatch(p["subscription"]):
        return "a subscription name is 1 to 128 letters, digits, '-', '_', '.' or ':'"
    username = websocket.headers.get("username", "")
    password = websocket.headers.get("password", "")
    if not username or not password:
        return "username and password headers are required"
    if username != p["tenant"]:
        return "the topic belongs to another tenant than the username"
    project = await hub.ctx.store.get_project(username)
    if project is None:
        return "unknown Access ID"
    expected = codec.ws_password(project.access_id, project.access_secret)
    if not hmac.compare_digest(expected.encode(), password.encode()):
        return "wrong password"
    if not regions.serves_messages_for(project.region, websocket.headers.get("host")):
        return f"this project belongs to the {project.region} data center"
    return project, p["topic"]


async def _close_quietly(websocket: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(Exception):  # the client may be gone already
        await websocket.close(code=code, reason=reason)


def _ack_timeout(websocket: WebSocket) -> int:
    return max(0, parse_int(websocket.query_params.get("ackTimeoutMillis", "0")) or 0)


def _text_frame(data: bytes) -> bytes:
    """A final, unmasked text frame (RFC 6455 5.2), as a server sends it: what websockets' framing writes."""
    n = len(data)
    if n < 126:
        return bytes((0x81, n)) + data
    if n < 65536:
        return bytes((0x81, 126)) + n.to_bytes(2, "big") + data
    return bytes((0x81, 127)) + n.to_bytes(8, "big") + data


def _protocol_of(send: Any) -> WebSocketsSansIOProtocol | None:
    """The uvicorn protocol whose ``send`` the ASGI ``send`` given to the endpoint is: that ``send`` itself, or
    reached through Starlette's exception-handling wrappers (a ``sender`` closure per level, which for a WebSocket
    frame only passes the message on). None for anything else."""
    for _ in range(8):
        owner = getattr(send, "__self__", None)
        if owner is not None:
            return owner if isinstance(owner, WebSocketsSansIOProtocol) else None
        code = getattr(send, "__code__", None)
        if (code is None or getattr(send, "__module__", "") != "starlette._exception_handler"
                or code.co_name != "sender" or "send" not in code.co_freevars):
            return None
        send = send.__closure__[code.co_freevars.index("send")].cell_contents
    return None


def frame_sender(websocket: WebSocket) -> Callable[[bytes], Awaitable[None]]:
    """How the hub sends a consumer its frames (UTF-8 JSON text).

    Through Starlette's ``send_text`` each frame went through Starlette's checks, uvicorn's ASGI ``send`` (a flow
    control wait, its state checks), websockets' frame objects and their serialisation, and a ``decode`` and
    ``encode`` of the text on the way: about a fifth of what a Pulsar message cost the server (docs/performance.md,
    session 9). When the connection is uvicorn's WebSocket protocol in the state a frame may be sent in (open,
    accepted, no close sent, not paused by flow control) and no extension was negotiated, the frame is written to
    its transport directly: the same bytes websockets writes. (Per-message deflate would allow an uncompressed
    frame too, RFC 7692 section 6, but such a connection keeps websockets' own path.) In any other state, or on
    another server or protocol, it goes through ``send_text``, which then does what it would (waits for the
    transport to drain, raises on a closed connection)."""
    protocol = _protocol_of(getattr(websocket, "_send", None))
    conn = getattr(protocol, "conn", None)
    if (protocol is None or conn is None or getattr(conn, "extensions", None) != [] or not all(
            hasattr(protocol, name) for name in ("transport", "writable", "disconnected", "close_sent",
                                                  "handshake_complete", "initial_response"))
            or not hasattr(conn, "state")):
        async def through_starlette(data: bytes) -> None:
            await websocket.send_text(data.decode())

        return through_starlette
    opened = State.OPEN

    async def send(data: bytes) -> None:
        if (protocol.disconnected or protocol.close_sent or not protocol.handshake_complete
                or protocol.initial_response is not None or not protocol.writable.is_set() or conn.state is not opened
                or protocol.transport.is_closing()):
            await websocket.send_text(data.decode())
            return
        protocol.transport.write(_text_frame(data))

    return send


def make_endpoint(hub_of: Callable[[], Hub], regions: RegionResolver) -> Callable[[WebSocket], Awaitable[None]]:
    async def endpoint(websocket: WebSocket) -> None:
        hub: Hub = hub_of()
        outcome = await _authenticate(websocket, hub, regions)
        if isinstance(outcome, str):
            await _refuse(websocket, 400 if outcome.startswith("a subscription") else 401, outcome)
            return
        project, env = outcome
        if websocket.query_params.get("subscriptionType", "Failover") == "Exclusive" and hub.connected(
                (project.access_id, env, websocket.path_params["subscription"])):
            await _refuse(websocket, 409, "Exclusive subscription already has a consumer")
            return
        await websocket.accept()
        consumer = Consumer(project, env, websocket.path_params["subscription"], frame_sender(websocket),
                            _ack_timeout(websocket), f"{(websocket.client or ('', 0))[0]}")
        delivery = asyncio.create_task(hub.serve(consumer))

        def ended(task: asyncio.Task[None]) -> None:
            # ``serve`` marks the consumer closed however it ends, so only its exception tells a failure apart
            # from a client that left: then close, so the client reconnects instead of waiting for nothing.
            error = None if task.cancelled() else task.exception()
            if error is not None:
                log.warning("delivery stopped for %s: %r", consumer.key, error)
                asyncio.ensure_future(_close_quietly(websocket, 1011, "delivery stopped; reconnect"))

        delivery.add_done_callback(ended)
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                raw = message.get("text") or message.get("bytes")  # an ack may come as a binary frame
                if not raw or json_refusal(raw) is not None:  # an ack is a flat object: anything else is dropped
                    continue
                try:
                    frame = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    continue
                if isinstance(frame, dict) and isinstance(frame.get("messageId"), str):
                    consumer.acknowledge(frame["messageId"], negative=frame.get("type") == "negativeAcknowledge")
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            consumer.closed = True
            consumer.wake.set()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(delivery, timeout=10)

    return endpoint
