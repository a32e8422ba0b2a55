"""``tuyacloud``: serve the cloud and administer it from scripts.

Failures of every command are reported in one place (cli/failures.py: one line and a hint, JSON under
``--json``, never a traceback for a mistake the user can fix). Help is click's plain formatter, which wraps
instead of cutting at 80 columns.

The command groups (``project``, ``device``, ...) are loaded only when one of them is run or its help is asked
for (:data:`GROUPS`): together they bring in the domain, the store, the catalog and rich, about half a second of
CPU that ``tuyacloud --version``, ``--help`` and ``serve``'s option parsing do not need, and that a ``device``
command would otherwise pay for the seven other groups too.

This module, the groups' and cli/failures.py (whose ``check_database_url`` is an option callback) are the package's
only ones without ``from __future__ import annotations``: Typer builds every command of the root and of the group
run from its function's annotations (``typing.get_type_hints``, twice a command, and its option callbacks'), and
string annotations are compiled and evaluated again each time, some 230 compiles and 460 evaluations, ~8 ms of CPU,
in a ``project`` command.
"""


import importlib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
import typer.main
from typer.core import TyperCommand, TyperOption
from typer.models import TyperInfo

from tuyacloud.cli import coercion
from tuyacloud.cli.failures import EXIT_USAGE, CliFailure, CliGroup
from tuyacloud.cli.options import DatabaseUrl, DataDir, settings_for
from tuyacloud.regions import REGIONS

try:  # typer >= 0.2x carries its own copy of click; earlier releases use click itself
    from typer._click import Command, Context, HelpFormatter
except ImportError:  # pragma: no cover
    from click import Command, Context, HelpFormatter  # type: ignore[assignment,no-redef]


class LogFormat(StrEnum):
    text = "text"
    json = "json"


@dataclass(frozen=True)
class Group:
    """A command group: the module whose ``app`` it is, and the summary the root help shows for it without loading
    that module (the first sentence of the group's help; tests/cli/test_cli_help.py checks that they agree)."""

    module: str
    summary: str


GROUPS: dict[str, Group] = {
    "project": Group("tuyacloud.cli.projects", "Cloud projects."),
    "device": Group("tuyacloud.cli.devices", "Virtual devices."),
    "infrared": Group("tuyacloud.cli.infrared", "Remotes of virtual IR blasters (category qt)."),
    "messages": Group("tuyacloud.cli.messages", "Message service: subscriptions and MQTT links."),
    "asset": Group("tuyacloud.cli.assets", "Asset trees of custom projects."),
    "app": Group("tuyacloud.cli.apps", "Smart-home apps (schemas) and the projects they are linked to."),
    "admin": Group("tuyacloud.cli.admin", "Console accounts: who may log in to the web console."),
    "user": Group("tuyacloud.cli.users", "Project users of custom projects and their assets."),
}


class RootGroup(CliGroup):
    """The root command: ``serve`` and the options are its own; a group of :data:`GROUPS` is built from its module
    the first time it is looked up, and the command list of the root help shows the groups' summaries unloaded.
    Every command's options are converted by cli/coercion.py (no pydantic)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        coercion.install(self)

    def list_commands(self, ctx: Context) -> list[str]:
        return [*super().list_commands(ctx), *(name for name in GROUPS if name not in self.commands)]

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        if cmd_name not in self.commands and cmd_name in GROUPS:
            # As Typer builds a group added with ``add_typer``: the root's help and error settings apply to it.
            self.commands[cmd_name] = typer.main.get_group_from_info(
                TyperInfo(importlib.import_module(GROUPS[cmd_name].module).app, name=cmd_name),
                pretty_exceptions_short=app.pretty_exceptions_short, rich_markup_mode=app.rich_markup_mode,
                suggest_commands=app.suggest_commands)
            coercion.install(self.commands[cmd_name])
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: Context, formatter: HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            if name in self.commands:
                command = self.commands[name]
                if not command.hidden:
                    rows.append((name, command.get_short_help_str(formatter.width)))
            else:
                rows.append((name, GROUPS[name].summary))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


app = typer.Typer(cls=RootGroup, help="A self-hosted IoT cloud that speaks the Tuya Cloud Development protocol.",
                  no_args_is_help=True, add_completion=False, rich_markup_mode=None)

ENV_PREFIX = "TUYACLOUD_"


def package_version() -> str:
    from importlib import metadata  # here: reading the installed metadata costs ~40 ms that other commands skip

    try:
        return metadata.version("tuyacloud")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"tuyacloud {package_version()}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(False, "--version", callback=_show_version, is_eager=True,
                                 help="Show the version and exit."),
) -> None:
    """A self-hosted IoT cloud that speaks the Tuya Cloud Development protocol."""


def env_name(option: TyperOption) -> str:
    """``--message-port`` -> ``TUYACLOUD_MESSAGE_PORT``."""
    longest = max(option.opts, key=len)
    return ENV_PREFIX + longest.lstrip("-").replace("-", "_").upper()


class EnvCommand(TyperCommand):
    """A command whose every option can also be set by an environment variable named after it (see ``env_name``),
    so a container or a service unit configures ``serve`` without a command line; the command line wins."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if isinstance(param, TyperOption) and not param.envvar:
                param.envvar = env_name(param)
                param.show_envvar = True


