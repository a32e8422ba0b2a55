"""In-process tests of the domain's rules: a real store on the engine under test (a SQLite file in the test's
temporary directory, or a fresh PostgreSQL database when TUYACLOUD_TEST_DATABASE_URL is set, as the server fixture
does), and a :class:`~tuyacloud.domain.context.Context` built as ``app.py`` builds it, with the real clock, id
source and catalog. No server, no HTTP, no stand-ins for our own components: a test calls the domain functions the
routes call and reads the outcome back from the store.

Tests here are ``async def`` and run on anyio's asyncio runner (the ``ctx`` fixture opens the store on the same
loop). They are fast (a store copied from a migrated template, no sockets), so they are not ``e2e``.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from support.server import migrated_database_for_test
from tuyacloud.clock import Clock
from tuyacloud.domain.context import Context, Policy
from tuyacloud.domain.projects import projects
from tuyacloud.ids import IdSource
from tuyacloud.models import Project
from tuyacloud.store.base import Store
from tuyacloud.store.engine import open_store
from tuyacloud.supervision import TaskBoard
from tuyacloud.testing.cloud import DB_FILE, TEST_SCRYPT_N


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """A database at the newest schema on the engine under test (made outside the event loop: on PostgreSQL it
    runs one of its own)."""
    return migrated_database_for_test(tmp_path) or f"sqlite:///{tmp_path / DB_FILE}"


@pytest.fixture
def clock() -> Clock:
    """The real clock, frozen at a known instant: tests move it with ``step``, as the control API does."""
    return Clock(frozen_at_ms=1_772_452_800_000)  # 2026-03-02 12:00 UTC


@pytest.fixture
async def ctx(database_url: str, clock: Clock) -> AsyncIterator[Context]:
    """The context the app's lifespan builds (``app.py``), on a store of its own; the policy's password cost is
    the testing kit's (a test store protects nothing)."""
    store = await open_store(database_url)
    context = Context(store=store, clock=clock, ids=IdSource(), policy=Policy(password_scrypt_n=TEST_SCRYPT_N),
                      tasks=TaskBoard())
    try:
        yield context
    finally:
        await close(store)


CLOSE_S = 30.0  # a store closes in well under a second; more is a hang to show, not to wait out


async def close(store: Store) -> None:
    """Close the store, at most :data:`CLOSE_S`: a store that cannot close fails the test's teardown with the
    stacks of what is still running, instead of holding its test process (and, under pytest-xdist, the run) for
    ever."""
    closing = asyncio.ensure_future(store.close())
    await asyncio.wait({closing}, timeout=CLOSE_S)
    if not closing.done():
        stacks = io.StringIO()
        for task in asyncio.all_tasks():
            stacks.write(f"{task!r}\n")
            task.print_stack(file=stacks)
        pytest.fail(f"the store did not close within {CLOSE_S:.0f} s; running:\n{stacks.getvalue()}", pytrace=False)
    closing.result()


@pytest.fixture
async def custom_project(ctx: Context) -> Project:
    """A custom-development project (assets, project users), made as the control API makes one."""
    return await projects.create(ctx, name="Domain test", region="us", method="custom")


@pytest.fixture
async def smart_home_project(ctx: Context) -> Project:
    return await projects.create(ctx, name="Domain test home", region="us", method="smart_home")
