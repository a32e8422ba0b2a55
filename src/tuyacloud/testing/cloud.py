"""A real tuyacloud for tests: started in the test process on a free loopback port with a fresh data directory.

:class:`LocalCloud` runs the same app ``tuyacloud serve`` runs (uvicorn, the store, the message service, the
simulator) in a background thread, so clients under test talk HTTP and WebSocket to it exactly as they would to
Tuya. It is fast to start because nothing is built twice in a process: the schema is migrated once into a template
database (kept in the user's cache directory between runs), and each fresh cloud starts from a copy of it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from tuyacloud.testing.control import ControlClient

STATUS_REPORT = 4
DEVICE_EVENT = 20


@dataclass(frozen=True)
class VirtualDevice:
    """A virtual device the cloud created; ``info`` is its v1.0 device object (``local_key``, ``status``, ...)."""

    id: str
    name: str
    category: str
    product_id: str
    info: dict[str, Any] = field(repr=False)

    @classmethod
    def of(cls, info: dict[str, Any]) -> VirtualDevice:
        return cls(str(info["id"]), str(info.get("name", "")), str(info.get("category", "")),
                   str(info.get("product_id", "")), info)


@dataclass(frozen=True)
class Message:
    """One message of a project's topic, decrypted: ``protocol`` 4 is a status report, 20 a device event
    (``data["bizCode"]``: ``online``, ``offline``, ``nameUpdate``, ...)."""

    seq: int
    protocol: int
    device_id: str
    data: dict[str, Any]
    t: int

    @property
    def status(self) -> dict[str, Any]:
        """A status report's values by code (empty for other messages)."""
        return {item["code"]: item["value"] for item in self.data.get("status", []) if "code" in item}

    @property
    def biz_code(self) -> str:
        """A device event's kind (empty for status reports)."""
        return str(self.data.get("bizCode", ""))


class CloudProject:
    """One cloud project on a running cloud: the credentials a client needs and helpers scoped to the project."""

    def __init__(self, url: str, control: ControlClient, info: dict[str, Any]) -> None:
        self.url = url
        self.control = control
        self.info = info
        self.access_id: str = info["access_id"]
        self.access_secret: str = info["access_secret"]
        self.region: str = info["region"]
        self._seen = 0

    @property
    def base_url(self) -> str:
        return self.url

    @property
    def pulsar_url(self) -> str:
        """What ``TuyaOpenPulsar`` takes as its WebSocket endpoint."""
        return self.url.replace("http", "ws", 1) + "/"

    def add_device(self, category: str | None = None, *, name: str | None = None, product_id: str | None = None,
                   asset_id: str | None = None) -> VirtualDevice:
        """A virtual device of any catalog category (``dj`` light, ``cz`` plug, ``wsdcg`` sensor, ``cl`` curtain,
        ``kt`` air conditioner, ...) or of a given product; it behaves like a real one (docs: virtual devices)."""
        return self.add_devices(category, 1, name=name, product_id=product_id, asset_id=asset_id)[0]

    def add_devices(self, category: str | None = None, count: int = 1, *, name: str | None = None,
                    product_id: str | None = None, asset_id: str | None = None) -> list[VirtualDevice]:
        created = self.control.add_devices(self.access_id, category, count, product_id=product_id, name=name,
                                           asset_id=asset_id)
        return [VirtualDevice.of(info) for info in created]

    def messages(self, *, after: int = 0, device_id: str | None = None,
                 protocol: int | None = None) -> list[Message]:
        """The project's messages so far (oldest first), optionally only one device's or one protocol's."""
        found: list[Message] = []
        while True:
            page = [Message(m["seq"], m["protocol"], m["device_id"], m["data"], m["t"])
                    for m in self.control.messages(self.access_id, after=after)]
            found += page
            if len(page) < 1000:
                break
            after = page[-1].seq
        return [m for m in found if (device_id is None or m.device_id == device_id)
                and (protocol is None or m.protocol == protocol)]

    def new_messages(self, *, device_id: str | None = None, protocol: int | None = None) -> list[Message]:
        """The messages since the previous call of ``new_messages`` (all of them the first time)."""
        every = self.messages(after=self._seen)
        if every:
            self._seen = every[-1].seq
        return [m for m in every if (device_id is None or m.device_id == device_id)
                and (protocol is None or m.protocol == protocol)]

    def wait_for_message(self, match: Callable[[Message], bool] | None = None, *, device_id: str | None = None,
                         protocol: int | None = None, timeout: float = 5.0) -> Message:
        """The first message (from the oldest kept) that matches, waiting up to ``timeout`` seconds for one: for
        what the cloud sends on its own (the simulator's reports, timers, automations)."""
        deadline = time.monotonic() + timeout
        while True:
            for message in self.messages(device_id=device_id, protocol=protocol):
                if match is None or match(message):
                    return message
            if time.monotonic() > deadline:
                raise TimeoutError(f"no matching message in {timeout} s (device {device_id}, protocol {protocol})")
            time.sleep(0.05)

    def limit(self, plan: str = "trial", **figures: Any) -> dict[str, Any]:
        """Put the project under quotas (docs/quotas.md), e.g. ``limit(monthly_calls=10)`` to reach the call
        quota (``28841004``) in ten calls; ``limit("off")`` lifts them. Returns :meth:`quotas`."""
        return self.control.set_quotas(self.access_id, plan=plan, **figures)

    def quotas(self) -> dict[str, Any]:
        """The project's plan, quota month and use of each limit (``calls``, ``messages``, ``devices``)."""
        return self.control.quotas(self.access_id)

    def reset_quotas(self) -> dict[str, Any]:
        """The month's counts start again from zero: a client refused with ``28841004`` is served again."""
        return self.control.reset_quotas(self.access_id)

    def next_quota_month(self) -> dict[str, Any]:
        """The project's quota month moves on (fresh counts) without moving the cloud's clock."""
        return self.control.next_quota_month(self.access_id)

    def __repr__(self) -> str:
        return f"CloudProject({self.url!r}, access_id={self.access_id!r}, region={self.region!r})"


