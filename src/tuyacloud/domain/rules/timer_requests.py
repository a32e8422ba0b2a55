"""The request bodies of device timers (v1.0 groups, v2.0 single timers), as the domain takes them.

Decoded and checked by the edge (``bodies.py``). A schedule field of the wrong type is refused by the same parser
that refuses a wrong value (``schedule.py``), so ``"loops": 1111111`` gets the words ``"loops": "1111"`` gets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import msgspec

from tuyacloud.bodies import Body, Problem, default_refusal
from tuyacloud.domain.devices.requests import Command, command_refusal
from tuyacloud.domain.rules import schedule
from tuyacloud.errors import ParamEmpty, ParamIllegal, TuyaError

MAX_TEXT = 64
FUNCTIONS_REFUSED = "functions must be a list of {code, value} objects"


def _by_parser(problem: Problem, parse: Callable[[Any], Any]) -> TuyaError:
    """What ``parse`` says of the value sent (it refuses any value of the wrong type)."""
    try:
        parse(problem.at())
    except TuyaError as error:
        return error
    return default_refusal(problem)


def _text(name: str) -> TuyaError:
    return ParamIllegal(f"{name} must be a string of at most {MAX_TEXT} characters")


def _functions(problem: Problem, at: int) -> TuyaError:
    """``functions`` (``problem.path[at]``) is not a list, or one of its commands is malformed."""
    if len(problem.path) == at + 1 and not problem.missing:
        return ParamIllegal(FUNCTIONS_REFUSED)
    return command_refusal(problem, at + 1)


def _schedule_field(problem: Problem, name: str) -> TuyaError | None:
    """The answers for the schedule fields a timer and a group share."""
    if name == "time":
        return _by_parser(problem, schedule.normalise_time)
    if name == "date":
        return _by_parser(problem, schedule.parse_date)
    if name == "loops":
        return _by_parser(problem, schedule.parse_loops)
    if name in ("timezone_id", "time_zone"):
        return ParamIllegal(f"{name} must be a string")
    if name in ("alias_name", "category"):
        return _text(name)
    return None


# --- v1.0 groups -------------------------------------------------------------------------------------------------
class Instruct(msgspec.Struct):
    """One timer of a group: its time (and date), and the commands it sends."""

    time: str | None = None
    date: str | None = None
    functions: list[Command] | None = None


class TimerGroup(Body):
    """``{category, loops, timezone_id | time_zone, alias_name, instruct: [{time, date, functions}]}``."""

    category: str | None = None
    loops: str | None = None
    time_zone: str | None = None
    timezone_id: str | None = None
    alias_name: str | None = None
    instruct: list[Instruct] | None = None
    required = ("category", "loops", "instruct")

    @classmethod
    def refuse(cls, problem: Problem) -> TuyaError:
        if problem.path[:1] == ("instruct",):
            if len(problem.path) == 1:
                return ParamIllegal("instruct must be a list of {time, date, functions} objects")
            if len(problem.path) == 2 and not problem.missing:
                return ParamIllegal("each instruct entry must be an object {time, date, functions}")
            if problem.path[2] == "functions":
                return _functions(problem, 2)
            return _schedule_field(problem, str(problem.path[2])) or super().refuse(problem)
        return (_schedule_field(problem, problem.field) if problem.path else None) or super().refuse(problem)


class GroupStatus(Body):
    """``{"value": "0" | "1" | "2"}``: disable, enable or delete a group (numbers are taken too)."""

    value: str | int | None = None
    required = ("value",)
    refusals = {"value": (ParamIllegal, "value must be 0 (disable), 1 (enable) or 2 (delete)")}


# --- v2.0 single timers --------------------------------------------------------------------------------------------
TIMER_ID_REFUSED = (ParamIllegal, "timer_id must be a string")


class TimerBody(Body):
    """A v2.0 timer: ``{time, date?, loops, timezone_id | time_zone, functions, alias_name?, category?}``."""

    alias_name: str | None = None
    category: str | None | msgspec.UnsetType = msgspec.UNSET  # a modify that leaves it out keeps it
    time: str | None = None
    date: str | None = None
    loops: str | None = None
    timezone_id: str | None = None
    time_zone: str | None = None
    functions: list[Command] | None = None
    required: ClassVar[tuple[str, ...]] = ("time", "timezone_id", "functions")

    @classmethod
    def refuse(cls, problem: Problem) -> TuyaError:
        if problem.path[:1] == ("functions",):
            return _functions(problem, 0)
        if problem.field == "timer_id" and problem.path:
            return ParamIllegal(TIMER_ID_REFUSED[1])
        return (_schedule_field(problem, problem.field) if problem.path else None) or super().refuse(problem)


class ModifyTimer(TimerBody):
    timer_id: str | int | None = None
    required = ("timer_id", "time", "timezone_id", "functions")


class TimerState(Body):
    timer_id: str | int | None = None
    enable: bool | None = None
    required = ("timer_id", "enable")
    refusals = {"timer_id": TIMER_ID_REFUSED, "enable": (ParamIllegal, "enable must be true or false")}


def functions_of(functions: list[Command] | None) -> list[tuple[str, Any]]:
    """The ``(code, value)`` pairs of a timer's functions; none is 1100 ``functions is empty``."""
    if not functions:
        raise ParamEmpty("functions is empty")
    return [(f.code, f.value) for f in functions]
