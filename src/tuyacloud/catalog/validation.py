"""Checking command values against a DP's declared type and range, the way the cloud refuses bad commands.

One function per DP type, all driven by the catalog data: nothing here knows a category. A bad value raises
:class:`~tuyacloud.errors.CommandNotSupported` (Tuya code 2008) whose detail names the code and what is
allowed, so an integrator sees at once why ``bright_value_v2 = 5000`` was refused. Batches are all-or-nothing:
every command is checked before the caller applies any, as a device never half-applies a rejected batch.
"""

from __future__ import annotations

import base64
import binascii
import json
import reprlib
from collections.abc import Callable, Mapping
from typing import Any

from tuyacloud import limits
from tuyacloud.catalog.loader import DpSpec, Product
from tuyacloud.errors import CommandNotSupported, ParamEmpty, ParamIllegal

_MAX_SHOWN = 60
# reprlib stops at a few levels and a few items, so showing a value costs the same however large or deep it is
# (a plain repr recursed once per level and failed on a value nested 990 deep).
_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 3, _MAX_SHOWN, _MAX_SHOWN


def _shown(value: Any) -> str:
    """The offending value as the error shows it: repr, cut short so a huge payload cannot bloat a reply."""
    text = _REPR.repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def _refuse(code: str, allowed: str, value: Any) -> CommandNotSupported:
    return CommandNotSupported(f"{code} must be {allowed} (got {_shown(value)})")