def _region(value: str) -> str:
    if value not in REGIONS:
        raise typer.BadParameter(f"unknown data center {value!r}; known: {', '.join(REGIONS)}")
    return value


def _quota_plan(value: str) -> str:
    from tuyacloud.domain.projects.quotas import PLANS

    if value not in PLANS:
        raise typer.BadParameter(f"unknown quota plan {value!r}; known: {', '.join(PLANS)}")
    return value


def _aliases(values: list[str] | None) -> list[str]:
    for item in values or []:
        host, sep, code = item.partition("=")
        if not sep or not host.strip():
            raise typer.BadParameter(f"{item!r} is not HOST=REGION")
        _region(code.strip())
    return values or []


@app.command(cls=EnvCommand)
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (0.0.0.0: every interface)"),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="OpenAPI, control API, console, messages"),
    message_port: int = typer.Option(None, "--message-port", min=1, max=65535,
                                     help="Also serve the message service on this port"),
    data_dir: Path = DataDir,
    database_url: str = DatabaseUrl,
    tls: bool = typer.Option(False, "--tls", help="HTTPS with a generated CA (printed) for HTTPS-only clients"),
    region: str = typer.Option("us", "--region", callback=_region,
                               help="Data center of requests whose Host names none"),
    region_alias: list[str] = typer.Option(None, "--region-alias", callback=_aliases,
                                           help="HOST=REGION, e.g. eu.example.test=eu (repeat)"),
    demo: bool = typer.Option(True, "--demo/--no-demo", help="Create the demo project on first start"),
    simulator: bool = typer.Option(True, "--simulator/--no-simulator", help="Run virtual-device behaviour"),
    timestamp_window: int = typer.Option(900, "--timestamp-window", min=1, help="Allowed clock skew of `t`, s"),
    token_ttl: int = typer.Option(7200, "--token-ttl", min=1, help="Access token lifetime, seconds"),
    token_grace: int = typer.Option(0, "--token-grace", min=0, envvar="TUYACLOUD_TOKEN_GRACE",
                                    help="Seconds a refreshed-away access token still works (0: invalid at once, "
                                    "as on the platform)"),
    public_url: str = typer.Option(None, "--public-url", help="Base URL clients use, if not host:port"),
    quotas: str = typer.Option("off", "--quotas", callback=_quota_plan,
                               help="off, or trial: the trial edition's quotas and limits for every project "
                                    "without a plan of its own (docs/quotas.md)"),
    quota_calls: int = typer.Option(None, "--quota-calls", min=0,
                                    help="Monthly API calls of the trial plan (default 53909)"),
    asset_max_depth: int = typer.Option(10, "--asset-max-depth", min=1, help="Levels of an asset tree"),
    asset_max_children: int = typer.Option(5000, "--asset-max-children", min=1, help="Sub-assets of one asset"),
    access_log: bool = typer.Option(False, "--access-log/--no-access-log", envvar="TUYACLOUD_ACCESS_LOG",
                                    help="Log one line per HTTP request (never a secret)"),
    log_format: LogFormat = typer.Option(LogFormat.text, "--log-format", envvar="TUYACLOUD_LOG_FORMAT",
                                         case_sensitive=False, help="Logs on stderr: text, or json (one object "
                                         "per line)"),
    header_timeout: float = typer.Option(10.0, "--header-timeout", min=0.1, envvar="TUYACLOUD_HEADER_TIMEOUT",
                                         help="Seconds a request's head may take to arrive"),
    body_timeout: float = typer.Option(30.0, "--body-timeout", min=0.1, envvar="TUYACLOUD_BODY_TIMEOUT",
                                       help="Seconds a request's body may take to arrive after its head"),
    keepalive_timeout: float = typer.Option(5.0, "--keepalive-timeout", min=0.1, envvar="TUYACLOUD_KEEPALIVE_TIMEOUT",
                                            help="Seconds an idle keep-alive connection stays open"),
    max_connections: int = typer.Option(1000, "--max-connections", min=0, envvar="TUYACLOUD_MAX_CONNECTIONS",
                                        help="Open connections in total (0: up to the file-descriptor limit)"),
    max_connections_per_address: int = typer.Option(
        256, "--max-connections-per-address", min=0, envvar="TUYACLOUD_MAX_CONNECTIONS_PER_ADDRESS",
        help="Open connections from one client address (0: no limit; raise it behind a reverse proxy)"),
    mqtt_port: int = typer.Option(None, "--mqtt-port", envvar="TUYACLOUD_MQTT_PORT", min=0, max=65535,
                                  help="MQTT open-hub broker port (default 1883, 8883 with --tls; 0: off)"),
    no_mqtt: bool = typer.Option(False, "--no-mqtt", help="Run without the MQTT open-hub broker"),
    mqtt_link_ttl: int = typer.Option(7200, "--mqtt-link-ttl", min=61,
                                      help="Lifetime of an open-hub credential, seconds (clients renew 60 s before)"),
    mqtt_host: str = typer.Option(None, "--mqtt-host", help="Host name config calls give clients for the broker"),
    mqtt_connect_timeout: float = typer.Option(5.0, "--mqtt-connect-timeout", min=0.1,
                                               envvar="TUYACLOUD_MQTT_CONNECT_TIMEOUT",
                                               help="Seconds an MQTT connection may take to send its CONNECT"),
    mqtt_max_packet: int = typer.Option(65536, "--mqtt-max-packet", min=1024, envvar="TUYACLOUD_MQTT_MAX_PACKET",
                                        help="Largest MQTT packet a client may send, bytes (larger: closed)"),
    mqtt_broker: str = typer.Option(None, "--mqtt-broker", envvar="TUYACLOUD_MQTT_BROKER",
                                    help="Use an external Mosquitto 2: mqtt://ADMIN:PASSWORD@HOST:PORT of its "
                                         "dynamic-security administrator, instead of the embedded broker"),
    workers: int = typer.Option(1, "--workers", min=1, max=64, envvar="TUYACLOUD_WORKERS",
                                help="Server processes sharing the ports (PostgreSQL only; see docs/scaling.md)"),
) -> None:
    """Run the cloud. OpenAPI, control API, web console, message service and virtual devices in one process.

    Every option can also be set as an environment variable (shown with each option); see docs/cli.md.
    """
    from tuyacloud.cli import startup
    from tuyacloud.server import serve as run_server
    from tuyacloud.store.engine import is_postgres

    if message_port is not None and message_port == port:
        raise CliFailure("bad_usage", f"--message-port {message_port} is the same port as --port",
                         "leave --message-port out (the messages are on --port as well) or choose another port",
                         exit_code=EXIT_USAGE)
    settings = settings_for(data_dir, database_url)
    if workers > 1 and not is_postgres(settings.effective_database_url):
        raise CliFailure("bad_usage", f"--workers {workers} needs PostgreSQL; this server uses a SQLite file",
                         "SQLite has one writer and no notifications between processes, so extra workers would "
                         "only queue for its lock and deliver messages late: give --database-url postgresql://... "
                         "or leave --workers out", exit_code=EXIT_USAGE)
    aliases = {}
    for item in region_alias or []:
        host_name, _, code = item.partition("=")
        aliases[host_name.strip().lower()] = code.strip()
    settings.host, settings.port, settings.tls, settings.message_port = host, port, tls, message_port
    settings.default_region, settings.region_aliases = region, aliases
    settings.create_demo, settings.simulator = demo, simulator
    settings.timestamp_window_s, settings.token_ttl_s, settings.public_url = timestamp_window, token_ttl, public_url
    settings.token_grace_s = token_grace
    settings.quotas, settings.quota_calls = quotas, quota_calls
    settings.asset_max_depth, settings.asset_max_children = asset_max_depth, asset_max_children
    settings.mqtt_port = None if no_mqtt else (mqtt_port if mqtt_port is not None else (8883 if tls else 1883))
    settings.mqtt_port_default = mqtt_port is None
    settings.mqtt_link_ttl_s, settings.mqtt_host = mqtt_link_ttl, mqtt_host
    settings.mqtt_connect_timeout_s, settings.mqtt_max_packet = mqtt_connect_timeout, mqtt_max_packet
    settings.mqtt_broker_url = None if no_mqtt else mqtt_broker
    settings.header_timeout_s, settings.body_timeout_s = header_timeout, body_timeout
    settings.keepalive_timeout_s = keepalive_timeout
    settings.max_connections, settings.max_connections_per_address = max_connections, max_connections_per_address
    settings.access_log, settings.log_format = access_log, log_format.value
    settings.workers = workers
    run_server(settings, startup.prepare(settings))


if __name__ == "__main__":
    app()
