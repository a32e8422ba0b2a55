"""Prometheus metrics of one cloud, served at ``GET /metrics`` in the text exposition format (docs/operations.md).

Why plain tallies instead of prometheus-client's ``Counter``/``Histogram`` on the request path: a signed status read
costs about 40 µs of server CPU, and a labelled counter plus a histogram observation (each behind a lock) cost about
3 µs, where a dict increment and a ``bisect`` cost about 0.4 µs. The server is one event loop, so the tallies need no
lock. prometheus-client still does everything else: each app has its own ``CollectorRegistry`` (tests build many
apps in one process, so the global default registry is never used), a custom collector turns the tallies into
metric families at scrape time, and ``generate_latest`` writes the exposition format. What lives in the store
(backlog per subscription) is read at scrape time, once per scrape, in one query.

Labels are bounded: ``route`` is the route template (``/v1.0/devices/{device_id}``), never the raw path, and
requests that match no route share the label ``unmatched``.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

from tuyacloud import envelope
from tuyacloud.errors import PermissionDeny

if TYPE_CHECKING:
    from tuyacloud.domain.context import Context
    from tuyacloud.messaging.hub import Hub

log = logging.getLogger("tuyacloud.metrics")
STORE_TIMEOUT_S = 5.0
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
UNMATCHED = "unmatched"
LATENCY_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0)
COMMAND_SOURCES = {"2": "client", "4": "cloud"}  # domain/devices/commands.py's event sources


class Tally:
    """A histogram kept as plain numbers: per-bucket counts (the last one is +Inf) and the sum."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1  # first bound >= value: Prometheus's "le"
        self.total += value

    def cumulative(self) -> list[tuple[str, float]]:
        out, running = [], 0
        for bound, count in zip((*(repr(b) for b in self.bounds), "+Inf"), self.counts, strict=True):
            running += count
            out.append((bound, float(running)))
        return out


class RequestStats:
    """Requests by (method, route template, HTTP status, Tuya code) and their latency by (method, route)."""

    def __init__(self) -> None:
        # The code is "success", a Tuya error code, or "" for answers that are not OpenAPI envelopes (console,
        # control API, documents).
        self.counts: dict[tuple[str, str, int, str], int] = {}
        self.latency: dict[tuple[str, str], Tally] = {}

    def record(self, method: str, route: str, status: int, code: str, seconds: float) -> None:
        key = (method, route, status, code)
        self.counts[key] = self.counts.get(key, 0) + 1
        tally = self.latency.get((method, route))
        if tally is None:
            tally = self.latency[(method, route)] = Tally(LATENCY_BUCKETS_S)
        tally.counts[bisect_left(LATENCY_BUCKETS_S, seconds)] += 1  # Tally.observe, inlined: once per request
        tally.total += seconds


@dataclass
class _Scrape:
    """What a scrape reads from the running app, gathered (asynchronously) just before the registry renders."""

    ctx: Context
    hub: Hub | None
    backlogs: list[tuple[str, str, str, int]] | None  # None: the store did not answer


class Metrics:
    """The tallies of one app and the registry that exposes them."""

    def __init__(self) -> None:
        self.requests = RequestStats()
        self.commit_units = Tally(BATCH_BUCKETS)
        self.commit_seconds = Tally(LATENCY_BUCKETS_S)
        self.messages_emitted = 0
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_Collector(self))
        ProcessCollector(registry=self.registry)  # CPU seconds, resident memory, open files of this process
        self._scrape: _Scrape | None = None

    def on_commit(self, units: int, seconds: float, messages: int) -> None:
        """The store's commit observer (``Store.commit_observer``)."""
        self.commit_units.observe(units)
        self.commit_seconds.observe(seconds)
        self.messages_emitted += messages

    async def render(self, ctx: Context, hub: Hub | None) -> bytes:
        try:
            backlogs: list[tuple[str, str, str, int]] | None = await asyncio.wait_for(
                ctx.store.all_backlogs(), STORE_TIMEOUT_S)
        except Exception as exc:  # a scrape still answers (tuyacloud_store_up 0) when the database is away
            log.warning("metrics: the store did not answer the backlog query: %s", type(exc).__name__)
            backlogs = None
        self._scrape = _Scrape(ctx, hub, backlogs)
        try:
            return generate_latest(self.registry)
        finally:
            self._scrape = None


