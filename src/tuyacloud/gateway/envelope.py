"""The Tuya response envelope: HTTP 200 always, ``result/success/t/tid`` or ``code/msg/success/t/tid``."""

from __future__ import annotations

from typing import Any

import orjson

from tuyacloud.errors import TuyaError, code_and_message


def success(result: Any, t: int, tid: str) -> bytes:
    return orjson.dumps({"result": result, "success": True, "t": t, "tid": tid})


def failure(error: TuyaError, t: int, tid: str) -> bytes:
    code, msg = code_and_message(error)
    return orjson.dumps({"code": code, "msg": msg, "success": False, "t": t, "tid": tid})
