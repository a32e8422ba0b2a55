"""``tuyacloud infrared ...``: remotes of virtual IR blasters (devices of category qt)."""

# No `from __future__ import annotations` in the command modules: Typer reads each command's annotations with
# typing.get_type_hints, which compiles every string annotation again (see cli/main.py).

from pathlib import Path
from typing import Any

import typer

from tuyacloud import bodies
from tuyacloud.cli.common import console, emit_json, run
from tuyacloud.cli.listing import All, Limit, Offset, Page, Window, emit_page
from tuyacloud.cli.options import DatabaseUrl, DataDir, JsonOut
from tuyacloud.domain.context import Context
from tuyacloud.domain.devices import devices, infrared
from tuyacloud.domain.devices.requests import AddRemote
from tuyacloud.views import remote_admin_view

app = typer.Typer(help="Remotes of virtual IR blasters (category qt).", no_args_is_help=True)

TYPES = {"stb": 1, "tv": 2, "ac": 5, "fan": 8}


@app.command("add-remote")
def add_remote(
    blaster: str = typer.Argument(..., help="Device id of the IR blaster (category qt)"),
    kind: str = typer.Option(..., "--type", help="tv, stb (set-top box), ac (air conditioner), fan, or an IR "
                                                 "category id"),
    name: str = typer.Option("", "--name", help="Remote name"),
    brand: str = typer.Option("", "--brand", help="Brand name"),
    data_dir: Path = DataDir, database_url: str = DatabaseUrl, as_json: bool = JsonOut,
) -> None:
    """Bind a remote (TV, set-top box, AC, fan) to an IR blaster."""
    category_id = TYPES.get(kind.lower(), kind)

    async def work(ctx: Context) -> dict[str, Any]:
        device = await devices.find_anywhere(ctx, blaster)
        body = bodies.convert(AddRemote, {"category_id": category_id, "remote_name": name, "brand_name": brand})
        created = await infrared.add_remote_admin(ctx, device, body)
        return remote_admin_view(created)

    view = run(data_dir, database_url, work)
    if as_json:
        emit_json(view)
        return
    console().print(f"Added remote {view['remote_id']} ({view['remote_name']}, IR category {view['category_id']}) "
                    f"to {blaster}")


@app.command("remotes")
def remotes(
    blaster: str = typer.Argument(..., help="Device id of the IR blaster"),
    limit: int = Limit, offset: int = Offset, every: bool = All,
    data_dir: Path = DataDir, database_url: str = DatabaseUrl, as_json: bool = JsonOut,
) -> None:
    """An IR blaster's remotes and their state."""
    window = Window.of(limit, offset, every)

    async def work(ctx: Context) -> Page[dict[str, Any]]:
        device = await devices.find_anywhere(ctx, blaster)
        found = await infrared.remotes_admin(ctx, device)
        return Page([remote_admin_view(r) for r in window.cut(found)], len(found), window)

    def show(views: list[dict[str, Any]]) -> None:
        from rich.table import Table

        table = Table("Remote ID", "Category", "Name", "State")
        for v in views:
            table.add_row(v["remote_id"], str(v["category_id"]), v["remote_name"],
                          ", ".join(f"{k}={val}" for k, val in v["state"].items()))
        console().print(table)

    emit_page(run(data_dir, database_url, work), "remotes", as_json, show)
