"""The answer of ``GET /_tuyacloud/health``: is this server ready to serve (docs/operations.md)?

Ready means every check says ``ok``: the store answers a trivial query (a PostgreSQL that went away, a SQLite
file that cannot be read), its schema is at the migrations this code ships (a database that another, older or
newer, tuyacloud migrated is not one this code can serve), and it takes writes (``writes``: not when its SQLite
file was removed under it, nor while writes fail, as on a full disk). The control API answers HTTP 503 when not
ready, so a load balancer or a Kubernetes readiness probe needs nothing but the status code.

Why writes count: a server that answers reads but refuses every command looked healthy (``degraded``, HTTP 200)
and kept its traffic; every client then saw errors a server next to it would not have given.

The answer is built here and only here: a new check is one more entry in ``checks``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from typing import Any

from tuyacloud.domain.context import Context
from tuyacloud.store import migrate

OK = "ok"
STORE_TIMEOUT_S = 2.0
PROBE_KEY = "health_write_probe"  # the meta row health writes to tell whether writes work again


async def report(ctx: Context) -> dict[str, Any]:
    """``{"status": "ok"|"degraded"|"unavailable", "ready": bool, "now": ms, "checks": {"store": ..., "migrations":
    ..., "writes": ...}, "tasks": {...}, "process": {"pid": ..., "worker": i, "workers": n}}``; a failed check's
    value says what is wrong; ``process`` tells which of several server processes on one database answered."""
    checks: dict[str, str] = {"store": await _store(ctx)}
    checks["migrations"] = await _migrations(ctx) if checks["store"] == OK else "unknown: the store is unreachable"
    checks["writes"] = await _writes(ctx, reachable=checks["store"] == OK)
    ready = all(value == OK for value in checks.values())
    tasks = _tasks(ctx)
    status = "unavailable" if not ready else "degraded" if any(t["degraded"] for t in tasks.values()) else "ok"
    return {"status": status, "ready": ready, "now": ctx.clock.now_ms(), "checks": checks, "tasks": tasks,
            "process": {"pid": os.getpid(), **ctx.tasks.process}}


def _tasks(ctx: Context) -> dict[str, Any]:
    """The background tasks of this process (tuyacloud/supervision.py), and ``store-writes`` while the store refuses
    writes for good (its SQLite file was removed or replaced; kept from before the ``writes`` check, which makes the
    server not ready)."""
    tasks: dict[str, Any] = ctx.tasks.snapshot()
    if ctx.store.refusing_writes is not None:
        tasks["store-writes"] = {"state": "refused", "degraded": True, "last_error": ctx.store.refusing_writes}
    return tasks


async def _writes(ctx: Context, *, reachable: bool) -> str:
    """``ok``, or ``failing: writes refused ...`` with the reason. After a failed write, a write of our own (one
    meta row) tells whether writes work again, so a server that writes nothing else does not stay failing."""
    store = ctx.store
    refused = store.check_writable()
    if refused is not None:
        return f"failing: writes refused: {refused}"
    if store.write_failure is None:
        return OK
    if not reachable:
        return "unknown: the store is unreachable"
    with contextlib.suppress(Exception):
        await asyncio.wait_for(store.set_meta(PROBE_KEY, str(ctx.clock.now_ms())), STORE_TIMEOUT_S)
    if store.write_failure is None:
        return OK
    failing_s = time.monotonic() - store.write_failing_since
    return (f"failing: writes refused by the database: {store.write_failure} ({store.write_failures} failed "
            f"writes in {failing_s:.0f} s)")


async def _store(ctx: Context) -> str:
    try:
        await asyncio.wait_for(ctx.store.ping(), STORE_TIMEOUT_S)
    except TimeoutError:
        return f"unreachable: no answer in {STORE_TIMEOUT_S:g} s"
    except Exception as exc:  # the reason, without connection details
        return f"unreachable: {type(exc).__name__}"
    return OK


async def _migrations(ctx: Context) -> str:
    heads = migrate.HEADS
    try:
        current = await ctx.store.schema_revisions()
    except Exception as exc:
        return f"unknown: {type(exc).__name__}"
    if current == heads:
        return OK
    return f"not at head: database at {', '.join(sorted(current)) or 'none'}, this code at {', '.join(sorted(heads))}"
