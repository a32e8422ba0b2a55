"""The broker's packet reader hands amqtt every packet byte for byte, and takes the PUBACKs off the stream only
when its connection has a PUBACK handler, however the bytes arrive (one at a time, all at once, split anywhere)."""

from __future__ import annotations

import asyncio
import random

import pytest
from amqtt.adapters import StreamReaderAdapter
from amqtt.errors import NoDataError
from amqtt.mqtt import packet_class
from amqtt.mqtt.packet import MQTTFixedHeader
from amqtt.mqtt.pingreq import PingReqPacket
from amqtt.mqtt.puback import PubackPacket
from amqtt.mqtt.subscribe import SubscribePacket
from amqtt.mqtt.unsubscribe import UnsubscribePacket

from tuyacloud.messaging.mqtt.reader import PacketReader


def _stream() -> tuple[list[bytes], list[int], bytes]:
    """Packets a client sends: PUBACKs between others (a SUBSCRIBE long enough for a 2-byte remaining length)."""
    others = [
        PingReqPacket().to_bytes(),
        SubscribePacket.build([("cloud/token/in/" + "t" * 200, 1)], 7).to_bytes(),
        UnsubscribePacket.build(["a/b"], 8).to_bytes(),
    ]
    order: list[bytes | int] = [1, 2, others[0], 3, others[1], 65_535, 256, others[2], 4]
    stream = b"".join(PubackPacket.build(x).to_bytes() if isinstance(x, int) else x for x in order)
    return others, [x for x in order if isinstance(x, int)], stream


async def _read_all(reader: PacketReader) -> list[bytes]:
    """What amqtt's reader loop reads: a fixed header, then the packet of its type, until the stream ends."""
    seen = []
    while (header := await MQTTFixedHeader.from_stream(reader)) is not None:
        packet = await packet_class(header).from_stream(reader, fixed_header=header)
        seen.append(packet.to_bytes())
    return seen


@pytest.mark.parametrize("split", ["whole", "bytes", "random"])
@pytest.mark.parametrize("handled", [True, False])
def test_amqtt_reads_every_packet_and_pubacks_go_to_the_handler(split: str, handled: bool) -> None:
    others, ids, stream = _stream()

    async def run() -> tuple[list[bytes], list[int]]:
        stream_reader = asyncio.StreamReader()
        reader = PacketReader(stream_reader)
        acked: list[int] = []
        if handled:
            reader.on_puback = acked.append
        reading = asyncio.create_task(_read_all(reader))
        chunks: list[bytes]
        if split == "whole":
            chunks = [stream]
        elif split == "bytes":
            chunks = [stream[i:i + 1] for i in range(len(stream))]
        else:
            rng = random.Random(7)
            cuts = sorted(rng.sample(range(1, len(stream)), 12))
            chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
        for chunk in chunks:
            stream_reader.feed_data(chunk)
            await asyncio.sleep(0)
        stream_reader.feed_eof()
        return await asyncio.wait_for(reading, 5), acked

    seen, acked = asyncio.run(run())
    if handled:
        assert seen == others
        assert acked == ids
    else:  # no handler: amqtt reads the PUBACKs too, in place
        assert [p for p in seen if p[0] != 0x40] == others
        assert [int.from_bytes(p[2:4], "big") for p in seen if p[0] == 0x40] == ids
        assert acked == []


def test_a_stream_that_ends_inside_a_packet_reads_as_with_amqtts_own_adapter() -> None:
    async def run(make: type) -> tuple[list[bytes], str]:
        stream_reader = asyncio.StreamReader()
        reader = make(stream_reader)
        if isinstance(reader, PacketReader):
            reader.on_puback = lambda _: None
        stream_reader.feed_data(PingReqPacket().to_bytes() + PubackPacket.build(9).to_bytes()[:3])
        stream_reader.feed_eof()
        seen: list[bytes] = []
        try:
            while (header := await MQTTFixedHeader.from_stream(reader)) is not None:
                seen.append((await packet_class(header).from_stream(reader, fixed_header=header)).to_bytes())
        except NoDataError as error:
            return seen, type(error).__name__
        return seen, "end"

    assert asyncio.run(run(PacketReader)) == asyncio.run(run(StreamReaderAdapter)) == (
        [PingReqPacket().to_bytes()], "NoDataError")


def test_thousands_of_pubacks_in_one_read_all_reach_the_handler_in_order() -> None:
    ids = [i % 65_535 + 1 for i in range(16_000)]

    async def run() -> tuple[list[bytes], list[int]]:
        stream_reader = asyncio.StreamReader()
        reader = PacketReader(stream_reader)
        acked: list[int] = []
        reader.on_puback = acked.append
        stream_reader.feed_data(b"".join(PubackPacket.build(i).to_bytes() for i in ids) + PingReqPacket().to_bytes())
        stream_reader.feed_eof()
        return await asyncio.wait_for(_read_all(reader), 10), acked

    seen, acked = asyncio.run(run())
    assert seen == [PingReqPacket().to_bytes()]
    assert acked == ids
