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
import sys

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
    _check_mqtt_port(settings, sockets)
    return sockets


def _check_mqtt_port(settings: Settings, sockets: list[socket.socket]) -> None:
    """An MQTT port asked for (``--mqtt-port``) must be free now, before anything is created or printed; the
    default one may be taken (the server then runs without the broker and says so). The embedded broker binds it
    itself when the application starts (in worker 0 only, with ``--workers``: the others are told here that there
    will be no broker when the default port is taken, so that no config call offers one)."""
    if not settings.mqtt_port or settings.mqtt_broker_url:
        return
    if settings.mqtt_port_default:
        if settings.workers > 1:
            try:
                server.listen(settings.host, settings.mqtt_port).close()
            except OSError as error:
                print(f"warning: MQTT open-hub off: port {settings.mqtt_port} is not available ({error}); choose one "
                      "with --mqtt-port", file=sys.stderr, flush=True)
                settings.mqtt_port = None
        return
    try:
        server.listen(settings.host, settings.mqtt_port).close()
    except OSError as error:
        for sock in sockets:
            sock.close()
        raise listen_failure(error, settings.host, settings.mqtt_port, "--mqtt-port") from None


async def _check_store(settings: Settings) -> None:
    store = await open_checked(settings)
    await store.close()
