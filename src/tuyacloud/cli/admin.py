"""``tuyacloud admin ...``: console accounts (the people who log in to /console), for scripts and first set-up.

The password is taken from ``--password`` or asked for (hidden) when omitted; it is never printed or logged.
"""

# No `from __future__ import annotations` in the command modules: Typer reads each command's annotations with
# typing.get_type_hints, which compiles every string annotation again (see cli/main.py).

import time
from pathlib import Path

import typer

from tuyacloud.cli.common import console, run
from tuyacloud.cli.failures import CliFailure
from tuyacloud.cli.listing import All, Limit, Offset, Page, Window, emit_page
from tuyacloud.cli.options import DatabaseUrl, DataDir, JsonOut
from tuyacloud.domain.access import console_accounts
from tuyacloud.domain.access.console_accounts import ConsoleAccountError, ConsolePolicy
from tuyacloud.domain.context import Context

app = typer.Typer(help="Console accounts: who may log in to the web console.", no_args_is_help=True)

Password = typer.Option(..., "--password", prompt=True, hide_input=True, confirmation_prompt=True,
                        help="At least 8 characters (asked for when omitted)")


def iso_ms(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))


def _refused(error: ConsoleAccountError) -> CliFailure:
    return CliFailure("refused", str(error))


@app.command("create")
def create(
    username: str = typer.Option(..., "--username", help="Login name"),
    password: str = Password,
    data_dir: Path = DataDir, database_url: str = DatabaseUrl,
) -> None:
    """Create a console account."""

    async def work(ctx: Context) -> None:
        await console_accounts.create(ctx, ConsolePolicy(), username, password)

    try:
        run(data_dir, database_url, work)
    except ConsoleAccountError as error:
        raise _refused(error) from None
    console().print(f"Created console account {username}")


@app.command("set-password")
def set_password(
    username: str = typer.Option("admin", "--username", help="Login name"),
    password: str = Password,
    data_dir: Path = DataDir, database_url: str = DatabaseUrl,
) -> None:
    """Set an account's password; its open sessions end."""

    async def work(ctx: Context) -> None:
        await console_accounts.set_password(ctx, ConsolePolicy(), username, password)

    try:
        run(data_dir, database_url, work)
    except ConsoleAccountError as error:
        raise _refused(error) from None
    console().print(f"Password of {username} changed; its sessions have ended")


@app.command("list")
def list_accounts(limit: int = Limit, offset: int = Offset, every: bool = All,
                  data_dir: Path = DataDir, database_url: str = DatabaseUrl, as_json: bool = JsonOut) -> None:
    """The console accounts (names and dates; never hashes)."""
    window = Window.of(limit, offset, every)

    async def work(ctx: Context) -> Page[dict[str, object]]:
        found = await console_accounts.accounts(ctx)
        return Page([{"username": a.username, "created": iso_ms(a.created_ms), "updated": iso_ms(a.updated_ms)}
                     for a in window.cut(found)], len(found), window)

    def show(rows: list[dict[str, object]]) -> None:
        for row in rows:
            console().print(f"{row['username']!s:<24} created {row['created']}", highlight=False, markup=False)

    emit_page(run(data_dir, database_url, work), "accounts", as_json, show)


@app.command("unlock")
def unlock(
    username: str = typer.Option(None, "--username", help="Clear this account's lock-outs and slow-down"),
    address: str = typer.Option(None, "--address", help="Clear this client address's lock-outs"),
    data_dir: Path = DataDir, database_url: str = DatabaseUrl,
) -> None:
    """Clear failed console logins.

    All lock-outs unless --username or --address narrows it; works while the server runs."""

    async def work(ctx: Context) -> int:
        return await console_accounts.unlock(ctx, username, address)

    cleared = run(data_dir, database_url, work)
    what = " and ".join(f"{k} {v}" for k, v in (("username", username), ("address", address)) if v) or "everyone"
    console().print(f"Cleared {cleared} failed-login counter{'s' if cleared != 1 else ''} ({what})")
