"""Decode and validate a request at the OpenAPI edge: pydantic v2 against msgspec, in the same run.

Run: ``python bench/request_models.py`` (``--number N`` per measurement, ``--repeat R`` takes the best of R).

The hot path of the gateway is the signed status read (a query, no body) and the durable command (the body
``{"commands": [{"code", "value"}]}``). Both libraries get the same two jobs from the raw bytes/strings the server
holds, with the same leniency the edge needs (unknown fields ignored, a number in a query string):

- body: JSON bytes -> a typed object with a list of typed commands (the value stays any JSON value);
- query: the parsed ``[(name, value)]`` strings of ``/v1.0/devices?page_size=20&last_id=...`` -> a typed object
  with an integer ``page_size`` between 1 and 100.

The figure printed is microseconds per request (best of the repeats), lower is better; ``orjson`` alone (parse,
no validation) is what the edge paid for a body before typed requests, and ``Param`` is the edge's own declared
query parameters (gateway/router.py), which the query job is compared with.
"""

from __future__ import annotations

import argparse
import sys
import timeit
from pathlib import Path
from typing import Annotated, Any

import msgspec
import orjson
import pydantic

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

from tuyacloud.gateway.router import Param, Route  # noqa: E402

BODY = b'{"commands":[{"code":"switch_1","value":true},{"code":"countdown_1","value":60}],"t":1}'
QUERY = [("page_size", "20"), ("last_id", "vdevo1700000000000000042"), ("schema", "smartlife")]


# --- msgspec ----------------------------------------------------------------------------------------------------
class MCommand(msgspec.Struct):
    code: str
    value: Any


class MCommands(msgspec.Struct):
    commands: Annotated[list[MCommand], msgspec.Meta(min_length=1)]


class MQuery(msgspec.Struct):
    page_size: Annotated[int, msgspec.Meta(ge=1, le=100)] = 20
    last_id: str = ""
    schema: str = ""


_M_BODY = msgspec.json.Decoder(MCommands)

# --- the edge's own declared query parameters (gateway/router.py's Param), for comparison ---------------------
_ROUTE = Route("GET", "/v1.0/devices", lambda req: None, "iot_core", "", "",  # type: ignore[arg-type,return-value]
               query=(Param("page_size", "integer", minimum=1, maximum=100), Param("last_id"), Param("schema")))


def msgspec_body() -> Any:
    return _M_BODY.decode(BODY)


def msgspec_query() -> Any:
    return msgspec.convert(dict(QUERY), MQuery, strict=False)


# --- pydantic v2 --------------------------------------------------------------------------------------------------
class PCommand(pydantic.BaseModel):
    code: str
    value: Any


class PCommands(pydantic.BaseModel):
    commands: Annotated[list[PCommand], pydantic.Field(min_length=1)]


class PQuery(pydantic.BaseModel):
    page_size: Annotated[int, pydantic.Field(ge=1, le=100)] = 20
    last_id: str = ""
    schema_: str = pydantic.Field("", alias="schema")


def pydantic_body() -> Any:
    return PCommands.model_validate_json(BODY)


def pydantic_query() -> Any:
    return PQuery.model_validate(dict(QUERY))


def param_query() -> Any:
    return _ROUTE.parse_query(QUERY)


def orjson_body() -> Any:
    return orjson.loads(BODY)


def _best_us(fn: Any, number: int, repeat: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=50_000, help="calls per measurement (default 50000)")
    parser.add_argument("--repeat", type=int, default=5, help="measurements; the best is shown (default 5)")
    args = parser.parse_args(argv)
    # Same answers first: a benchmark of two libraries that disagree measures nothing.
    m, p = msgspec_body(), pydantic_body()
    assert [(c.code, c.value) for c in m.commands] == [(c.code, c.value) for c in p.commands]
    assert msgspec_query().page_size == pydantic_query().page_size == param_query()["page_size"] == 20
    print(f"python {sys.version.split()[0]}, msgspec {msgspec.__version__}, pydantic {pydantic.VERSION}, "
          f"orjson {orjson.__version__}; best of {args.repeat} x {args.number} calls")
    rows = [
        ("command body", "orjson (parse only)", orjson_body),
        ("command body", "msgspec", msgspec_body),
        ("command body", "pydantic v2", pydantic_body),
        ("query", "msgspec", msgspec_query),
        ("query", "pydantic v2", pydantic_query),
        ("query", "Param (today)", param_query),
    ]
    for job, lib, fn in rows:
        print(f"{job:14} {lib:20} {_best_us(fn, args.number, args.repeat):7.2f} µs/op")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