class _Collector(Collector):
    def __init__(self, metrics: Metrics) -> None:
        self.m = metrics

    def collect(self) -> Iterator[Metric]:
        m = self.m
        requests = CounterMetricFamily("tuyacloud_requests", "HTTP requests answered, by route template, HTTP "
                                       "status and Tuya code (success, or the error code of the envelope)",
                                       labels=["method", "route", "status", "code"])
        for (method, route, status, code), count in sorted(m.requests.counts.items()):
            requests.add_metric([method, route, str(status), code], count)
        yield requests
        latency = HistogramMetricFamily("tuyacloud_request_duration_seconds", "Time from a request's arrival to "
                                        "its answer, by route template", labels=["method", "route"])
        for (method, route), tally in sorted(m.requests.latency.items()):
            latency.add_metric([method, route], tally.cumulative(), tally.total)
        yield latency
        yield _histogram("tuyacloud_commit_batch_units", "Units of work committed together (both engines group "
                         "concurrent writes into one transaction and one fsync)",
                         m.commit_units)
        yield _histogram("tuyacloud_commit_seconds", "Time of one commit, from the transaction's start to durable",
                         m.commit_seconds)
        yield CounterMetricFamily("tuyacloud_messages_emitted", "Messages committed to the message log (status "
                                  "reports and device events)", value=m.messages_emitted)
        scrape = m._scrape
        if scrape is None:  # rendered outside ``Metrics.render`` (nothing to read the running app from)
            return
        commands = CounterMetricFamily("tuyacloud_commands", "Device commands committed, by source (client: "
                                       "OpenAPI or console; cloud: scenes, automations, timers)", labels=["source"])
        for source, count in sorted(scrape.ctx.commands_committed.items()):
            commands.add_metric([COMMAND_SOURCES.get(source, source)], count)
        yield commands
        hub = scrape.hub
        for name, doc, value in (
            ("delivered", "Message frames sent to consumers (redeliveries included)", hub.delivered if hub else 0),
            ("redelivered", "Message frames sent again (ack timeout, negative ack, new consumer)",
             hub.redelivered if hub else 0),
            ("acknowledged", "Acknowledgements recorded", hub.acknowledged if hub else 0),
            ("negatively_acknowledged", "Negative acknowledgements received", hub.nacked if hub else 0),
        ):
            yield CounterMetricFamily(f"tuyacloud_messages_{name}", doc, value=value)
        backlog = GaugeMetricFamily("tuyacloud_subscription_backlog", "Unacknowledged messages per subscription",
                                    labels=["project", "env", "subscription"])
        for access_id, env, name, count in scrape.backlogs or []:
            backlog.add_metric([access_id, env, name], count)
        yield backlog
        yield GaugeMetricFamily("tuyacloud_store_up", "1 if the store answered this scrape's query in time, else 0 "
                                "(the backlog is then missing)", value=0 if scrape.backlogs is None else 1)
        consumers = GaugeMetricFamily("tuyacloud_consumers_connected", "Message consumers connected to this "
                                      "process, per subscription", labels=["project", "env", "subscription"])
        for (access_id, env, name), count in sorted((hub.consumer_counts() if hub else {}).items()):
            consumers.add_metric([access_id, env, name], count)
        yield consumers
        yield GaugeMetricFamily("tuyacloud_commit_queue_units", "Units of work waiting for the SQLite writer",
                                value=scrape.ctx.store.queued_units())


def _histogram(name: str, doc: str, tally: Tally) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, doc)
    family.add_metric([], tally.cumulative(), tally.total)
    return family


def metrics_endpoint(metrics: Metrics, ctx_of: Callable[[], Context], hub_of: Callable[[], Hub | None],
                     token_of: Callable[[], str]) -> Callable[[Request], Any]:
    """``GET /metrics``: the admin token is required, as for the control API (``Authorization: Bearer ...``;
    Prometheus sends it with ``authorization: {credentials_file: ...}``), since the labels name projects."""

    async def endpoint(request: Request) -> Response:
        ctx = ctx_of()
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token_of().encode()):
            error = PermissionDeny("/metrics needs the admin token (Authorization: Bearer ...)")
            body = envelope.failure(error, ctx.clock.now_ms(), ctx.ids.hex(32))
            return Response(body, status_code=401, media_type="application/json")
        return Response(await metrics.render(ctx, hub_of()), media_type=CONTENT_TYPE)

    return endpoint
