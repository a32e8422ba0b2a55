"""Camera live streams: ``POST /v1.0/devices/{device_id}/stream/actions/allocate`` and the URLs it hands out.

A virtual camera (category ``sp``) streams a generated test picture over HLS, served by this cloud itself. Each
allocation is a one-time URL, as on the platform, whose docs ask to start playing within 30 seconds: a URL not
opened within ``START_WINDOW_MS`` is refused, and an opened one plays for ``PLAY_MS`` (the platform publishes no
play limit; ten minutes here), after which a client allocates again, as Home Assistant's camera does when its
stream ends. Only these rows are stored; the media is generated (``tuyacloud/media/testcard.py``).
"""

from __future__ import annotations

from tuyacloud.domain.context import Context
from tuyacloud.domain.devices import devices
from tuyacloud.domain.devices.requests import AllocateStream
from tuyacloud.errors import DataNotExist, DeviceNotSupported, DeviceOffline, FunctionNotSupported, ParamIllegal
from tuyacloud.models import CameraStream, Project
from tuyacloud.store.base import Tx

CAMERA_CATEGORY = "sp"
STREAM_TYPES = ("rtsp", "hls", "flv", "rtmp")  # what the API takes (tuya-iot-py-sdk's Literal, Tuya's docs)
SERVED_TYPES = ("hls",)  # what this cloud serves
START_WINDOW_MS = 30_000
PLAY_MS = 600_000
KEEP_MS = 3_600_000  # rows are swept this long after they expire


def _stream_type(body: AllocateStream) -> str:
    if not body.type:
        raise ParamIllegal('the body must be {"type": "hls"} (or rtsp, flv, rtmp)')
    kind = body.type.strip().lower()
    if kind not in STREAM_TYPES:
        raise ParamIllegal(f"type must be one of {', '.join(STREAM_TYPES)}")
    return kind


async def allocate(ctx: Context, project: Project, device_id: str, body: AllocateStream,
                   media_ready: bool) -> CameraStream:
    """A new stream of the project's camera; ``media_ready`` says whether the server can encode video."""
    kind = _stream_type(body)
    device = await devices.get_owned(ctx, project, device_id)
    if device.category != CAMERA_CATEGORY:
        raise DeviceNotSupported(f"device {device_id!r} is not a camera (category {device.category!r}); "
                                 f"live streams are for category {CAMERA_CATEGORY!r}")
    if kind not in SERVED_TYPES:
        raise FunctionNotSupported(f"this cloud serves {', '.join(SERVED_TYPES)} live streams, not {kind}")
    if not media_ready:
        raise FunctionNotSupported("live video needs PyAV on the server: pip install 'tuyacloud[camera]'")
    if not device.online:
        raise DeviceOffline(f"camera {device_id} is offline")
    now = ctx.clock.now_ms()
    stream = CameraStream(ctx.ids.hex(32), device.id, device.access_id, device.region, kind, now, 0,
                          now + START_WINDOW_MS)

    async def work(tx: Tx) -> None:
        await tx.insert_stream(stream)

    await ctx.store.transaction(work)
    return stream


async def playing(ctx: Context, token: str, *, first_fetch: bool) -> tuple[CameraStream, int]:
    """The stream a URL names and how long it has played (ms), or DataNotExist once it is unknown or expired.
    ``first_fetch`` (the playlist) opens a stream not yet opened, within its start window."""
    stream = await ctx.store.get_stream(token)
    now = ctx.clock.now_ms()
    if stream is None or now >= stream.expires_ms:
        raise DataNotExist("this stream URL is unknown or has expired; allocate a new one")
    if stream.opened_ms == 0:
        if not first_fetch:
            raise DataNotExist("fetch the playlist first")
        expires = now + PLAY_MS

        async def work(tx: Tx) -> bool:
            return await tx.open_stream(token, now, expires)

        if await ctx.store.transaction(work):
            stream.opened_ms, stream.expires_ms = now, expires
        else:  # opened by a concurrent fetch
            reread = await ctx.store.get_stream(token)
            if reread is None:
                raise DataNotExist("this stream URL is unknown or has expired; allocate a new one")
            stream = reread
    return stream, now - stream.opened_ms


async def sweep(ctx: Context) -> int:
    """Forget streams that expired more than ``KEEP_MS`` ago (housekeeping)."""

    async def work(tx: Tx) -> int:
        return await tx.delete_streams_expired_before(ctx.clock.now_ms() - KEEP_MS)

    return await ctx.store.transaction(work)