# --- the schema template: made once per process, copied for each fresh cloud ---------------------------------------
_template_lock = threading.Lock()
_template: list[tempfile.TemporaryDirectory[str]] = []
DB_FILE = "tuyacloud.db"
# Stored passwords (the console's first administrator, project and app users) are hashed at this cost unless a test
# asks for another: a test cloud protects nothing, and the server's cost (16384) would add ~70 ms to every start.
TEST_SCRYPT_N = 1 << 8
# A signed request's timestamp (the client's wall clock) is checked against the cloud's clock, which tests step by
# hours or days; the server's 900 s window would then refuse every call with 1013. A test of that window sets
# ``timestamp_window_s`` itself.
TEST_TIMESTAMP_WINDOW_S = 400 * 86_400


def _fresh_sqlite(data_dir: Path) -> None:
    """Put a database already at the newest schema into ``data_dir`` (the server's own schema check then finds
    nothing to do). The process's first fresh cloud makes a template from the schema file (store/schema/, about
    50 ms, no Alembic); every later one copies it, which takes a millisecond."""
    with _template_lock:
        if not _template:
            from tuyacloud.store import migrate

            folder = tempfile.TemporaryDirectory(prefix="tuyacloud-template-", dir=_memory_dir())
            migrate.upgrade(f"sqlite:///{Path(folder.name) / DB_FILE}")
            _template.append(folder)
        shutil.copyfile(Path(_template[0].name) / DB_FILE, data_dir / DB_FILE)


