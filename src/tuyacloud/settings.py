"""Run-time settings of one cloud instance: where data lives, which region a listener answers for, limits.

Settings are plain data passed to ``create_app``; nothing is read from the environment at import time, so tests
can build many differently configured apps in one process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def default_data_dir() -> Path:
    """``TUYACLOUD_DATA_DIR`` or ``./.tuyacloud``: a per-checkout default keeps demos self-contained."""
    return Path(os.environ.get("TUYACLOUD_DATA_DIR", ".tuyacloud")).resolve()


@dataclass
class Settings:
    data_dir: Path = field(default_factory=default_data_dir)
    database_url: str | None = None  # None: SQLite file in data_dir
    host: str = "127.0.0.1"
    port: int = 8000
    # A second listener for the message service, the way Tuya serves it on 8285 (same app, same data).
    message_port: int | None = None
    default_region: str = "us"
    # Extra host names (lower case, without port) that select a region, e.g. {"eu.localhost": "eu"}.
    region_aliases: dict[str, str] = field(default_factory=dict)
    timestamp_window_s: int = 900
    token_ttl_s: int = 7200
    # How long an access token stays usable after it was refreshed away. 0 (the platform's rule): invalid at
    # once. More lets parallel requests of one client that still carry the old token finish while another
    # thread refreshes.
    token_grace_s: int = 0
    # Custom projects: the asset tree's limits (levels below a top asset; children of one node) and the scrypt
    # cost of project users' stored password hashes.
    asset_max_depth: int = 10
    asset_max_children: int = 5000
    password_scrypt_n: int = 1 << 14
    tls: bool = False
    create_demo: bool = True
    simulator: bool = True
    usage_flush_s: float = 1.0
    # Opt-in quotas and limits (domain/projects/quotas.py): "off", or "trial" for every project without a plan
    # of its own; the trial's monthly call quota (None: the platform's figure).
    quotas: str = "off"
    quota_calls: int | None = None
    # Messages are kept until acknowledged or for this long, whichever comes first (Pulsar-style retention).
    message_retention_s: int = 7 * 86_400
    # The base URL clients should use (printed, and returned as platform_url on logins); derived if None.
    public_url: str | None = None
    # Console: the first administrator's password when no console account exists yet (None: a random one,
    # printed once by `serve`); session lifetime; lock-out after repeated failed logins.
    console_admin_password: str | None = None
    console_session_ttl_s: int = 12 * 3600
    console_lockout_failures: int = 5
    console_lockout_s: int = 15 * 60
    # Operations: one log line per HTTP request, and the log format (text, or one JSON object per line).
    access_log: bool = False
    log_format: str = "text"
    # ``serve --workers N``: N server processes on one PostgreSQL database share the listening sockets; ``worker`` is
    # this process's index among them (0 runs the embedded MQTT broker and prints the banner; tuyacloud/workers.py).
    workers: int = 1
    worker: int = 0

    @property
    def listen_ports(self) -> list[int]:
        """The OpenAPI port, then the message-service port if there is one."""
        return [self.port] + ([self.message_port] if self.message_port else [])
    # Connection hygiene (tuyacloud/connections.py, docs/limits.md): how long a request's head and body may take
    # to arrive, how long an idle keep-alive connection stays open, and how many connections the server keeps
    # (0: no limit but the process's file-descriptor limit), in total and per client address (0: no limit).
    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    keepalive_timeout_s: float = 5.0
    max_connections: int = 1000
    max_connections_per_address: int = 256
    # The MQTT open-hub's embedded broker: listening port (None or 0: no broker; `serve` defaults to 1883), how
    # long an issued credential lives, and the host name config calls put in the url (None: the host called).
    mqtt_port: int | None = None
    mqtt_link_ttl_s: int = 7200
    mqtt_host: str | None = None
    # The embedded broker's edge (messaging/mqtt/edge.py, docs/limits.md): how long a connection may take to send a
    # complete CONNECT, and the largest packet (its remaining length, bytes) a client may send.
    mqtt_connect_timeout_s: float = 5.0
    mqtt_max_packet: int = 65536
    # An external Mosquitto 2 instead of the embedded broker: mqtt://ADMIN:PASSWORD@HOST:PORT of its
    # dynamic-security administrator (several server processes then share that broker).
    mqtt_broker_url: str | None = None
    # The port is `serve`'s default rather than one asked for: if it is taken, run without the broker and say so
    # (a second server on one machine), instead of refusing to start.
    mqtt_port_default: bool = False

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'tuyacloud.db'}"
