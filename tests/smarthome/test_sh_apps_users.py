"""Apps and linking (at most two projects per app), app users (sync, paging, infos) and the associated-user login."""

from __future__ import annotations

from typing import Any

from support.custom import code, ok
from support.server import CloudServer
from support.signed import SignedClient
from support.smarthome import (
    LOGIN_PATH,
    add_home_device,
    control,
    create_home,
    link,
    make_app,
    md5,
    smart_home_project,
    sync_user,
    user_login,
)


def test_a_third_link_is_refused_until_one_is_unlinked(cloud: CloudServer) -> None:
    schema = make_app(cloud)
    p1, p2, p3 = (cloud.create_project(name=f"Link {i}", method="smart_home") for i in range(3))
    ok(link(cloud, schema, p1["access_id"]))
    assert ok(link(cloud, schema, p2["access_id"]))["projects"] == [p1["access_id"], p2["access_id"]]
    ok(link(cloud, schema, p2["access_id"]))  # idempotent
    refused = link(cloud, schema, p3["access_id"])
    assert refused["code"] == 1101 and "already linked to 2 projects" in refused["detail"], refused
    listed = {a["schema"]: a for a in ok(control(cloud, "GET", "/apps"))}
    assert listed[schema]["projects"] == [p1["access_id"], p2["access_id"]]  # nothing changed
    ok(control(cloud, "DELETE", f"/apps/{schema}/links/{p1['access_id']}"))
    assert ok(link(cloud, schema, p3["access_id"]))["projects"] == [p2["access_id"], p3["access_id"]]
    assert control(cloud, "POST", "/apps/nosuchschema/links", {"access_id": p1["access_id"]})["code"] == 2017
    assert control(cloud, "POST", "/apps", {"schema": schema, "name": "again"})["code"] == 1109


def test_users_sync_is_idempotent_and_pages_end(cloud: CloudServer) -> None:
    sh = smart_home_project(cloud)
    c = sh.client
    uid = sync_user(c, sh.schema, "ann@example.com", nick_name="Ann")
    assert sync_user(c, sh.schema, "ann@example.com", password="changed") == uid
    uids = [uid] + [sync_user(c, sh.schema, f"user{i}@example.com") for i in range(4)]
    seen: list[str] = []
    page_no = 1
    while True:
        page = ok(c.get(f"/v1.0/apps/{sh.schema}/users", {"page_no": page_no, "page_size": 2}))
        assert page["total"] == 5
        seen += [u["uid"] for u in page["list"]]
        if not page["has_more"]:
            break
        page_no += 1
    assert sorted(seen) == sorted(uids) and len(set(seen)) == 5 and page_no == 3
    info = ok(c.get(f"/v1.0/users/{uid}/infos"))
    assert info["username"] == "ann@example.com" and info["email"] == "ann@example.com" and info["nick_name"] == "Ann"
    assert info["country_code"] == "1" and isinstance(info["create_time"], int)
    # the old password no longer works, the new one does (number country code too)
    assert code(c.request("POST", LOGIN_PATH, json={"username": "ann@example.com", "password": md5("secret"),
                                                    "country_code": 1, "schema": sh.schema}, token="")) == 2401
    user_login(c, sh.schema, "ann@example.com", "changed", country_code=1)


def test_login_answers_a_user_token_with_platform_url(cloud: CloudServer) -> None:
    sh = smart_home_project(cloud)
    sync_user(sh.client, sh.schema, "bob@example.com")
    result = ok(sh.client.request("POST", LOGIN_PATH, json={"username": "bob@example.com", "password": md5("secret"),
                                                            "country_code": "1", "schema": sh.schema}, token=""))
    assert result["platform_url"] == cloud.url
    assert {"access_token", "refresh_token", "expire_time", "expire", "uid"} <= set(result)


def test_login_failures(cloud: CloudServer) -> None:
    sh = smart_home_project(cloud)
    sync_user(sh.client, sh.schema, "cat@example.com")

    def attempt(**body: Any) -> int:
        full = {"username": "cat@example.com", "password": md5("secret"), "country_code": "1", "schema": sh.schema,
                **body}
        return code(sh.client.request("POST", LOGIN_PATH, json=full, token=""))

    assert attempt(password=md5("wrong")) == 2401
    assert attempt(username="nobody@example.com") == 1106
    assert attempt(schema="nosuchschema") == 2017
    other = make_app(cloud)  # exists, not linked to this project
    assert attempt(schema=other) == 1106
    assert attempt(schema="") == 1100


def test_unlinking_hides_users_and_devices(cloud: CloudServer) -> None:
    sh = smart_home_project(cloud)
    c = sh.client
    uid = sync_user(c, sh.schema, "dan@example.com")
    home = create_home(c, uid)
    device = add_home_device(cloud, sh.project["access_id"], uid, home)
    listed = ok(c.get("/v1.0/devices", {"page_size": 100}))
    assert device["id"] in [d["id"] for d in listed["devices"]]
    assert ok(c.get(f"/v1.0/devices/{device['id']}"))["id"] == device["id"]
    # a second linked project sees the same user and device
    other = cloud.create_project(name="Second", method="smart_home")
    ok(link(cloud, sh.schema, other["access_id"]))
    c2 = SignedClient(cloud.url, other["access_id"], other["access_secret"])
    c2.connect()
    assert ok(c2.get(f"/v1.0/devices/{device['id']}/status"))
    ok(control(cloud, "DELETE", f"/apps/{sh.schema}/links/{sh.project['access_id']}"))
    assert code(c.get(f"/v1.0/devices/{device['id']}")) == 1106
    assert device["id"] not in str(ok(c.get("/v1.0/devices", {"page_size": 100})))
    assert code(c.get(f"/v1.0/users/{uid}/infos")) == 1106
    assert code(c.get(f"/v1.0/homes/{home}")) == 1106
    assert ok(c2.get(f"/v1.0/users/{uid}/infos"))["uid"] == uid


def test_bad_user_input_changes_nothing(cloud: CloudServer) -> None:
    sh = smart_home_project(cloud)
    c = sh.client
    path = f"/v1.0/apps/{sh.schema}/user"
    base = {"country_code": "1", "username": "eve@example.com", "password": md5("x")}
    assert code(c.post(path, {**base, "password": "not-md5"})) == 1109
    assert code(c.post(path, {**base, "country_code": "abc"})) == 1109
    assert code(c.post(path, {**base, "username_type": 9})) == 1109
    assert code(c.post(path, {**base, "username": ""})) == 1100
    assert code(c.post("/v1.0/apps/nosuchschema/user", base)) == 2017
    assert ok(c.get(f"/v1.0/apps/{sh.schema}/users"))["total"] == 0
    assert code(c.get("/v1.0/users/az0000000000000nouser/infos")) == 2006
