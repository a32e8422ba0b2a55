"""One socket write per connection per event-loop turn, instead of one per ``transport.write``.

uvicorn writes a response's head and body with two ``transport.write`` calls, and the message service writes one
WebSocket frame per message; uvloop sends each at once when its buffer is empty, so a signed command cost two
``send`` system calls and a round of deliveries one per message. On loopback a ``send`` also runs the receiver's
TCP path, which makes it one of the dearest things the server does per request (measured: the two head/body
writes were about 10% of the loop's time under a sustained command load, the frame writes another 3%).

:class:`CoalescingTransport` keeps what is written during one turn of the loop and hands it to the real
transport in one write at the start of the next turn (``call_soon``): nothing is reordered, nothing waits for
more than one turn, and ``close`` flushes first. :class:`CoalescingHttpToolsProtocol` installs it for every
connection uvicorn accepts; WebSocket connections upgraded from it inherit it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class CoalescingTransport:
    """Wraps an :class:`asyncio.Transport`: writes are joined per loop turn; everything else is passed through."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []
        self._scheduled = False
        # The transport's own methods, bound once: asked for on every request, through __getattr__ they cost a
        # failed lookup and a Python call each.
        self.is_closing = transport.is_closing
        self.get_extra_info = transport.get_extra_info
        self.pause_reading = transport.pause_reading
        self.resume_reading = transport.resume_reading

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        self._pending.append(bytes(data))
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self.flush)

    def write_now(self, data: bytes) -> None:
        """Write at once when nothing is waiting for the turn's flush (a whole answer made in one piece gains nothing
        from waiting: no ``call_soon``); after what is waiting otherwise, in order."""
        if self._pending:
            self.write(data)
        elif not self._transport.is_closing():
            self._transport.write(data)

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        self._scheduled = False
        if not self._pending:
            return
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._pending.clear()
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(len(chunk) for chunk in self._pending)

    def __getattr__(self, name: str) -> Any:  # get_extra_info, pause_reading, set_protocol, is_closing, ...
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol on a :class:`CoalescingTransport` (pass as ``uvicorn.Config(http=...)``)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]
