"""The message format on the wire: the reference's test vectors for the test helper's own
decryption and for the server's codec, the signature of every delivered message, ECB and GCM projects, and the
protocol-20 device events (online/offline, rename, delete, device added) with ``devId`` at both levels.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from support.pulsar import PulsarConsumer, Received, decrypt_ecb, decrypt_gcm, expected_sign, password_for
from support.server import CloudServer
from support.signed import SignedClient
from tuyacloud.messaging import codec

# --- the reference test vectors -----------------------------------------------------------------------
ACCESS_ID = "1KAD46OrT9HafiKdsXeg"
SECRET = "4OHBOnWOqaEC1mWXOpVL3yV50s0qGSRC"
PLAINTEXT = ('{"devId":"vdevo1","productKey":"pk1","dataId":"d1","status":[{"code":"switch_1","value":true,'
             '"t":1628229842692,"1":"true"}]}')
ECB_DATA = ("EOEPd0WgvUjpGkoY4XXMgYX+YxE+JnoBXC/beseZwEWYTpGtPfX4A2pV2akMHF35H4TCkp7pwsomwK7LUBTdsIR4OkvQx+OG5ndJx8Z5P"
            "GI9B6ZPo42NkokNuJnXIK3lOildw3+IKE61ykoh7h/db5luuLIxrbj6JTljHTfRlfA=")
GCM_DATA = ("AAECAwQFBgcICQoLwMbycNRTjWvoV0DmNjJxYBDCIBNJ24G3QHf2iHwjfIRo7BqgDyW8H3Qryn6HzgIx5pxQjnEYqbB3bSIcmZg+2wVEH"
            "qyqA0+c6rFNcMae7E3CKMoNZCxtlRQPdLG5LUGFoVMkCNwKs6F1imfA4nUn7qTQz68YmU8q0UUSXWY+ERqSUbCyoFqZdG4o7u8=")
NONCE = bytes.fromhex("000102030405060708090a0b")
ECB_SIGN = "7f9515136623ed21a7044702c0b4f0f2"
GCM_SIGN = "0a8679a39354c56be677264358c00b3a"
PASSWORD = "7e3ee9916b8f32b8"


def test_the_helper_reads_the_reference_vectors() -> None:
    assert len(PLAINTEXT) == 124
    assert decrypt_ecb(ECB_DATA, SECRET).decode() == PLAINTEXT
    assert decrypt_gcm(GCM_DATA, SECRET).decode() == PLAINTEXT
    assert base64.b64decode(GCM_DATA)[:12] == NONCE
    assert len(base64.b64decode(GCM_DATA)) == 12 + 124 + 16
    assert expected_sign({"data": ECB_DATA, "protocol": 4, "pv": "2.0", "t": 1628229843000}, SECRET) == ECB_SIGN
    assert expected_sign({"data": GCM_DATA, "protocol": 4, "pv": "2.0", "t": 1628229843000}, SECRET) == GCM_SIGN
    assert password_for(ACCESS_ID, SECRET) == PASSWORD


def test_the_server_codec_produces_the_reference_vectors() -> None:
    key = codec.message_key(SECRET)
    assert key == b"qaEC1mWXOpVL3yV5"
    assert codec.encrypt_ecb(PLAINTEXT.encode(), key) == ECB_DATA
    assert codec.encrypt_gcm(PLAINTEXT.encode(), key, NONCE) == GCM_DATA
    assert codec.decrypt_ecb(ECB_DATA, key).decode() == PLAINTEXT
    assert codec.decrypt_gcm(GCM_DATA, key).decode() == PLAINTEXT
    fields = {"data": ECB_DATA, "protocol": 4, "pv": "2.0", "t": 1628229843000}
    assert codec.sign(fields, SECRET) == ECB_SIGN
    assert codec.sign({**fields, "data": GCM_DATA}, SECRET) == GCM_SIGN
    assert codec.ws_password(ACCESS_ID, SECRET) == PASSWORD
    # A whole message: pure ASCII JSON, sign over every other field; GCM adds encryptVersion v2.
    for encryption in (codec.ECB, codec.GCM):
        raw = codec.tuya_message(4, json.loads(PLAINTEXT), SECRET, encryption, 1628229843000)
        message = json.loads(raw.decode("ascii"))
        assert message["sign"] == expected_sign(message, SECRET)
        assert (message["protocol"], message["pv"], message["t"]) == (4, "2.0", 1628229843000)
        assert ("encryptVersion" in message) == (encryption == codec.GCM)
        assert list(message) == sorted(message), "fields in key order, as before the message was written out"
        decrypt = decrypt_gcm if encryption == codec.GCM else decrypt_ecb
        assert json.loads(decrypt(message["data"], SECRET)) == json.loads(PLAINTEXT)


def test_publish_time_is_pulsars_text_whatever_second_it_falls_in() -> None:
    assert codec.publish_time(1628258643123) == "2021-08-06T14:04:03.123Z"
    assert codec.publish_time(1628258643000) == "2021-08-06T14:04:03.000Z"
    assert codec.publish_time(1628258643999) == "2021-08-06T14:04:03.999Z"
    assert codec.publish_time(1628258644007) == "2021-08-06T14:04:04.007Z"  # the next second, after a kept one
    assert codec.publish_time(0) == "1970-01-01T00:00:00.000Z"


# --- delivered messages -------------------------------------------------------------------------------------
def _check_envelope(m: Received, secret: str, em: str) -> None:
    assert m.em == em
    assert set(m.frame) >= {"messageId", "payload", "properties", "publishTime", "redeliveryCount", "key"}
    assert m.frame["properties"].get("tid")
    assert m.frame["key"] == m.data["devId"]
    assert m.message["pv"] == "2.0" and isinstance(m.message["t"], int) and len(str(m.message["t"])) == 13
    assert len(m.message["sign"]) == 32 and m.message["sign"] == m.message["sign"].lower()
    assert m.message["sign"] == expected_sign(m.message, secret), "the message sign does not verify"


def _command(api: SignedClient, device_id: str, code: str, value: Any) -> None:
    body = api.post(f"/v1.0/devices/{device_id}/commands", {"commands": [{"code": code, "value": value}]})
    assert body["success"] is True, body


@pytest.mark.parametrize("encryption", ["aes_ecb", "aes_gcm"])
def test_status_report_is_encrypted_and_signed_as_the_project_chose(cloud: CloudServer, encryption: str) -> None:
    project = cloud.control("POST", "/projects", {"name": f"msg {encryption}", "region": "us",
                                                  "message_encryption": encryption})
    assert project["message_encryption"] == encryption
    access_id, secret = project["access_id"], project["access_secret"]
    added = cloud.add_devices(access_id, "dj")[0]
    light, product_id = added["id"], added["product_id"]
    api = SignedClient(cloud.url, access_id, secret)
    assert api.connect()["success"]
    consumer = PulsarConsumer(cloud.port, access_id, secret, ack_timeout_ms=30_000, auto_ack=True)
    try:
        consumer.connect()
        bind = consumer.get()
        assert bind.protocol == 20 and bind.data["bizCode"] == "bindUser"
        _command(api, light, "temp_value_v2", 321)
        report = consumer.get()
        _check_envelope(bind, secret, encryption)
        _check_envelope(report, secret, encryption)
        assert report.protocol == 4
        assert report.data["devId"] == light and report.data["productKey"] == product_id
        assert isinstance(report.data["dataId"], str) and report.data["dataId"]
        item = next(i for i in report.data["status"] if i["code"] == "temp_value_v2")
        assert item["value"] == 321 and isinstance(item["t"], int) and item["23"] == "321"
        blob = base64.b64decode(report.message["data"])
        if encryption == "aes_gcm":
            assert report.message.get("encryptVersion") == "v2"
            assert len(blob) == 12 + len(report.data_text.encode()) + 16  # nonce || ciphertext || tag
            with pytest.raises((AssertionError, ValueError, UnicodeDecodeError)):  # not ECB
                decrypt_ecb(report.message["data"], secret)
        else:
            assert "encryptVersion" not in report.message
            assert len(blob) % 16 == 0 and len(blob) > len(report.data_text.encode())
        assert consumer.errors == []
    finally:
        consumer.close()


def test_device_events_have_dev_id_at_both_levels_and_their_biz_data(cloud: CloudServer) -> None:
    project = cloud.create_project(name="msg events")
    access_id, secret = project["access_id"], project["access_secret"]
    api = SignedClient(cloud.url, access_id, secret)
    assert api.connect()["success"]
    consumer = PulsarConsumer(cloud.port, access_id, secret, ack_timeout_ms=30_000, auto_ack=True)
    try:
        consumer.connect()
        added = cloud.add_devices(access_id, "dj")[0]
        device_id, product_id = added["id"], added["product_id"]
        cloud.control("POST", f"/devices/{device_id}/online", {"online": False})
        cloud.control("POST", f"/devices/{device_id}/online", {"online": True})
        assert api.request("PUT", f"/v1.0/devices/{device_id}", json={"name": "Renamed lamp"})["success"]
        assert api.request("DELETE", f"/v1.0/devices/{device_id}")["success"]
        events = consumer.get_many(5, timeout=10)
        assert [e.data["bizCode"] for e in events] == ["bindUser", "offline", "online", "nameUpdate", "delete"]
        for e in events:
            _check_envelope(e, secret, "aes_ecb")
            assert e.protocol == 20
            assert e.data["devId"] == device_id and e.data["bizData"]["devId"] == device_id
            assert e.data["productKey"] == product_id
            assert isinstance(e.data["ts"], int) and len(str(e.data["ts"])) == 13
        bind, offline, online, renamed, deleted = (e.data["bizData"] for e in events)
        assert bind["uid"] == project["uid"] and bind["ownerId"] == project["uid"] and "uuid" in bind
        assert isinstance(offline["time"], int) and isinstance(online["time"], int)
        assert online["time"] >= offline["time"]
        assert renamed["name"] == "Renamed lamp" and renamed["uid"] == project["uid"]
        assert deleted["ownerId"] == project["uid"]
        assert consumer.quiet(0.3) == []
        assert consumer.errors == []
    finally:
        consumer.close()
