"""Inputs are arguments (docs/architecture.md, "Inputs are arguments"), checked on the source of every module under
src/tuyacloud:

- no context variable anywhere: what a call depends on (a token's scope, an automation run's causation chain) is
  in its arguments, not in the task it happens to run in;
- the wall clock is read in ``clock.py`` only (the cloud's :class:`~tuyacloud.clock.Clock`, and ``wall_ms`` for
  what is about processes rather than the cloud), apart from the few modules in :data:`WALL_CLOCK`;
- randomness (``uuid``, ``secrets``, ``random``, ``os.urandom``) is drawn in ``ids.py`` only, apart from the few
  modules in :data:`RANDOMNESS`;
- no module keeps state its functions change (a module-level list, dict or set they append to or assign into, or
  a ``global``): such state is a channel between callers that no signature shows (the console's navigation list
  was one), apart from :data:`MODULE_STATE`.

The exceptions are data below, each with its reason, and the same list is in docs/architecture.md: a new one is
a decision made in review, not a call slipped in.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from pathlib import Path

from support.source import aliases, dotted, dynamic_imports

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "tuyacloud"

# module (path under src/tuyacloud) -> why it reads the wall clock itself
WALL_CLOCK: dict[str, str] = {
    "clock.py": "the one place: the cloud's Clock, and wall_ms() for process liveness",
    "tlscert.py": "a certificate's validity is real time for the TLS clients that check it",
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

# module -> why its functions change state kept at module level
MODULE_STATE: dict[str, str] = {
    "testing/cloud.py": "the testing kit's one migrated database template per test process, copied for each cloud",
}

_RANDOM_MODULES = frozenset({"uuid", "secrets", "random"})
_RANDOM_CALLS = frozenset({"os.urandom", "os.getrandom"})
# Reading the wall clock, by the dotted name it resolves to through the module's imports (``import time as t``:
# ``t.time`` is ``time.time``; ``from datetime import datetime``: ``datetime.now`` is ``datetime.datetime.now``).
_WALL_NAMES = frozenset({"time.time", "time.time_ns", "datetime.datetime.now", "datetime.datetime.utcnow",
                         "datetime.datetime.today", "datetime.date.today"})
# These read it only when called without a time: ``time.gmtime(ms / 1000)`` formats a given instant, ``gmtime()``
# is now; ``time.strftime(fmt)`` with no time tuple formats now.
_WALL_WITHOUT_ARGUMENT = frozenset({"time.gmtime", "time.localtime", "time.ctime", "time.asctime", "time.strftime"})


@dataclass(frozen=True)
class Uses:
    """What a module imports (modules, as dotted names, run-time imports included) and which dotted names it reads
    (``time.time``), or calls without the time argument (``time.gmtime``)."""

    modules: frozenset[str]
    names: frozenset[str]
    called_bare: frozenset[str]

    def reads_wall_clock(self) -> bool:
        return bool((self.names | self.modules) & _WALL_NAMES or self.called_bare & _WALL_WITHOUT_ARGUMENT)

    def draws_randomness(self) -> bool:
        return bool({m.split(".")[0] for m in self.modules} & _RANDOM_MODULES
                    or (self.names | self.modules) & _RANDOM_CALLS)


@functools.cache
def _sources() -> dict[str, ast.Module]:
    """Every module of the package, parsed once for all the checks below (read, never changed)."""
    return {p.relative_to(PACKAGE).as_posix(): ast.parse(p.read_text(encoding="utf-8"))
            for p in sorted(PACKAGE.rglob("*.py"))}


@functools.cache
def uses(tree: ast.Module) -> Uses:
    names = aliases(tree)
    modules = set(names.values()) | dynamic_imports(tree, names, ()).found
    read: set[str] = set()
    bare: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute | ast.Name):
            read.add(dotted(node, names))
        if isinstance(node, ast.Call):
            called = dotted(node.func, names)
            if not node.args or (called == "time.strftime" and len(node.args) == 1):
                bare.add(called)
    return Uses(frozenset(modules), frozenset(read - {""}), frozenset(bare - {""}))


def test_the_checks_see_what_they_look_for() -> None:
    """The detectors find each kind of call in a sample, however it is spelt, so a clean result below means
    something; formatting a given instant is not reading the clock."""
    samples = [
        "t = time.time()", "import time as t\nx = t.time()", "from time import time as now\nx = now()",
        "import datetime\nd = datetime.datetime.now()", "from datetime import datetime\nd = datetime.now()",
        "import datetime as dt\nd = dt.date.today()", "import time\ns = time.gmtime()",
        "import time\ns = time.strftime('%Y')", "import importlib\nt = importlib.import_module('time').time()",
        "import importlib\nclock = importlib.import_module('time')\nt = clock.time()",
    ]
    for sample in samples:
        assert uses(ast.parse("import time\n" + sample)).reads_wall_clock(), sample
    for sample in ("import time\ns = time.gmtime(ms / 1000)", "import time\ns = time.strftime('%Y', time.gmtime(0))",
                   "import time\nx = time.monotonic()"):
        assert not uses(ast.parse(sample)).reads_wall_clock(), sample
    for sample in ("import uuid", "from uuid import uuid4", "import secrets as s", "from os import urandom",
                   "import os\nb = os.urandom(4)", "import importlib\nu = importlib.import_module('uuid')",
                   "r = __import__('random')"):
        assert uses(ast.parse(sample)).draws_randomness(), sample
    assert "contextvars" in uses(ast.parse("x = __import__('contextvars')")).modules


def test_no_context_variables() -> None:
    users = sorted(m for m, tree in _sources().items() if any(
        name.split(".")[0] == "contextvars" for name in uses(tree).modules))
    assert not users, f"context variables in {users}: pass what a call depends on as an argument (or on Context)"


def test_the_wall_clock_is_read_in_clock_py() -> None:
    readers = sorted(m for m, tree in _sources().items() if uses(tree).reads_wall_clock() and m not in WALL_CLOCK)
    assert not readers, (f"{readers} read the wall clock: use ctx.clock (the cloud's time) or clock.wall_ms() "
                         "(process liveness), or add the module to WALL_CLOCK with its reason")


def test_randomness_comes_from_the_id_source() -> None:
    drawers = sorted(m for m, tree in _sources().items() if uses(tree).draws_randomness() and m not in RANDOMNESS)
    assert not drawers, (f"{drawers} draw their own randomness: use ctx.ids, or add the module to RANDOMNESS "
                         "with its reason")


def test_every_exception_is_still_needed() -> None:
    """An exception whose module no longer needs it is removed, so the lists stay the truth."""
    sources = _sources()
    stale = [m for m in WALL_CLOCK if m not in sources or not uses(sources[m]).reads_wall_clock()]
    stale += [m for m in RANDOMNESS if m not in sources or not uses(sources[m]).draws_randomness()]
    assert not stale, f"no longer read the wall clock or draw randomness: {stale}"


_MUTABLE_CALLS = frozenset({"list", "dict", "set", "deque", "defaultdict", "OrderedDict", "Counter"})
_MUTATORS = frozenset({"append", "appendleft", "extend", "insert", "update", "add", "setdefault", "pop", "popitem",
                       "clear", "remove", "discard"})


def changed_module_state(tree: ast.Module) -> list[str]:
    """Module-level mutable containers that a function of the module changes, and ``global`` statements."""
    mutable: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None and (
                isinstance(node.value, ast.List | ast.Dict | ast.Set)
                or (isinstance(node.value, ast.Call) and dotted(node.value.func, {}).split(".")[-1] in _MUTABLE_CALLS)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            mutable.update(t.id for t in targets if isinstance(t, ast.Name))
    found: list[str] = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Global):
                found.append(f"{node.lineno}: global {', '.join(node.names)}")
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _MUTATORS
                  and isinstance(node.func.value, ast.Name) and node.func.value.id in mutable):
                found.append(f"{node.lineno}: {ast.unparse(node.func)}")
            elif isinstance(node, ast.Assign | ast.AugAssign | ast.Delete):
                targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
                found.extend(f"{node.lineno}: {ast.unparse(t)}" for t in targets if isinstance(t, ast.Subscript)
                             and isinstance(t.value, ast.Name) and t.value.id in mutable)
    return sorted(set(found))


def test_the_state_check_sees_a_module_list_changed_by_a_function() -> None:
    for sample in ("NAV = []\ndef add(x):\n    NAV.append(x)\n", "SEEN = {}\ndef see(k):\n    SEEN[k] = 1\n",
                   "n = 0\ndef bump():\n    global n\n    n += 1\n", "C = dict()\nasync def f():\n    C.clear()\n"):
        assert changed_module_state(ast.parse(sample)), sample
    for sample in ("NAV = []\ndef f(nav):\n    nav.append(1)\n", "TABLE = {'a': 1}\ndef f():\n    return TABLE['a']\n"):
        assert not changed_module_state(ast.parse(sample)), sample


def test_no_module_state_is_changed_by_functions() -> None:
    changers = {m: found for m, tree in _sources().items() if (found := changed_module_state(tree))}
    unexplained = {m: found for m, found in changers.items() if m not in MODULE_STATE}
    assert not unexplained, (f"{unexplained}: pass the state as an argument or keep it on an object the caller "
                             "holds (the Context, the app), or add the module to MODULE_STATE with its reason")
    assert set(MODULE_STATE) <= set(changers), f"no longer change module state: {set(MODULE_STATE) - set(changers)}"
