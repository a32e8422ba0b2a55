"""Runs virtual-device behaviour in time: one scheduler for all devices, ordered by when each is next due.

A device is only touched when its behaviour says it needs to be (``next_due_s``): an idle light costs nothing,
a curtain in motion or a sensor on its report schedule is woken when due. Due devices are processed in
concurrent chunks, so their reports share group commits. Time is the cloud's clock: stepping it through the
control API makes curtains arrive and countdowns expire at once; freezing it pauses the simulation.

Time never jumps: a behaviour runs from the later of this runner's last tick of the device and the last change of
its inputs (the device's ``status_t``), so idle time before a command is not simulated (``tick`` in
``catalog/behaviours.py``, which interprets the products' behaviour data; this package only drives it in time).

One process drives a device: devices fall into :data:`SHARDS` shards and only the holder of a shard's lease in the
store drives its devices (otherwise two server processes on one database would each move a curtain, twice as fast).
Leases are renewed every :data:`RENEW_S` and expire after :data:`LEASE_S` of wall-clock time, so when a process
dies another takes its shards over. A process that changes a device it does not drive (a command it served) leaves
a poke in the store; the holder reads pokes every :data:`POKE_READ_S` and looks at those devices at once.

Store failures end nothing: a failed pass is logged once per episode, retried with back-off, and the runner resumes
where it was when the store is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import uuid
import zlib
from typing import Any

from tuyacloud.catalog.behaviours import next_due_s, tick
from tuyacloud.clock import wall_ms
from tuyacloud.domain.context import Context
from tuyacloud.domain.devices import commands
from tuyacloud.errors import StoreUnavailable
from tuyacloud.store.base import Tx
from tuyacloud.supervision import Episode, TaskStatus

log = logging.getLogger("tuyacloud.simulator")

CHUNK = 256
POLL_NEW_S = 2.0
MAX_SLEEP_S = 0.5
SHARDS = 16
LEASE_S = 6.0
RENEW_S = 2.0
POKE_READ_S = 0.25
POKE_FLUSH_S = 0.1
RETRY_DEVICE_MS = 1000


def shard_of(device_id: str) -> int:
    return zlib.crc32(device_id.encode()) % SHARDS


class SimulatorRunner:
    def __init__(self, ctx: Context, status: TaskStatus | None = None) -> None:
        self.ctx = ctx
        self.owner = uuid.uuid4().hex
        self.owned: set[int] = set()
        self.status = status
        self._heap: list[tuple[int, str, str]] = []
        self._due: dict[str, int] = {}
        self._last_tick: dict[str, int] = {}
        self._regions: dict[str, str] = {}
        self._reported: dict[str, dict[str, Any]] = {}  # what this runner last reported per device
        self._report_state: dict[str, dict[str, float]] = {}
        self._outbound: dict[str, str] = {}  # devices changed here but driven by another process -> region
        self._wake = asyncio.Event()
        self._high_water = -1
        self._episode = Episode(log, "the simulator", status)
        ctx.listeners.append(self.device_changed)

    def owns(self, device_id: str) -> bool:
        return shard_of(device_id) in self.owned

    def device_changed(self, device_id: str, region: str) -> None:
        """Called after a command or online change: re-evaluate the device now, or tell the process driving it."""
        if self.owns(device_id):
            self.schedule(device_id, region, self.ctx.clock.now_ms())
        else:
            self._outbound[device_id] = region
        self._wake.set()

    def schedule(self, device_id: str, region: str, due_ms: int) -> None:
        current = self._due.get(device_id)
        if current is not None and current <= due_ms:
            return
        self._due[device_id] = due_ms
        heapq.heappush(self._heap, (due_ms, device_id, region))

    # --- leases and pokes ---------------------------------------------------------------------------------------
    async def renew_leases(self) -> None:
        """Take or renew every shard that is free, expired or ours; start driving the devices of shards gained."""
        now = wall_ms()

        async def work(tx: Tx) -> set[int]:
            got = set()
            for shard in range(SHARDS):
                if await tx.take_sim_lease(shard, self.owner, now, now + int(LEASE_S * 1000)):
                    got.add(shard)
            return got

        got: set[int] = await self.ctx.store.transaction(work)
        gained = got - self.owned
        self.owned = got
        if gained:
            # Time while nobody drove these devices is not simulated: they resume from now.
            cloud_now = self.ctx.clock.now_ms()
            for device_id, region in self._regions.items():
                if shard_of(device_id) in gained:
                    self._last_tick[device_id] = cloud_now
                    self.schedule(device_id, region, cloud_now)
        if self.status is not None:
            self.status.info["shards"] = len(got)

    async def release_leases(self) -> None:
        owner = self.owner

        async def work(tx: Tx) -> None:
            await tx.release_sim_leases(owner)

        self.owned = set()
        await self.ctx.store.transaction(work)

    async def _flush_pokes(self) -> None:
        pending, self._outbound = self._outbound, {}
        devices = list(pending.items())

        async def work(tx: Tx) -> None:
            await tx.poke_sim_devices(devices, wall_ms())

        try:
            await self.ctx.store.transaction(work)
        except BaseException:
            pending.update(self._outbound)
            self._outbound = pending  # not lost: sent with the next flush
            raise

    async def _read_pokes(self) -> None:
        handled = [(d, r, at) for d, r, at in await self.ctx.store.sim_pokes() if self.owns(d)]
        if not handled:
            return
        now = self.ctx.clock.now_ms()
        for device_id, region, _ in handled:
            self._regions.setdefault(device_id, region)
            self._last_tick.setdefault(device_id, now)
            self.schedule(device_id, region, now)

        async def work(tx: Tx) -> None:
            await tx.clear_sim_pokes(handled)

        await self.ctx.store.transaction(work)

    # --- devices ------------------------------------------------------------------------------------------------
    async def _pick_up_new_devices(self) -> None:
        for device_id, region, created_ms in await self.ctx.store.all_device_ids(self._high_water):
            self._high_water = max(self._high_water, created_ms)
            if device_id not in self._last_tick:
                # Time before the runner saw the device (before a restart, say) is not simulated.
                self._last_tick[device_id] = self.ctx.clock.now_ms()
                self._regions[device_id] = region
                if self.owns(device_id):
                    self.schedule(device_id, region, self.ctx.clock.now_ms())

    def _forget(self, device_id: str) -> None:
        for table in (self._last_tick, self._regions, self._reported, self._report_state):
            table.pop(device_id, None)

    async def _process(self, device_id: str, region: str, now: int) -> None:
        device = await self.ctx.store.get_device(device_id, region)
        if device is None:
            self._forget(device_id)
            return
        product = self.ctx.catalog.product(device.product_id)
        if product is None:
            return
        elapsed = max(0.0, (now - self._last_tick.get(device_id, now)) / 1000)
        status: dict[str, Any] = device.status
        if device.online:
            # Changes this runner reported itself are not news; the others (commands) restart behaviours' clocks.
            own = self._reported.get(device_id, {})
            changed_ms = {c: t for c, t in device.status_t.items() if c not in own or own[c] != status.get(c)}
            changes = tick(product, status, elapsed, now, self._report_state.setdefault(device_id, {}),
                           seed=device_id, changed_ms=changed_ms)
            if changes:
                await commands.report(self.ctx, device, changes, validate=False)
                status = {**status, **changes}
                self._reported[device_id] = changes
        self._last_tick[device_id] = now
        due = next_due_s(product, status) if device.online else None
        if due is not None:
            self.schedule(device_id, region, now + max(1, int(due * 1000)))

    async def run_once(self) -> int:
        """Process everything due now that this process drives; returns how many devices were processed.

        Raises the store's error when the store failed (the devices it could not process stay due)."""
        now = self.ctx.clock.now_ms()
        due: list[tuple[str, str]] = []
        while self._heap and self._heap[0][0] <= now:
            due_ms, device_id, region = heapq.heappop(self._heap)
            if self._due.get(device_id) != due_ms:
                continue  # superseded by an earlier schedule
            del self._due[device_id]
            if self.owns(device_id):
                due.append((device_id, region))
        outage: BaseException | None = None
        for start in range(0, len(due), CHUNK):
            chunk = due[start:start + CHUNK]
            results = await asyncio.gather(*(self._process(d, r, now) for d, r in chunk), return_exceptions=True)
            for (device_id, region), result in zip(chunk, results, strict=True):
                if not isinstance(result, Exception):
                    continue
                if isinstance(result, StoreUnavailable):
                    outage = outage or result
                    self.schedule(device_id, region, now)  # tried again when the store is back
                else:
                    log.warning("virtual device %s tick failed: %s", device_id, result)
                    self.schedule(device_id, region, now + RETRY_DEVICE_MS)
        if outage is not None:
            raise outage
        return len(due)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        next_poll = next_renew = next_pokes = next_flush = 0.0
        try:
            while True:
                try:
                    t = loop.time()
                    if t >= next_renew:
                        await self.renew_leases()
                        next_renew = t + RENEW_S
                    if t >= next_poll:
                        await self._pick_up_new_devices()
                        next_poll = t + POLL_NEW_S
                    if self._outbound and t >= next_flush:
                        await self._flush_pokes()
                        next_flush = t + POKE_FLUSH_S
                    if t >= next_pokes:
                        await self._read_pokes()
                        next_pokes = t + POKE_READ_S
                    await self.run_once()
                except Exception as exc:  # the store is down (or a bug): back off, try again, never end
                    await asyncio.sleep(self._episode.failed(exc))
                    continue
                self._episode.ok()
                sleep = min(MAX_SLEEP_S, max(0.0, next_pokes - loop.time()))
                if self._outbound:
                    sleep = min(sleep, max(0.0, next_flush - loop.time()))
                if self._heap:
                    sleep = min(sleep, max(0.0, (self._heap[0][0] - self.ctx.clock.now_ms()) / 1000))
                self._wake.clear()
                with contextlib.suppress(TimeoutError):  # asyncio.timeout: a cancel is never swallowed (wait_for's is)
                    async with asyncio.timeout(max(sleep, 0.01)):
                        await self._wake.wait()
        finally:
            # Hand the shards over at once rather than after the lease runs out (best effort: the store may be down).
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.release_leases(), timeout=2)
