"""Statistics of a project over a chosen period: API calls and failures per day and per API, messages sent and
acknowledged, devices and online devices, as server-rendered SVG charts with the numbers in tables beside them.
The numbers are ``domain/projects/statistics.py``'s; the charts ``console/svg_chart.py``'s."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from tuyacloud.console import svg_chart
from tuyacloud.console.common import project_of
from tuyacloud.console.deps import ConsoleDeps
from tuyacloud.domain.projects import quotas, statistics
from tuyacloud.domain.projects.statistics import ProjectStatistics

TOP_APIS = 12


def charts(stats: ProjectStatistics) -> dict[str, object]:
    """Each chart drawn wide and narrow (``svg_chart.responsive``): text stays legible on a phone."""
    labels = [d.label for d in stats.days]
    calls = [svg_chart.Series("Calls", [d.calls for d in stats.days], svg_chart.PALETTE[1]),
             svg_chart.Series("Failures", [d.failures for d in stats.days], svg_chart.PALETTE[3])]
    message_series = [svg_chart.Series("Sent", [d.messages for d in stats.days], svg_chart.PALETTE[0])]
    message_series += [svg_chart.Series(f"Acknowledged ({label})", [d.acknowledged.get(label, 0) for d in stats.days],
                                        svg_chart.PALETTE[2 + i % 3]) for i, label in enumerate(stats.subscriptions)]
    devices = [svg_chart.Series("Devices", [d.devices_total for d in stats.days], svg_chart.PALETTE[4]),
               svg_chart.Series("Online", [d.devices_online for d in stats.days], svg_chart.PALETTE[2])]
    top = [(a.api, a.calls) for a in stats.apis[:TOP_APIS]]
    return {
        "calls": svg_chart.responsive(lambda w: svg_chart.bar_chart(
            labels, calls, title=f"API calls and failures per day, {stats.first_day} to {stats.last_day}", width=w)),
        "messages": svg_chart.responsive(lambda w: svg_chart.line_chart(
            labels, message_series, title="Messages sent and acknowledged per day", width=w)),
        "devices": svg_chart.responsive(lambda w: svg_chart.line_chart(
            labels, devices, title="Devices (that exist now) per day, and those online at some moment of the day",
            width=w, height=200)),
        "apis": svg_chart.responsive(lambda w: svg_chart.hbar_chart(top, title="Calls per API in the period",
                                                                    width=w)),
    }


def routes(deps: ConsoleDeps) -> list[BaseRoute]:
    async def page(request: Request) -> Response:
        project = await project_of(deps, request)
        ctx = deps.ctx()
        if deps.usage is not None:
            await deps.usage.flush(ctx)  # today's calls, counted in memory, show at once
        days = statistics.parse_days(request.query_params.get("days"))
        stats = await statistics.project_statistics(ctx, project, days, deps.settings.message_retention_s)
        return deps.render(request, "statistics.html", project=project, nav="statistics", tab="statistics",
                           stats=stats, days=days, periods=statistics.PERIODS, charts=charts(stats),
                           max_days=statistics.MAX_DAYS, quotas=await quotas.status(ctx, project))

    return [Route("/projects/{access_id}/statistics", page, methods=["GET"])]
