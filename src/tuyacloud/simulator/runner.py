"""Runs virtual-device behaviour in time: one scheduler for all devices, ordered by when each is next due.

A device is only touched when its behaviour says it needs to be (``next_due_s``): an idle light costs nothing,
a curtain in motion or a sensor on its report schedule is woken when due. Due devices are processed in
concurrent chunks, so their reports share group commits. Time is the cloud's clock: stepping it through the
control API makes curtains arrive and countdowns expire at once; freezing it pauses the simulation.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
from typing import Any

from tuyacloud.domain import commands
from tuyacloud.domain.context import Context
from tuyacloud.simulator.behaviours import next_due_s, tick

log = logging.getLogger("tuyacloud.simulator")

CHUNK = 256
POLL_NEW_S = 2.0
MAX_SLEEP_S = 0.5


class SimulatorRunner:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._heap: list[tuple[int, str, str]] = []
        self._due: dict[str, int] = {}
        self._last_tick: dict[str, int] = {}
        self._report_state: dict[str, dict[str, float]] = {}
        self._wake = asyncio.Event()
        self._high_water = -1
        ctx.listeners.append(self.device_changed)

    def device_changed(self, device_id: str, region: str) -> None:
        """Called after a command or online change: re-evaluate the device now."""
        self.schedule(device_id, region, self.ctx.clock.now_ms())
        self._wake.set()

    def schedule(self, device_id: str, region: str, due_ms: int) -> None:
        current = self._due.get(device_id)
        if current is not None and current <= due_ms:
            return
        self._due[device_id] = due_ms
        heapq.heappush(self._heap, (due_ms, device_id, region))

    async def _pick_up_new_devices(self) -> None:
        for device_id, region, created_ms in await self.ctx.store.all_device_ids(self._high_water):
            self._high_water = max(self._high_water, created_ms)
            if device_id not in self._last_tick:
                # Time before the runner saw the device (before a restart, say) is not simulated.
                self._last_tick[device_id] = self.ctx.clock.now_ms()
                self.schedule(device_id, region, self.ctx.clock.now_ms())

    async def _process(self, device_id: str, region: str, now: int) -> None:
        device = await self.ctx.store.get_device(device_id, region)
        if device is None:
            self._last_tick.pop(device_id, None)
            self._report_state.pop(device_id, None)
            return
        product = self.ctx.catalog.product(device.product_id)
        if product is None:
            return
        elapsed = max(0.0, (now - self._last_tick.get(device_id, now)) / 1000)
        self._last_tick[device_id] = now
        status: dict[str, Any] = device.status
        if device.online:
            changes = tick(product, status, elapsed, now, self._report_state.setdefault(device_id, {}), seed=device_id)
            if changes:
                await commands.report(self.ctx, device, changes, validate=False)
                status = {**status, **changes}
        due = next_due_s(product, status) if device.online else None
        if due is not None:
            self.schedule(device_id, region, now + max(1, int(due * 1000)))

    async def run_once(self) -> int:
        """Process everything due now; returns how many devices were processed."""
        now = self.ctx.clock.now_ms()
        due: list[tuple[str, str]] = []
        while self._heap and self._heap[0][0] <= now:
            due_ms, device_id, region = heapq.heappop(self._heap)
            if self._due.get(device_id) != due_ms:
                continue  # superseded by an earlier schedule
            del self._due[device_id]
            due.append((device_id, region))
        for start in range(0, len(due), CHUNK):
            results = await asyncio.gather(
                *(self._process(d, r, now) for d, r in due[start:start + CHUNK]), return_exceptions=True
            )
            for result in results:
                if isinstance(result, Exception):
                    log.warning("virtual device tick failed: %s", result)
        return len(due)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        next_poll = 0.0
        while True:
            if loop.time() >= next_poll:
                await self._pick_up_new_devices()
                next_poll = loop.time() + POLL_NEW_S
            await self.run_once()
            sleep = MAX_SLEEP_S
            if self._heap:
                sleep = min(sleep, max(0.0, (self._heap[0][0] - self.ctx.clock.now_ms()) / 1000))
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=max(sleep, 0.01))
