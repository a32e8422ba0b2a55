"""Shared CLI plumbing of the admin commands: opening a domain context, JSON or table output (their options are
in cli/options.py).

Admin commands work directly on the store (the SQLite file in the data directory, or PostgreSQL), so they work
whether or not a server is running on it: SQLite in WAL mode lets the CLI write while the server serves, and the
server reads every request from the store. A store that cannot be opened (an unwritable or corrupt data
directory, an unreachable database) is reported as one line by cli/failures.py, never as a traceback.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from tuyacloud.cli.failures import check_data_dir, store_failure
from tuyacloud.cli.options import settings_for
from tuyacloud.clock import Clock
from tuyacloud.domain.context import Context, Policy
from tuyacloud.ids import IdSource
from tuyacloud.settings import Settings
from tuyacloud.store.base import Store
from tuyacloud.store.engine import open_store

if TYPE_CHECKING:
    from rich.console import Console

T = TypeVar("T")

UNCUT_WIDTH = 1000  # the width of output that goes to a pipe or a file: no table of the admin commands is wider


@functools.cache
def console() -> Console:
    """The console of the human-readable output (tables, messages), made the first time a command prints to it:
    importing rich costs a command some 60 ms of CPU, which ``--json`` output, plain json on stdout, does without
    (so do the commands' modules: they import the parts of rich they print with where they print).

    Into a pipe or a file, rich would cut every line at 80 columns, whatever it holds: a table of ids and topics
    became unreadable in `| less` or `> file`. There the lines are as long as what they hold (tables still take
    only the width they need), unless COLUMNS sets a width."""
    from rich.console import Console

    if sys.stdout.isatty() or os.environ.get("COLUMNS"):
        return Console()
    return Console(width=UNCUT_WIDTH)


async def open_checked(settings: Settings) -> Store:
    """Open (and migrate) the store; a failure the user can fix becomes a ``CliFailure`` naming it."""
    url = settings.effective_database_url
    try:
        return await open_store(url)
    except Exception as error:
        failure = store_failure(error, url)
        if failure is None:
            raise
        raise failure from None


def run(data_dir: Path | None, database_url: str | None, work: Callable[[Context], Awaitable[T]]) -> T:
    """Open the store, run one unit of admin work, close. Domain errors propagate: the root command reports them
    with their Tuya code and message and exits 1 (cli/failures.py)."""
    settings = settings_for(data_dir, database_url)
    if not settings.database_url:
        check_data_dir(settings.data_dir)

    async def main() -> T:
        store = await open_checked(settings)
        ctx = Context(store=store, clock=Clock(), ids=IdSource(), policy=Policy())
        try:
            return await work(ctx)
        finally:
            await store.close()

    return asyncio.run(main())


def emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")
