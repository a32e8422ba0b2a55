"""The MQTT open-hub's config calls: ``POST /v1.0/iot-03/open-hub/access-config`` (custom projects,
tuya-iot-py-sdk ``AuthType.CUSTOM``, homebridge) and ``POST /v1.0/open-hub/access/config`` (smart home). Both issue
a credential for the link the body names; how the client then connects is in the answer (docs/mqtt.md)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tuyacloud.domain.access import openhub
from tuyacloud.domain.access.requests import HubLink
from tuyacloud.domain.context import HubSettings
from tuyacloud.gateway.request import ApiRequest
from tuyacloud.gateway.router import RouteTable


async def access_config(req: ApiRequest) -> dict[str, Any]:
    settings = req.ctx.openhub or HubSettings()
    credential, password = await openhub.issue(req.ctx, req.project, req.token, req.parsed(HubLink), settings)
    host = urlsplit(req.base_url).hostname or "127.0.0.1"
    return openhub.config_result(credential, password, settings, host, req.ctx.clock.now_ms())


def register(table: RouteTable) -> None:
    c: dict[str, Any] = {"service": "device_status_notification", "area": "MQTT open-hub", "body": HubLink}
    table.add("POST", "/v1.0/iot-03/open-hub/access-config", access_config,
              summary="MQTT credentials for a link (custom projects): url, client_id, username, password, "
                      "expire_time, source_topic; messages encrypted as msg_encrypted_version asks", **c)
    table.add("POST", "/v1.0/open-hub/access/config", access_config,
              summary="MQTT credentials for a link (smart-home projects), as the custom-project call", **c)
