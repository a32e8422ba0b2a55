"""``tuyacloud app ...``: smart-home apps and their links to projects."""

# No `from __future__ import annotations` in the command modules: Typer reads each command's annotations with
# typing.get_type_hints, which compiles every string annotation again (see cli/main.py).

from pathlib import Path
from typing import Any

import typer

from tuyacloud.cli.common import console, emit_json, run
from tuyacloud.cli.listing import All, Limit, Offset, Page, Window, emit_page
from tuyacloud.cli.options import DatabaseUrl, DataDir, JsonOut
from tuyacloud.domain.context import Context
from tuyacloud.domain.smarthome import apps, sharing
from tuyacloud.errors import UserNotExist
from tuyacloud.views import app_view, qr_login_view, user_code_view

app = typer.Typer(help="Smart-home apps (schemas) and the projects they are linked to.", no_args_is_help=True)


@app.command("create")
def create(
    schema: str = typer.Option(..., "--schema", help="The app's schema, e.g. smartlife or an OEM schema"),
    name: str = typer.Option(..., "--name", help="Display name"),
    region: str = typer.Option("us", "--region", help="Data center of the app's users"),
    data_dir: Path = DataDir, database_url: str = DatabaseUrl, as_json: bool = JsonOut,
) -> None:
    """Create an app.

    Link it to projects with `tuyacloud app link`.
    """

    async def work(ctx: Context) -> dict[str, Any]:
        return app_view(await apps.create(ctx, schema=schema, name=name, region=region), [])

    view = run(data_dir, database_url, work)
    if as_json:
        emit_json(view)
        return
    console().print(f"Created app {view['schema']} ({view['name']}, {view['region']})")


def _relink(schema: str, project: str, data_dir: Path, database_url: str, as_json: bool, linking: bool) -> None:
    async def work(ctx: Context) -> dict[str, Any]:
        links = await (apps.link if linking else apps.unlink)(ctx, schema, project)
        return app_view(await apps.get(ctx, schema), links)

    view = run(data_dir, database_url, work)
    if as_json:
        emit_json(view)
        return
    console().print(f"App {schema} is linked to: {', '.join(view['projects']) or 'no project'}")


@app.command("link")
def link(
    schema: str = typer.Option(..., "--schema"),
    project: str = typer.Option(..., "--project", help="Access ID of the project"),
    data_dir: Path = DataDir, database_url: str = DatabaseUrl, as_json: bool = JsonOut,
) -> None:
    """Link an app to a project (at most two projects per app)."""
    _relink(schema, project, data_dir, database_url, as_json, True)


@app.command("unlink")
def unlink(
    schema: str = typer.Option(..., "--schema"),
    project: str = typer.Option(..., "--project", help="Access ID of the project"),
    data_dir: Path = DataDir, database_url: str = DatabaseUrl, as_json: bool = JsonOut,
) -> None:
    """Unlink an app from a project. The project no longer sees its users and devices."""
    _relink(schema, project, data_dir, database_url, as_json, False)


@app.command("list")
def list_(limit: int = Limit, offset: int = Offset, every: bool = All,
          data_dir: Path = DataDir, database_url: str = DatabaseUrl, as_json: bool = JsonOut) -> None:
    """The apps with their linked projects."""
    window = Window.of(limit, offset, every)

    async def work(ctx: Context) -> Page[dict[str, Any]]:
        found = await apps.listing(ctx)
        return Page([app_view(a, links) for a, links in window.cut(found)], len(found), window)

    def show(views: list[dict[str, Any]]) -> None:
        from rich.table import Table

        table = Table("Schema", "Name", "Data center", "Projects")
        for v in views:
            table.add_row(v["schema"], v["name"], v["region"], ", ".join(v["projects"]))
        console().print(table)

    emit_page(run(data_dir, database_url, work), "apps", as_json, show)


# --- Home Assistant's QR login (device sharing) -------------------------------------------------------------------
@app.command("user-code")
def user_code(
    uid: str = typer.Option("", "--uid", help="The app user's uid"),
    schema: str = typer.Option("", "--schema", help="With --username: the user's app"),
    username: str = typer.Option("", "--username", help="With --schema: the user's name in the app"),
    data_dir: Path = DataDir, database_url: str = DatabaseUrl, as_json: bool = JsonOut,
) -> None:
    """An app user's user code (Home Assistant asks for it).

    Give --uid, or --schema and --username.
    """

    async def work(ctx: Context) -> dict[str, Any]:
        found = uid
        if not found:
            user = await ctx.store.get_app_user_by_name(schema, username) if schema and username else None
            if user is None:
                raise UserNotExist("give --uid, or the --schema and --username of an app user")
            found = user.id
        return user_code_view(found, await sharing.user_code(ctx, found))

    view = run(data_dir, database_url, work)
    if as_json:
        emit_json(view)
        return
    console().print(f"User code of {view['uid']}: {view['user_code']}")


@app.command("logins")
def logins(limit: int = Limit, offset: int = Offset, every: bool = All,
           data_dir: Path = DataDir, database_url: str = DatabaseUrl, as_json: bool = JsonOut) -> None:
    """Home Assistant QR logins waiting for approval."""
    window = Window.of(limit, offset, every)

    async def work(ctx: Context) -> Page[dict[str, Any]]:
        found = [qr_login_view(q, u) for q, u in await sharing.pending(ctx)]
        return Page(window.cut(found), len(found), window)

    def show(views: list[dict[str, Any]]) -> None:
        # the QR code is what `approve-login` takes: never cut it, whatever the terminal's width
        from rich.table import Table

        table = Table("User", "User code", "UID")
        table.add_column("QR code", no_wrap=True, min_width=max((len(v["qrcode"]) for v in views), default=7))
        for v in views:
            table.add_row(v["username"], v["user_code"], v["uid"], v["qrcode"])
        console().print(table)

    emit_page(run(data_dir, database_url, work), "logins", as_json, show)


def _decide(qrcode: str, approve: bool, data_dir: Path, database_url: str, as_json: bool) -> None:
    async def work(ctx: Context) -> dict[str, Any]:
        login = await sharing.decide(ctx, qrcode, approve)
        return qr_login_view(login, await ctx.store.get_app_user(login.uid))

    view = run(data_dir, database_url, work)
    if as_json:
        emit_json(view)
        return
    console().print(f"Login {view['qrcode']} of {view['username']} {view['state']}")


@app.command("approve-login")
def approve_login(qrcode: str = typer.Argument(..., help="The QR code from `tuyacloud app logins`"),
                  data_dir: Path = DataDir, database_url: str = DatabaseUrl, as_json: bool = JsonOut) -> None:
    """Approve a Home Assistant QR login.

    What scanning the QR code in the Smart Life app does on the platform.
    """
    _decide(qrcode, True, data_dir, database_url, as_json)


@app.command("refuse-login")
def refuse_login(qrcode: str = typer.Argument(..., help="The QR code from `tuyacloud app logins`"),
                 data_dir: Path = DataDir, database_url: str = DatabaseUrl, as_json: bool = JsonOut) -> None:
    """Refuse a Home Assistant QR login."""
    _decide(qrcode, False, data_dir, database_url, as_json)
