"""``tuyacloud device ...``: virtual devices."""

# No `from __future__ import annotations` in the command modules: Typer reads each command's annotations with
# typing.get_type_hints, which compiles every string annotation again (see cli/main.py).

from pathlib import Path
from typing import Any

import typer

from tuyacloud.cli.common import console, emit_json, run
from tuyacloud.cli.listing import All, Limit, Offset, Page, Window, emit_page
from tuyacloud.cli.options import DatabaseUrl, DataDir, JsonOut
from tuyacloud.domain.context import Context
from tuyacloud.domain.devices import devices
from tuyacloud.domain.projects import projects
from tuyacloud.errors import DataNotExist, ParamEmpty
from tuyacloud.views import device_v1, paired_device_view, registered_device_view, sub_device_view

app = typer.Typer(help="Virtual devices.", no_args_is_help=True)


def _view(ctx: Context, d: Any) -> dict[str, Any]:
    return device_v1(d, ctx.catalog.product(d.product_id))


@app.command("add-virtual")
def add_virtual(
    project: str = typer.Option(..., "--project", help="Access ID of the project"),
    category: str = typer.Option(None, "--category", help="Category code, e.g. dj, cz, wsdcg, cl, kt"),
    product_id: str = typer.Option(None, "--product", help="Product id instead of a category's default"),
    count: int = typer.Option(1, "--count", min=1),
    name: str = typer.Option(None, "--name", help="Name (numbered when --count is more than 1)"),
    asset: str = typer.Option("", "--asset", help="Asset id to place them at (custom projects; default the root)"),
    user: str = typer.Option("", "--user", help="App user uid owning the device (smart home; with --home)"),
    home: str = typer.Option("", "--home", help="Home id of the app user (smart home)"),
    room: str = typer.Option("", "--room", help="Room id in the home (smart home)"),
    gateway: str = typer.Option("", "--gateway", help="Gateway device id (wg2): make sub-devices of it"),
    data_dir: Path = DataDir, database_url: str = DatabaseUrl, as_json: bool = JsonOut,
) -> None:
    """Create virtual devices. They behave like real ones: commands change status, sensors report."""

    async def work(ctx: Context) -> list[dict[str, Any]]:
        p = await projects.get(ctx, project)
        # The pairing and smart-home modules (their request bodies, time zones: some 35 ms of imports) are
        # imported where they are used, not by `device list` or a plain `device add-virtual`.
        if gateway:  # sub-devices land at the gateway's asset or home, with its owner
            from tuyacloud.domain.pairing import gateways

            subs = await gateways.add_sub_devices(ctx, p, gateway, category=category, product_id=product_id,
                                                  count=count, name=name)
            return [_view(ctx, d) for d in subs]
        if user or home:
            from tuyacloud.domain.smarthome import homes

            placed = await homes.add_devices(ctx, p, uid=user, home_id=home, room_id=room, category=category,
                                             product_id=product_id, name=name, count=count)
            return [{**_view(ctx, d), "home_id": d.asset_id, "owner_id": d.owner_uid} for d in placed]
        if count >= 1000 and not as_json:
            from rich.progress import Progress

            with Progress(console=console()) as bar:
                task = bar.add_task(f"Creating {count} devices", total=count)
                created = await devices.create_virtual(ctx, p, category=category, product_id=product_id,
                                                       count=count, name=name, asset_id=asset,
                                                       progress=lambda n: bar.advance(task, n))
        else:
            created = await devices.create_virtual(ctx, p, category=category, product_id=product_id, count=count,
                                                   name=name, asset_id=asset)
        return [_view(ctx, d) for d in created]

    views = run(data_dir, database_url, work)
    if as_json:
        emit_json(views)
        return
    if len(views) > 20:
        console().print(f"Created {len(views)} devices ({views[0]['id']} ... {views[-1]['id']})")
        return
    from rich.table import Table

    table = Table("Device ID", "Category", "Name", "Local key")
    for v in views:
        table.add_row(v["id"], v["category"], v["name"], v["local_key"])
    console().print(table)


