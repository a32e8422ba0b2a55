"""Device controls generated from the instruction set: one control per function,
driven by the catalog data, and the parsing of a submitted control back into a command value.

The console never decides whether a value is allowed: it turns form text into the JSON value a client would send
and hands it to ``commands.send_commands``, whose validation (and Tuya error message) is the OpenAPI's own.

Two kinds get a friendlier input than the instruction set's bare type:

- A long integer range (a countdown of 0..86,400 s in steps of 1) has far more values than a slider has pixels,
  so its slider moves in coarse steps (5 minutes) while a number field beside it takes the exact value; the
  number field is the one submitted. A duration shows as hours and minutes.
- An HSV colour code (a Json DP whose fields are exactly h, s and v, like a light's ``colour_data_v2``) gets a
  colour picker beside its three number fields; the fields are submitted and :func:`submitted_value` builds the
  JSON string a client sends, ``{"h":0,"s":1000,"v":1000}``. The picker's RGB and the fields' HSV are converted
  in the page's script and here (:func:`hsv_to_hex`, for the picker's first value).
"""

from __future__ import annotations

import colorsys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from tuyacloud.catalog.datapoints import DpSpec
from tuyacloud.limits import parse_int


@dataclass
class Control:
    code: str
    name: str
    kind: str  # switch | range | enum | text | json | bitmap | colour
    current: Any
    type: str
    min: int = 0
    max: int = 0
    step: int = 1
    scale: int = 0
    unit: str = ""
    options: tuple[str, ...] = ()
    maxlen: int | None = None
    slider_step: int = 1  # a range's slider step: coarser than ``step`` when the range is long
    duration: str = ""  # "s" or "min" when a range is a duration, shown as hours and minutes
    hsv: dict[str, tuple[int, int]] = field(default_factory=dict)  # a colour's h, s, v ranges
    hsv_current: dict[str, int] = field(default_factory=dict)  # and its current h, s, v

    @property
    def shown(self) -> str:
        """The current value as a person reads it: scaled integers with their unit, durations in hours and
        minutes, JSON as text."""
        if self.current is None:
            return "—"
        if self.kind == "range" and isinstance(self.current, int) and not isinstance(self.current, bool):
            if self.duration:
                return human_duration(self.current * (60 if self.duration == "min" else 1))
            value = self.current / 10 ** self.scale
            return f"{value:,.{self.scale}f}{self.unit}"  # grouped like every number of the console: 1,000
        return display(self.current)

    @property
    def slider_step_shown(self) -> str:
        """The slider's step as a person reads it: ``5 min`` for a duration, else the number."""
        if self.duration:
            return human_duration(self.slider_step * (60 if self.duration == "min" else 1))
        return f"{self.slider_step:,}"

    @property
    def number(self) -> int:
        """A range's value for its number field and slider: the current one, or the minimum."""
        is_int = isinstance(self.current, int) and not isinstance(self.current, bool)
        return self.current if is_int else self.min

    @property
    def hex(self) -> str:
        """A colour's current value as the picker's ``#rrggbb``."""
        h, s, v = (self.hsv_current[k] for k in "hsv")
        return hsv_to_hex(h, s, v, self.hsv["s"][1], self.hsv["v"][1])


def display(value: Any) -> str:
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


# A slider of more values than this moves in coarse steps of at most SLIDER_POSITIONS positions (a slider is a
# few hundred pixels wide: finer steps cannot be picked by hand, the number field beside it takes exact values).
FINE_ENOUGH = 1000
SLIDER_POSITIONS = 300
# Coarse steps of a duration, in its unit: round times first (5 min, 10 min, 1 h...), then round numbers.
TIME_STEPS = {"s": (1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400),
              "min": (1, 5, 10, 15, 30, 60, 120, 360, 720, 1440, 10080)}


def duration_unit(spec: DpSpec) -> str:
    """"s" or "min" when an Integer DP is a duration; a countdown without a unit counts seconds (the light's
    ``countdown_1`` declares none)."""
    unit = spec.unit
    if unit in ("s", "min"):
        return unit
    return "s" if not unit and "countdown" in spec.code else ""


def slider_step(lo: int, hi: int, step: int, duration: str = "") -> int:
    """The slider's step: ``step`` for a short range; for a long one the first round multiple of ``step`` (a
    round time for a duration) that leaves at most SLIDER_POSITIONS positions."""
    step = max(1, step)
    span = hi - lo
    if span / step <= FINE_ENOUGH:
        return step
    nice = [m * 10 ** k for k in range(12) for m in (1, 2, 5)]
    candidates = [c for c in TIME_STEPS.get(duration, ()) if c % step == 0] + [step * m for m in nice]
    return next(c for c in candidates if span / c <= SLIDER_POSITIONS)


