"""The request bodies of the device APIs, as the domain takes them (decoded and checked by the edge).

Each refusal is the platform's answer for that API, as it was when the domain inspected raw bodies itself.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from tuyacloud.bodies import Body, Problem
from tuyacloud.errors import CommandNotSupported, ParamIllegal, TuyaError


class Command(msgspec.Struct):
    """One ``{"code", "value"}``: the value is any JSON value, checked by the device's data point."""

    code: str
    value: Any


class SendCommands(Body):
    """``{"commands": [{"code", "value"}]}``; a null or empty list is 1100 ``commands is empty``."""

    commands: list[Command] | None

    @classmethod
    def refuse(cls, problem: Problem) -> TuyaError:
        if problem.field != "commands" or problem.missing == "commands":
            return ParamIllegal("the body must be an object with a commands list")
        if len(problem.path) == 1:
            return CommandNotSupported("commands must be a list of {code, value} objects")
        position = int(problem.path[1]) + 1
        if problem.missing == "value" and len(problem.path) == 2:
            code = problem.document()["commands"][position - 1].get("code")
            return CommandNotSupported(f"command {position} ({code}) has no value")
        return CommandNotSupported(f"command {position} must be an object with a string code and a value")

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
