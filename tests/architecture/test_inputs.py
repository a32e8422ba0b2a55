"""Inputs are arguments (docs/architecture.md, "Inputs are arguments"), checked on the source of every module under
src/tuyacloud:

- no context variable anywhere: what a call depends on (a token's scope, an automation run's causation chain) is
  in its arguments, not in the task it happens to run in;
- the wall clock is read in ``clock.py`` only (the cloud's :class:`~tuyacloud.clock.Clock`, and ``wall_ms`` for
  what is about processes rather than the cloud), apart from the few modules in :data:`WALL_CLOCK`;
- randomness (``uuid``, ``secrets``, ``random``, ``os.urandom``) is drawn in ``ids.py`` only, apart from the few
  modules in :data:`RANDOMNESS`.

The exceptions are data below, each with its reason, and the same list is in docs/architecture.md: a new one is
a decision made in review, not a call slipped in.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "tuyacloud"

# module (path under src/tuyacloud) -> why it reads the wall clock itself
WALL_CLOCK: dict[str, str] = {
    "clock.py": "the one place: the cloud's Clock, and wall_ms() for process liveness",
    "tlscert.py": "a certificate's validity is real time for the TLS clients that check it",
    "testing/cloud.py": "the testing kit prunes its cache of database templates by file age",
}

# module -> why it draws randomness itself rather than from the injected IdSource
RANDOMNESS: dict[str, str] = {
    "ids.py": "the one place: the injected id source",
    "passwords.py": "a password hash's salt (secret; never from a seedable source)",
    "sharing_crypto.py": "an AES-GCM nonce of the device-sharing API (crypto)",
    "messaging/codec.py": "an AES-GCM nonce of an encrypted Pulsar message (crypto)",
    "messaging/mqtt/codec.py": "an AES IV of an open-hub MQTT message (crypto)",
    "console/explorer.py": "the request nonce the API explorer signs with, as any client makes its own",
    "domain/task_lease.py": "a process's lease owner: unique across processes even with a seeded id source",
    "simulator/runner.py": "the simulator's shard-lease owner: unique across processes even with a seeded id source",
    "messaging/hub.py": "a process's and a Pulsar connection's lease owner: unique across processes",
    "messaging/mqtt/broker.py": "the embedded broker's node name among processes",
    "messaging/mqtt/external.py": "this process's node name on an external broker",
    "testing/cloud.py": "the testing kit's temporary directory and admin token for a local cloud",
}

_RANDOM_MODULES = frozenset({"uuid", "secrets", "random"})
_WALL_CALLS = frozenset({("time", "time"), ("time", "time_ns"), ("datetime", "now"), ("datetime", "utcnow"),
                         ("datetime", "today"), ("date", "today")})


@functools.cache
def _sources() -> dict[str, ast.Module]:
    """Every module of the package, parsed once for all the checks below (read, never changed)."""
    return {p.relative_to(PACKAGE).as_posix(): ast.parse(p.read_text(encoding="utf-8"))
            for p in sorted(PACKAGE.rglob("*.py"))}


@functools.cache
def _imported(tree: ast.Module) -> frozenset[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module.split(".")[0])
            if node.module in ("time", "os"):
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return frozenset(found)


@functools.cache
def _attribute_calls(tree: ast.Module) -> frozenset[tuple[str, str]]:
    """(owner, attribute) of every ``owner.attribute`` and ``x.owner.attribute`` in the module."""
    found: set[tuple[str, str]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            owner = node.value
            name = owner.id if isinstance(owner, ast.Name) else owner.attr if isinstance(owner, ast.Attribute) else ""
            found.add((name, node.attr))
    return frozenset(found)


def test_the_checks_see_what_they_look_for() -> None:
    """The detectors find each kind of call in a sample, so a clean result below means something."""
    sample = ast.parse("import contextvars, uuid\nimport datetime\nfrom os import urandom\n"
                       "t = time.time()\nd = datetime.datetime.now()\n")
    assert {"contextvars", "uuid", "os.urandom"} <= _imported(sample)
    assert {("time", "time"), ("datetime", "now")} <= _attribute_calls(sample)


def test_no_context_variables() -> None:
    users = sorted(m for m, tree in _sources().items() if "contextvars" in _imported(tree))
    assert not users, f"context variables in {users}: pass what a call depends on as an argument (or on Context)"


def test_the_wall_clock_is_read_in_clock_py() -> None:
    readers = sorted(m for m, tree in _sources().items()
                     if (_attribute_calls(tree) & _WALL_CALLS or {"time.time", "time.time_ns"} & _imported(tree))
                     and m not in WALL_CLOCK)
    assert not readers, (f"{readers} read the wall clock: use ctx.clock (the cloud's time) or clock.wall_ms() "
                         "(process liveness), or add the module to WALL_CLOCK with its reason")


def test_randomness_comes_from_the_id_source() -> None:
    drawers = sorted(m for m, tree in _sources().items()
                     if (_RANDOM_MODULES & _imported(tree) or ("os", "urandom") in _attribute_calls(tree)
                         or "os.urandom" in _imported(tree))
                     and m not in RANDOMNESS)
    assert not drawers, (f"{drawers} draw their own randomness: use ctx.ids, or add the module to RANDOMNESS "
                         "with its reason")


def test_every_exception_is_still_needed() -> None:
    """An exception whose module no longer needs it is removed, so the lists stay the truth."""
    sources = _sources()
    stale = [m for m in WALL_CLOCK if m not in sources or not (
        _attribute_calls(sources[m]) & _WALL_CALLS or {"time.time", "time.time_ns"} & _imported(sources[m]))]
    stale += [m for m in RANDOMNESS if m not in sources or not (
        _RANDOM_MODULES & _imported(sources[m]) or ("os", "urandom") in _attribute_calls(sources[m]))]
    assert not stale, f"no longer read the wall clock or draw randomness: {stale}"
