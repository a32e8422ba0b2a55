"""``tuyacloud project quotas``: a project's quota plan and use, set its plan and figures, reset or move its
quota month (domain/projects/quotas.py). Works on the data directory like every command; a running server
picks the change up within a second (its next usage flush)."""

# No `from __future__ import annotations` in the command modules: Typer reads each command's annotations with
# typing.get_type_hints, which compiles every string annotation again (see cli/main.py).

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from tuyacloud.cli.common import console, emit_json, run
from tuyacloud.cli.options import DatabaseUrl, DataDir, JsonOut
from tuyacloud.domain.context import Context
from tuyacloud.domain.projects import projects

if TYPE_CHECKING:  # imported where used: every `project` command loads this module, few run `project quotas`
    from tuyacloud.domain.projects import quotas


def _figure(value: int | None) -> "quotas.Figure":
    """-1 on the command line: back to the plan's figure."""
    from tuyacloud.domain.projects import quotas

    if value is None:
        return quotas.UNSET
    return None if value < 0 else value


def show_status(view: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(view)
        return
    from rich.table import Table

    plan = view["plan"]
    source = "its own" if view["project_plan"] else "the server's --quotas"
    console().print(f"[bold]{view['access_id']}[/bold]  plan: {plan} ({source})  quota month: {view['period']}"
                    + (f" (moved {view['month_offset']:+d})" if view["month_offset"] else ""))
    if not view["enabled"]:
        console().print("No limits." if view["server_plan"] == "off" else
                        "No limits of its own; the server's --quotas applies when it runs.")
        return
    table = Table("Limit", "Used", "Of", "Remaining")
    for key, label in (("calls", "API calls this month"), ("messages", "messages this month"),
                       ("devices", "devices")):
        use = view[key]
        table.add_row(label, str(use["used"]), str(use["limit"]), str(use["remaining"]))
    console().print(table)
    if view["suspended"]:
        console().print("[bold]Suspended[/bold]: calls answer 28841004 until the quota is reset or the month moves.")


def quotas_command(
    access_id: str,
    plan: str = typer.Option(None, "--plan", help="trial, off, or default (the server's --quotas)"),
    monthly_calls: int = typer.Option(None, "--monthly-calls", help="API calls a month (-1: the plan's)"),
    monthly_messages: int = typer.Option(None, "--monthly-messages", help="Messages a month (-1: the plan's)"),
    devices: int = typer.Option(None, "--devices", help="Device cap (-1: the plan's)"),
    reset: bool = typer.Option(False, "--reset", help="The quota month's counts start again from zero"),
    months: int = typer.Option(0, "--move-month", help="Move the quota month by N months (1: the next)"),
    data_dir: Path = DataDir, database_url: str = DatabaseUrl, as_json: bool = JsonOut,
) -> None:
    """Show, set or reset a project's quotas.

    The plan (trial, off, or the server's --quotas), its figures, a reset of the month's counts, a move to another
    quota month; without options, the project's use of each limit (docs/quotas.md).
    """

    async def work(ctx: Context) -> dict[str, Any]:
        from tuyacloud.domain.projects import quotas

        project = await projects.get(ctx, access_id)
        figures = {"monthly_calls": _figure(monthly_calls), "monthly_messages": _figure(monthly_messages),
                   "devices": _figure(devices)}
        if plan is not None or any(v is not quotas.UNSET for v in figures.values()):
            await quotas.configure(ctx, project, plan=quotas.UNSET if plan is None else plan, **figures)
        if reset:
            await quotas.reset(ctx, project)
        if months:
            await quotas.move_month(ctx, project, months)
        return await quotas.status(ctx, project)

    show_status(run(data_dir, database_url, work), as_json)


def register(app: typer.Typer) -> None:
    app.command("quotas")(quotas_command)
