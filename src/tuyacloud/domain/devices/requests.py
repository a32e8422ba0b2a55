"""The request bodies of the device APIs, as the domain takes them (decoded and checked by the edge).

Each refusal is the platform's answer for that API, as it was when the domain inspected raw bodies itself.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from tuyacloud.bodies import Body, Problem
from tuyacloud.errors import CommandNotSupported, IrKeyNotSupported, ParamIllegal, TuyaError


class Command(msgspec.Struct):
    """One ``{"code", "value"}``: the value is any JSON value, checked by the device's data point."""

    code: str
    value: Any


def command_refusal(problem: Problem, depth: int) -> TuyaError:
    """The answer for a malformed item of a ``[{code, value}]`` list whose index is ``problem.path[depth]``, as
    ``catalog/validation.py`` words it for stored lists."""
    position = int(problem.path[depth]) + 1
    if problem.missing == "value" and len(problem.path) == depth + 1:
        item = problem.at(problem.path[:depth + 1])
        return CommandNotSupported(f"command {position} ({item.get('code')}) has no value")
    return CommandNotSupported(f"command {position} must be an object with a string code and a value")


class SendCommands(Body):
    """``{"commands": [{"code", "value"}]}``; a null or empty list is 1100 ``commands is empty``."""

    commands: list[Command] | None

    @classmethod
    def refuse(cls, problem: Problem) -> TuyaError:
        if problem.field != "commands" or problem.missing == "commands":
            return ParamIllegal("the body must be an object with a commands list")
        if len(problem.path) == 1:
            return CommandNotSupported("commands must be a list of {code, value} objects")
        return command_refusal(problem, 1)

    def pairs(self) -> list[tuple[str, Any]]:
        return [(c.code, c.value) for c in self.commands or ()]


class IssueProperties(Body):
    """v2.0 shadow issue: ``{"properties": "<JSON object as a string>"}`` (an object is accepted too)."""

    properties: str | dict[str, Any]

    @classmethod
    def refuse(cls, problem: Problem) -> TuyaError:
        if problem.path[:1] == ("properties",):
            return ParamIllegal("properties must be a non-empty JSON object")
        return ParamIllegal("the body must be an object with properties")


class Rename(Body):
    """``{"name"}``: a missing or non-string name is 1109 ``name must be 1 to 50 characters``."""

    name: str

    @classmethod
    def refuse(cls, problem: Problem) -> TuyaError:
        return ParamIllegal("name must be 1 to 50 characters")


class Attribute(Body):
    """v2.0 ``attribute``: only ``type`` 1 (the name) with a string ``data``."""

    type: int
    data: str

    @classmethod
    def refuse(cls, problem: Problem) -> TuyaError:
        return ParamIllegal(ATTRIBUTE_REFUSED)


ATTRIBUTE_REFUSED = "type must be 1 (name) with a string data; icon and location are not supported"


class AllocateStream(Body):
    """``{"type": "hls"}`` (or rtsp, flv, rtmp; any case): the kind of live stream a camera is asked for."""

    type: Annotated[str, msgspec.Meta(description="hls (served), rtsp, flv or rtmp")]

    @classmethod
    def refuse(cls, problem: Problem) -> TuyaError:
        return ParamIllegal('the body must be {"type": "hls"} (or rtsp, flv, rtmp)')


# --- infrared remotes (domain/devices/infrared.py) -----------------------------------------------------------------
AC_FIELDS = ("power", "mode", "temp", "wind")
IrNumber = int | str  # an integer, or its digits as a string (clients send both); read by infrared._int_field


class AddRemote(Body):
    """A remote of a supported IR category bound to a blaster; only ``category_id`` is required."""

    category_id: IrNumber
    remote_name: str = ""
    brand_id: IrNumber = 0
    brand_name: str = ""
    remote_index: IrNumber = 0

    @classmethod
    def refuse(cls, problem: Problem) -> TuyaError:
        if not problem.path and not problem.missing:
            return ParamIllegal("the body must be an object with category_id")
        if problem.missing == "category_id":
            return ParamIllegal("category_id is required")
        kind = "a string" if problem.field in ("remote_name", "brand_name") else "an integer"
        return ParamIllegal(f"{problem.field} must be {kind}")


class RenameRemote(Body):
    remote_name: str = ""
    required = ("remote_name",)
    refusals = {"": (ParamIllegal, "remote_name must be 1 to 50 characters"),
                "remote_name": (ParamIllegal, "remote_name must be a string")}


class PressKey(Body):
    """A standard or raw key: ``{"key"}``, ``{"key_id"}`` or both; ``category_id``, if given, must be the
    remote's."""

    key: str | None = None
    key_id: IrNumber | None = None
    category_id: IrNumber | None = None
    refusals = {"": (ParamIllegal, "the body must be an object with the key"),
                "key": (ParamIllegal, "key must be a string"),
                "key_id": (ParamIllegal, "key_id must be an integer"),
                "category_id": (ParamIllegal, "category_id must be an integer")}


class AcCommand(Body):
    """``{"code": "power"|"mode"|"temp"|"wind", "value": n}``: one air-conditioner setting."""

    code: str
    value: IrNumber | None

    @classmethod
    def refuse(cls, problem: Problem) -> TuyaError:
        if problem.missing or not problem.path:
            return ParamIllegal("the body must be an object with code and value")
        if problem.field == "code":
            return IrKeyNotSupported(f"code must be one of {', '.join(AC_FIELDS)}")
        document = problem.document()
        code = document.get("code") if isinstance(document, dict) else None
        if code not in AC_FIELDS:
            return IrKeyNotSupported(f"code must be one of {', '.join(AC_FIELDS)}")
        return IrKeyNotSupported(f"{code} must be an integer")


class AcScene(Body):
    """``{"power", "mode"?, "temp"?, "wind"?}``: several air-conditioner settings in one code (power required)."""

    power: IrNumber | None
    mode: IrNumber | None = None
    temp: IrNumber | None = None
    wind: IrNumber | None = None

    @classmethod
    def refuse(cls, problem: Problem) -> TuyaError:
        if problem.missing or not problem.path:
            return ParamIllegal("the body must be an object with power (and mode, temp, wind as wanted)")
        return IrKeyNotSupported(f"{problem.field} must be an integer")

    def settings(self) -> dict[str, IrNumber]:
        return {k: v for k in AC_FIELDS if (v := getattr(self, k)) is not None}