@app.command("pair")
def pair(
    token: str = typer.Option("", "--token", help="A device registration token (POST .../device-registration/token)"),
    category: str = typer.Option(None, "--category", help="Category code, e.g. cz, dj"),
    product_id: str = typer.Option(None, "--product", help="Product id instead of a category's default"),
    name: str = typer.Option(None, "--name", help="Device name"),
    home: str = typer.Option("", "--home", help="Smart-home pairing token: the user's home (default their first)"),
    room: str = typer.Option("", "--room", help="Smart-home pairing token: a room of the home"),
    gateway: str = typer.Option("", "--gateway", help="Join this gateway while it searches (instead of --token)"),
    data_dir: Path = DataDir, database_url: str = DatabaseUrl, as_json: bool = JsonOut,
) -> None:
    """Pair a virtual device with a token or a searching gateway. A registration token (industry), a smart-home
    pairing token, or a gateway opened for sub-devices (discover), as a phone and a real device would (2007 once
    expired or closed)."""

    async def work(ctx: Context) -> dict[str, Any]:
        from tuyacloud.domain.pairing import gateways, pairing, registration

        if gateway:
            sub = await gateways.join(ctx, gateway, category=category, product_id=product_id, name=name)
            return sub_device_view(sub, ctx.catalog.product(sub.product_id))
        if not token:
            raise ParamEmpty("give --token or --gateway")
        try:
            found, device = await registration.pair(ctx, token, category=category, product_id=product_id, name=name)
        except DataNotExist:
            paired, device = await pairing.pair(ctx, token, category=category, product_id=product_id, name=name,
                                                home_id=home, room_id=room)
            return paired_device_view(device, ctx.catalog.product(device.product_id), paired)
        return registered_device_view(device, ctx.catalog.product(device.product_id), found)

    view = run(data_dir, database_url, work)
    if as_json:
        emit_json(view)
        return
    where = f"home {view['home_id']}" if "home_id" in view else f"asset {view['asset_id']}"
    if "gateway_id" in view:
        where = f"gateway {view['gateway_id']}"
    console().print(f"Paired {view['id']} ({view['category']}, {view['name']}) in {where}")


@app.command("list")
def list_(
    project: str = typer.Option(..., "--project", help="Access ID of the project"),
    limit: int = Limit, offset: int = Offset, every: bool = All,
    data_dir: Path = DataDir, database_url: str = DatabaseUrl, as_json: bool = JsonOut,
) -> None:
    """A project's devices, in id order."""
    window = Window.of(limit, offset, every)

    async def work(ctx: Context) -> Page[dict[str, Any]]:
        p = await projects.get(ctx, project)

        async def fetch(after: str, size: int, skip: int) -> tuple[list[Any], bool]:
            return await devices.page(ctx, p, after, size, offset=skip)

        found = await window.walk(fetch, key=lambda d: d.id)
        return Page([_view(ctx, d) for d in found], await devices.count(ctx, p), window)

    def show(views: list[dict[str, Any]]) -> None:
        from rich.table import Table

        table = Table("Device ID", "Category", "Name", "Online")
        for v in views:
            table.add_row(v["id"], v["category"], v["name"], "yes" if v["online"] else "no")
        console().print(table)

    emit_page(run(data_dir, database_url, work), "devices", as_json, show)


@app.command("show")
def show(device_id: str, data_dir: Path = DataDir, database_url: str = DatabaseUrl, as_json: bool = JsonOut) -> None:
    """One device with its status."""

    async def work(ctx: Context) -> dict[str, Any]:
        d = await devices.find_anywhere(ctx, device_id)
        return {**_view(ctx, d), "project": d.access_id, "region": d.region}

    view = run(data_dir, database_url, work)
    if as_json:
        emit_json(view)
        return
    from rich.table import Table

    table = Table(show_header=False, box=None)
    for key, value in view.items():
        if key != "status":
            table.add_row(f"[bold]{key}[/bold]", str(value))
    for item in view["status"]:
        table.add_row(f"  {item['code']}", repr(item["value"]))
    console().print(table)
