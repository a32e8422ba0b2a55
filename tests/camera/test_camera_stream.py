"""Live streams of virtual cameras: ``stream/actions/allocate`` through tuya-iot-py-sdk, and the URL it answers
really plays: a live HLS playlist whose MPEG-TS segments decode to H.264 pictures of the test card.

URLs are one-time, as on the platform: they must be opened within 30 s, then play for ten minutes.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import av
import pytest
from tuya_iot import AuthType, TuyaDeviceManager, TuyaOpenAPI, TuyaOpenMQ

from support import web
from support.custom import ok
from support.server import CloudServer
from support.signed import SignedClient
from support.smarthome import add_home_device, create_home, smart_home_project, sync_user
from tuyacloud.clock import Clock

TS_PACKET = 188


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    s = CloudServer(tmp_path_factory.mktemp("camera"), clock=Clock(), create_demo=False, simulator=False).start()
    yield s
    s.stop()


class World:
    def __init__(self, server: CloudServer) -> None:
        sh = smart_home_project(server, name="Cameras")
        self.server, self.client, self.project = server, sh.client, sh.project
        uid = sync_user(sh.client, sh.schema, "cam@example.com")
        home = create_home(sh.client, uid)
        self.camera = add_home_device(server, self.project["access_id"], uid, home, "sp")["id"]
        self.light = add_home_device(server, self.project["access_id"], uid, home, "dj")["id"]
        self.schema = sh.schema

    def sdk(self) -> TuyaDeviceManager:
        api = TuyaOpenAPI(self.server.url, self.project["access_id"], self.project["access_secret"],
                          AuthType.SMART_HOME)
        assert ok(api.connect("cam@example.com", "secret", "1", self.schema))
        return TuyaDeviceManager(api, TuyaOpenMQ(api))

    def allocate(self, device_id: str, body: Any) -> dict[str, Any]:
        return self.client.post(f"/v1.0/devices/{device_id}/stream/actions/allocate", body)


@pytest.fixture(scope="module")
def world(server: CloudServer) -> World:
    return World(server)


def _segments(playlist: str) -> list[str]:
    return [line for line in playlist.splitlines() if line and not line.startswith("#")]


def test_the_sdk_gets_an_hls_url_that_plays(world: World) -> None:
    url = world.sdk().get_device_stream_allocate(world.camera, "hls")
    assert url is not None and url.startswith(world.server.url) and url.endswith(".m3u8")
    with web.client(timeout=30) as http:
        listed = http.get(url)
        assert listed.status_code == 200 and listed.headers["content-type"].startswith("application/vnd.apple")
        assert listed.text.startswith("#EXTM3U\n") and "#EXT-X-TARGETDURATION:2" in listed.text
        assert "#EXT-X-ENDLIST" not in listed.text  # live
        names = _segments(listed.text)
        assert names == ["0.ts"]
        segment = http.get(url.rsplit("/", 1)[0] + "/" + names[0])
        assert segment.status_code == 200 and segment.headers["content-type"] == "video/mp2t"
    data = segment.content
    assert len(data) % TS_PACKET == 0 and all(data[i] == 0x47 for i in range(0, len(data), TS_PACKET))
    with av.open(io.BytesIO(data), format="mpegts") as media:
        video = media.streams.video[0]
        assert video.codec_context.name == "h264"
        frames = list(media.decode(video))
    assert len(frames) == 10 and (frames[0].width, frames[0].height) == (320, 180)
    assert frames[0].key_frame
    # the picture: colour bars, white at the left and blue at the right, and a black bar sweeping across
    # (8 px wide, 32 px further each frame: at x 160..167 in the sixth)
    luma = frames[5].to_ndarray(format="gray")
    assert luma[90, 20] > 200 and luma[90, 300] < 70 and luma[90, 164] < 40
    assert frames[0].to_ndarray(format="gray")[90, 164] > 60


def test_ffmpeg_plays_the_url_as_an_hls_client(world: World) -> None:
    """FFmpeg's own HLS demuxer (what Home Assistant's stream component uses) opens the URL and decodes frames."""
    url = str(ok(world.allocate(world.camera, {"type": "hls"}))["url"])
    with av.open(url, format="hls", timeout=30) as media:
        video = media.streams.video[0]
        frames = []
        for frame in media.decode(video):
            frames.append(frame)
            if len(frames) == 12:  # into the second segment
                break
    assert [(f.width, f.height) for f in frames] == [(320, 180)] * 12


def test_urls_expire_as_the_platform_says(world: World, server: CloudServer) -> None:
    def fresh() -> str:
        return str(ok(world.allocate(world.camera, {"type": "hls"}))["url"])

    with web.client(timeout=30) as http:
        late = fresh()
        server.clock.step(31_000)  # not opened within 30 s: refused
        assert http.get(late).status_code == 404
        url = fresh()
        base = url.rsplit("/", 1)[0]
        assert http.get(f"{base}/0.ts").status_code == 404  # the playlist opens the stream
        assert http.get(url).status_code == 200
        server.clock.step(9_000)
        later = http.get(url)
        assert _segments(later.text) == ["2.ts", "3.ts", "4.ts"]  # a sliding window of live segments
        assert http.get(f"{base}/4.ts").status_code == 200
        assert http.get(f"{base}/9.ts").status_code == 404  # not live yet
        assert http.get(f"{base}/x.ts").status_code == http.get(f"{base}/4.mp4").status_code == 404
        server.clock.step(600_000)  # ten minutes of play: the URL is spent
        assert http.get(url).status_code == 404 and http.get(f"{base}/5.ts").status_code == 404
        assert http.get(f"{server.url}/live/{'0' * 32}/index.m3u8").status_code == 404


def test_other_devices_and_types_answer_the_platform_codes(world: World, server: CloudServer) -> None:
    other = server.create_project(name="Cameras elsewhere")
    foreign = server.add_devices(other["access_id"], "sp")[0]["id"]
    for device_id, body, code in [
        (world.light, {"type": "hls"}, 2009),  # not a camera
        (world.camera, {"type": "rtsp"}, 2003),  # a protocol this cloud does not serve
        (world.camera, {"type": "webm"}, 1109),
        (world.camera, {}, 1109),
        (foreign, {"type": "hls"}, 1106),  # another project's camera
        ("vdevo00000000000000000", {"type": "hls"}, 2010),
    ]:
        answer = world.allocate(device_id, body)
        assert (answer["success"], answer["code"]) == (False, code), (device_id, body, answer)
    assert world.allocate(world.light, {"type": "hls"})["msg"] == "not support this device"
    server.control("POST", f"/devices/{world.camera}/online", {"online": False})
    try:
        answer = world.allocate(world.camera, {"type": "hls"})
        assert (answer["success"], answer["code"]) == (False, 2001)
    finally:
        server.control("POST", f"/devices/{world.camera}/online", {"online": True})
    # the SDK gives None for a refusal
    assert world.sdk().get_device_stream_allocate(world.light, "hls") is None


def test_a_project_token_allocates_too(world: World, server: CloudServer) -> None:
    project = server.create_project(name="Custom cameras")
    camera = server.add_devices(project["access_id"], "sp")[0]["id"]
    c = SignedClient(server.url, project["access_id"], project["access_secret"])
    assert c.connect()["success"]
    url = ok(c.post(f"/v1.0/devices/{camera}/stream/actions/allocate", {"type": "HLS"}))["url"]
    assert web.get(url, timeout=30).status_code == 200
