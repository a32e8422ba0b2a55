"""MQTT keep-alive for the embedded broker: a client silent for one and a half keep-alive periods is disconnected.

MQTT 3.1.1 (section 3.1.2.10) requires it, and it is what frees a link whose device or app vanished without a
DISCONNECT (power cut, NAT entry dropped, laptop lid closed): without it the half-open connection holds its session,
and the messages queued for it, until the kernel gives up on the socket, which can be hours.

amqtt 0.12 does not do it: its broker handler's read timeout does nothing, and with a keep-alive set its reader
waits for every packet through ``wait_for``, which costs a task and three loop turns per PUBACK (the broker clears
the session's keep-alive for that reason, see ``broker.py``). So the watch is ours and cheap on the hot path: each
connection's reader is swapped for one that stamps the loop's clock after every read (one attribute store), and
one task looks at all connections once a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

from amqtt.adapters import StreamReaderAdapter

log = logging.getLogger("tuyacloud.mqtt")

GRACE = 1.5  # the spec's factor: one and a half keep-alive periods without a packet
TICK_S = 1.0


class StampedReader(StreamReaderAdapter):
    """amqtt's stream adapter that remembers when it last read (loop time), i.e. when the client last sent."""

    def __init__(self, adapter: StreamReaderAdapter, now: float) -> None:
        super().__init__(adapter._reader)
        self.last = now

    async def read(self, n: int = -1) -> bytes:
        data = await (self._reader.read(n) if n == -1 else self._reader.readexactly(n))
        self.last = asyncio.get_running_loop().time()
        return data


class KeepAliveWatch:
    """Disconnects the broker's connections whose client went silent past its keep-alive.

    ``keep_alive(client_id)`` gives the period the client asked for in its CONNECT (seconds; 0: none), kept by the
    gate because the session's own copy is cleared; ``sessions()`` gives the broker's ``client id -> (session,
    handler)`` map. A connection whose reader is not amqtt's plain stream adapter (another transport) is left alone.
    """

    def __init__(self, keep_alive: Callable[[str], int], sessions: Callable[[], Mapping[str, tuple[Any, Any]]],
                 tick_s: float = TICK_S) -> None:
        self._keep_alive = keep_alive
        self._sessions = sessions
        self._tick_s = tick_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="mqtt-keep-alive")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._tick_s)
            try:
                await self.sweep()
            except Exception:  # one bad connection must not end the watch for all the others
                log.exception("the MQTT keep-alive sweep failed")

    async def sweep(self) -> None:
        now = asyncio.get_running_loop().time()
        silent = []
        for client_id, (session, handler) in list(self._sessions().items()):
            period = self._keep_alive(client_id)
            if period <= 0 or handler is None or not session.transitions.is_connected():
                continue
            reader = getattr(handler, "reader", None)
            if type(reader) is StreamReaderAdapter:  # first sight of this connection: stamp from now on
                handler.reader = StampedReader(reader, now)
            elif isinstance(reader, StampedReader) and now - reader.last > GRACE * period:
                silent.append((client_id, handler, now - reader.last, period))
        for client_id, handler, quiet, period in silent:
            log.info("MQTT client %s sent nothing for %.0f s (keep-alive %d s): disconnected", client_id, quiet, period)
            try:  # the socket closes; the broker's reader ends the session as for any dropped client
                await handler.writer.close()
            except Exception:
                log.exception("closing a silent MQTT connection failed")
