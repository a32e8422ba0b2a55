"""The live-stream URLs ``stream/actions/allocate`` hands out: ``/live/{token}/index.m3u8`` (a live HLS playlist)
and ``/live/{token}/{n}.ts`` (its MPEG-TS segments). Unknown or expired URLs answer HTTP 404, as a media server
does; players do not read a Tuya envelope."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from tuyacloud.domain.context import Context
from tuyacloud.domain.devices import camera
from tuyacloud.errors import DataNotExist
from tuyacloud.media import testcard

PREFIX = "/live"
WINDOW = 3  # segments in the live playlist


def _current(played_ms: int) -> int:
    return played_ms // (testcard.SEGMENT_S * 1000)


def build_media_routes(ctx_of: Callable[[], Context]) -> list[Route]:
    async def index(request: Request) -> Response:
        try:
            _, played = await camera.playing(ctx_of(), request.path_params["token"], first_fetch=True)
        except DataNotExist as error:
            return PlainTextResponse(error.detail or "not found", status_code=404)
        last = _current(played)
        return Response(testcard.playlist(max(0, last - WINDOW + 1), last),
                        media_type="application/vnd.apple.mpegurl", headers={"Cache-Control": "no-cache"})

    async def segment(request: Request) -> Response:
        try:
            _, played = await camera.playing(ctx_of(), request.path_params["token"], first_fetch=False)
        except DataNotExist as error:
            return PlainTextResponse(error.detail or "not found", status_code=404)
        name = request.path_params["segment"]
        number = int(name[:-3]) if name.endswith(".ts") and name[:-3].isdigit() and len(name) < 16 else -1
        if number < 0:
            return PlainTextResponse("no such segment", status_code=404)
        if number > _current(played) + 1:
            return PlainTextResponse("this segment is not live yet", status_code=404)
        data = await asyncio.to_thread(testcard.segment, number)
        return Response(data, media_type="video/mp2t")

    return [Route(f"{PREFIX}/{{token}}/index.m3u8", index, methods=["GET"]),
            # one template for every segment, so metrics and access logs stay bounded (the token is masked there)
            Route(f"{PREFIX}/{{token}}/{{segment}}", segment, methods=["GET"])]
