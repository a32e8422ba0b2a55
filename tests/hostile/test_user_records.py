"""A project user's or app user's token reads its own user record only: other users' records answer 1106, as the
user-management calls do (before, alice's token read bob's username, nickname, country and times)."""

from __future__ import annotations

from typing import Any

from support.custom import code, login, ok, register
from support.server import CloudServer
from support.signed import SignedClient
from support.smarthome import link, make_app, sync_user, user_login


def test_a_project_users_token_reads_only_its_own_record(client: SignedClient) -> None:
    alice_id, bob_id = register(client, "alice"), register(client, "bob")
    alice = login(client, "alice")
    assert ok(alice.get(f"/v1.0/iot-02/users/{alice_id}"))["username"] == "alice"
    assert ok(alice.get("/v1.2/iot-02/users/alice"))["user_id"] == alice_id
    assert code(alice.get(f"/v1.0/iot-02/users/{bob_id}")) == 1106
    assert code(alice.get("/v1.2/iot-02/users/bob")) == 1106
    # whether or not the other user exists: a token cannot probe for names
    assert code(alice.get("/v1.0/iot-02/users/nosuchuser")) == 1106
    assert code(alice.get("/v1.2/iot-02/users/nosuchname")) == 1106
    # the project's own token still reads everyone
    assert ok(client.get(f"/v1.0/iot-02/users/{bob_id}"))["username"] == "bob"


def test_an_app_users_token_reads_no_project_user(cloud: CloudServer, client: SignedClient,
                                                  project: dict[str, Any]) -> None:
    bob_id = register(client, "bob2")
    schema = make_app(cloud)
    ok(link(cloud, schema, project["access_id"]))
    sync_user(client, schema, "carol@example.com")
    carol = user_login(client, schema, "carol@example.com")
    assert code(carol.get(f"/v1.0/iot-02/users/{bob_id}")) == 1106
    assert code(carol.get("/v1.2/iot-02/users/bob2")) == 1106
