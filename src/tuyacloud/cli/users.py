"""``tuyacloud user ...``: project users of custom-development projects.

A project user is the account tuya-iot-py-sdk's ``TuyaOpenAPI(..., AuthType.CUSTOM).connect(username, password)``
logs in as; the token it gets sees only the devices of the asset nodes the user is authorised on. These commands
let an administrator create such a user and authorise it without writing OpenAPI calls. Passwords are taken as
plaintext (option, standard input or a hidden prompt) and registered as the SHA-256 hex a client sends, so the
same plaintext works in ``connect()``; the store keeps only a salted scrypt hash of it.
"""

# No `from __future__ import annotations` in the command modules: Typer reads each command's annotations with
# typing.get_type_hints, which compiles every string annotation again (see cli/main.py).

import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import typer

from tuyacloud.cli import listing
from tuyacloud.cli.common import console, emit_json, run
from tuyacloud.cli.options import DatabaseUrl, DataDir, JsonOut
from tuyacloud.domain.context import Context
from tuyacloud.domain.industry import authorization, users
from tuyacloud.domain.industry.authorization import UserView
from tuyacloud.domain.projects import projects
from tuyacloud.models import Project
from tuyacloud.views import project_user_view

app = typer.Typer(help="Project users of custom projects and their assets.\n\nThe accounts tuya-iot-py-sdk's "
                       "CUSTOM login signs in with, and the asset nodes whose devices each may see.",
                  no_args_is_help=True)

ProjectId = typer.Option(..., "--project", help="Access ID of the custom project")
UserRef = typer.Argument(..., metavar="USER", help="Username or user id")
Password = typer.Option(None, "--password", help="The new password (visible in the process list and shell "
                                                 "history: prefer --password-stdin or the prompt)")
PasswordStdin = typer.Option(False, "--password-stdin", help="Read the password from standard input")
PAGE = 200  # users read per round trip under --all


def _read_password(password: str | None, from_stdin: bool, username: str) -> str:
    """The plaintext password from exactly one source: the option, standard input, or a hidden prompt asked twice
    (on stderr, so that ``--json`` output stays clean)."""
    if password is not None and from_stdin:
        raise typer.BadParameter("give --password or --password-stdin, not both")
    if password is not None:
        return password
    if from_stdin:
        return sys.stdin.read().rstrip("\r\n")
    return str(typer.prompt(f"Password for {username}", hide_input=True, confirmation_prompt=True, err=True))


async def _custom_project(ctx: Context, access_id: str) -> Project:
    project = await projects.get(ctx, access_id)
    users.require_custom(project)
    return project


def _user_json(view: UserView) -> dict[str, Any]:
    return project_user_view(view.user, view.grants)


def _grants_text(view: dict[str, Any]) -> str:
    if not view["assets"]:
        return "no asset"
    return ", ".join(f"{a['asset_full_name']}{' (+ sub-assets)' if a['authorized_children'] else ''}"
                     for a in view["assets"])


@app.command("create")
def create(
    project: str = ProjectId,
    username: str = typer.Option(..., "--username", help="1-64 printable characters without spaces"),
    password: str = Password,
    password_stdin: bool = PasswordStdin,
    country_code: str = typer.Option("1", "--country-code", help="Country calling code stored with the user"),
    nick_name: str = typer.Option("", "--nick-name"),
    data_dir: Path = DataDir, database_url: str = DatabaseUrl, as_json: bool = JsonOut,
) -> None:
    """Create a project user.

    Without --password or --password-stdin the password is asked for (hidden)."""
    plain = _read_password(password, password_stdin, username)

    async def work(ctx: Context) -> dict[str, Any]:
        p = await _custom_project(ctx, project)
        user = await users.register(ctx, p, username=username, password=users.client_password(plain),
                                    country_code=country_code, nick_name=nick_name, creator="cli")
        return {"project": p.access_id, **_user_json(UserView(user, []))}

    view = run(data_dir, database_url, work)
    if as_json:
        emit_json(view)
        return
    console().print(f"Created user {view['username']} (user id {view['user_id']}) in project {view['project']}; "
                    f"authorise it with `tuyacloud user grant --project {view['project']} {view['username']} "
                    "--asset ASSET_ID`")


