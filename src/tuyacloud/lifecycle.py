"""How ``tuyacloud serve`` stops on SIGTERM (or Ctrl-C): drain, then exit 0 with one line.

uvicorn already does the draining part: it stops accepting connections, closes idle keep-alive connections and
WebSocket sessions (close code 1012, so consumers reconnect elsewhere), and waits for every request in flight to
be answered. Then the app's lifespan shutdown stops the background tasks and closes the store, which commits every
unit of work still queued (store/sqlite.py) before it returns: nothing a client was told succeeded is lost.

Two things are added here. :class:`DrainingServer` notes how many requests were in flight when the stop began, for
the last line. And uvicorn re-raises the signal it stopped on once it is done (so that a default handler kills the
process, status 143 for SIGTERM); :func:`absorb_stop_signals` installs handlers that do nothing as the ones
uvicorn restores before re-raising, so the process exits 0 after printing :func:`stopped_line`.
"""

from __future__ import annotations

import signal
import socket
from types import FrameType
from typing import Any

import uvicorn

# How long a stop waits for requests in flight before cancelling them (orchestrators usually kill after 30 s).
GRACEFUL_STOP_S = 25


class DrainingServer(uvicorn.Server):
    in_flight_at_stop = 0  # HTTP requests being answered when the stop began
    sessions_at_stop = 0  # WebSocket sessions open then (message consumers)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # Each request and each WebSocket session runs as one task; WebSocket connections have their own protocols.
        self.sessions_at_stop = sum(1 for c in self.server_state.connections if _is_websocket(c))
        self.in_flight_at_stop = max(0, len(self.server_state.tasks) - self.sessions_at_stop)
        await super().shutdown(sockets)


def _ignore(signum: int, frame: FrameType | None) -> None:
    """Nothing: uvicorn handles stop signals while it runs; this absorbs the copy it re-raises at the end."""


def absorb_stop_signals() -> None:
    """Call right before ``server.run()`` (which installs uvicorn's own handlers for its whole run)."""
    signal.signal(signal.SIGTERM, _ignore)
    signal.signal(signal.SIGINT, _ignore)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _is_websocket(connection: object) -> bool:
    """A WebSocket session: its protocol is (or extends, as tuyacloud/connections.py does) one of uvicorn's."""
    return any(".websockets." in klass.__module__ for klass in type(connection).__mro__)


def stopped_line(server: DrainingServer, state: Any) -> str:
    """The one line printed once everything is drained and closed."""
    commits = int(getattr(state, "drained_commits", 0))
    return (f"tuyacloud stopped: drained {_plural(server.in_flight_at_stop, 'in-flight request')}, "
            f"{_plural(server.sessions_at_stop, 'WebSocket session')} and {_plural(commits, 'queued commit')}")
