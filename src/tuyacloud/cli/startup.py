"""The checks ``tuyacloud serve`` makes before it starts, in this order, so that a start which cannot succeed fails
with one line before it has created anything or printed anything:

1. the data directory exists and is writable;
2. every listening socket (the OpenAPI port, ``--message-port``) is bound and listening;
3. the store opens and its schema is migrated (then it is closed again; the application opens its own).

Only then does the application start: it creates the console administrator (on the very first start) and the
banner prints that account's one-time password. A start that fails at any step above has created no account,
so the next good start creates it and prints the password then (see docs/cli.md).
"""

from __future__ import annotations

import asyncio
import socket

from tuyacloud import server
from tuyacloud.cli.common import open_checked
from tuyacloud.cli.failures import check_data_dir, listen_failure
from tuyacloud.settings import Settings


def prepare(settings: Settings) -> list[socket.socket]:
    """Run the checks; returns the bound sockets for the server to serve on."""
    check_data_dir(settings.data_dir)
    sockets = listen_all(settings)
    try:
        asyncio.run(_check_store(settings))
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def listen_all(settings: Settings) -> list[socket.socket]:
    sockets: list[socket.socket] = []
    for port in settings.listen_ports:
        try:
            sockets.append(server.listen(settings.host, port))
        except OSError as error:
            for sock in sockets:
                sock.close()
            raise listen_failure(error, settings.host, port) from None
    return sockets


async def _check_store(settings: Settings) -> None:
    store = await open_checked(settings)
    await store.close()
