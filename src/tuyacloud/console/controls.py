"""Device controls generated from the instruction set: one control per function, driven by the catalog data
(DESIGN rule 7), and the parsing of a submitted control back into a command value.

The console never decides whether a value is allowed: it turns form text into the JSON value a client would send
and hands it to ``commands.send_commands``, whose validation (and Tuya error message) is the OpenAPI's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from tuyacloud.catalog.loader import DpSpec
from tuyacloud.limits import parse_int


@dataclass
class Control:
    code: str
    name: str
    kind: str  # switch | range | enum | text | json | bitmap
    current: Any
    type: str
    min: int = 0
    max: int = 0
    step: int = 1
    scale: int = 0
    unit: str = ""
    options: tuple[str, ...] = ()
    maxlen: int | None = None

    @property
    def shown(self) -> str:
        """The current value as a person reads it: scaled integers with their unit, JSON as text."""
        if self.current is None:
            return "—"
        if self.kind == "range" and isinstance(self.current, int) and not isinstance(self.current, bool):
            value = self.current / 10 ** self.scale
            return f"{value:.{self.scale}f}{self.unit}"
        return display(self.current)


def display(value: Any) -> str:
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def control_for(spec: DpSpec, current: Any) -> Control:
    values = spec.values
    base = {"code": spec.code, "name": spec.name or spec.code, "current": current, "type": spec.type}
    if spec.type == "Boolean":
        return Control(kind="switch", **base)
    if spec.type == "Integer":
        return Control(kind="range", min=int(values["min"]), max=int(values["max"]), step=int(values.get("step", 1)),
                       scale=int(values.get("scale", 0)), unit=str(values.get("unit", "") or ""), **base)
    if spec.type == "Enum":
        return Control(kind="enum", options=tuple(values.get("range", ())), **base)
    if spec.type == "Json":
        return Control(kind="json", **base)
    if spec.type == "Bitmap":
        return Control(kind="bitmap", **base)
    maxlen = values.get("maxlen")
    return Control(kind="text", maxlen=int(maxlen) if isinstance(maxlen, int) else None, **base)


def controls(functions: tuple[DpSpec, ...], status: dict[str, Any]) -> list[Control]:
    return [control_for(spec, status.get(spec.code)) for spec in functions]


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