def _as_int(value: Any) -> int | None:
    """JSON numbers: ints, and floats with an integral value (``500.0``); never booleans."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def integer_allowed(values: Mapping[str, Any]) -> str:
    lo, hi, step = values["min"], values["max"], values.get("step", 1)
    return f"an integer from {lo} to {hi} in steps of {step}"


def _integer(spec: DpSpec, value: Any) -> int:
    number = _as_int(value)
    lo, hi, step = spec.values["min"], spec.values["max"], spec.values.get("step", 1)
    if number is None or not lo <= number <= hi or (number - lo) % step:
        raise _refuse(spec.code, integer_allowed(spec.values), value)
    return number


def _boolean(spec: DpSpec, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _refuse(spec.code, "a boolean", value)
    return value


def _enum(spec: DpSpec, value: Any) -> str:
    options = spec.values["range"]
    if not isinstance(value, str) or value not in options:
        raise _refuse(spec.code, "one of " + ", ".join(options), value)
    return value


def _string(spec: DpSpec, value: Any) -> str:
    maxlen = spec.values.get("maxlen")
    if not isinstance(value, str) or (maxlen is not None and len(value) > maxlen):
        raise _refuse(spec.code, "a string" + (f" of at most {maxlen} characters" if maxlen else ""), value)
    return value


def _raw(spec: DpSpec, value: Any) -> str:
    maxlen = spec.values.get("maxlen")
    allowed = "a base64 string" + (f" of at most {maxlen} bytes" if maxlen else "")
    if not isinstance(value, str):
        raise _refuse(spec.code, allowed, value)
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _refuse(spec.code, allowed, value) from None
    if maxlen is not None and len(decoded) > maxlen:
        raise _refuse(spec.code, allowed, value)
    return value


def bitmap_bits(values: Mapping[str, Any]) -> int:
    """How many bits a Bitmap DP has: one per label, or ``maxlen``."""
    return int(values.get("maxlen") or len(values.get("label", [])))


def _bitmap(spec: DpSpec, value: Any) -> int:
    top = 2 ** bitmap_bits(spec.values) - 1
    number = _as_int(value)
    if number is None or not 0 <= number <= top:
        raise _refuse(spec.code, f"an integer bitmap from 0 to {top}", value)
    return number


def _check_fields(code: str, fields: Mapping[str, Any], doc: Any, where: str = "") -> None:
    """Check the declared keys of a Json value; undeclared or missing keys pass (devices add their own)."""
    if not isinstance(doc, dict):
        raise _refuse(code, f"a JSON object{where}", doc)
    for name, rule in fields.items():
        if name not in doc:
            continue
        item, label = doc[name], f"{code} field {where}{name}"
        if "list_of" in rule:
            if not isinstance(item, list):
                raise _refuse(label, "a list", item)
            for i, unit in enumerate(item):
                _check_fields(code, rule["list_of"], unit, f"{where}{name}[{i}].")
        elif "range" in rule:
            if not isinstance(item, str) or item not in rule["range"]:
                raise _refuse(label, "one of " + ", ".join(rule["range"]), item)
        elif "min" in rule or "max" in rule:
            number = _as_int(item)
            lo, hi = rule.get("min"), rule.get("max")
            if number is None or (lo is not None and number < lo) or (hi is not None and number > hi):
                raise _refuse(label, f"an integer from {lo} to {hi}", item)


def _json(spec: DpSpec, value: Any) -> str:
    """A JSON-encoded string (kept as sent) or an object/list (serialised compactly, as devices send it)."""
    if isinstance(value, (dict, list)):
        if limits.value_too_deep(value):
            raise _refuse(spec.code, f"JSON nested at most {limits.MAX_JSON_DEPTH} levels deep", value)
        doc, text = value, json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    elif isinstance(value, str):
        refused = limits.json_refusal(value)
        if refused is not None:
            raise _refuse(spec.code, f"a JSON string within the limits (it {refused})", value)
        try:
            doc, text = json.loads(value), value
        except ValueError:
            raise _refuse(spec.code, "a JSON string", value) from None
    else:
        raise _refuse(spec.code, "a JSON string or object", value)
    fields = spec.values.get("fields")
    if fields:
        _check_fields(spec.code, fields, doc)
    return text


_CHECKS: dict[str, Callable[[DpSpec, Any], Any]] = {
    "Boolean": _boolean, "Integer": _integer, "Enum": _enum, "String": _string, "Json": _json, "Raw": _raw,
    "Bitmap": _bitmap,
}


def validate_value(spec: DpSpec, value: Any) -> Any:
    """The value normalised for storage (``500.0`` -> ``500``, an object -> its JSON string), or raise."""
    return _CHECKS[spec.type](spec, value)


def _allowed_codes(codes: list[str]) -> str:
    return ", ".join(codes) if codes else "none (this device takes no commands)"


def validate_commands(product: Product, commands: Any) -> list[tuple[str, Any]]:
    """Check a parsed ``commands`` list against the product's functions: all of them, before any applies."""
    if commands is None or (isinstance(commands, list) and not commands):
        raise ParamEmpty("commands is empty")
    if not isinstance(commands, list):
        raise CommandNotSupported("commands must be a list of {code, value} objects")
    if len(commands) > limits.MAX_COMMANDS:
        raise ParamIllegal(f"at most {limits.MAX_COMMANDS} commands per request")
    checked: list[tuple[str, Any]] = []
    for position, command in enumerate(commands, start=1):
        if not isinstance(command, dict) or not isinstance(command.get("code"), str):
            raise CommandNotSupported(f"command {position} must be an object with a string code and a value")
        code = command["code"]
        if "value" not in command:
            raise CommandNotSupported(f"command {position} ({code}) has no value")
        spec = product.function(code)
        if spec is None:
            allowed = _allowed_codes([s.code for s in product.functions])
            raise CommandNotSupported(f"{code} is not a function of this device (allowed: {allowed})")
        checked.append((code, validate_value(spec, command["value"])))
    return checked


def validate_properties(product: Product, properties: Any) -> list[tuple[str, Any]]:
    """Check a v2.0 shadow ``properties`` object: any writable standard or raw DP, by code."""
    if properties is None or (isinstance(properties, dict) and not properties):
        raise ParamEmpty("properties is empty")
    if not isinstance(properties, dict):
        raise CommandNotSupported("properties must be a JSON object of code: value")
    if len(properties) > limits.MAX_COMMANDS:
        raise ParamIllegal(f"at most {limits.MAX_COMMANDS} properties per request")
    checked: list[tuple[str, Any]] = []
    for code, value in properties.items():
        spec = product.spec(code) if isinstance(code, str) else None
        if spec is None or product.access_mode(code) not in ("rw", "wr"):
            writable = [s.code for s in product.all_dps() if product.access_mode(s.code) in ("rw", "wr")]
            raise CommandNotSupported(f"{code} is not a writable property of this device "
                                      f"(allowed: {_allowed_codes(writable)})")
        checked.append((code, validate_value(spec, value)))
    return checked
