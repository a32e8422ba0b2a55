"""Project users: register, look up, modify, passwords, delete; the stored hash is scrypt, not the client's hex."""

from __future__ import annotations

import asyncio
from typing import Any

from support.custom import code, login, ok, register, sha
from support.server import CloudServer
from support.signed import SignedClient
from tuyacloud.store.engine import open_store


def test_user_lifecycle(client: SignedClient, project: dict[str, Any], cloud: CloudServer) -> None:
    c = client
    uid = register(c, "henry", "pw", nick_name="Hen")
    by_id = ok(c.get(f"/v1.0/iot-02/users/{uid}"))
    assert by_id["user_id"] == uid and by_id["user_name"] == "henry" and by_id["country_code"] == "1"
    by_name = ok(c.get("/v1.2/iot-02/users/henry"))
    assert by_name["user_id"] == uid and by_name["user_nick_name"] == "Hen"
    ok(c.request("PUT", f"/v1.0/iot-02/users/{uid}", json={"nick_name": "Henry"}))
    assert ok(c.get(f"/v1.0/iot-02/users/{uid}"))["nick_name"] == "Henry"
    ok(c.request("PUT", f"/v1.0/iot-02/users/{uid}", json={"user_id": uid, "old_password": sha("pw"),
                                                           "new_password": sha("pw2")}))
    assert code(c.request("POST", "/v1.0/iot-03/users/login", json={"username": "henry", "password": sha("pw")},
                          token="")) == 2401
    login(c, "henry", "pw2")
    ok(c.request("PUT", "/v1.0/iot-02/users/reset-password", json={"username": "henry", "new_password": sha("pw3")}))
    user = login(c, "henry", "pw3")
    assert ok(user.get("/v1.0/iot-03/users/assets"))["assets"] == []  # no grants: nothing
    assert ok(user.get("/v1.3/iot-03/devices"))["list"] == []

    async def stored() -> str:
        store = await open_store(cloud.settings.effective_database_url)
        try:
            found = await store.get_user(project["access_id"], project["region"], uid)
        finally:
            await store.close()
        assert found is not None
        return found.password_hash

    hashed = asyncio.run(stored())
    assert hashed.startswith("scrypt$") and sha("pw3") not in hashed
    ok(c.request("DELETE", f"/v1.0/iot-02/users/{uid}"))
    assert code(c.get("/v1.2/iot-02/users/henry")) == 2006
    assert code(user.get("/v1.3/iot-03/devices")) == 1010
    # the name is free again
    register(c, "henry", "again")


def test_users_of_one_project_are_invisible_to_another(cloud: CloudServer, client: SignedClient) -> None:
    uid = register(client, "ivy")
    other_project = cloud.create_project(name="Neighbour")
    other = SignedClient(cloud.url, other_project["access_id"], other_project["access_secret"])
    ok(other.connect())
    assert code(other.get(f"/v1.0/iot-02/users/{uid}")) == 2006
    assert code(other.get("/v1.2/iot-02/users/ivy")) == 2006
    assert ok(other.get("/v1.0/iot-02/users"))["list"] == []
    assert code(other.request("DELETE", f"/v1.0/iot-02/users/{uid}")) == 2006
    assert code(other.request("POST", "/v1.0/iot-03/users/login", json={"username": "ivy", "password": sha("secret")},
                              token="")) == 2401
    ok(client.get(f"/v1.0/iot-02/users/{uid}"))
