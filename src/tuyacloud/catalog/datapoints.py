"""One data point (:class:`DpSpec`) and its values: the declared type and range, and checking a value against it
the way the cloud refuses bad commands.

One function per DP type, all driven by the catalog data: nothing here knows a category. A bad value raises
:class:`~tuyacloud.errors.CommandNotSupported` (Tuya code 2008) whose detail names the code and what is
allowed, so an integrator sees at once why ``bright_value_v2 = 5000`` was refused.
Batches of commands are checked in ``catalog/validation.py``.
"""

from __future__ import annotations

import base64
import binascii
import json
import reprlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tuyacloud import limits
from tuyacloud.errors import CommandNotSupported

TYPES = ("Boolean", "Integer", "Enum", "String", "Json", "Raw", "Bitmap")
# Tuya's own key order inside ``values`` (e.g. {"unit":"","min":10,"max":1000,"scale":0,"step":1}).
_VALUES_KEY_ORDER = ("unit", "min", "max", "scale", "step", "range", "label", "maxlen")


def _flatten_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Our ``fields``/``list_of`` wrappers are a documentation aid; Tuya puts the keys at the top level."""
    out: dict[str, Any] = {}
    for name, spec in fields.items():
        if isinstance(spec, Mapping) and "list_of" in spec:
            out[name] = _flatten_fields(spec["list_of"])
        else:
            out[name] = spec
    return out


def serialise_values(type_: str, values: Mapping[str, Any]) -> str:
    """The compact JSON string Tuya sends as a DP's ``values``, with a stable key order."""
    if type_ == "Json" and "fields" in values:
        doc: Mapping[str, Any] = _flatten_fields(values["fields"])
    else:
        ordered = {k: values[k] for k in _VALUES_KEY_ORDER if k in values}
        doc = ordered | {k: v for k, v in values.items() if k not in ordered}
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class DpSpec:
    """One data point: what may be sent (a function) or is reported (a status), with its value range.

    ``access`` only matters for a product's raw DPs (``rw`` or ``ro``); for standard DPs the access follows
    from whether the code is in the product's functions, status or both (see :meth:`Product.access_mode`).
    """

    code: str
    name: str
    desc: str
    type: str
    values: dict[str, Any]
    dp_id: int
    legacy: bool = False
    note: str = ""
    evidence: str = ""
    access: str = "rw"
    _values_json: str = field(default="", init=False, repr=False, compare=False)
    # An Integer DP's range, read once here: every command and simulator tick clamps or checks against it, and
    # reading ``values`` each time showed up on the command path. Never unpacked from ``values`` by hand elsewhere.
    is_integer: bool = field(default=False, init=False, repr=False, compare=False)
    minimum: int = field(default=0, init=False, repr=False, compare=False)  # lowest raw value (0 if not Integer)
    maximum: int = field(default=0, init=False, repr=False, compare=False)  # highest raw value (0 if not Integer)
    step: int = field(default=1, init=False, repr=False, compare=False)  # grid from ``minimum`` (1 if undeclared)
    scale: int = field(default=0, init=False, repr=False, compare=False)  # decimals: real = raw / 10 ** scale
    # The other types' bounds, read once here for the same reason: an Enum's ``options`` (its ``range``, empty for
    # other types), a String's, Raw's or Bitmap's ``maxlen`` (None when undeclared), and a Json DP's top-level
    # ``fields`` with the integer bounds of those that declare both (``field_bounds``: an HSV colour's h, s, v).
    options: tuple[str, ...] = field(default=(), init=False, repr=False, compare=False)
    maxlen: int | None = field(default=None, init=False, repr=False, compare=False)
    field_names: tuple[str, ...] = field(default=(), init=False, repr=False, compare=False)
    field_bounds: Mapping[str, tuple[int, int]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "_values_json", serialise_values(self.type, self.values))
        if self.type == "Integer":
            set_(self, "is_integer", True)
            set_(self, "minimum", int(self.values.get("min", 0)))
            set_(self, "maximum", int(self.values.get("max", 0)))
            set_(self, "step", int(self.values.get("step", 1)))
            set_(self, "scale", int(self.values.get("scale", 0)))
        elif self.type == "Enum":
            set_(self, "options", tuple(self.values.get("range", ())))
        elif self.type == "Json":
            fields = self.values.get("fields")
            if isinstance(fields, Mapping):
                set_(self, "field_names", tuple(fields))
                set_(self, "field_bounds", _integer_fields(fields))
        maxlen = self.values.get("maxlen")
        if isinstance(maxlen, int) and not isinstance(maxlen, bool):
            set_(self, "maxlen", maxlen)

    def __hash__(self) -> int:
        return hash((self.code, self.type, self.dp_id, self._values_json))

    def values_json(self) -> str:
        """``values`` as Tuya serialises it on the wire: a compact JSON string (``'{}'`` for Boolean)."""
        return self._values_json

    @property
    def bounds(self) -> tuple[int, int]:
        """``(minimum, maximum)``, inclusive."""
        return self.minimum, self.maximum

    @property
    def unit(self) -> str:
        return str(self.values.get("unit", "") or "")

    def allowed(self) -> str:
        """What an Integer DP accepts, in the words of the error a refused command carries."""
        return f"an integer from {self.minimum} to {self.maximum} in steps of {self.step}"

    def clamp(self, value: Any) -> Any:
        """A number clamped into an Integer DP's range and snapped onto its step grid (what a device does with an
        out-of-range target); other types and non-numbers pass through unchanged."""
        if not self.is_integer or isinstance(value, bool) or not isinstance(value, (int, float)):
            return value
        lo, hi, step = self.minimum, self.maximum, self.step
        snapped = lo + round((min(max(value, lo), hi) - lo) / step) * step
        return int(snapped - step if snapped > hi else snapped)

    def rescale(self, value: Any, from_scale: int) -> Any:
        """A number given with ``from_scale`` decimal places, in this DP's raw units and clamped into its range
        (21 at scale 0 -> 210 at scale 1)."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return value
        return self.clamp(value * 10 ** (self.scale - from_scale))

    def validate(self, value: Any) -> Any:
        """The value normalised for storage, or :class:`CommandNotSupported` (see :func:`validate_value`)."""
        return validate_value(self, value)

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> DpSpec:
        """Build from the data-file shape, checking what a typo in a data file would otherwise hide."""
        if doc.get("type") not in TYPES:
            raise ValueError(f"DP {doc.get('code')!r}: unknown type {doc.get('type')!r}")
        _check_values(doc["code"], doc["type"], doc.get("values", {}))
        return cls(
            code=doc["code"], name=doc.get("name", doc["code"]), desc=doc.get("desc", ""), type=doc["type"],
            values=dict(doc.get("values", {})), dp_id=int(doc["dp_id"]),
            legacy=bool(doc.get("legacy", False)), note=doc.get("note", ""), evidence=doc.get("evidence", ""),
            access=doc.get("access", "rw"),
        )


def _integer_fields(fields: Mapping[str, Any]) -> dict[str, tuple[int, int]]:
    """The top-level Json fields that declare an integer ``min`` and ``max``, with them."""
    bounds: dict[str, tuple[int, int]] = {}
    for name, rule in fields.items():
        try:
            bounds[name] = (int(rule["min"]), int(rule["max"]))
        except (KeyError, TypeError, ValueError):
            continue
    return bounds


def _check_values(code: str, type_: str, values: Mapping[str, Any]) -> None:
    """Refuse inconsistent ranges at load time, so validation never meets an impossible spec."""
    if type_ == "Integer":
        lo, hi, step, scale = values.get("min"), values.get("max"), values.get("step"), values.get("scale", 0)
        if not all(isinstance(v, int) for v in (lo, hi, step, scale)):
            raise ValueError(f"{code}: Integer needs integer min, max, step and scale")
        assert isinstance(lo, int) and isinstance(hi, int) and isinstance(step, int)
        if lo > hi or step <= 0 or scale < 0:
            raise ValueError(f"{code}: inconsistent Integer range {dict(values)}")
    elif type_ == "Enum" and not values.get("range"):
        raise ValueError(f"{code}: Enum with an empty range")
    elif type_ == "Bitmap" and not (values.get("label") or values.get("maxlen")):
        raise ValueError(f"{code}: Bitmap needs a label list or maxlen")
    maxlen = values.get("maxlen")
    if maxlen is not None and (not isinstance(maxlen, int) or isinstance(maxlen, bool) or maxlen < 0):
        raise ValueError(f"{code}: maxlen must be a whole number, not {maxlen!r}")


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


def _integer(spec: DpSpec, value: Any) -> int:
    number = _as_int(value)
    if number is None or not spec.minimum <= number <= spec.maximum or (number - spec.minimum) % spec.step:
        raise _refuse(spec.code, spec.allowed(), value)
    return number


def _boolean(spec: DpSpec, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _refuse(spec.code, "a boolean", value)
    return value


def _enum(spec: DpSpec, value: Any) -> str:
    options = spec.options
    if not isinstance(value, str) or value not in options:
        raise _refuse(spec.code, "one of " + ", ".join(options), value)
    return value


def _string(spec: DpSpec, value: Any) -> str:
    maxlen = spec.maxlen
    if not isinstance(value, str) or (maxlen is not None and len(value) > maxlen):
        raise _refuse(spec.code, "a string" + (f" of at most {maxlen} characters" if maxlen else ""), value)
    return value


def _raw(spec: DpSpec, value: Any) -> str:
    maxlen = spec.maxlen
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
