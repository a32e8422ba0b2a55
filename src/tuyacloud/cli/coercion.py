"""Option values converted without pydantic.

Typer (from 0.2x) converts every option's value through a pydantic ``TypeAdapter`` that it builds the first time the
option is parsed. Importing pydantic and building the adapters of ``serve``'s thirty options costs about 0.4 s of
CPU on every start of the server (and about 0.25 s in an admin command), more than the conversion is worth for the
plain types our commands take: ``str``, ``int`` and ``float`` (with ``min``/``max``), ``bool``, ``Path``, an
``Enum`` and lists of these. :func:`install` gives each such parameter a converter of its own, with click's
messages; a parameter of any other type, or a Typer release without per-parameter converters, keeps Typer's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

import typer

PLAIN = (str, int, float, bool, Path)
NAMES = {int: "integer", float: "float"}
TRUE, FALSE = ("1", "true", "t", "yes", "y", "on"), ("0", "false", "f", "no", "n", "off")


@dataclass(frozen=True)
class Converter:
    """Converts one parameter's value (a string from the command line or the environment, or the default); has the
    one method Typer calls on its own converters."""

    kind: Any  # str, int, float, bool, Path or an Enum class
    many: bool
    minimum: float | None = None
    maximum: float | None = None
    case_sensitive: bool = True

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        if value is None:
            return () if param.multiple or param.nargs == -1 else None
        if not self.many:
            return self._one(value, param, ctx)
        if isinstance(value, str):
            raise typer.BadParameter("Value must be an iterable.", ctx=ctx, param=param)
        return [self._one(item, param, ctx) for item in value]

    def _one(self, value: Any, param: Any, ctx: Any) -> Any:
        if issubclass(self.kind, Enum):
            return self._choice(value, param, ctx)
        if self.kind is str:
            return value if isinstance(value, str) else str(value)
        if self.kind is Path:
            return value if isinstance(value, Path) else Path(value)
        if self.kind is bool:
            return self._bool(value, param, ctx)
        number = value
        if isinstance(value, str):
            try:
                number = self.kind(value.strip())
            except ValueError:
                raise typer.BadParameter(f"{value!r} is not a valid {NAMES[self.kind]}.", ctx=ctx,
                                         param=param) from None
        if (self.minimum is not None and number < self.minimum) or (self.maximum is not None and number > self.maximum):
            raise typer.BadParameter(f"{number} is not in the range {self._range()}.", ctx=ctx, param=param)
        return number

    @staticmethod
    def _bool(value: Any, param: Any, ctx: Any) -> bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in TRUE or text in FALSE:
            return text in TRUE
        raise typer.BadParameter(f"{value!r} is not a valid boolean.", ctx=ctx, param=param)

    def _choice(self, value: Any, param: Any, ctx: Any) -> Any:
        if isinstance(value, self.kind):
            return value
        for member in self.kind:
            if member.value == value or (not self.case_sensitive and str(member.value).lower() == str(value).lower()):
                return member
        choices = ", ".join(repr(member.value) for member in self.kind)
        raise typer.BadParameter(f"{value!r} is not one of {choices}.", ctx=ctx, param=param)

    def _range(self) -> str:
        if self.minimum is not None and self.maximum is not None:
            return f"{self.minimum}<=x<={self.maximum}"
        return f"x>={self.minimum}" if self.minimum is not None else f"x<={self.maximum}"


def converter_for(param: Any) -> Converter | None:
    """Our converter for a Typer parameter, or None where Typer's own is kept."""
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is None or getattr(descriptor, "file_annotation", None) is not None:
        return None
    info = descriptor.parameter_info
    if getattr(info, "parser", None) is not None or getattr(info, "clamp", False):
        return None
    annotation, many = descriptor.annotation, False
    if get_origin(annotation) is list and len(get_args(annotation)) == 1:
        annotation, many = get_args(annotation)[0], True
    if not isinstance(annotation, type):
        return None
    if issubclass(annotation, Enum):
        return Converter(annotation, many, case_sensitive=getattr(info, "case_sensitive", True))
    if annotation not in PLAIN:
        return None
    return Converter(annotation, many, getattr(info, "min", None), getattr(info, "max", None))


def install(command: Any) -> None:
    """Give every parameter of ``command`` and of its subcommands that we convert our converter (``--help`` too:
    click makes that option on first use, so it is made here)."""
    help_option = command.get_help_option(command.context_class(command, **command.context_settings))
    for param in [*command.params, *([help_option] if help_option is not None else [])]:
        if "_runtime_param" in vars(param) and param._runtime_param is None:
            converter = converter_for(param)
            if converter is not None:
                param._runtime_param = converter
    for sub in getattr(command, "commands", {}).values():
        install(sub)
