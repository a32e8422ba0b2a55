"""Shared CLI plumbing: the data-dir/database options, opening a domain context, JSON or table output.

Admin commands work directly on the store (the SQLite file in the data directory, or PostgreSQL), so they work
whether or not a server is running on it: SQLite in WAL mode lets the CLI write while the server serves, and the
server reads every request from the store.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console

from tuyacloud.catalog.loader import load_catalog
from tuyacloud.clock import Clock
from tuyacloud.domain.context import Context, Policy
from tuyacloud.errors import TuyaError, code_and_message
from tuyacloud.ids import IdSource
from tuyacloud.settings import Settings, default_data_dir
from tuyacloud.store.engine import open_store

T = TypeVar("T")
console = Console()
err_console = Console(stderr=True)

DataDir = typer.Option(None, "--data-dir", envvar="TUYACLOUD_DATA_DIR", help="Data directory (default ./.tuyacloud)")
DatabaseUrl = typer.Option(None, "--database-url", envvar="TUYACLOUD_DATABASE_URL",
                           help="postgresql://... (default: SQLite in the data directory)")
JsonOut = typer.Option(False, "--json", help="Machine-readable output")


def settings_for(data_dir: Path | None, database_url: str | None) -> Settings:
    return Settings(data_dir=(data_dir or default_data_dir()).resolve(), database_url=database_url)


def run(data_dir: Path | None, database_url: str | None, work: Callable[[Context], Awaitable[T]]) -> T:
    """Open the store, run one unit of admin work, close; domain errors exit 1 with the Tuya code and message."""
    settings = settings_for(data_dir, database_url)

    async def main() -> T:
        store = await open_store(settings.effective_database_url)
        ctx = Context(store=store, clock=Clock(), ids=IdSource(), catalog=load_catalog(), policy=Policy())
        try:
            return await work(ctx)
        finally:
            await store.close()

    try:
        return asyncio.run(main())
    except TuyaError as error:
        code, msg = code_and_message(error)
        err_console.print(f"[red]error {code}: {msg}[/red]")
        raise typer.Exit(1) from error


def emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")
