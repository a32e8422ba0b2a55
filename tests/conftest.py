"""Shared fixtures: a real server on a free port (SQLite, or PostgreSQL when TUYACLOUD_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import asyncio
import functools
import gc
import os
import subprocess
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

sys.path.insert(0, str(Path(__file__).parent))

# scripts/test starts one PostgreSQL cluster per pytest-xdist process (TUYACLOUD_TEST_DATABASE_URLS, space-separated):
# each process takes its own as TUYACLOUD_TEST_DATABASE_URL, which every engine-aware test and helper reads.
_clusters = os.environ.get("TUYACLOUD_TEST_DATABASE_URLS", "").split()
if _clusters:
    _worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    os.environ["TUYACLOUD_TEST_DATABASE_URL"] = _clusters[int(_worker.removeprefix("gw") or 0) % len(_clusters)]

from support import server as support_server  # noqa: E402
from support.server import CloudServer  # noqa: E402
from support.signed import SignedClient  # noqa: E402
from tuyacloud import testing  # noqa: E402
from tuyacloud.app import create_app  # noqa: E402

# pytest-playwright's fixtures that start Playwright (a test asking for any of them starts its event loop).
PLAYWRIGHT_FIXTURES = {"playwright", "browser_type", "browser", "launch_browser", "context", "new_context", "page"}


TESTS = Path(__file__).parent.resolve()
# Fixtures that start a server (this file's, the testing kit's), a browser, or a pytest run of their own.
SERVER_FIXTURES = {"cloud", "project", "client", "tuya_cloud", "tuya_cloud_server", "tuya_project", "pytester",
                   "testdir"} | PLAYWRIGHT_FIXTURES
# What starts a server or a process when a test, a fixture or a helper of tests/ refers to it.
STARTERS: tuple[object, ...] = (CloudServer, create_app, uvicorn, subprocess, testing.LocalCloud, testing.local_cloud,
                                asyncio.create_subprocess_exec, asyncio.create_subprocess_shell)


# What opens a store in the test's own process: support/server.py's database helpers, or anything of
# tuyacloud.store (open_store, a store class, the migrations).
STORE_HELPERS: tuple[object, ...] = (support_server.migrated_database_for_test, support_server.database_url_for_test,
                                     support_server.fresh_postgres_database)
# The variable that names the PostgreSQL server of the engine under test (``scripts/test`` sets it per process).
ENGINE_VARIABLE = "TUYACLOUD_TEST_DATABASE_URL"
Target = Callable[[object], bool]


def _is_starter(value: object) -> bool:
    """One of ``STARTERS``, or a class made from one (a test's own kind of server)."""
    mro = value.__mro__ if isinstance(value, type) else (value,)
    return any(v is s for v in mro for s in STARTERS)


def _is_store(value: object) -> bool:
    """One of ``STORE_HELPERS``, a module, class or function of ``tuyacloud.store``, or the name of the variable that
    gives the engine under test (``ENGINE_VARIABLE``, read by a test or helper of its own)."""
    if value == ENGINE_VARIABLE or any(value is h for h in STORE_HELPERS):
        return True
    name = value.__name__ if isinstance(value, types.ModuleType) else getattr(value, "__module__", None)
    return isinstance(name, str) and (name == "tuyacloud.store" or name.startswith("tuyacloud.store."))


@functools.cache
def _under_tests(filename: str) -> bool:
    """Whether a file is under tests/. Cached: the look at every test's code asks it for the same few hundred files
    tens of thousands of times, and resolving the path was a fifth of a test process's collection."""
    return Path(filename).resolve().is_relative_to(TESTS)


def _ours(obj: object) -> bool:
    """Defined in a file under tests/ (a test module, a conftest, a support module)."""
    code = getattr(obj, "__code__", None)
    return code is not None and _under_tests(code.co_filename)


def _refers(code: types.CodeType, namespace: dict[str, Any], target: Target, seen: set[types.CodeType]) -> bool:
    """Whether this code, or code of tests/ it names (helpers, classes, support modules, nested functions), refers
    to something ``target`` picks: a static look at the names it uses, so that no test has to be listed by hand."""
    if code in seen:
        return False
    seen.add(code)
    for name in code.co_names:
        value = namespace.get(name)
        if value is None:
            continue
        if target(value):
            return True
        if isinstance(value, types.ModuleType) and _in_tests(value):
            members = [getattr(value, n, None) for n in code.co_names]
            if any(target(m) or _refers_obj(m, target, seen) for m in members if m is not None):
                return True
        elif _refers_obj(value, target, seen):
            return True
    return any(_refers(c, namespace, target, seen) if isinstance(c, types.CodeType)
               else isinstance(c, str) and target(c) for c in code.co_consts)


def _in_tests(module: object) -> bool:
    return _under_tests(getattr(module, "__file__", None) or "/")


def _refers_obj(value: object, target: Target, seen: set[types.CodeType]) -> bool:
    if isinstance(value, type):  # its methods and those of the classes of tests/ it is made from
        return any(_in_tests(sys.modules.get(cls.__module__)) and any(
            _refers_obj(member, target, seen) for member in vars(cls).values()) for cls in value.__mro__)
    func = getattr(value, "__func__", value)  # a bound method, a staticmethod
    func = getattr(func, "__wrapped__", func)
    return _ours(func) and _refers(func.__code__, func.__globals__, target, seen)


def _item_refers(item: pytest.Item, target: Target) -> bool:
    """Whether the test's own code or that of a fixture it uses (of tests/) refers to something ``target`` picks."""
    seen: set[types.CodeType] = set()
    function = getattr(item, "function", None)
    if function is not None and _refers_obj(function, target, seen):
        return True
    info = getattr(item, "_fixtureinfo", None)
    return any(_refers_obj(d.func, target, seen)
               for defs in (info.name2fixturedefs.values() if info is not None else ()) for d in defs)


def starts_server(item: pytest.Item) -> bool:
    """Whether a test starts a server or a process: through a fixture of ``SERVER_FIXTURES``, or because its own
    code or that of a fixture it uses (of tests/) refers to one of ``STARTERS``."""
    return bool(set(getattr(item, "fixturenames", ())) & SERVER_FIXTURES) or _item_refers(item, _is_starter)


def uses_engine(item: pytest.Item) -> bool:
    """Whether a test can depend on the storage engine: its own code, a fixture it uses or a helper of tests/ they
    call opens a store or hands one to a server or a process (refers to ``STORE_HELPERS``, to ``tuyacloud.store``
    or to ``ENGINE_VARIABLE``; ``CloudServer`` does, so every test server counts). A ``tuyacloud`` process or the
    testing kit's cloud given no database runs on SQLite in both halves. Only these run in the PostgreSQL half of
    ``scripts/test``; the others (catalog, signing, layer rules, parsers, docs, CLI refusals) would prove the same
    thing twice.

    Browser tests run in the SQLite half only: what only a browser shows (the console's scripts, its layout at
    390 px, forms submitted by a real browser) does not depend on the engine, and the handlers and queries behind
    every page they visit are proved on PostgreSQL by the console's HTTP tests (``tests/console/test_pages.py``,
    ``test_auth.py``, ``test_explorer.py``, ``test_verify.py``, ``test_statistics_page.py``,
    ``test_device_links.py``, the HTTP tests of ``test_users_page.py``, ``tests/sharing/test_sharing_console.py``)."""
    if PLAYWRIGHT_FIXTURES & set(getattr(item, "fixturenames", ())):
        return False
    return _item_refers(item, _is_store)


# Work units that take long (20-60 s of one process, measured in one process): handed out first, in this order, so
# that no process is still on one of them when every other is done. loadscope's own order (most tests first) would
# put these few-test modules near the end. Only the order depends on this list.
LONG_UNITS = ("tests/gateway/fuzz/test_fuzz_", "tests/cli/test_startup_errors.py", "tests/e2e/test_e2e_cli.py",
              "tests/smarthome/test_sh_timers.py",
              "tests/mqtt/test_openhub_paho.py", "tests/smarthome/test_sh_automations.py")


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under ``-n N --dist loadscope``: the browser tests (pytest-playwright names them ``[chromium]``) are one work
    unit, handed out first (one Playwright and one chromium serve them all, and chromium's waits overlap the long
    units' work), then ``LONG_UNITS``, then the others as loadscope orders them (most tests first). The process that
    ran the browser unit goes on with other units: Playwright stops after its last browser test
    (``pytest_runtest_teardown``). Every other module stays a unit of its own, as loadscope makes them."""
    if config.getoption("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    browser = "playwright browser tests"

    class BrowserFirst(LoadScopeScheduling):  # type: ignore[misc]
        ordered = False

        def _split_scope(self, nodeid: str) -> str:
            return browser if nodeid.endswith("[chromium]") else super()._split_scope(nodeid)

        def _assign_work_unit(self, node: Any) -> None:
            if not self.ordered:  # the queue is complete at the first assignment
                self.ordered = True
                long = sorted((s for s in self.workqueue if s.startswith(LONG_UNITS)),
                              key=lambda s: next(i for i, p in enumerate(LONG_UNITS) if s.startswith(p)))
                for scope in reversed(long):
                    self.workqueue.move_to_end(scope, last=False)
                if browser in self.workqueue:
                    self.workqueue.move_to_end(browser, last=False)
            super()._assign_work_unit(node)

    return BrowserFirst(config, log)


def _uses_browser(item: pytest.Item | None) -> bool:
    return item is not None and bool(PLAYWRIGHT_FIXTURES & set(getattr(item, "fixturenames", ())))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    """After the last browser test of a run of them (the next test is not one, or there is none), Playwright stops
    and with it chromium (``playwright`` and every session fixture made from it, tests/console/conftest.py): while
    sync Playwright is started it keeps an event loop running in the main thread, and ``asyncio.run()`` (store,
    domain and CLI tests) refuses to start. So the process that ran the browser unit can run other units after it
    instead of stopping (it used to stop, leaving the run a process short for the rest of it). A browser test after
    that would start Playwright again."""
    result = yield
    if _uses_browser(item) and not _uses_browser(nextitem):
        info = getattr(item, "_fixtureinfo", None)
        request = getattr(item, "_request", None)
        for fixturedef in (info.name2fixturedefs.get("playwright", ()) if info is not None else ()):
            fixturedef.finish(request)  # its dependants (browser_type, browser...) are torn down first
    return result


def pytest_collection_finish(session: pytest.Session) -> None:
    """After collection, every module, plugin and library a test process imported lives until it ends: frozen, the
    collector's full collections no longer scan them. And full collections come a hundred times less often: the
    suite's property and fuzz tests (Hypothesis, schemathesis) keep hundreds of thousands of objects alive, and each
    full collection walked them all. In the fuzz, catalog, signing and simulator modules the collector took 6.1-6.3 s
    of 49-50 s of CPU, and 2.9-3.0 s with this; the young generations are collected as often as before."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(700, 10, 1000)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test that starts a server or a process is marked ``e2e``, so ``pytest -m "not e2e"`` is the fast,
    in-process subset (catalog, store, domain, layer rules). With ``TUYACLOUD_TEST_ENGINE_ONLY=1`` (the PostgreSQL
    half of ``scripts/test``) only the tests that can depend on the engine run (``uses_engine``); the rest are
    deselected, having run in the SQLite half. Browser tests (those using Playwright's fixtures) run
    together, last: one Playwright and one chromium serve them all (the console's conftest starts them), and they
    stop after the last one (``pytest_runtest_teardown``; under pytest-xdist the browser tests are one unit)."""
    for item in items:
        if starts_server(item):
            item.add_marker(pytest.mark.e2e)
    if os.environ.get("TUYACLOUD_TEST_ENGINE_ONLY") == "1":
        free = [item for item in items if not uses_engine(item)]
        if free:
            config.hook.pytest_deselected(items=free)
            kept = {id(item) for item in free}
            items[:] = [item for item in items if id(item) not in kept]
            mark = os.environ.get("TUYACLOUD_TEST_ENGINE_FREE_MARK")
            if mark and not items:  # scripts/test: nothing chosen depends on the engine (not: nothing was chosen)
                Path(mark).touch()
    browser = {id(item) for item in items if PLAYWRIGHT_FIXTURES & set(getattr(item, "fixturenames", ()))}
    if browser:
        items[:] = [i for i in items if id(i) not in browser] + [i for i in items if id(i) in browser]


@pytest.fixture(scope="session")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    """One server for the session (demo project included); tests make their own projects on it."""
    server = CloudServer(tmp_path_factory.mktemp("cloud")).start()
    yield server
    server.stop()


@pytest.fixture
def project(cloud: CloudServer) -> dict[str, Any]:
    return cloud.create_project()


@pytest.fixture
def client(cloud: CloudServer, project: dict[str, Any]) -> SignedClient:
    c = SignedClient(cloud.url, project["access_id"], project["access_secret"])
    assert c.connect()["success"]
    return c
