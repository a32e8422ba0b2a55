"""``tuyacloud app ...``: smart-home apps and their links to projects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from tuyacloud.cli.common import DatabaseUrl, DataDir, JsonOut, console, emit_json, run
from tuyacloud.cli.listing import All, Limit, Offset, Page, Window, emit_page
from tuyacloud.domain import apps
from tuyacloud.domain.context import Context

app = typer.Typer(help="Smart-home apps (schemas) and the projects they are linked to.", no_args_is_help=True)


def _view(a: Any, links: list[str]) -> dict[str, Any]:
    return {"schema": a.schema, "name": a.name, "region": a.region, "projects": links}


@app.command("create")
def create(
    schema: str = typer.Option(..., "--schema", help="The app's schema, e.g. smartlife or an OEM schema"),
    name: str = typer.Option(..., "--name", help="Display name"),
    region: str = typer.Option("us", "--region", help="Data center of the app's users"),
    data_dir: Path = DataDir, database_url: str = DatabaseUrl, as_json: bool = JsonOut,
) -> None:
    """Create an app; link it to projects with `tuyacloud app link`."""

    async def work(ctx: Context) -> dict[str, Any]:
        return _view(await apps.create(ctx, schema=schema, name=name, region=region), [])

    view = run(data_dir, database_url, work)
    if as_json:
        emit_json(view)
        return
    console.print(f"Created app {view['schema']} ({view['name']}, {view['region']})")


def _relink(schema: str, project: str, data_dir: Path, database_url: str, as_json: bool, linking: bool) -> None:
    async def work(ctx: Context) -> dict[str, Any]:
        links = await (apps.link if linking else apps.unlink)(ctx, schema, project)
        return _view(await apps.get(ctx, schema), links)

    view = run(data_dir, database_url, work)
    if as_json:
        emit_json(view)
        return
    console.print(f"App {schema} is linked to: {', '.join(view['projects']) or 'no project'}")


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
        return Page([_view(a, links) for a, links in window.cut(found)], len(found), window)

    def show(views: list[dict[str, Any]]) -> None:
        table = Table("Schema", "Name", "Data center", "Projects")
        for v in views:
            table.add_row(v["schema"], v["name"], v["region"], ", ".join(v["projects"]))
        console.print(table)

    emit_page(run(data_dir, database_url, work), "apps", as_json, show)
