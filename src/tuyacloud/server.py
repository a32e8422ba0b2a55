"""Serve one cloud with uvicorn (httptools, uvloop, no per-request access log) and print how to reach it.

The listening sockets are bound before the application starts (``listen``), never by uvicorn after it: the
banner, printed when the application is ready, then only ever announces ports that are already ours, and a port
in use fails the start before the store is touched or the one-time console password is created and printed.
"""

from __future__ import annotations

import gc
import socket
import sys
from collections.abc import Callable

import uvicorn

from tuyacloud import lifecycle, logs
from tuyacloud.app import CloudState, create_app
from tuyacloud.connections import http_protocol
from tuyacloud.regions import REGIONS
from tuyacloud.settings import Settings

SWITCH_INTERVAL_S = 0.001  # how long a thread that wants the GIL waits before the holder must yield it


def banner(settings: Settings, state: CloudState, ca_file: str | None) -> str:
    scheme = "https" if settings.tls else "http"
    host = "localhost" if settings.tls and settings.host in ("127.0.0.1", "0.0.0.0") else settings.host
    url = settings.public_url or f"{scheme}://{host}:{settings.port}"
    lines = [
        f"tuyacloud is serving the Tuya OpenAPI at {url}  (default data center: {settings.default_region})",
        f"  data:         {settings.effective_database_url if settings.database_url else settings.data_dir}",
        f"  control API:  {url}/_tuyacloud/  (Authorization: Bearer {state.admin_token})",
        f"  OpenAPI doc:  {url}/openapi.json",
        f"  console:      {url}/console/",
        f"  messages:     {url.replace('http', 'ws', 1)}/ws/v2/consumer/persistent/<id>/out/event/<id>-sub",
    ]
    if settings.message_port:
        ws = f"{'wss' if settings.tls else 'ws'}://{host}:{settings.message_port}/"
        lines.append(f"  message port: {ws}  (the same service on its own port, like Tuya's 8285)")
    if settings.mqtt_broker_url:
        lines.append("  MQTT:         the external broker given with --mqtt-broker (open-hub credentials via its "
                     "dynamic security)")
    elif settings.mqtt_port and state.ctx is not None and getattr(state.ctx.openhub, "enabled", True) is False:
        # The default port was taken (a port asked for fails the start instead): no broker, and 1883 is not ours.
        lines.append(f"  MQTT:         off (port {settings.mqtt_port} is taken; choose one with --mqtt-port)")
    elif settings.mqtt_port:
        mqtt = f"{'ssl' if settings.tls else 'tcp'}://{settings.mqtt_host or host}:{settings.mqtt_port}"
        lines.append(f"  MQTT:         {mqtt}  (open-hub; clients get credentials from the access-config call)")
    if settings.workers > 1:
        lines.append(f"  workers:      {settings.workers} processes share these ports (one PostgreSQL database; "
                     "worker 0 runs the MQTT broker)")
    if settings.quotas != "off":
        calls = settings.quota_calls if settings.quota_calls is not None else "53909"
        lines.append(f"  quotas:       {settings.quotas} ({calls} calls a month, 50 devices, per-API limits a second;"
                     " see docs/quotas.md)")
    if ca_file:
        region = REGIONS[settings.default_region]
        lines.append(f"  TLS CA file:  {ca_file}  (trust it; certificate also names {region.openapi_host})")
    if state.first_admin_password:
        lines += [
            "",
            "Console administrator created (shown only this once; change it with `tuyacloud admin set-password`):",
            "  username: admin",
            f"  password: {state.first_admin_password}",
        ]
    if state.demo:
        p = state.demo.project
        lines += [
            "",
            f"Demo project '{p.name}' (custom development, data center {p.region}):",
            f"  Access ID:     {p.access_id}",
            f"  Access Secret: {p.access_secret}",
            "  Virtual devices:",
        ]
        lines += [f"    {d.id}  {d.category:<6} {d.name}" for d in state.demo.devices]
    return "\n".join(lines)