def human_duration(seconds: int) -> str:
    """``5400`` -> ``1 h 30 min``: what a countdown's number means (the script in the page says the same)."""
    days, rest = divmod(max(0, seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{n} {u}" for n, u in ((days, "d"), (hours, "h"), (minutes, "min"), (secs, "s")) if n]
    return " ".join(parts) or "0 s"


def hsv_fields(spec: DpSpec) -> dict[str, tuple[int, int]]:
    """The (min, max) of h, s and v when ``spec`` is an HSV colour code (a Json DP of exactly those integer
    fields), else empty."""
    if set(spec.field_names) != {"h", "s", "v"} or set(spec.field_bounds) != {"h", "s", "v"}:
        return {}
    return {k: spec.field_bounds[k] for k in "hsv"}


def _hsv_of(current: Any, ranges: dict[str, tuple[int, int]]) -> dict[str, int]:
    """The current h, s, v of a colour DP (a JSON string, or an object); full saturation and value if unknown."""
    value = current
    if isinstance(current, str):
        try:
            value = orjson.loads(current)
        except orjson.JSONDecodeError:
            value = None
    value = value if isinstance(value, dict) else {}
    out: dict[str, int] = {}
    for k, default in (("h", ranges["h"][0]), ("s", ranges["s"][1]), ("v", ranges["v"][1])):
        got = value.get(k)
        in_range = isinstance(got, int) and not isinstance(got, bool) and ranges[k][0] <= got <= ranges[k][1]
        out[k] = got if in_range and isinstance(got, int) else default
    return out


def hsv_to_hex(h: int, s: int, v: int, s_max: int, v_max: int) -> str:
    """Tuya's HSV (h in degrees, s and v out of ``s_max``/``v_max``: 1000, or 255 for the older code) as
    ``#rrggbb``."""
    r, g, b = colorsys.hsv_to_rgb((h % 360) / 360, s / s_max, v / v_max)
    return "#" + "".join(f"{round(c * 255):02x}" for c in (r, g, b))


def hex_to_hsv(colour: str, s_max: int, v_max: int) -> tuple[int, int, int]:
    """``#rrggbb`` as Tuya's HSV, rounded: the inverse of :func:`hsv_to_hex` (the page's script does the same)."""
    r, g, b = (int(colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4))
    h, s, v = colorsys.rgb_to_hsv(r, g, b)
    return round(h * 360) % 360, round(s * s_max), round(v * v_max)


def control_for(spec: DpSpec, current: Any) -> Control:
    base = {"code": spec.code, "name": spec.name or spec.code, "current": current, "type": spec.type}
    if spec.type == "Boolean":
        return Control(kind="switch", **base)
    if spec.type == "Integer":
        lo, hi, step = spec.minimum, spec.maximum, spec.step
        duration = duration_unit(spec)
        return Control(kind="range", min=lo, max=hi, step=step, slider_step=slider_step(lo, hi, step, duration),
                       duration=duration, scale=spec.scale, unit=spec.unit, **base)
    if spec.type == "Enum":
        return Control(kind="enum", options=spec.options, **base)
    if spec.type == "Json":
        ranges = hsv_fields(spec)
        if ranges:
            return Control(kind="colour", hsv=ranges, hsv_current=_hsv_of(current, ranges), **base)
        return Control(kind="json", **base)
    if spec.type == "Bitmap":
        return Control(kind="bitmap", **base)
    return Control(kind="text", maxlen=spec.maxlen, **base)


def controls(functions: tuple[DpSpec, ...], status: dict[str, Any]) -> list[Control]:
    return [control_for(spec, status.get(spec.code)) for spec in functions]


def submitted_value(spec: DpSpec | None, form: Mapping[str, str]) -> Any:
    """A submitted control's command value: a colour's h, s and v fields become the JSON string clients send
    (integers where the text is one; other text is kept so validation names the field), anything else is
    :func:`form_value` of its ``value`` field."""
    if spec is not None and hsv_fields(spec) and "value" not in form:
        parts: dict[str, Any] = {}
        for k in "hsv":
            text = form.get(k, "").strip()
            try:
                parts[k] = int(text)
            except ValueError:
                parts[k] = text
        return orjson.dumps(parts).decode()
    return form_value(spec, form.get("value", ""))


def form_value(spec: DpSpec | None, text: str) -> Any:
    """Form text to the command value: booleans and integers typed, the rest as text (Json stays a JSON string,
    as clients send it). Text that does not parse is passed on unchanged, so validation names the problem."""
    text = text.strip() if spec is None or spec.type not in ("String", "Json", "Raw") else text
    if spec is None:
        return text
    if spec.type == "Boolean":
        lowered = text.lower()
        return True if lowered in ("true", "on", "1") else False if lowered in ("false", "off", "0", "") else text
    if spec.type in ("Integer", "Bitmap"):
        number = parse_int(text)
        return text if number is None else number
    return text