def _template_key() -> str:
    """What a database at the newest schema depends on: the migration scripts (and the Alembic environment running
    them), the schema files a new database is made from, and the package's version. Any change gives another key,
    so a template database kept under it (the tests' PostgreSQL template) is never stale."""
    from importlib import metadata

    from tuyacloud.store import migrate

    digest = hashlib.sha256()
    with contextlib.suppress(metadata.PackageNotFoundError):  # from a source tree: the scripts alone say it
        digest.update(metadata.version("tuyacloud").encode())
    scripts = [migrate.MIGRATIONS / "env.py", *sorted((migrate.MIGRATIONS / "versions").glob("*.py")),
               *sorted(migrate.SCHEMA.glob("*.sql"))]
    for script in scripts:
        digest.update(b"\0" + script.name.encode() + b"\0" + script.read_bytes())
    return digest.hexdigest()[:24]


def _memory_dir() -> str | None:
    """A RAM-backed directory when the system has one (Linux's /dev/shm): SQLite's many fsyncs while migrating or
    starting cost nothing there. None: the default temporary directory."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) else None


def _listening_socket(host: str, port: int) -> socket.socket:
    """Bound before the server starts, so the port is ours (no window in which another process can take it)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


class LocalCloud:
    """A tuyacloud on a free port with a fresh data directory and one fresh project, for one test or a session.

    ``url``, ``access_id`` and ``access_secret`` are what a client takes (``TuyaOpenAPI(cloud.url, cloud.access_id,
    cloud.access_secret)``); ``add_device`` creates virtual devices; ``control`` steps or freezes the clock, injects
    reports, takes devices offline and reads messages; ``new_project`` adds more projects.

    ``data_dir``: where its SQLite database lives (default: a temporary directory removed on stop); ``region``
    and ``method`` (``custom`` or ``smart_home``): the first project's; ``simulator``: virtual devices act on their
    own (curtains move, sensors report); ``database_url``: a PostgreSQL database to use instead of SQLite (it must
    be empty or a tuyacloud one); other keyword arguments set server settings such as ``token_ttl_s`` or
    ``timestamp_window_s``. Two defaults differ from ``tuyacloud serve``'s, for tests: the signature timestamp
    window is 400 days (so stepping the clock does not make the client's requests ``1013``) and passwords are hashed
    at a low scrypt cost.
    """

    def __init__(self, data_dir: str | Path | None = None, *, region: str = "us", method: str = "custom",
                 simulator: bool = True, database_url: str | None = None, host: str = "127.0.0.1", port: int = 0,
                 **settings: Any) -> None:
        from tuyacloud.settings import Settings

        known = {f.name for f in fields(Settings)}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise TypeError(f"unknown LocalCloud setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        self._own_dir = data_dir is None
        # made by start(), so a cloud never started leaves nothing behind
        self.data_dir = (Path(tempfile.gettempdir()) / f"tuyacloud-{secrets.token_hex(8)}" if data_dir is None
                         else Path(data_dir))
        self._host, self._port = host, port
        self._settings_args: dict[str, Any] = {
            "data_dir": self.data_dir, "database_url": database_url, "host": host, "default_region": region,
            "create_demo": False, "simulator": simulator, "password_scrypt_n": TEST_SCRYPT_N,
            "timestamp_window_s": TEST_TIMESTAMP_WINDOW_S, **settings}
        self._first_project = {"region": region, "method": method}
        self.admin_token = secrets.token_hex(20)
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._control: ControlClient | None = None
        self._project: CloudProject | None = None
        self.port = 0

    # --- life cycle -------------------------------------------------------------------------------------------------
    def start(self, timeout: float = 30.0) -> LocalCloud:
        """Start serving and return once the cloud answers; raises RuntimeError if it cannot start."""
        import uvicorn

        from tuyacloud.app import create_app
        from tuyacloud.coalescing import CoalescingHttpToolsProtocol
        from tuyacloud.settings import Settings

        if self._thread is not None:
            raise RuntimeError("this LocalCloud is already started")
        sock = None
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            if self._settings_args["database_url"] is None and not (self.data_dir / DB_FILE).exists():
                _fresh_sqlite(self.data_dir)
            sock = _listening_socket(self._host, self._port)
            self.port = int(sock.getsockname()[1])
            app = create_app(Settings(port=self.port, **self._settings_args), admin_token=self.admin_token)
            # log_config=None: leave the test process's logging alone; uvicorn's warnings and errors then reach the
            # root logger, which pytest captures and shows with a failing test.
            config = uvicorn.Config(app, http=CoalescingHttpToolsProtocol, lifespan="on", log_level="warning",
                                    access_log=False, log_config=None)
            self._server = uvicorn.Server(config)
        except BaseException:  # a bad setting (e.g. an unknown region) or a port taken: nothing left behind
            if sock is not None:
                sock.close()
            self.stop()
            raise
        self._thread = threading.Thread(target=self._serve, args=(self._server, sock), name=f"tuyacloud-{self.port}",
                                        daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                where = self.data_dir
                self.stop()
                raise RuntimeError(f"tuyacloud did not start (data dir {where}); its logged error says why")
            time.sleep(0.005)
        self._control = ControlClient(self.url, self.admin_token)
        try:
            self._project = self.new_project(name="Test project", **self._first_project)
        except BaseException:  # e.g. an unknown region: nothing keeps running
            self.stop()
            raise
        return self

    @staticmethod
    def _serve(server: Any, sock: socket.socket) -> None:
        try:
            server.run(sockets=[sock])
        except SystemExit:  # uvicorn's way to give up on a failed start-up, after logging why; start() reports it
            pass
        finally:
            sock.close()

    def stop(self) -> None:
        """Stop serving (in-flight requests finish) and remove the data directory if this cloud made it."""
        if self._control is not None:
            self._control.close()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=30)
        self._server = self._thread = None
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what a test uses -------------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The base URL of the OpenAPI (and of the control API, console and message service)."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    base_url = url

    @property
    def control(self) -> ControlClient:
        if self._control is None:
            raise RuntimeError("the cloud is not started")
        return self._control

    @property
    def project(self) -> CloudProject:
        """The fresh project the cloud was started with."""
        if self._project is None:
            raise RuntimeError("the cloud is not started")
        return self._project

    @property
    def access_id(self) -> str:
        return self.project.access_id

    @property
    def access_secret(self) -> str:
        return self.project.access_secret

    @property
    def region(self) -> str:
        return self.project.region

    @property
    def pulsar_url(self) -> str:
        return self.project.pulsar_url

    def new_project(self, name: str = "Test project", region: str = "us", method: str = "custom",
                    **options: Any) -> CloudProject:
        """Another project on this cloud (own credentials, devices and message topic)."""
        return CloudProject(self.url, self.control, self.control.create_project(name, region, method, **options))

    def add_device(self, category: str | None = None, **options: Any) -> VirtualDevice:
        """A virtual device in the first project; see :meth:`CloudProject.add_device`."""
        return self.project.add_device(category, **options)

    def add_devices(self, category: str | None = None, count: int = 1, **options: Any) -> list[VirtualDevice]:
        return self.project.add_devices(category, count, **options)

    def messages(self, **filters: Any) -> list[Message]:
        """The first project's messages, decrypted; see :meth:`CloudProject.messages`."""
        return self.project.messages(**filters)

    def new_messages(self, **filters: Any) -> list[Message]:
        return self.project.new_messages(**filters)

    def wait_for_message(self, match: Callable[[Message], bool] | None = None, **options: Any) -> Message:
        return self.project.wait_for_message(match, **options)

    def __repr__(self) -> str:
        return f"LocalCloud({self.url!r}, data_dir={str(self.data_dir)!r})"


@contextlib.contextmanager
def local_cloud(data_dir: str | Path | None = None, **options: Any) -> Iterator[LocalCloud]:
    """``with local_cloud() as cloud:`` a started :class:`LocalCloud`, stopped (and its data removed) on exit; for
    code outside pytest (unittest, scripts, notebooks). Takes the same arguments as :class:`LocalCloud`."""
    cloud = LocalCloud(data_dir, **options).start()
    try:
        yield cloud
    finally:
        cloud.stop()


__all__ = ["DEVICE_EVENT", "STATUS_REPORT", "CloudProject", "LocalCloud", "Message", "VirtualDevice", "local_cloud"]
