"""Which automations led to what is happening now: the chain a run's commands carry, and the loop rule on it.

An automation's run calls the domain with a context that carries the chain of automations that caused it, itself
last (``Context.caused_by``); a status change it commits carries that chain (``StatusChange.causation``) to the
automation engine, which evaluates the change with it. A request, a device's report or a timer starts with an
empty chain. This is what bounds loops (docs/smart-home.md, "Loops"): an automation never fires from a change its
own run caused, directly or through others, and chains stop at :data:`MAX_DEPTH`.

The chain is passed as an argument from the run to the change, never kept in a context variable: what caused a
change is then visible in every signature it passes through, and a task started along the way cannot inherit a
chain that is not its own.
"""

from __future__ import annotations

MAX_DEPTH = 5

Chain = tuple[str, ...]


def loop_refusal(automation_id: str, chain: Chain) -> str:
    """Why an automation may not fire from a change with this causation ``chain`` ("" when it may)."""
    if automation_id in chain:
        return "loop: already in the causation chain " + ">".join(chain)
    if len(chain) >= MAX_DEPTH:
        return f"loop: causation chain deeper than {MAX_DEPTH}"
    return ""


def extended(chain: Chain, automation_id: str) -> Chain:
    """The chain of a run of ``automation_id`` fired from a change caused by ``chain``."""
    return (*chain, automation_id)
