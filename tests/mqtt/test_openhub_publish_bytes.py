"""The direct QoS 1 path writes PUBLISH packets it frames itself: they must be amqtt's own bytes, byte for byte."""

from __future__ import annotations

import pytest
from amqtt.session import OutgoingApplicationMessage

from tuyacloud.messaging.mqtt.qos1 import publish_bytes


@pytest.mark.parametrize("size", [0, 1, 123, 124, 200, 16_379, 16_380, 20_000, 2_097_148, 2_097_149])
@pytest.mark.parametrize("packet_id", [1, 255, 256, 65_535])
def test_publish_bytes_are_amqtts_own(size: int, packet_id: int) -> None:
    # sizes around each step of the remaining-length encoding (1, 2, 3 and 4 bytes) with a 2-byte topic
    for topic in ("ab", "cloud/token/in/" + "x" * 40):
        payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
        expected = OutgoingApplicationMessage(packet_id, topic, 1, payload, False).build_publish_packet().to_bytes()
        assert publish_bytes(topic.encode(), packet_id, payload) == expected
