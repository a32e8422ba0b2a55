"""``tuyacloud``: serve the cloud and administer it from scripts."""

from __future__ import annotations

from pathlib import Path

import typer

from tuyacloud.cli import admin, apps, assets, devices, messages, projects
from tuyacloud.cli.common import DatabaseUrl, DataDir, settings_for

app = typer.Typer(help="A self-hosted IoT cloud that speaks the Tuya Cloud Development protocol.",
                  no_args_is_help=True, add_completion=False)
app.add_typer(projects.app, name="project")
app.add_typer(devices.app, name="device")
app.add_typer(messages.app, name="messages")
app.add_typer(assets.app, name="asset")
app.add_typer(apps.app, name="app")
app.add_typer(admin.app, name="admin")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port"),
    message_port: int = typer.Option(None, "--message-port", help="Also serve the message service on this port"),
    data_dir: Path = DataDir,
    database_url: str = DatabaseUrl,
    tls: bool = typer.Option(False, "--tls", help="HTTPS with a generated CA (printed) for HTTPS-only clients"),
    region: str = typer.Option("us", "--region", help="Data center of requests whose Host names none"),
    region_alias: list[str] = typer.Option(None, "--region-alias", help="HOST=REGION, e.g. eu.example.test=eu"),
    demo: bool = typer.Option(True, "--demo/--no-demo", help="Create the demo project on first start"),
    simulator: bool = typer.Option(True, "--simulator/--no-simulator", help="Run virtual-device behaviour"),
    timestamp_window: int = typer.Option(900, "--timestamp-window", help="Allowed clock skew of `t`, seconds"),
    token_ttl: int = typer.Option(7200, "--token-ttl", help="Access token lifetime, seconds"),
    public_url: str = typer.Option(None, "--public-url", help="Base URL clients use, if not host:port"),
    asset_max_depth: int = typer.Option(10, "--asset-max-depth", min=1, help="Levels of a custom project's asset tree"),
    asset_max_children: int = typer.Option(5000, "--asset-max-children", min=1, help="Sub-assets of one asset"),
    mqtt_port: int = typer.Option(None, "--mqtt-port", envvar="TUYACLOUD_MQTT_PORT", min=0, max=65535,
                                  help="MQTT open-hub broker port (default 1883, 8883 with --tls; 0: off)"),
    no_mqtt: bool = typer.Option(False, "--no-mqtt", help="Run without the MQTT open-hub broker"),
    mqtt_link_ttl: int = typer.Option(7200, "--mqtt-link-ttl", min=61,
                                      help="Lifetime of an open-hub credential, seconds (clients renew 60 s before)"),
    mqtt_host: str = typer.Option(None, "--mqtt-host", help="Host name config calls give clients for the broker"),
    mqtt_broker: str = typer.Option(None, "--mqtt-broker", envvar="TUYACLOUD_MQTT_BROKER",
                                    help="Use an external Mosquitto 2: mqtt://ADMIN:PASSWORD@HOST:PORT of its "
                                         "dynamic-security administrator, instead of the embedded broker"),
) -> None:
    """Run the cloud: OpenAPI, control API, web console and virtual devices in one process."""
    from tuyacloud.server import serve as run_server

    settings = settings_for(data_dir, database_url)
    aliases = {}
    for item in region_alias or []:
        host_name, _, code = item.partition("=")
        aliases[host_name.strip().lower()] = code.strip()
    settings.host, settings.port, settings.tls, settings.message_port = host, port, tls, message_port
    settings.default_region, settings.region_aliases = region, aliases
    settings.create_demo, settings.simulator = demo, simulator
    settings.timestamp_window_s, settings.token_ttl_s, settings.public_url = timestamp_window, token_ttl, public_url
    settings.asset_max_depth, settings.asset_max_children = asset_max_depth, asset_max_children
    settings.mqtt_port = None if no_mqtt else (mqtt_port if mqtt_port is not None else (8883 if tls else 1883))
    settings.mqtt_port_default = mqtt_port is None
    settings.mqtt_link_ttl_s, settings.mqtt_host = mqtt_link_ttl, mqtt_host
    settings.mqtt_broker_url = None if no_mqtt else mqtt_broker
    run_server(settings)


if __name__ == "__main__":
    app()
