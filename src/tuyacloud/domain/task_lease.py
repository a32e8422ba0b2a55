"""A named background task that one server process runs while several share a database (``serve --workers N``,
or servers on several hosts against one PostgreSQL).

Why a lease in the store rather than an advisory lock: it works the same on SQLite and PostgreSQL, needs no
connection held for as long as it is owned, and survives a restart of the database. The holder renews it every
:data:`RENEW_S`; it expires :data:`LEASE_S` after the last renewal (wall-clock time: this is about a process being
alive, not the cloud clock a test steps or freezes), so when the holder dies another process, trying at its own
renewal time, has the task within ``LEASE_S + RENEW_S``. Work done under a lease is idempotent (deleting what is
past its time), so the short overlap a paused-then-resumed holder could cause would repeat work, never double it.
"""

from __future__ import annotations

import uuid

from tuyacloud.clock import wall_ms
from tuyacloud.domain.context import Context
from tuyacloud.store.base import Tx

LEASE_S = 10.0
RENEW_S = 2.5


class TaskLease:
    def __init__(self, ctx: Context, name: str, lease_s: float = LEASE_S) -> None:
        self.ctx = ctx
        self.name = name
        self.lease_ms = int(lease_s * 1000)
        self.owner = uuid.uuid4().hex
        self.held = False

    async def renew(self) -> bool:
        """Take or renew the lease; whether this process holds it now (raises when the store is unavailable, and
        then holds it no longer as far as it knows)."""
        now = wall_ms()

        async def work(tx: Tx) -> bool:
            return await tx.take_task_lease(self.name, self.owner, now, now + self.lease_ms)

        self.held = False
        self.held = bool(await self.ctx.store.transaction(work))
        return self.held

    async def release(self) -> None:
        """Hand the task over at once (on a clean stop) instead of after the lease runs out."""
        owner = self.owner

        async def work(tx: Tx) -> None:
            await tx.release_task_leases(owner)

        self.held = False
        await self.ctx.store.transaction(work)
