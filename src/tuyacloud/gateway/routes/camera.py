"""Camera live streams (``POST /v1.0/devices/{device_id}/stream/actions/allocate``): tuya-iot-py-sdk's
``get_device_stream_allocate`` and Home Assistant's camera entity call it."""

from __future__ import annotations

from typing import Any

from tuyacloud.domain.devices import camera
from tuyacloud.domain.devices.requests import AllocateStream
from tuyacloud.gateway.request import ApiRequest
from tuyacloud.gateway.router import RouteTable
from tuyacloud.media import testcard

PATH_PREFIX = "/live"  # served by tuyacloud/media/routes.py on the same host


async def allocate(req: ApiRequest) -> dict[str, Any]:
    stream = await camera.allocate(req.ctx, req.project, req.path_params["device_id"],
                                   req.parsed(AllocateStream),
                                   media_ready=testcard.available())
    return {"url": f"{req.base_url}{PATH_PREFIX}/{stream.token}/index.m3u8"}


def register(table: RouteTable) -> None:
    table.add("POST", "/v1.0/devices/{device_id}/stream/actions/allocate", allocate, service="iot_core",
              area="Camera streams", summary="Allocate a live-stream URL of a camera", body=AllocateStream)
