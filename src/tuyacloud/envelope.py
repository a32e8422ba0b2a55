"""The Tuya response envelope: HTTP 200 always, ``result/success/t/tid`` or ``code/msg/success/t/tid``.

One module builds it for every answer in Tuya's shape (the OpenAPI, the control API, the connection guard's and
the metrics' refusals), with the codes and texts of ``errors.py``; nothing else builds an error body.

A failure's ``msg`` is exactly the platform's text for its code (clients compare it); what this cloud can add
(which device, which field) follows as an extra ``detail`` key after the platform's keys, present only when there
is something to say. Clients of the platform ignore keys they do not know.
"""

from __future__ import annotations

from typing import Any

import orjson

from tuyacloud.errors import TuyaError, code_message_detail


def success(result: Any, t: int, tid: str) -> bytes:
    return orjson.dumps({"result": result, "success": True, "t": t, "tid": tid})


def failure(error: TuyaError, t: int, tid: str) -> bytes:
    code, msg, detail = code_message_detail(error)
    body: dict[str, Any] = {"code": code, "msg": msg, "success": False, "t": t, "tid": tid}
    if detail:
        body["detail"] = detail
    return orjson.dumps(body)
