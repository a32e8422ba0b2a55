"""``tuyacloud project ...``: create and administer cloud projects."""

# No `from __future__ import annotations` in the command modules: Typer reads each command's annotations with
# typing.get_type_hints, which compiles every string annotation again (see cli/main.py).

from pathlib import Path
from typing import Any

import typer

from tuyacloud.cli import quotas as quota_commands
from tuyacloud.cli.common import console, emit_json, run
from tuyacloud.cli.listing import All, Limit, Offset, Page, Window, emit_page
from tuyacloud.cli.options import DatabaseUrl, DataDir, JsonOut
from tuyacloud.domain.context import Context
from tuyacloud.domain.projects import projects
from tuyacloud.domain.projects.services import SERVICES
from tuyacloud.views import project_view

app = typer.Typer(help="Cloud projects. Credentials, data center, allowlist, API services.", no_args_is_help=True)


def _show(view: dict[str, Any], as_json: bool) -> None:
    """The project as a table or JSON, with its Access Secret (`create`, `show` and `rotate-secret`)."""
    if as_json:
        emit_json(view)
        return
    from rich.table import Table

    table = Table(show_header=False, box=None)
    for key, value in view.items():
        table.add_row(f"[bold]{key}[/bold]", ", ".join(value) if isinstance(value, list) else str(value))
    console().print(table)


def _show_changed(view: dict[str, Any], as_json: bool) -> None:
    """A project after a change of its settings: without its Access Secret, which the change did not touch and
    which would otherwise land in the terminal's scroll-back and in logs of scripts each time."""
    _show({k: v for k, v in view.items() if k != "access_secret"}, as_json)


@app.command("create")
def create(
    name: str = typer.Option(..., "--name"),
    region: str = typer.Option("us", "--region", help="cn, us, us-e, eu, eu-w, in, sg"),
    method: str = typer.Option("custom", "--method", help="custom | smart_home"),
    description: str = typer.Option("", "--description"),
    industry: str = typer.Option("", "--industry"),
    service: list[str] = typer.Option(None, "--service", help="API service to authorise (repeat); default all"),
    data_dir: Path = DataDir, database_url: str = DatabaseUrl, as_json: bool = JsonOut,
) -> None:
    """Create a cloud project. Prints its Access ID and Access Secret."""

    async def work(ctx: Context) -> dict[str, Any]:
        p = await projects.create(ctx, name=name, region=region, method=method, description=description,
                                  industry=industry, service_codes=list(service) if service else None)
        return project_view(p)

    _show(run(data_dir, database_url, work), as_json)


@app.command("list")
def list_(limit: int = Limit, offset: int = Offset, every: bool = All,
          data_dir: Path = DataDir, database_url: str = DatabaseUrl, as_json: bool = JsonOut) -> None:
    """The projects. Secrets: `project show ID`."""
    window = Window.of(limit, offset, every)

    async def work(ctx: Context) -> Page[dict[str, Any]]:
        found = await ctx.store.list_projects()
        views = [{k: v for k, v in project_view(p).items() if k != "access_secret"} for p in window.cut(found)]
        return Page(views, len(found), window)

    def show(views: list[dict[str, Any]]) -> None:
        from rich.table import Table

        table = Table("Access ID", "Name", "Data center", "Method", "Services")
        for v in views:
            table.add_row(v["access_id"], v["name"], v["region"], v["method"], str(len(v["services"])))
        console().print(table)

    emit_page(run(data_dir, database_url, work), "projects", as_json, show)


@app.command("show")
def show(access_id: str, data_dir: Path = DataDir, database_url: str = DatabaseUrl, as_json: bool = JsonOut) -> None:
    """One project, with its Access Secret."""

    async def work(ctx: Context) -> dict[str, Any]:
        return project_view(await projects.get(ctx, access_id))

    _show(run(data_dir, database_url, work), as_json)


@app.command("rotate-secret")
def rotate_secret(access_id: str, data_dir: Path = DataDir, database_url: str = DatabaseUrl,
                  as_json: bool = JsonOut) -> None:
    """Issue a new Access Secret. The old one stops working at once."""

    async def work(ctx: Context) -> dict[str, Any]:
        return project_view(await projects.rotate_secret(ctx, access_id))

    _show(run(data_dir, database_url, work), as_json)


@app.command("set-allowlist")
def set_allowlist(
    access_id: str,
    address: list[str] = typer.Option(None, "--address", help="IP address or CIDR network (repeat)"),
    enable: bool = typer.Option(True, "--enable/--disable"),
    data_dir: Path = DataDir, database_url: str = DatabaseUrl, as_json: bool = JsonOut,
) -> None:
    """Turn the IP allowlist on or off. On: only its addresses may call."""

    async def work(ctx: Context) -> dict[str, Any]:
        return project_view(await projects.set_allowlist(ctx, access_id, enable, list(address) if address else None))

    _show_changed(run(data_dir, database_url, work), as_json)


@app.command("authorize-service")
def authorize_service(
    access_id: str,
    service: str = typer.Argument(..., help=", ".join(sorted(SERVICES))),
    revoke: bool = typer.Option(False, "--revoke", help="Remove the authorisation instead"),
    data_dir: Path = DataDir, database_url: str = DatabaseUrl, as_json: bool = JsonOut,
) -> None:
    """Authorise an API service for a project. With --revoke, unauthorise it."""

    async def work(ctx: Context) -> dict[str, Any]:
        return project_view(await projects.authorize_service(ctx, access_id, service, not revoke))

    _show_changed(run(data_dir, database_url, work), as_json)


@app.command("set-message-encryption")
def set_message_encryption(
    access_id: str,
    encryption: str = typer.Argument(..., help="aes_ecb (default; tuya-connector-python) or aes_gcm"),
    data_dir: Path = DataDir, database_url: str = DatabaseUrl, as_json: bool = JsonOut,
) -> None:
    """Choose how pushed messages are encrypted."""

    async def work(ctx: Context) -> dict[str, Any]:
        return project_view(await projects.set_message_encryption(ctx, access_id, encryption))

    _show_changed(run(data_dir, database_url, work), as_json)


@app.command("set-legacy-signing")
def set_legacy_signing(
    access_id: str,
    enable: bool = typer.Option(True, "--enable/--disable"),
    data_dir: Path = DataDir, database_url: str = DatabaseUrl, as_json: bool = JsonOut,
) -> None:
    """Accept the pre-2021 signature algorithm. For tinytuya new_sign_algorithm=False and old SDKs."""

    async def work(ctx: Context) -> dict[str, Any]:
        return project_view(await projects.set_legacy_signing(ctx, access_id, enable))

    _show_changed(run(data_dir, database_url, work), as_json)


quota_commands.register(app)  # `project quotas` (cli/quotas.py)
