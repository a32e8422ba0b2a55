"""The request bodies of scenes and automations, as the domain takes them (timers: ``timer_requests.py``).

Decoded and checked by the edge (``bodies.py``); each refusal is the platform's answer for that API. A rule's
actions and conditions are lists of JSON objects whose shape depends on their kind (``action_executor``,
``entity_type``): the rules modules check each against the home's devices (``scene_actions.validate``,
``automations._conditions``), so here they are typed as lists of objects, no deeper.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from tuyacloud.bodies import Body, Problem
from tuyacloud.errors import ParamEmpty, ParamIllegal, TuyaError

NAME_REFUSED = "name must be 1 to 50 printable characters"
BACKGROUND_REFUSED = "background must be an image URL of at most 512 characters"
MAX_PRECONDITIONS = 3
PRECONDITION_REFUSED = ("only {cond_type: \"timeCheck\", display: {start, end, loops, timezone_id}} is "
                        "supported")

Objects = list[dict[str, Any]]
Actions = Annotated[Objects, msgspec.Meta(description="array of {entity_id, action_executor, executor_property}")]
Conditions = Annotated[Objects, msgspec.Meta(description="array of {entity_type, entity_id, order_num, display}")]
Preconditions = Annotated[Objects, msgspec.Meta(description="array of {id, cond_type, display}")]


def _listed(problem: Problem, whole: TuyaError, item: str) -> TuyaError:
    """The list itself is not a list (``whole``), or its item ``path[1]`` is not an object."""
    if len(problem.path) < 2:
        return whole
    return ParamIllegal(f"{item} {int(problem.path[1]) + 1}" + (" must be an object" if item != "precondition"
                                                               else f": {PRECONDITION_REFUSED}"))


def _rule_refusal(problem: Problem) -> TuyaError | None:
    if problem.field == "name":
        return ParamIllegal(NAME_REFUSED)
    if problem.field == "background":
        return ParamIllegal(BACKGROUND_REFUSED)
    if problem.field == "actions":
        return _listed(problem, ParamIllegal("actions must be a list"), "action")
    return None


class SceneBody(Body):
    """``{name, background?, actions}`` of a tap-to-run scene (add, and modify with the same body)."""

    name: str | None = None
    background: str | None | msgspec.UnsetType = msgspec.UNSET
    actions: Actions | None = None
    required = ("name", "actions")

    @classmethod
    def refuse(cls, problem: Problem) -> TuyaError:
        return _rule_refusal(problem) or super().refuse(problem)


class AutomationBody(Body):
    """An automation: ``match_type`` 1 (any condition) or 2 (all), its conditions, preconditions and actions."""

    name: str | None = None
    background: str | None = None
    match_type: int | str = 1
    condition_rule: str | None = None
    conditions: Conditions | None = None
    preconditions: Preconditions | None = None
    actions: Actions | None = None
    required = ("name", "conditions", "actions")

    @classmethod
    def refuse(cls, problem: Problem) -> TuyaError:
        found = _rule_refusal(problem)
        if found is not None:
            return found
        if problem.field == "match_type":
            return ParamIllegal("match_type must be an integer")
        if problem.field == "condition_rule":
            return ParamIllegal("condition_rule must be a string")
        if problem.field == "conditions":
            return _listed(problem, ParamEmpty("conditions: give at least one condition"), "condition")
        if problem.field == "preconditions":
            return _listed(problem, ParamIllegal(f"preconditions must be a list of at most {MAX_PRECONDITIONS} "
                                                 "timeCheck entries"), "precondition")
        return super().refuse(problem)
