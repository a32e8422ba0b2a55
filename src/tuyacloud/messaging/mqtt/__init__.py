"""The MQTT open-hub: the broker clients connect to and the channel that feeds it from the message log.

``start(ctx, settings)`` is the app's one hook: it starts the embedded broker when ``settings.mqtt_port`` is set and
tells the config calls how to reach it.

With ``serve --workers N`` only worker 0 runs the embedded broker (one port cannot be bound by two amqtt brokers,
and a client's persistent session must live in one broker): the other workers issue credentials as usual, which
worker 0's broker accepts and delivers to, since both read them and the message log from the one database. When
worker 0 dies the supervisor starts it again and the clients reconnect (tuya-iot-py-sdk and paho do on their own).
Several hosts scale out with an external Mosquitto (``--mqtt-broker``), which every worker and host uses alike.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from tuyacloud.domain.context import Context, HubSettings
from tuyacloud.domain.task_lease import TaskLease
from tuyacloud.messaging.mqtt.edge import Counter, MqttEdge
from tuyacloud.settings import Settings

log = logging.getLogger("tuyacloud.mqtt")

if TYPE_CHECKING:
    from tuyacloud.messaging.mqtt.broker import EmbeddedBroker
    from tuyacloud.messaging.mqtt.external import ExternalBroker


async def start(ctx: Context, settings: Settings, sweeps: TaskLease | None = None,
                counter: Counter | None = None) -> EmbeddedBroker | ExternalBroker | None:
    """The running broker (stop it with ``await broker.stop()``), or None when MQTT is switched off. ``sweeps``:
    the lease of the process that runs the cluster's sweeps (an external broker removes dead credentials' clients
    only while this process holds it; None: always). ``counter``: the server's connection guard, which counts the
    embedded broker's connections with the HTTP ones (None: they are not counted)."""
    if settings.mqtt_broker_url:
        from tuyacloud.messaging.mqtt.external import ExternalBroker

        external = ExternalBroker(ctx, settings.mqtt_broker_url, sweeps=sweeps)
        await external.start()
        ctx.openhub = HubSettings(enabled=True, port=external.port, tls=False, ttl_s=settings.mqtt_link_ttl_s,
                                  host=settings.mqtt_host or external.host, on_issue=external.provision)
        return external
    if not settings.mqtt_port:
        ctx.openhub = HubSettings(enabled=False)
        return None
    if settings.worker != 0:  # worker 0's broker serves every worker's clients
        ctx.openhub = HubSettings(enabled=True, port=settings.mqtt_port, tls=settings.tls,
                                  ttl_s=settings.mqtt_link_ttl_s, host=settings.mqtt_host)
        return None
    from tuyacloud.messaging.mqtt.broker import EmbeddedBroker  # amqtt is loaded only when MQTT is on

    certfile = keyfile = None
    if settings.tls:
        from tuyacloud.tlscert import ensure_certificates

        files = ensure_certificates(settings.data_dir / "tls")
        certfile, keyfile = str(files.cert), str(files.key)
    edge = MqttEdge(counter, settings.mqtt_connect_timeout_s, settings.mqtt_max_packet)
    broker = EmbeddedBroker(ctx, settings.host, settings.mqtt_port, certfile, keyfile, edge=edge)
    try:
        await broker.start()
    except Exception as error:
        if not settings.mqtt_port_default:
            raise
        log.warning("MQTT open-hub off: port %s is not available (%s); choose one with --mqtt-port",
                    settings.mqtt_port, error)
        ctx.openhub = HubSettings(enabled=False)
        return None
    ctx.openhub = HubSettings(enabled=True, port=settings.mqtt_port, tls=settings.tls,
                              ttl_s=settings.mqtt_link_ttl_s, host=settings.mqtt_host)
    return broker
