"""``tuyacloud messages ...``: the message service's subscriptions."""

# No `from __future__ import annotations` in the command modules: Typer reads each command's annotations with
# typing.get_type_hints, which compiles every string annotation again (see cli/main.py).

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from tuyacloud.cli.common import console, emit_json, run
from tuyacloud.cli.listing import DEFAULT_LIMIT, All, Limit, Offset, Page, Window, emit_page
from tuyacloud.cli.options import DatabaseUrl, DataDir, JsonOut
from tuyacloud.domain.context import Context
from tuyacloud.domain.projects import projects
from tuyacloud.messaging.mqtt.status import link_status
from tuyacloud.messaging.status import subscription_status

if TYPE_CHECKING:
    from rich.table import Table

app = typer.Typer(help="Message service: subscriptions and MQTT links.\n\nThe Pulsar subscriptions and the MQTT "
                       "open-hub links of a project.", no_args_is_help=True)


def _when(ms: int | None) -> str:
    return "-" if ms is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ms / 1000))


@app.command("status")
def status(
    project: str = typer.Option(..., "--project", help="Access ID of the project"),
    data_dir: Path = DataDir, database_url: str = DatabaseUrl, as_json: bool = JsonOut,
) -> None:
    """A project's subscriptions and MQTT links.

    Per subscription: backlog, oldest unacknowledged message,
    connected consumers, last acknowledgement; then the MQTT open-hub links (``messages links`` has them alone, also
    as JSON)."""

    async def work(ctx: Context) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        p = await projects.get(ctx, project)
        return await subscription_status(ctx, p.access_id), await link_status(ctx, p.access_id)

    rows, links = run(data_dir, database_url, work)
    if as_json:
        emit_json(rows)
        return
    # The links are a list that can be long (a credential per client and renewal): the first page, and how many.
    first = Page(Window(0, DEFAULT_LIMIT).cut(links), len(links), Window(0, DEFAULT_LIMIT))
    from rich.table import Table

    table = Table("Topic", "Subscription", "Backlog", "Oldest unacked", "Consumers", "Last ack")
    for r in rows:
        consumers = ", ".join(f"{c['address']}{' (active)' if c['active'] else ''}" for c in r["consumers"]) or "-"
        table.add_row(r["topic"], r["subscription"], str(r["backlog"]), _when(r["oldest_unacked_ms"]), consumers,
                      _when(r["last_ack_ms"]))
    console().print(table)
    console().print(_links_table(first.rows))
    console().print(first.summary("links") + (" (tuyacloud messages links)" if first.has_more else ""),
                    highlight=False, markup=False, soft_wrap=True)


def _links_table(links: list[dict[str, Any]]) -> "Table":
    from rich.table import Table

    table = Table("MQTT link / client id", "User", "Sees", "Ver", "Connected", "Last message", "Messages", "Expires",
                  title="MQTT open-hub links")
    for r in links:
        state = f"since {_when(r['connected_ms'])}" if r["connected"] else "no"
        expires = _when(r["expires_ms"]) + ("" if r["valid"] else " (revoked)" if r["revoked"] else " (expired)")
        table.add_row(f"{r['link_id']}\n{r['client_id']}", r["uid"], r["sees"], r["version"], state,
                      _when(r["last_message_ms"]), str(r["messages"]), expires)
    return table


@app.command("links")
def links(
    project: str = typer.Option(..., "--project", help="Access ID of the project"),
    limit: int = Limit, offset: int = Offset, every: bool = All,
    data_dir: Path = DataDir, database_url: str = DatabaseUrl, as_json: bool = JsonOut,
) -> None:
    """A project's MQTT open-hub links.

    Per credential (newest first; expired ones for an hour): its user, connection, last message and expiry."""
    window = Window.of(limit, offset, every)

    async def work(ctx: Context) -> Page[dict[str, Any]]:
        p = await projects.get(ctx, project)
        found = await link_status(ctx, p.access_id)
        return Page(window.cut(found), len(found), window)

    emit_page(run(data_dir, database_url, work), "links", as_json, lambda rows: console().print(_links_table(rows)))
