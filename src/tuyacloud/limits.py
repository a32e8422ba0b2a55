"""The fixed limits every entry checks before it does real work, and the cheap checks that enforce them.

A hostile client should pay for what it sends, not make the server pay: every limit here is checked before any
signature, store or catalog work, costs a few comparisons on a well-formed request, and refuses with the Tuya
envelope (through errors.py) rather than a 500. The connection limits (time-outs, connection counts) live in
:mod:`tuyacloud.connections`; docs/limits.md lists all of them with their defaults and codes.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from tuyacloud.errors import ParamIllegal

# --- HTTP request head (checked by the connection protocol, before the application sees the request) -------
MAX_HEADER_BYTES = 64 * 1024  # request line and header lines together
MAX_HEADERS = 100
# The WebSocket handshake is parsed a second time by the websockets library, which gives up silently on a line
# over 8192 bytes or more than 128 headers: such upgrades are answered before they are handed over.
MAX_UPGRADE_LINE = 8000

MAX_WS_FRAME = 64 * 1024  # a message consumer sends acknowledgements of a few dozen bytes

# --- bodies -------------------------------------------------------------------------------------------------
MAX_BODY = 1 << 20  # no API takes more; the console's forms neither
# Nesting of any JSON the cloud accepts (OpenAPI and control API bodies, JSON-typed values, console forms,
# WebSocket frames). Real bodies nest 5 or 6 levels; Python recursion (repr, json, the store's encoders) fails
# near 1000, so a limit far below that keeps every later step safe.
MAX_JSON_DEPTH = 32
# Arrays and objects in one JSON text: a batch of 255 commands with object values has under 800.
MAX_JSON_CONTAINERS = 4096

# --- signed request headers ---------------------------------------------------------------------------------
MAX_T_DIGITS = 13  # epoch milliseconds: 13 digits until the year 2286
MAX_NONCE = 128  # clients send a UUID (32 or 36 characters)
MAX_SIGNATURE_HEADERS = 20  # names listed in Signature-Headers; clients sign one to three
MAX_SIGNATURE_HEADER_NAME = 64
SIGN_METHOD = "HMAC-SHA256"  # the only sign_method the platform documents

# --- batches ------------------------------------------------------------------------------------------------
# Commands (or shadow properties) per request. The platform publishes no figure for this call; a device has at
# most 255 data points (DP ids are one byte), so a longer batch can only repeat codes.
MAX_COMMANDS = 255

# --- device sharing (Home Assistant's QR login) ------------------------------------------------------------------
# QR logins waiting for approval per user code. Home Assistant asks for one per config flow, and a QR code lives 5
# minutes; anyone who knows a user code may ask, so without a cap each request was one more row.
MAX_PENDING_QR_LOGINS = 10

_INTEGER = re.compile(r"-?[0-9]{1,18}")


def parse_int(raw: str) -> int | None:
    """A query integer by strict grammar: optional minus, ASCII digits only (``int()`` also takes ``+5``,
    ``1_0``, `` 5 `` and non-ASCII digits, and raises on 4,300 of them); None when it is not one."""
    return int(raw) if _INTEGER.fullmatch(raw) else None


_NOT_PARSED = object()


def _inspect(data: bytes) -> tuple[str | None, Any]:
    """(why refused or None, the value when it had to be parsed to decide, else _NOT_PARSED)."""
    brackets = data.count(b"[") + data.count(b"{")
    if brackets <= MAX_JSON_DEPTH:
        return None, _NOT_PARSED
    if brackets > MAX_JSON_CONTAINERS:
        return f"has more than {MAX_JSON_CONTAINERS} arrays and objects", _NOT_PARSED
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        # orjson stops at 1024 levels on its own; any other error is the caller's parser's to report
        return (f"nests deeper than {MAX_JSON_DEPTH} levels" if "depth" in exc.msg else None,
                _NOT_PARSED)
    return (f"nests deeper than {MAX_JSON_DEPTH} levels" if value_too_deep(value) else None), value


def json_refusal(raw: bytes | str) -> str | None:
    """Why JSON text is refused before anything else parses it, or None.

    Parsing costs about a microsecond per array or object, so their number is bounded first, on the raw text,
    by two C-level counts (brackets inside strings count too: no real body has thousands). A text with no more
    brackets than the depth limit cannot nest deeper, which is every ordinary request; only the others are
    parsed here to measure their depth, at a cost the first limit bounds.
    """
    return _inspect(raw.encode() if isinstance(raw, str) else raw)[0]


def check_json(raw: bytes | str, what: str = "the body") -> None:
    """Raise 1109 when :func:`json_refusal` refuses ``raw``."""
    data = raw.encode() if isinstance(raw, str) else raw
    if data.count(b"[") + data.count(b"{") <= MAX_JSON_DEPTH:
        return  # every ordinary text (_inspect's first test, here: on every request's body)
    reason = _inspect(data)[0]
    if reason is not None:
        raise ParamIllegal(f"{what} {reason}")


def loads(raw: bytes | str, what: str = "the body") -> Any:
    """Parse JSON within the limits: 1109 when it is refused, is not JSON, or holds a NUL in a string (no
    parameter has one, and PostgreSQL's text cannot store it: the query failed, a 500)."""
    data = raw.encode() if isinstance(raw, str) else raw
    reason, value = _inspect(data)
    if reason is not None:
        raise ParamIllegal(f"{what} {reason}")
    if value is _NOT_PARSED:
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise ParamIllegal(f"{what} is not valid JSON: {exc.msg}") from exc
    if b"\\u0000" in data and has_nul(value):
        raise ParamIllegal(f"NUL characters are not allowed in {what}")
    return value


def has_nul(value: Any) -> bool:
    """Whether any string (key or value) holds a NUL: no API parameter has one, and PostgreSQL text cannot.

    Iterative, as bodies nest as deep as the JSON parser allows (deeper than Python's recursion limit).
    """
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def refuse_nul(*texts: str) -> None:
    """1109 for a NUL in a path or a query value, before any lookup (PostgreSQL text cannot hold one)."""
    if any("\x00" in text for text in texts):
        raise ParamIllegal("NUL characters are not allowed in the path or the query")


def value_too_deep(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether a parsed value nests deeper than ``limit`` (iterative: values can nest past the recursion limit)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False
