"""The embedded broker's connection edge: what a connection must get right before amqtt treats it as a client.

amqtt 0.12 takes any TCP connection and waits for its CONNECT for as long as the client likes, reads packets of any
size (up to MQTT's 256 MB), drops or takes over the session of the client id a CONNECT names *before* it
authenticates it, and logs every broken connection. An open-hub link sends a CONNECT, a SUBSCRIBE or two, PUBACKs
and PINGREQs, all small; anything else at this edge is a broken or hostile client. So, per connection:

- it is counted in the server's connection limits (``--max-connections``, ``--max-connections-per-address``,
  the HTTP edge's :class:`~tuyacloud.connections.ConnectionGuard`, handed in as a :class:`Counter`); over either,
  it is closed at once, before a byte is read;
- its CONNECT must be complete within ``connect_timeout_s`` of the connection's start;
- its CONNECT is authenticated before amqtt looks at the session it names: a refused one (CONNACK 5) is closed
  without touching any session, so a wrong password never disconnects or unsubscribes the connected holder of a
  client id;
- a packet larger than ``max_packet`` (its length is in its fixed header: refused before it is buffered) closes the
  connection, as does a malformed remaining length;
- each refusal is logged once per client address and kind per minute (:class:`RefusalLog`); the rest are counted
  and summed up in one line when the minute is over, so a flood cannot fill the log.

The broker (``broker.py``) runs this in place of amqtt's own ``_client_connected``; the session handling after a
CONNECT is authenticated is amqtt's own, unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

log = logging.getLogger("tuyacloud.mqtt")

CONNECT_TIMEOUT_S = 5.0
MAX_PACKET = 65536  # bytes after the fixed header: a CONNECT, a SUBSCRIBE of tens of topics, PUBACKs
FOLD_WINDOW_S = 60.0
MAX_FOLDED_KEYS = 4096  # (address, kind) pairs remembered; past it, new addresses share one line per kind
OTHER_ADDRESSES = "other addresses"

# The kinds of refusal (what the log and the tests name)
OVER_LIMIT = "over the connection limits"
NO_CONNECT = "no CONNECT in time"
BAD_CONNECT = "not a valid MQTT 3.1.1 CONNECT"
NOT_AUTHORISED = "not authorised"
TOO_LARGE = "packet too large"
MALFORMED = "malformed packet"


class Counter(Protocol):
    """What the edge needs of the server's connection guard (tuyacloud/connections.py's ConnectionGuard)."""

    def admit(self, address: str, now: float) -> str | None: ...

    def release(self, address: str) -> None: ...


@dataclass
class RefusalLog:
    """Logs the first refusal of each (client address, kind) in a window of ``window_s`` seconds and counts the
    others, which one line sums up once the window is over (:meth:`flush`, called every few seconds, or the next
    refusal of the same pair). At most ``max_keys`` pairs are remembered: past that, refusals from addresses not yet
    seen share one pair per kind, so a flood from many addresses costs a bounded dictionary and a line a minute."""

    logger: logging.Logger = log
    window_s: float = FOLD_WINDOW_S
    max_keys: int = MAX_FOLDED_KEYS
    clock: Callable[[], float] = time.monotonic
    logged: int = 0  # refusals written to the log one by one
    folded: int = 0  # refusals counted into a summary instead
    _seen: dict[tuple[str, str], list[float]] = field(default_factory=dict)  # pair -> [window start, folded count]

    def refused(self, address: str, kind: str, detail: str) -> None:
        now = self.clock()
        key = (address, kind)
        entry = self._seen.get(key)
        if entry is None and len(self._seen) >= self.max_keys:
            key = (OTHER_ADDRESSES, kind)
            entry = self._seen.get(key)
        if entry is not None:
            if now - entry[0] < self.window_s:
                entry[1] += 1
                self.folded += 1
                return
            self._summary(key, entry)
        self._seen[key] = [now, 0]
        self.logged += 1
        self.logger.info("MQTT connection from %s refused (%s): %s", key[0], kind, detail)

    def flush(self, everything: bool = False) -> None:
        """Sum up the windows that are over (``everything``: all of them, at a stop) and forget their pairs."""
        now = self.clock()
        for key, entry in list(self._seen.items()):
            if everything or now - entry[0] >= self.window_s:
                self._summary(key, entry)
                del self._seen[key]

    def _summary(self, key: tuple[str, str], entry: list[float]) -> None:
        if entry[1]:
            self.logger.info("MQTT: %d more connections from %s refused (%s) within %.0f s", entry[1], key[0], key[1],
                             self.window_s)
            entry[1] = 0


@dataclass
class MqttEdge:
    """The limits of the broker's connections and their shared refusal log; ``counter``: the server's connection
    guard (None: the broker's connections are not counted, e.g. an app run without tuyacloud's HTTP protocol)."""

    counter: Counter | None = None
    connect_timeout_s: float = CONNECT_TIMEOUT_S
    max_packet: int = MAX_PACKET
    refusals: RefusalLog = field(default_factory=RefusalLog)
    _flusher: asyncio.Task[None] | None = None

    def admit(self, address: str) -> str | None:
        if self.counter is None:
            return None
        return self.counter.admit(address, asyncio.get_running_loop().time())

    def release(self, address: str) -> None:
        if self.counter is not None:
            self.counter.release(address)

    def start(self) -> None:
        self._flusher = asyncio.create_task(self._flush_every(), name="mqtt-refusal-log")

    async def stop(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        self.refusals.flush(everything=True)

    async def _flush_every(self) -> None:
        while True:
            await asyncio.sleep(min(5.0, self.refusals.window_s / 4))
            self.refusals.flush()
