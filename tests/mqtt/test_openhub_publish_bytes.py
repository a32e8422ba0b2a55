"""What the open-hub channel writes per message, built by hand for speed: the PUBLISH packet must be amqtt's own
bytes, byte for byte, and the payload the general signed form, with a fresh GCM IV each time."""

from __future__ import annotations

import base64
import os

import orjson
import pytest
from amqtt.session import OutgoingApplicationMessage

from tuyacloud.messaging import codec as messaging_codec
from tuyacloud.messaging.mqtt import codec
from tuyacloud.messaging.mqtt.qos1 import publish_bytes


@pytest.mark.parametrize("size", [0, 1, 123, 124, 200, 16_379, 16_380, 20_000, 2_097_148, 2_097_149])
@pytest.mark.parametrize("packet_id", [1, 255, 256, 65_535])
def test_publish_bytes_are_amqtts_own(size: int, packet_id: int) -> None:
    # sizes around each step of the remaining-length encoding (1, 2, 3 and 4 bytes) with a 2-byte topic
    for topic in ("ab", "cloud/token/in/" + "x" * 40):
        payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
        expected = OutgoingApplicationMessage(packet_id, topic, 1, payload, False).build_publish_packet().to_bytes()
        assert publish_bytes(topic.encode(), packet_id, payload) == expected


@pytest.mark.parametrize("version", ["1.0", "2.0"])
@pytest.mark.parametrize("protocol", [4, 20])
def test_the_written_out_payload_is_the_general_signed_form(version: str, protocol: int) -> None:
    key = "0123456789abcdef"
    plaintext = orjson.dumps({"devId": "d1", "status": [{"code": "switch_1", "value": True, "t": 1}]})
    t = 1_700_000_000_123
    made = orjson.loads(codec.payload(protocol, plaintext, key, version, t))
    fields = {"data": made["data"], "protocol": protocol, "pv": "2.0", "t": t}
    fields["sign"] = messaging_codec.sign(fields, key)
    assert made == fields and list(made) == sorted(fields)
    assert codec.decrypt(made["data"], key, version, t) == orjson.loads(plaintext)


def test_gcm_ivs_are_not_reused() -> None:
    key = "0123456789abcdef"
    seen = set()
    for _ in range(3 * 4096 // codec.IV_LENGTH):  # across several draws from the random source
        blob = base64.b64decode(codec.encrypt_v2(b"{}", key.encode(), 1))
        seen.add(blob[4:4 + codec.IV_LENGTH])
    assert len(seen) == 3 * 4096 // codec.IV_LENGTH


def test_a_forked_child_does_not_reuse_its_parents_ivs() -> None:
    """Server workers are forked: a child drawing from the pool its parent had started would repeat the parent's
    next IVs under the same keys."""
    key = b"0123456789abcdef"
    codec.encrypt_v2(b"{}", key, 1)  # the pool is filled now, and partly used
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next IVs, to the parent
        try:
            os.close(read)
            ivs = b"".join(base64.b64decode(codec.encrypt_v2(b"{}", key, 1))[4:4 + codec.IV_LENGTH] for _ in range(50))
            os.write(write, ivs)
        finally:
            os._exit(0)
    os.close(write)
    child = b""
    while chunk := os.read(read, 4096):
        child += chunk
    os.close(read)
    os.waitpid(pid, 0)
    parent = b"".join(base64.b64decode(codec.encrypt_v2(b"{}", key, 1))[4:4 + codec.IV_LENGTH] for _ in range(50))
    size = codec.IV_LENGTH
    assert len(child) == 50 * size
    def split(ivs: bytes) -> set[bytes]:
        return {ivs[i:i + size] for i in range(0, len(ivs), size)}

    assert not split(child) & split(parent)
