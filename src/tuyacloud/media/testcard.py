"""A generated test picture as an H.264 video in MPEG-TS segments, the media an HLS live stream is made of.

Encoded with PyAV (FFmpeg's libraries with libx264, the ``camera`` extra): no video file is shipped. The picture
is colour bars with a bar sweeping across once per segment, so a viewer sees it is live. Every segment starts
with a key frame and carries presentation times that continue from the segment before, so a player joins at
any segment and plays on without a gap. Encoding one segment takes some tens of milliseconds; the last few
are cached, since every viewer of every virtual camera asks for the same ones.
"""

from __future__ import annotations

import functools
import importlib.util
import io

WIDTH, HEIGHT = 320, 180
FPS = 5
SEGMENT_S = 2
FRAMES = FPS * SEGMENT_S
# Colour bars (white, yellow, cyan, green, magenta, red, blue) as YUV (BT.601, limited range).
_BARS = ((235, 128, 128), (210, 16, 146), (170, 166, 16), (145, 54, 34), (106, 202, 222), (81, 90, 240),
         (41, 240, 110))


def available() -> bool:
    """Whether PyAV is installed (``pip install 'tuyacloud[camera]'``); checked without importing it."""
    return importlib.util.find_spec("av") is not None


def _planes(frame_no: int) -> tuple[bytes, bytes, bytes]:
    """Y, U and V planes of one picture: the bars, with a dark sweep bar at this frame's position."""
    bar_w = WIDTH // len(_BARS) + 1
    sweep = (frame_no % FRAMES) * WIDTH // FRAMES
    y_row = bytearray()
    u_row, v_row = bytearray(), bytearray()
    for x in range(WIDTH):
        yy, uu, vv = (16, 128, 128) if sweep <= x < sweep + 8 else _BARS[x // bar_w]
        y_row.append(yy)
        if x % 2 == 0:
            u_row.append(uu)
            v_row.append(vv)
    return bytes(y_row) * HEIGHT, bytes(u_row) * (HEIGHT // 2), bytes(v_row) * (HEIGHT // 2)


@functools.lru_cache(maxsize=8)
def segment(number: int) -> bytes:
    """MPEG-TS segment ``number`` (0, 1, ...): ``SEGMENT_S`` seconds of H.264 starting at ``number * SEGMENT_S``."""
    import av  # the camera extra; only imported when a stream is played

    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mpegts") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"preset": "ultrafast", "tune": "zerolatency"}
        stream.codec_context.gop_size = FRAMES
        for i in range(FRAMES):
            frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
            for plane, data in zip(frame.planes, _planes(i), strict=True):
                rows = plane.height
                if plane.line_size != plane.width:  # padded rows: copy row by row
                    pad = b"\x00" * (plane.line_size - plane.width)
                    data = b"".join(data[r * plane.width:(r + 1) * plane.width] + pad for r in range(rows))
                plane.update(data)
            frame.pts = number * FRAMES + i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buffer.getvalue()


def playlist(first: int, last: int) -> str:
    """A live HLS media playlist of segments ``first``..``last`` (a sliding window: no end marker)."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{SEGMENT_S}", f"#EXT-X-MEDIA-SEQUENCE:{first}"]
    for n in range(first, last + 1):
        lines += [f"#EXTINF:{SEGMENT_S:.3f},", f"{n}.ts"]
    return "\n".join(lines) + "\n"
