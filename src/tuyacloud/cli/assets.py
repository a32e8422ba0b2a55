"""``tuyacloud asset ...``: a custom project's asset tree."""

# No `from __future__ import annotations` in the command modules: Typer reads each command's annotations with
# typing.get_type_hints, which compiles every string annotation again (see cli/main.py).

from pathlib import Path
from typing import Any

import typer

from tuyacloud.cli.common import console, emit_json, run
from tuyacloud.cli.listing import All, Limit, Offset, Page, Window, emit_page
from tuyacloud.cli.options import DatabaseUrl, DataDir, JsonOut
from tuyacloud.domain.context import Context
from tuyacloud.domain.industry import assets
from tuyacloud.domain.projects import projects
from tuyacloud.views import asset_tree_row, moved_asset_view

app = typer.Typer(help="Asset trees of custom projects.", no_args_is_help=True)


@app.command("tree")
def tree(
    project: str = typer.Option(..., "--project", help="Access ID of the project"),
    limit: int = Limit, offset: int = Offset, every: bool = All,
    data_dir: Path = DataDir, database_url: str = DatabaseUrl, as_json: bool = JsonOut,
) -> None:
    """The asset tree with its device counts. A page of it: the upper levels first."""
    window = Window.of(limit, offset, every)

    async def work(ctx: Context) -> tuple[str, Page[dict[str, Any]]]:
        p = await projects.get(ctx, project)
        found, counts = await assets.tree_with_counts(ctx, p)
        return p.name, Page([asset_tree_row(a, counts.get(a.id, 0)) for a in window.cut(found)], len(found), window)

    name, page = run(data_dir, database_url, work)

    def show(rows: list[dict[str, Any]]) -> None:
        from rich.tree import Tree

        root = Tree(f"[bold]{name}[/bold]")
        nodes: dict[str, Tree] = {assets.TOP: root}
        for a in rows:  # parents come first: ordered by level (a page that starts lower hangs them off the top)
            parent = nodes.get(a["parent_asset_id"], root)
            kind = f" [dim]{a['asset_type']}[/dim]" if a["asset_type"] else ""
            nodes[a["asset_id"]] = parent.add(
                f"{a['asset_name']}{kind} [cyan]({a['device_count']} devices)[/cyan] [dim]{a['asset_id']}[/dim]")
        console().print(root)

    emit_page(page, "assets", as_json, show)


@app.command("move")
def move(
    asset_id: str,
    parent: str = typer.Option(..., "--parent", help="New parent asset id, or -1 for the top level"),
    project: str = typer.Option(..., "--project", help="Access ID of the project"),
    data_dir: Path = DataDir, database_url: str = DatabaseUrl, as_json: bool = JsonOut,
) -> None:
    """Move an asset under another parent. Its sub-assets, devices and grants go with it (never under itself)."""

    async def work(ctx: Context) -> dict[str, Any]:
        p = await projects.get(ctx, project)
        moved = await assets.move(ctx, p, asset_id, parent)
        return moved_asset_view(moved)

    view = run(data_dir, database_url, work)
    if as_json:
        emit_json(view)
    else:
        console().print(f"{view['asset_id']} is now under {view['parent_asset_id']} (level {view['level']})")
