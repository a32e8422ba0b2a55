"""``tuyacloud user ...`` on the same store as a running server (SQLite or PostgreSQL, as the suite runs): what the
CLI creates, grants and changes is what the OpenAPI's login and user-token reads then see, and every refusal names
the Tuya code on stderr, exits 1 and writes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from support.custom import add_asset, code, ok, sha
from support.server import CloudServer
from support.signed import SignedClient
from tuyacloud.cli.main import app


class Cli:
    """The ``user`` commands of one project, run in process against the server's database."""

    def __init__(self, server: CloudServer, project: str) -> None:
        self.url = server.settings.effective_database_url
        self.project = project
        self.runner = CliRunner()

    def run(self, *args: str, project: str | None = None, input: str | None = None) -> Result:
        return self.runner.invoke(app, ["user", *args, "--project", project or self.project, "--database-url",
                                        self.url], input=input, terminal_width=200)

    def ok(self, *args: str, input: str | None = None) -> Any:
        done = self.run(*args, "--json", input=input)
        assert done.exit_code == 0, done.output
        return json.loads(done.stdout)

    def refused(self, *args: str, project: str | None = None) -> str:
        done = self.run(*args, project=project)
        assert done.exit_code == 1, done.output
        assert done.stdout == "" and "Traceback" not in done.stderr, done.output
        return " ".join(done.stderr.split())  # rich wraps long messages at the terminal's width


def _login(c: SignedClient, username: str, password: str) -> dict[str, Any]:
    return c.request("POST", "/v1.0/iot-03/users/login", json={"username": username, "password": sha(password)},
                     token="")


def _as_user(c: SignedClient, username: str, password: str) -> SignedClient:
    result = ok(_login(c, username, password))
    user = SignedClient(c.base_url, c.access_id, c.secret, host=c.host)
    user.access_token, user.refresh_token = result["access_token"], result["refresh_token"]
    return user


def _visible(user: SignedClient, device_ids: list[str]) -> set[str]:
    listed = ok(user.get("/v1.0/iot-03/devices", {"device_ids": ",".join(device_ids)}))
    return {d["id"] for d in listed["list"]}


def test_create_list_grant_revoke_set_password_round_trip(cloud: CloudServer, project: dict[str, Any],
                                                          client: SignedClient) -> None:
    pid = project["access_id"]
    cli = Cli(cloud, pid)
    building = add_asset(client, "Building A")
    floor = add_asset(client, "Floor 1", building)
    other = add_asset(client, "Building B")
    at: dict[str, str] = {}
    for name, asset in (("building", building), ("floor", floor), ("other", other)):
        device = cloud.control("POST", f"/projects/{pid}/devices", {"category": "cz", "asset_id": asset})[0]
        at[name] = device["id"]
    everything = list(at.values())

    created = cli.ok("create", "--username", "alice", "--password", "first-pw", "--nick-name", "Alice")
    assert (created["username"], created["nick_name"], created["country_code"]) == ("alice", "Alice", "1")
    assert created["project"] == pid and created["assets"] == []
    uid = created["user_id"]
    bob = cli.ok("create", "--username", "bob", "--password-stdin", "--country-code", "44", input="bob-pw\n")
    # Without --password or --password-stdin the password is asked for twice, hidden, on stderr.
    carol = cli.ok("create", "--username", "carol", input="carol-pw\ncarol-pw\n")

    # The OpenAPI sees the users with the given fields, and each logs in with the plaintext the CLI was given.
    shown = ok(client.get(f"/v1.0/iot-02/users/{uid}"))
    assert (shown["username"], shown["nick_name"], shown["country_code"], shown["creator"]) == \
        ("alice", "Alice", "1", "cli")
    assert ok(client.get(f"/v1.0/iot-02/users/{bob['user_id']}"))["country_code"] == "44"
    for name, password in (("alice", "first-pw"), ("bob", "bob-pw"), ("carol", "carol-pw")):
        assert ok(_login(client, name, password))["uid"] in (uid, bob["user_id"], carol["user_id"])
    assert code(_login(client, "bob", "bob-pw\n")) == 2401  # stdin's trailing newline is not part of it

    listed = cli.ok("list")
    assert (listed["total"], len(listed["list"]), listed["offset"], listed["has_more"]) == (3, 3, 0, False)
    assert sorted(u["username"] for u in listed["list"]) == ["alice", "bob", "carol"]
    page = cli.ok("list", "--limit", "2", "--offset", "1")
    assert (page["total"], len(page["list"])) == (3, 2)
    assert [u["user_id"] for u in page["list"]] == [u["user_id"] for u in listed["list"]][1:]
    text = cli.run("list", "--limit", "2")
    assert text.exit_code == 0 and "showing 2 of 3 users" in text.stdout and "--all" in text.stdout
    assert "showing 3 of 3 users" in cli.run("list", "--all").stdout

    # Grant by username, with sub-assets (the default): the user's token sees Building A and Floor 1.
    granted = cli.ok("grant", "alice", "--asset", building)
    assert granted["assets"] == [{"asset_id": building, "asset_full_name": "Building A", "authorized_children": True}]
    user = _as_user(client, "alice", "first-pw")
    assert _visible(user, everything) == {at["building"], at["floor"]}
    assert code(user.get(f"/v1.0/iot-03/devices/{at['other']}")) == 1106
    # By user id, the node alone; another asset added in the same call.
    granted = cli.ok("grant", uid, "--asset", building, "--asset", other, "--no-children")
    assert {(a["asset_full_name"], a["authorized_children"]) for a in granted["assets"]} == \
        {("Building A", False), ("Building B", False)}
    assert _visible(user, everything) == {at["building"], at["other"]}
    listed = cli.ok("list")
    alice = next(u for u in listed["list"] if u["username"] == "alice")
    assert {a["asset_id"] for a in alice["assets"]} == {building, other}
    assert "Building A, Building B" in cli.run("list").stdout or "Building B, Building A" in cli.run("list").stdout

    revoked = cli.ok("revoke", "alice", "--asset", other)
    assert [a["asset_id"] for a in revoked["assets"]] == [building]
    assert _visible(user, everything) == {at["building"]}
    assert "alice is authorised on: no asset" in cli.run("revoke", "alice", "--asset", building).stdout
    assert _visible(user, everything) == set()

    changed = cli.ok("set-password", "alice", "--password-stdin", input="second-pw\n")
    assert changed == {"user_id": uid, "username": "alice", "password_changed": True}
    assert code(_login(client, "alice", "first-pw")) == 2401
    ok(_login(client, "alice", "second-pw"))
    assert cli.run("set-password", uid, "--password", "third-pw").exit_code == 0
    ok(_login(client, "alice", "third-pw"))


