"""The embedded broker's reader of a client's packets, which ends the QoS 1 flows of PUBACKs without amqtt's reader.

amqtt's reader loop takes each packet through three awaited reads (the first byte, the remaining length, the packet
id), builds the packet objects, fires its "packet received" event and then starts a task per packet to handle it:
for a PUBACK, the task looks up the flow's waiter and resolves it. At 1,000 open-hub messages a second that is a
thousand tasks a second and most of what the broker costs per message (docs/performance.md, session 9).

:class:`PacketReader` is the connection's stream adapter from its first byte (the broker makes it instead of
amqtt's plain one): it reads what the socket has in one go, follows the packet boundaries (every packet's length is
in its fixed header), and, when a well-formed PUBACK (``0x40 0x02`` and a packet id) is at a boundary and the
connection has a PUBACK handler, hands its packet id to that handler instead of to amqtt; every other packet is
read by amqtt exactly as before, byte for byte. The handler (:mod:`qos1`) resolves the flow's waiter among the
handler's PUBACK waiters with a PUBACK packet, as amqtt's ``handle_puback`` does. Should amqtt ever read across a
boundary (it reads each packet's parts exactly), the reader stops looking at boundaries and only passes bytes on.

It also remembers when the client last sent something (``last``, loop time), which the keep-alive watch reads, and
refuses a packet whose remaining length is over ``max_packet`` or malformed (``edge.py``): as soon as its fixed header
is here, before its body is buffered, the reader calls ``on_refused(kind, detail)`` (which closes the connection)
and reads as if the stream had ended, so amqtt ends the connection as for any client that went away.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from amqtt.adapters import StreamReaderAdapter

from tuyacloud.messaging.mqtt.edge import MALFORMED, TOO_LARGE
from tuyacloud.messaging.mqtt.keepalive import StampedReader

CHUNK = 65536
_PUBACK = 0x40


class PacketReader(StampedReader):
    """amqtt's reader adapter over a StreamReader, buffered, that takes PUBACKs off the stream when asked to."""

    def __init__(self, reader: asyncio.StreamReader, max_packet: int = 0,
                 on_refused: Callable[[str, str], None] | None = None) -> None:
        StreamReaderAdapter.__init__(self, reader)
        self.max_packet = max_packet  # 0: no limit
        self.on_refused = on_refused
        self.last = asyncio.get_running_loop().time()
        self._buffer = b""
        self._left = 0  # bytes of the current packet amqtt has still to read (0: at a boundary)
        self._tracking = True
        self._eof = False
        self.on_puback: Callable[[int], None] | None = None  # set by the QoS 1 sender for its connections

    async def _fill(self) -> bool:
        """Read what the socket has (waiting for at least a byte); False at the end of the stream."""
        if self._eof:
            return False
        data = await self._reader.read(CHUNK)
        self.last = asyncio.get_running_loop().time()
        if not data:
            self._eof = True
            return False
        self._buffer += data
        return True

    async def _boundary(self) -> None:
        """At a boundary: take the PUBACKs in front, then note the length of the packet amqtt reads next."""
        while True:
            buffer = self._buffer
            handler = self.on_puback
            if handler is not None:  # the PUBACKs in front, passed by offset and the buffer cut once (a chunk may
                at = 0               # hold thousands: cutting it after each would copy the rest each time)
                while len(buffer) - at >= 4 and buffer[at] == _PUBACK and buffer[at + 1] == 2:
                    handler(int.from_bytes(buffer[at + 2:at + 4], "big"))
                    at += 4
                if at:
                    buffer = self._buffer = buffer[at:]
            header = _header(buffer)
            if header is None:  # not all of the fixed header yet
                if not await self._fill():
                    return
                continue
            head, size = header
            if head < 0:  # a malformed remaining length: MQTT closes the connection (amqtt would read on)
                self._refuse(MALFORMED, "a remaining length longer than 4 bytes")
                return
            if self.max_packet and size > self.max_packet:
                self._refuse(TOO_LARGE, f"a packet of {size} bytes, over the limit of {self.max_packet}")
                return
            if handler is not None and buffer[0] == _PUBACK and head == 2 and size == 2 and len(buffer) < 4:
                if not await self._fill():  # a PUBACK not all here yet
                    return
                continue
            self._left = head + size
            return

    @property
    def ended(self) -> bool:
        """The stream ended (the client closed its side, or a refusal ended it here)."""
        return self._eof

    def _refuse(self, kind: str, detail: str) -> None:
        """End the stream here: nothing more is read or handed to amqtt."""
        self._eof = True
        self._buffer = b""
        self._tracking = False
        if self.on_refused is not None:
            self.on_refused(kind, detail)

    async def read(self, n: int = -1) -> bytes:
        if self._tracking and self._left == 0 and not self._eof:
            await self._boundary()
        if n == -1:
            if not self._buffer:
                await self._fill()
            data, self._buffer = self._buffer, b""
            self._tracking = False  # amqtt does not read this way from a stream; if it does, stop tracking
            return data
        while len(self._buffer) < n:
            if not await self._fill():
                partial, self._buffer = self._buffer, b""
                raise asyncio.IncompleteReadError(partial, n)
        data, self._buffer = self._buffer[:n], self._buffer[n:]
        if self._tracking:
            if n > self._left:
                self._tracking = False
            else:
                self._left -= n
        return data


def _header(buffer: bytes) -> tuple[int, int] | None:
    """(length of the fixed header, remaining length) of the packet ``buffer`` starts with; None when the header
    is not all there yet; (-1, 0) when its remaining length runs past the four bytes MQTT allows."""
    size = 0
    for i in range(1, min(len(buffer), 5)):
        byte = buffer[i]
        size |= (byte & 0x7F) << (7 * (i - 1))
        if not byte & 0x80:
            return i + 1, size
    return (-1, 0) if len(buffer) >= 5 else None