@app.command("list")
def list_(
    project: str = ProjectId,
    limit: int = listing.Limit, offset: int = listing.Offset, every: bool = listing.All,
    data_dir: Path = DataDir, database_url: str = DatabaseUrl, as_json: bool = JsonOut,
) -> None:
    """List a project's users and their assets.

    Says how many there are in all; pages with --limit/--offset or --all."""
    window = listing.Window.of(limit, offset, every)

    async def work(ctx: Context) -> listing.Page[dict[str, Any]]:
        p = await _custom_project(ctx, project)
        if window.limit is not None:
            found, total = await authorization.project_users(ctx, p, window.limit, window.offset)
        else:
            found, total = [], 0
            while True:
                chunk, total = await authorization.project_users(ctx, p, PAGE, window.offset + len(found))
                found += chunk
                if len(chunk) < PAGE:
                    break
        return listing.Page([_user_json(v) for v in found], total, window)

    def show(rows: list[dict[str, Any]]) -> None:
        from rich.table import Table

        table = Table("Username", "User ID", "Nickname", "Authorised assets")
        for u in rows:
            table.add_row(u["username"], u["user_id"], u["nick_name"] or "-", _grants_text(u))
        console().print(table)

    listing.emit_page(run(data_dir, database_url, work), "users", as_json, show)


@app.command("grant")
def grant(
    user: str = UserRef,
    asset: list[str] = typer.Option(..., "--asset", help="Asset id to authorise the user on (repeat for several)"),
    children: bool = typer.Option(True, "--children/--no-children",
                                  help="Include the asset's sub-assets (default) or the node alone"),
    project: str = ProjectId,
    data_dir: Path = DataDir, database_url: str = DatabaseUrl, as_json: bool = JsonOut,
) -> None:
    """Authorise a user on asset nodes.

    Their token then sees those nodes' devices (all or none are granted)."""

    async def change(ctx: Context, p: Project, user_id: str) -> None:
        await authorization.authorize(ctx, p, user_id, asset, children)

    _change_grants(project, user, change, data_dir, database_url, as_json)


@app.command("revoke")
def revoke(
    user: str = UserRef,
    asset: list[str] = typer.Option(..., "--asset", help="Asset id to take away (repeat for several)"),
    project: str = ProjectId,
    data_dir: Path = DataDir, database_url: str = DatabaseUrl, as_json: bool = JsonOut,
) -> None:
    """Remove a user's authorisation on asset nodes.

    The devices there disappear from the user's token's view."""

    async def change(ctx: Context, p: Project, user_id: str) -> None:
        await authorization.revoke(ctx, p, user_id, asset)

    _change_grants(project, user, change, data_dir, database_url, as_json)


def _change_grants(project: str, user: str, change: Callable[[Context, Project, str], Awaitable[None]],
                   data_dir: Path | None, database_url: str | None, as_json: bool) -> None:
    """Grant or revoke (``change``), then show the user's authorisations as they now stand."""

    async def work(ctx: Context) -> dict[str, Any]:
        p = await _custom_project(ctx, project)
        found = await users.find(ctx, p, user)
        await change(ctx, p, found.id)
        return _user_json(await authorization.user_view(ctx, p, found))

    view = run(data_dir, database_url, work)
    if as_json:
        emit_json(view)
        return
    console().print(f"{view['username']} is authorised on: {_grants_text(view)}")


@app.command("set-password")
def set_password(
    user: str = UserRef,
    password: str = Password,
    password_stdin: bool = PasswordStdin,
    project: str = ProjectId,
    data_dir: Path = DataDir, database_url: str = DatabaseUrl, as_json: bool = JsonOut,
) -> None:
    """Set a user's password.

    No old password needed; tokens already issued stay valid until they expire."""
    plain = _read_password(password, password_stdin, user)

    async def work(ctx: Context) -> dict[str, Any]:
        p = await _custom_project(ctx, project)
        found = await users.find(ctx, p, user)
        await users.reset_password(ctx, p, found.username, users.client_password(plain))
        return {"user_id": found.id, "username": found.username, "password_changed": True}

    view = run(data_dir, database_url, work)
    if as_json:
        emit_json(view)
        return
    console().print(f"Password of {view['username']} changed")