def test_refusals_give_the_tuya_code_and_change_nothing(cloud: CloudServer, project: dict[str, Any],
                                                  client: SignedClient) -> None:
    pid = project["access_id"]
    cli = Cli(cloud, pid)
    cli.ok("create", "--username", "dave", "--password", "pw")
    asset = add_asset(client, "Room")

    assert "error 1005" in cli.refused("list", project="x" * 20)
    assert "error 1005" in cli.refused("create", "--username", "u", "--password", "pw", project="x" * 20)
    smart_home = cloud.create_project(name="Homes", method="smart_home")["access_id"]
    for args in (("create", "--username", "u", "--password", "pw"), ("list",), ("grant", "dave", "--asset", asset),
                 ("revoke", "dave", "--asset", asset), ("set-password", "dave", "--password", "pw")):
        message = cli.refused(*args, project=smart_home)
        assert "error 1106" in message and "smart-home project" in message and "custom" in message, message
    assert "error 2023" in cli.refused("create", "--username", "dave", "--password", "other")
    assert "error 1000" in cli.refused("grant", "dave", "--asset", "no-such-asset")
    assert "error 1000" in cli.refused("revoke", "dave", "--asset", "no-such-asset")
    assert "error 2006" in cli.refused("grant", "nobody", "--asset", asset)
    assert "error 2006" in cli.refused("set-password", "nobody", "--password", "pw")
    assert "error 1109" in cli.refused("create", "--username", "has space", "--password", "pw")
    assert "error 1109" in cli.refused("create", "--username", "erin", "--password", "")
    # Another project's asset is not this project's to grant.
    foreign = add_asset(_other_project(cloud), "Elsewhere")
    assert "error 1106" in cli.refused("grant", "dave", "--asset", foreign)
    # Nothing of the refused calls was written.
    listed = cli.ok("list")
    assert [(u["username"], u["assets"]) for u in listed["list"]] == [("dave", [])]


def test_password_sources_are_exclusive(cloud: CloudServer, project: dict[str, Any]) -> None:
    cli = Cli(cloud, project["access_id"])
    both = cli.run("create", "--username", "frank", "--password", "pw", "--password-stdin", input="pw\n")
    assert both.exit_code == 2 and "not both" in both.output
    mismatch = cli.run("create", "--username", "frank", input="one\ntwo\none\none\n")
    assert mismatch.exit_code == 0, mismatch.output  # the prompt asks again when the two entries differ
    assert cli.ok("list")["total"] == 1


def _other_project(cloud: CloudServer) -> SignedClient:
    other = cloud.create_project(name="Other")
    client = SignedClient(cloud.url, other["access_id"], other["access_secret"])
    assert client.connect()["success"]
    return client


@pytest.mark.parametrize("command", ["create", "list", "grant", "revoke", "set-password"])
def test_every_command_takes_the_admin_options(command: str) -> None:
    done = CliRunner().invoke(app, ["user", command, "--help"], terminal_width=80)
    assert done.exit_code == 0, done.output
    for option in ("--project", "--json", "--data-dir", "--database-url"):
        assert option in done.stdout, (option, done.stdout)
