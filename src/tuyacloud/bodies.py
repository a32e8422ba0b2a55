"""Typed request bodies: each body declared once as a class, decoded and checked at the edge, handed on typed.

A request body is a ``msgspec.Struct`` subclassing :class:`Body`, declared in the domain package of its subject
(the domain takes it as an argument, and the domain may not import the gateway). The OpenAPI edge decodes the raw
bytes straight into it before the handler runs, so handlers and domain functions read attributes of known types
instead of inspecting a dict; the same class gives the body's JSON schema in ``/openapi.json`` and
``docs/api-coverage.md``. msgspec rather than pydantic: decoding and validating the command body from bytes is
about six times faster, and faster than parsing it to dicts was (``bench/request_models.py``).

Unknown fields are ignored, as the platform ignores them and real clients send extra ones (``t``, ``sign``...).
What a malformed body gets back is the platform's answer for that API, which differs from one API to the next
and which clients match on: a model says how its shape errors are refused by overriding :meth:`Body.refuse`, which
turns the decoder's :class:`Problem` into the right ``errors.py`` exception. The default answers 1100 for a
missing field and 1109 for a field of the wrong type, naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import msgspec

from tuyacloud.errors import ParamEmpty, ParamIllegal, TuyaError

_AT = re.compile(r"^(?P<text>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]")
_MISSING = re.compile(r"^Object missing required field `(?P<name>[^`]+)`")
_EXPECTED = re.compile(r"^Expected `(?P<kind>[^`]+)`")
_KINDS = {"str": "a string", "int": "an integer", "float": "a number", "bool": "true or false",
          "object": "an object", "array": "a list", "null": "null"}


@dataclass(frozen=True)
class Problem:
    """Where and how a body failed its declaration, for the model to say what the platform answers."""

    path: tuple[str | int, ...]  # the failing value: ("commands", 0, "code"); () is the body itself
    missing: str | None  # the required field absent from the object at ``path``
    expected: str  # what the declaration wanted there ("str", "int", "array", "object"...), "" if not a type
    text: str  # the decoder's own words
    raw: bytes

    @property
    def field(self) -> str:
        """The top-level field at fault ("" for the body itself)."""
        if self.path:
            return str(self.path[0])
        return self.missing or ""

    @property
    def name(self) -> str:
        """The failing field, dotted (``commands[0].code``)."""
        parts = [*self.path, *([self.missing] if self.missing else [])]
        out = ""
        for part in parts:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
        return out

    def document(self) -> Any:
        """The body as plain JSON, for a message that quotes what was sent (only read on this error path)."""
        try:
            return msgspec.json.decode(self.raw or b"{}")
        except msgspec.DecodeError:
            return None

    def at(self, path: tuple[str | int, ...] | None = None) -> Any:
        """The value sent at ``path`` (default: the failing one), None when there is none."""
        value = self.document()
        for step in self.path if path is None else path:
            if isinstance(step, int) and isinstance(value, list) and step < len(value):
                value = value[step]
            elif isinstance(step, str) and isinstance(value, dict):
                value = value.get(step)
            else:
                return None
        return value

    @classmethod
    def of(cls, error: msgspec.ValidationError, raw: bytes) -> Problem:
        m = _AT.match(str(error))
        text, path_text = (m.group("text"), m.group("path") or "") if m else (str(error), "")
        path = tuple(int(i) if i else k for k, i in _STEP.findall(path_text))
        missing = _MISSING.match(text)
        expected = _EXPECTED.match(text)
        return cls(path, missing.group("name") if missing else None, expected.group("kind") if expected else "",
                   text, raw)


Refusal = tuple[type[TuyaError], str | None]  # the error and its detail (None: the platform's text alone)


class Body(msgspec.Struct, kw_only=True):
    """Base of every request body. Subclasses declare fields; optional ones have defaults. Decoding is strict (a
    number sent as a string is not taken): a field that takes several forms declares the union (``int | str``).

    A field the API needs but whose absence (or emptiness) the domain answers itself (often with a message that
    names several fields) is declared with a ``None`` default and listed in ``required``: the OpenAPI document
    shows it required, and the domain, which gets ``None``, says what the platform says.
    """

    required: ClassVar[tuple[str, ...]] = ()  # documented as required, checked by the domain (see above)
    # field -> the error for a value of the wrong shape there ("" the body itself, "*" any other field)
    refusals: ClassVar[Mapping[str, Refusal]] = {}

    @classmethod
    def refuse(cls, problem: Problem) -> TuyaError:
        """The error for a body that does not fit the declaration (override for an API's own answers)."""
        if problem.path or problem.missing:
            found = cls.refusals.get(problem.field) or cls.refusals.get("*")
        else:
            found = cls.refusals.get("")
        if found is not None:
            error, detail = found
            return error(detail)
        return default_refusal(problem)


def default_refusal(problem: Problem) -> TuyaError:
    if not problem.path and not problem.missing:
        return ParamIllegal("the body must be a JSON object")
    if problem.missing:
        return ParamEmpty(f"{problem.name} is required")
    kind = _KINDS.get(problem.expected)
    if kind:
        return ParamIllegal(f"{problem.name} must be {kind}")
    return ParamIllegal(f"{problem.name}: {problem.text}")


B = TypeVar("B", bound=Body)


def decoder(model: type[B]) -> Callable[[bytes], B]:
    """Bytes to a checked ``model``; a blank body is ``{}``. Raises the model's refusal on a shape error and
    ``msgspec.DecodeError`` when the bytes are not JSON at all (the caller words that one)."""
    decode = msgspec.json.Decoder(model).decode

    def run(raw: bytes) -> B:
        try:
            return decode(raw if raw and not raw.isspace() else b"{}")
        except msgspec.ValidationError as exc:
            raise model.refuse(Problem.of(exc, raw)) from None

    return run


def convert(model: type[B], document: Any) -> B:
    """An already parsed JSON document to ``model`` with the same refusals (for bodies that arrive inside
    another envelope, as the sharing API's encrypted ones do)."""
    try:
        return msgspec.convert(document if document is not None else {}, model)
    except msgspec.ValidationError as exc:
        raise model.refuse(Problem.of(exc, msgspec.json.encode(document))) from None


def openapi_schema(model: type[Body]) -> dict[str, Any]:
    """The model's JSON schema in the OpenAPI 3.0 dialect (nested models inlined, ``null`` as ``nullable``), with
    the fields of ``required`` marked required: ``/openapi.json``, docs/api-coverage.md and the console's
    explorer show it."""
    (ref,), components = msgspec.json.schema_components([model], ref_template="{name}")
    schema: dict[str, Any] = _openapi_dialect(ref, components)
    required = [*schema.get("required", ()), *(n for n in model.required if n not in schema.get("required", ()))]
    if required:
        schema["required"] = required
    return schema


def _openapi_dialect(schema: Any, components: dict[str, Any]) -> Any:
    if isinstance(schema, list):
        return [_openapi_dialect(s, components) for s in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        return _openapi_dialect(components[schema["$ref"]], components)
    out = {k: _openapi_dialect(v, components) for k, v in schema.items() if k not in ("title", "properties")}
    if "properties" in schema:  # a mapping of field names (a field may be called "title"), not a schema
        out["properties"] = {k: _openapi_dialect(v, components) for k, v in schema["properties"].items()}
    for key in ("anyOf", "oneOf"):
        options = out.get(key)
        if isinstance(options, list) and {"type": "null"} in options:
            rest = [o for o in options if o != {"type": "null"}]
            del out[key]
            out.update(rest[0] if len(rest) == 1 else {key: rest})
            out["nullable"] = True
    return out