def serve(settings: Settings, sockets: list[socket.socket] | None = None) -> None:
    """Run until stopped, on ``sockets`` (already bound by ``tuyacloud serve``'s checks) or on sockets bound here
    for ``settings.listen_ports``; with ``settings.workers`` above 1, in that many processes (tuyacloud/workers.py)."""
    if sockets is None:
        sockets = [listen(settings.host, port) for port in settings.listen_ports]
    if settings.workers > 1:
        from tuyacloud import workers

        workers.run(settings, sockets, serve_worker)
        return
    code = serve_worker(settings, sockets)
    if code:
        sys.exit(code)


def serve_worker(settings: Settings, sockets: list[socket.socket], announce: bool = True,
                 started: Callable[[], None] | None = None) -> int:
    """One server process on the bound ``sockets`` until stopped; its exit status. ``announce``: print the banner
    (one worker of several does); ``started`` is called once the application is ready."""
    logs.configure(settings.log_format)  # text or JSON lines on stderr (docs/operations.md)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    ssl: dict[str, str] = {}
    ca_file = None
    if settings.tls:
        from tuyacloud.tlscert import (  # cryptography's X.509 layer: only a --tls server needs it
            ensure_certificates,
            missing_names,
        )

        files = ensure_certificates(settings.data_dir / "tls")
        ssl = {"ssl_certfile": str(files.cert), "ssl_keyfile": str(files.key)}
        ca_file = str(files.ca_cert)
        missing = missing_names(files)
        if missing and announce:
            print(f"warning: the certificate in {files.cert.parent} was made by an older tuyacloud and does not name "
                  f"{', '.join(missing)}; delete that directory to make a new CA and certificate (then trust the "
                  "new CA file)", file=sys.stderr, flush=True)

    def on_ready(state: CloudState) -> None:
        if announce or state.first_admin_password:  # a password made here is printed, whichever worker made it
            print(banner(settings, state, ca_file), flush=True)
        state.first_admin_password = None  # printed once; kept nowhere else
        # Everything built so far (modules, the catalog, the demo) lives as long as the process: move it out of
        # the collector's generations so full collections, which pause the event loop, only scan request-time
        # objects; and collect the young generation less often (most request objects die young anyway).
        gc.collect()
        gc.freeze()
        gc.set_threshold(10_000, 20, 20)
        # The SQLite commit thread needs the GIL twice per batch (to start the COMMIT, and to hand its outcome back
        # after the fsync). While the event loop is busy it waits up to the switch interval each time, and every
        # command and message of the batch waits with it: 1 ms instead of Python's 5 ms (measured in
        # docs/performance.md, session 6). Only threads that want the GIL are affected: the loop alone never is.
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        if started is not None:
            started()

    app = create_app(settings, on_ready=on_ready)
    protocol = http_protocol(settings, app.state.clock, app.state.ids)  # refusals answer on the app's clock
    app.state.cloud.guard = protocol.guard  # the MQTT broker's connections count in the same limits
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, http=protocol, loop="uvloop", access_log=False,
        log_level="warning", lifespan="on", proxy_headers=False, log_config=None,
        timeout_graceful_shutdown=lifecycle.GRACEFUL_STOP_S, **ssl,  # type: ignore[arg-type]
    )
    server = lifecycle.DrainingServer(config)
    # One server, one or two listening sockets: the OpenAPI port and the message-service port share everything.
    lifecycle.absorb_stop_signals()  # SIGTERM drains, then exits 0 (lifecycle.py)
    server.run(sockets=sockets)
    if not server.started:
        return 1
    prefix = f"worker {settings.worker}: " if settings.workers > 1 else ""
    print(prefix + lifecycle.stopped_line(server, app.state.cloud), flush=True)
    return 0


def listen(host: str, port: int) -> socket.socket:
    """Bind and listen now: connections queue until the server accepts them; OSError (EADDRINUSE...) if not."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except BaseException:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock
