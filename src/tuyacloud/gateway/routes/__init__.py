"""The one route table of the OpenAPI, assembled from one module per API area."""

from __future__ import annotations

from tuyacloud.gateway.router import RouteTable
from tuyacloud.gateway.routes import (
    app_users,
    assets,
    automations,
    camera,
    categories,
    device_lifecycle,
    devices_iot03,
    devices_v1,
    gateways,
    homes,
    infrared,
    logs,
    openhub,
    pairing,
    registration,
    scenes,
    things_v2,
    timers_v1,
    timers_v2,
    token,
    users,
)

AREAS = (token, devices_v1, devices_iot03, things_v2, logs, categories, assets, users, registration, app_users, homes,
         pairing, scenes, automations, timers_v1, timers_v2, openhub, infrared, camera,
         device_lifecycle, gateways)


def build_table() -> RouteTable:
    table = RouteTable()
    for area in AREAS:
        area.register(table)
    return table
