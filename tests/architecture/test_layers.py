"""The layer rules of docs/architecture.md, checked on the import graph of every module under src/tuyacloud.

Every ``import`` counts: at module level, inside functions and under ``TYPE_CHECKING`` (an import deferred into
a function is still an arrow, and a circle held open that way is still a circle). The rules are data below, so a
reader sees them and a change to them shows up in review:

- :data:`ALLOWED`: what each unit (a top-level module or package of ``tuyacloud``; the domain's subpackages are
  units of their own) may import. A unit that is not listed fails the test: a new package starts with a decision.
- :data:`ONLY`: where a unit may use another only through some of its modules (the domain sees the store's
  interface, never its queries; the faces see the messaging package's status reads, nothing else of it).
- :data:`DOMAIN_ORDER`: the domain's packages, each importing only those before it.
- No import cycles at all, between modules or between units.
- :data:`NO_FRAMEWORK`: third-party packages the rules layers never import (web framework, SQL, websockets, MQTT).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path

import pytest

from support.source import absolute, aliases, dynamic_imports

SRC = Path(__file__).resolve().parents[2] / "src"
ROOT = "tuyacloud"

# Small shared modules with no rules of the cloud in them: any layer may use them.
FOUNDATION = frozenset({
    "errors", "limits", "models", "clock", "ids", "regions", "passwords", "signing", "supervision", "logs",
    "settings", "sharing_crypto", "tlscert", "bodies",
})
_DOMAIN_UNITS = frozenset({
    "domain", "domain.context", "domain.task_lease", "domain.access", "domain.industry", "domain.devices",
    "domain.projects", "domain.smarthome", "domain.pairing", "domain.rules", "domain.bootstrap", "domain.console_views",
})
_RULES = frozenset({"catalog", "store", *_DOMAIN_UNITS})
ANYTHING = frozenset({"*"})

ALLOWED: dict[str, frozenset[str]] = {
    # foundation: each imports only foundation modules it names
    "errors": frozenset(), "models": frozenset(), "clock": frozenset(), "ids": frozenset(),
    "regions": frozenset(), "passwords": frozenset(), "signing": frozenset(), "logs": frozenset(),
    "settings": frozenset(), "sharing_crypto": frozenset(),
    "limits": frozenset({"errors"}), "supervision": frozenset({"errors", "clock"}), "tlscert": frozenset({"regions"}),
    "bodies": frozenset({"errors"}),  # typed request bodies: msgspec Structs the edges decode, the domain takes
    # device knowledge as data, and the one store interface on two engines
    "catalog": FOUNDATION,
    "store": FOUNDATION,
    # the rules of the cloud: foundation, the catalog and the store's interface (see ONLY)
    **{unit: FOUNDATION | {"catalog", "store"} | _DOMAIN_UNITS for unit in _DOMAIN_UNITS},
    # shapes and envelopes the edges share
    "views": FOUNDATION | {"catalog"},
    "envelope": FOUNDATION,
    # edges: parse, check, call the domain, serialise; none imports another edge's internals
    "gateway": FOUNDATION | _RULES | {"views", "envelope", "observe", "media"},
    "media": FOUNDATION | _RULES,  # a virtual camera's live stream, generated and served (an edge of its own)
    "messaging": FOUNDATION | _RULES | {"coalescing"},  # the MQTT broker's socket writes joined per loop turn
    "simulator": FOUNDATION | _RULES,
    "control": FOUNDATION | _RULES | {"views", "envelope", "messaging", "health"},
    "console": FOUNDATION | _RULES | {"views", "messaging"},
    "cli": FOUNDATION | _RULES | {"views", "messaging", "server"},
    # cross-cutting services of the running server
    "health": FOUNDATION | _RULES,
    "metrics": FOUNDATION | _RULES | {"envelope", "messaging"},
    "observe": FOUNDATION | {"metrics"},
    "connections": FOUNDATION | {"envelope", "coalescing"},
    "coalescing": frozenset(),  # the HTTP protocol that batches responses (uvicorn's, subclassed)
    "lifecycle": FOUNDATION,
    # composition roots: they build everything, nothing imports them but the entry points
    "app": ANYTHING,
    "server": ANYTHING,
    "workers": FOUNDATION,  # `serve --workers N`: forks the server processes (server.py hands it the runner)
    "testing": ANYTHING,
    "__main__": frozenset({"cli"}),  # `python -m tuyacloud`: the command line, nothing else
    "__init__": frozenset(),
}

# (importer, imported unit) -> the only modules of that unit the importer may name.
_STORE_INTERFACE = frozenset({"tuyacloud.store.base"})
_MESSAGING_STATUS = frozenset({"tuyacloud.messaging.status", "tuyacloud.messaging.mqtt.status"})
ONLY: dict[tuple[str, str], frozenset[str]] = {
    **{(unit, "store"): _STORE_INTERFACE for unit in _DOMAIN_UNITS},
    ("simulator", "store"): _STORE_INTERFACE,
    ("messaging", "store"): _STORE_INTERFACE | {"tuyacloud.store.queries.messaging"},  # its row types
    ("cli", "store"): _STORE_INTERFACE | {"tuyacloud.store.engine"},  # the CLI opens the store itself
    ("health", "store"): frozenset({"tuyacloud.store.migrate"}),  # readiness: is the schema current
    ("control", "messaging"): _MESSAGING_STATUS,
    ("console", "messaging"): _MESSAGING_STATUS,
    ("cli", "messaging"): _MESSAGING_STATUS,
    ("metrics", "messaging"): frozenset({"tuyacloud.messaging.hub"}),  # the live connection gauges
}

# The domain's packages, lowest first: each may import only itself and those before it.
DOMAIN_ORDER: tuple[frozenset[str], ...] = (
    frozenset({"domain", "domain.context", "domain.task_lease"}),
    frozenset({"domain.access"}),  # who may call and what they see
    frozenset({"domain.industry"}),  # assets, project users, grants
    frozenset({"domain.devices"}),  # devices, owners, commands, history, events, outbox
    frozenset({"domain.projects"}),  # a project, its services, usage and statistics
    frozenset({"domain.smarthome"}),  # apps, homes, sharing
    frozenset({"domain.pairing"}),  # registration into an asset, pairing into a home
    frozenset({"domain.rules"}),  # scenes, automations, timers
    frozenset({"domain.bootstrap", "domain.console_views"}),  # compositions over all of them
)

NO_FRAMEWORK = ("starlette", "uvicorn", "httptools", "websockets", "amqtt", "paho", "asyncpg", "sqlite3",
                "sqlalchemy", "alembic", "jinja2", "typer", "rich")
_NO_FRAMEWORK_UNITS = FOUNDATION | _RULES - {"store"} | {"views", "envelope"}


# --- the import graph ---------------------------------------------------------------------------------------------
def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted((SRC / ROOT).rglob("*.py"))}


def imports_in(source: str, module: str, is_package: bool, known: Iterable[str]) -> set[str]:
    """Every module ``source`` imports, wherever the statement stands and however it is spelt (a run-time
    ``importlib.import_module``/``__import__`` too, see ``support/source.py``); ``from pkg import sub`` names
    ``pkg.sub`` when that is a module. A run-time import the source does not name is ``UNRESOLVED``."""
    known = set(known)
    found: set[str] = set()
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = absolute(node, module, is_package)
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in known else target)
    dynamic = dynamic_imports(tree, aliases(tree, module, is_package), known)
    found |= dynamic.found
    found.update(f"{UNRESOLVED}{call}" for call in dynamic.unresolved)
    return found


UNRESOLVED = "?unresolved run-time import "


@cache
def graph() -> dict[str, frozenset[str]]:
    known = modules()
    return {
        name: frozenset(imports_in(path.read_text(), name, path.name == "__init__.py", known))
        for name, path in known.items()
    }


def unit_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "__init__"
    if parts[1] == "domain" and len(parts) > 2:
        return f"domain.{parts[2]}"
    return parts[1]


def internal_edges() -> Iterable[tuple[str, str]]:
    for module, targets in graph().items():
        for target in targets:
            if target == ROOT or target.startswith(ROOT + "."):
                yield module, target


def cycles(edges: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in edges:
        if start in index:
            continue
        work = [(start, iter(edges.get(start, ())))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges.get(child, ()))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


# --- the rules ----------------------------------------------------------------------------------------------------
def test_the_walker_sees_imports_inside_functions_and_type_checking_blocks() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from tuyacloud.gateway.router import Route\n"
        "def f():\n    from tuyacloud.simulator import runner\n"
        "from . import sibling\n"
    )
    found = imports_in(source, "tuyacloud.domain.x", False, {"tuyacloud.simulator.runner", "tuyacloud.domain.sibling"})
    assert {"tuyacloud.gateway.router", "tuyacloud.simulator.runner", "tuyacloud.domain.sibling"} <= found


def test_the_walker_sees_run_time_imports() -> None:
    """``importlib.import_module`` and ``__import__`` are arrows too: a literal name, an f-string that starts with
    one (or with a module's ``__name__``), and a name held in the module's data; a name nowhere in the source is
    reported, never dropped."""
    known = {"tuyacloud.gateway.router", "tuyacloud.simulator.runner", "tuyacloud.console.pages.a",
             "tuyacloud.console.pages.b", "tuyacloud.cli.devices", "tuyacloud.store.sqlite"}
    source = (
        "import importlib\nfrom importlib import import_module as load\nfrom tuyacloud.console import pages\n"
        "def f(name, info):\n"
        "    importlib.import_module('tuyacloud.gateway.router')\n"
        "    __import__('tuyacloud.simulator.runner')\n"
        "    load(f'{pages.__name__}.{info.name}')\n"
        "    load(f'tuyacloud.store.{name}')\n"
        "GROUPS = {'device': 'tuyacloud.cli.devices'}\n"
        "def g(name):\n    return importlib.import_module(GROUPS[name])\n"
    )
    found = imports_in(source, "tuyacloud.x", False, known)
    assert known <= found, known - found
    hidden = imports_in("import importlib\ndef f(n):\n    importlib.import_module(n)\n", "tuyacloud.x", False, known)
    assert any(name.startswith(UNRESOLVED) for name in hidden), hidden


def test_every_run_time_import_is_resolved() -> None:
    """A run-time import whose module the source does not name would be an arrow no rule sees: name the modules it
    may load in the file (as ``cli/main.py``'s ``GROUPS`` does), or import them plainly."""
    hidden = sorted(f"{module}: {target[len(UNRESOLVED):]}" for module, targets in graph().items()
                    for target in targets if target.startswith(UNRESOLVED))
    assert not hidden, hidden


def test_the_graph_covers_the_package() -> None:
    assert "tuyacloud.domain.devices.devices" in graph()
    assert "tuyacloud.store.base" in graph()["tuyacloud.domain.context"]
    assert len(graph()) > 100


def test_every_unit_has_a_row() -> None:
    missing = sorted({unit_of(m) for m in modules()} - set(ALLOWED))
    assert not missing, f"add a row to ALLOWED (and a line to docs/architecture.md) for: {missing}"


def test_units_import_only_what_their_row_allows() -> None:
    wrong = []
    for module, target in internal_edges():
        source, dest = unit_of(module), unit_of(target)
        allowed = ALLOWED.get(source, frozenset())
        if source == dest or allowed is ANYTHING:
            continue
        if dest not in allowed:
            wrong.append(f"{module} -> {target} ({source} may not import {dest})")
        elif (source, dest) in ONLY and target not in ONLY[(source, dest)]:
            wrong.append(f"{module} -> {target} ({source} may use only {sorted(ONLY[(source, dest)])} of {dest})")
    assert not wrong, "layer rule broken:\n" + "\n".join(sorted(wrong))


def test_no_edge_imports_the_gateway() -> None:
    """Said outright because it is the rule most tempting to break: only the app factory wires the gateway in."""
    importers = {unit_of(m) for m, t in internal_edges() if unit_of(t) == "gateway" and unit_of(m) != "gateway"}
    assert importers <= {"app"}, importers


def test_domain_packages_import_only_those_before_them() -> None:
    rank = {unit: position for position, units in enumerate(DOMAIN_ORDER) for unit in units}
    assert set(rank) == set(_DOMAIN_UNITS)
    wrong = [
        f"{module} -> {target}"
        for module, target in internal_edges()
        if unit_of(module) in rank and unit_of(target) in rank and rank[unit_of(target)] > rank[unit_of(module)]
    ]
    assert not wrong, "a domain package imports one above it (DOMAIN_ORDER):\n" + "\n".join(sorted(wrong))


def test_no_import_cycles_between_modules() -> None:
    edges: dict[str, set[str]] = {m: set() for m in graph()}
    for module, target in internal_edges():
        if target in edges and target != module:
            edges[module].add(target)
    assert cycles(edges) == []


def test_no_cycles_between_units() -> None:
    edges: dict[str, set[str]] = {}
    for module, target in internal_edges():
        if unit_of(module) != unit_of(target):
            edges.setdefault(unit_of(module), set()).add(unit_of(target))
    assert cycles(edges) == []


@pytest.mark.parametrize("framework", NO_FRAMEWORK)
def test_the_rules_layers_import_no_framework(framework: str) -> None:
    users = sorted(
        module for module, targets in graph().items()
        if unit_of(module) in _NO_FRAMEWORK_UNITS
        and any(t == framework or t.startswith(framework + ".") for t in targets)
    )
    assert not users, f"{framework} imported by {users}"


def test_store_query_mixins_do_not_redeclare_the_primitives() -> None:
    """``fetch``/``execute`` are declared once (``store/queries/primitives.py``); a mixin only writes queries, and
    the SQL stays out of the interface module ``store/base.py``."""
    queries = SRC / ROOT / "store" / "queries"
    redeclared = sorted(
        f"{path.name}: {node.name}"
        for path in queries.glob("*.py") if path.name != "primitives.py"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef) and node.name in {"fetch", "execute", "fetchone"}
    )
    assert not redeclared, redeclared
    base = (SRC / ROOT / "store" / "base.py").read_text()
    assert not any(word in base for word in ("SELECT ", "INSERT ", "UPDATE ", "DELETE ")), "SQL in store/base.py"


def _top_level_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def test_the_store_declares_its_shared_row_shapes_once() -> None:
    """``Row``, the device columns and the primitives are declared in ``store/rows.py`` and
    ``store/queries/primitives.py`` only: a query module or an engine that declares its own ``Row`` (or
    ``DEVICE_COLS``...) would drift from the one the others read."""
    store = SRC / ROOT / "store"
    shared_files = (store / "rows.py", store / "queries" / "primitives.py")
    shared = set().union(*(_top_level_names(p) for p in shared_files)) - {"annotations"}
    assert {"Row", "DEVICE_COLS", "Primitives"} <= shared, shared
    redeclared = sorted(
        f"{path.relative_to(store)}: {name}"
        for path in store.rglob("*.py") if path not in shared_files
        for name in _top_level_names(path) & shared
    )
    assert not redeclared, redeclared


def test_the_domain_context_is_typed() -> None:
    """What the domain is handed is typed (docs/architecture.md, "Inputs are arguments"): the services a running
    server adds (quotas, the automation engine, the open hub's settings) are protocols or data classes of
    ``domain/context.py``, never ``Any``, so a reader (and mypy) sees what the domain may call on them."""
    tree = ast.parse((SRC / ROOT / "domain" / "context.py").read_text())
    context = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Context")
    untyped = sorted(
        node.target.id for node in context.body
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
        and any(isinstance(n, ast.Name) and n.id in {"Any", "object"} for n in ast.walk(node.annotation))
    )
    assert not untyped, f"Context fields typed Any: {untyped}"


def test_every_domain_package_has_its_in_process_tests() -> None:
    """Tests mirror the packages: the rules of ``domain/<package>/`` are tested in process in
    ``tests/domain/<package>/`` (docs/architecture.md, "A new test")."""
    tests = Path(__file__).resolve().parents[1] / "domain"
    packages = sorted(p.name for p in (SRC / ROOT / "domain").iterdir() if (p / "__init__.py").exists())
    untested = [p for p in packages if not list((tests / p).glob("test_*.py"))]
    assert packages and not untested, f"no tests/domain/<package>/test_*.py for: {untested}"


def test_the_tarjan_helper_finds_a_circle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


if __name__ == "__main__":  # pragma: no cover - a reader's shortcut: print the unit graph
    for unit in sorted({unit_of(m) for m in modules()}):
        targets = sorted({unit_of(t) for m, t in internal_edges() if unit_of(m) == unit} - {unit})
        print(f"{unit}: {', '.join(targets)}", file=sys.stdout)
