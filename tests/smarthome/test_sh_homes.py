"""Homes, rooms and members through signed calls: create, modify, delete; rooms and moving devices between them;
members with roles; the app-side limits; bad input with the right code and nothing changed."""

from __future__ import annotations

from support.custom import code, ok
from support.server import CloudServer
from support.smarthome import add_home_device, create_home, smart_home_project, sync_user, user_login


def test_home_lifecycle_rooms_and_devices(cloud: CloudServer) -> None:
    sh = smart_home_project(cloud)
    c = sh.client
    uid = sync_user(c, sh.schema, "owner@example.com")
    home = create_home(c, uid, "Flat", rooms=["Kitchen", "Bedroom"])
    listed = ok(c.get(f"/v1.0/users/{uid}/homes"))
    assert [(str(h["home_id"]), h["name"], h["role"]) for h in listed] == [(home, "Flat", "OWNER")]
    assert ok(c.get(f"/v1.0/homes/{home}"))["geo_name"] == "Berlin"
    ok(c.request("PUT", f"/v1.0/homes/{home}", json={"name": "Loft", "lat": 48.1}))
    details = ok(c.get(f"/v1.0/homes/{home}"))
    assert details["name"] == "Loft" and details["lat"] == 48.1 and details["lon"] == 13.4
    rooms = ok(c.get(f"/v1.0/homes/{home}/rooms"))["rooms"]
    assert [r["name"] for r in rooms] == ["Kitchen", "Bedroom"]
    kitchen, bedroom = (str(r["room_id"]) for r in rooms)
    hall = str(ok(c.post(f"/v1.0/homes/{home}/room", {"name": "Hall"})))
    ok(c.request("PUT", f"/v1.0/homes/{home}/rooms/{hall}", json={"name": "Corridor"}))
    assert "Corridor" in [r["name"] for r in ok(c.get(f"/v1.0/homes/{home}/rooms"))["rooms"]]
    lamp = add_home_device(cloud, sh.project["access_id"], uid, home, "dj", room_id=kitchen)["id"]
    plug = add_home_device(cloud, sh.project["access_id"], uid, home, "cz")["id"]
    assert sorted(d["id"] for d in ok(c.get(f"/v1.0/homes/{home}/devices"))) == sorted([lamp, plug])
    assert [d["id"] for d in ok(c.get(f"/v1.0/homes/{home}/rooms/{kitchen}/devices"))] == [lamp]
    # move the lamp to the bedroom, the plug into the kitchen
    ok(c.post(f"/v1.0/homes/{home}/rooms/{bedroom}/devices", {"device_ids": [lamp]}))
    ok(c.post(f"/v1.0/homes/{home}/rooms/{kitchen}/devices", {"device_ids": [plug]}))
    assert [d["id"] for d in ok(c.get(f"/v1.0/homes/{home}/rooms/{kitchen}/devices"))] == [plug]
    assert [d["id"] for d in ok(c.get(f"/v1.0/homes/{home}/rooms/{bedroom}/devices"))] == [lamp]
    ok(c.request("DELETE", f"/v1.0/homes/{home}/rooms/{kitchen}/devices", {"device_ids": plug}))
    assert ok(c.get(f"/v1.0/homes/{home}/rooms/{kitchen}/devices")) == []
    ok(c.request("DELETE", f"/v1.0/homes/{home}/rooms/{bedroom}"))
    assert code(c.get(f"/v1.0/homes/{home}/rooms/{bedroom}/devices")) == 2502
    assert len(ok(c.get(f"/v1.0/homes/{home}/devices"))) == 2  # devices stay in the home
    ok(c.request("DELETE", f"/v1.0/homes/{home}"))
    assert code(c.get(f"/v1.0/homes/{home}")) == 2501
    assert code(c.get(f"/v1.0/devices/{lamp}")) == 2010
    assert ok(c.get(f"/v1.0/users/{uid}/homes")) == []


def test_members_and_roles(cloud: CloudServer) -> None:
    sh = smart_home_project(cloud)
    c = sh.client
    owner = sync_user(c, sh.schema, "o@example.com")
    guest = sync_user(c, sh.schema, "g@example.com")
    home = create_home(c, owner)
    path = f"/v1.0/homes/{home}/members"
    member = {"app_schema": sh.schema, "member": {"country_code": "1", "member_account": "g@example.com",
                                                  "admin": False, "name": "Guest"}}
    ok(c.post(path, member))
    assert code(c.post(path, member)) == 2507
    assert code(c.post(path, {"member": {"member_account": "nobody@example.com"}})) == 2506
    third = sync_user(c, sh.schema, "t@example.com")
    assert code(c.post(path, {"member": {"member_account": "t@example.com", "name": "Guest"}})) == 2510
    roles = {m["uid"]: m["role"] for m in ok(c.get(path))}
    assert roles == {owner: "OWNER", guest: "MEMBER"}
    # the guest sees the home, but cannot manage it while a plain member
    g = user_login(c, sh.schema, "g@example.com")
    assert ok(g.get(f"/v1.0/homes/{home}"))["name"] == "Home"
    assert code(g.post(f"/v1.0/homes/{home}/room", {"name": "Den"})) == 2508
    ok(c.request("PUT", f"{path}/{guest}", json={"admin": True}))
    assert ok(g.post(f"/v1.0/homes/{home}/room", {"name": "Den"}))
    ok(g.post(path, {"member": {"member_account": "t@example.com", "name": "Third"}}))
    assert code(c.request("PUT", f"{path}/{owner}", json={"admin": False})) == 1109
    assert code(c.request("DELETE", f"{path}/{owner}")) == 1109
    assert code(c.request("DELETE", f"{path}/az999")) == 2509
    ok(c.request("DELETE", f"{path}/{third}"))
    assert {m["uid"] for m in ok(c.get(path))} == {owner, guest}
    assert code(g.request("DELETE", f"/v1.0/homes/{home}")) == 2508  # only the owner deletes


def test_limits_and_bad_input(cloud: CloudServer) -> None:
    sh = smart_home_project(cloud)
    c = sh.client
    uid = sync_user(c, sh.schema, "lim@example.com")
    home = create_home(c, uid)
    for i in range(20):
        ok(c.post(f"/v1.0/homes/{home}/room", {"name": f"Room {i}"}))
    refused = c.post(f"/v1.0/homes/{home}/room", {"name": "One too many"})
    assert code(refused) == 1101 and "at most 20 rooms" in refused["detail"]
    assert len(ok(c.get(f"/v1.0/homes/{home}/rooms"))["rooms"]) == 20
    for i in range(19):
        create_home(c, uid, f"Home {i}")
    refused = c.post("/v1.0/home/create-home", {"uid": uid, "home": {"name": "21st"}})
    assert code(refused) == 1101 and "at most 20 homes" in refused["detail"]
    assert len(ok(c.get(f"/v1.0/users/{uid}/homes"))) == 20
    # bad input: nothing created or changed
    assert code(c.post("/v1.0/home/create-home", {"uid": uid, "home": {"name": ""}})) == 1100
    assert code(c.post("/v1.0/home/create-home", {"uid": "nouser", "home": {"name": "x"}})) == 2006
    assert code(c.post("/v1.0/home/create-home", {"uid": uid, "home": {"name": "x", "lat": 100}})) == 1109
    assert code(c.request("PUT", f"/v1.0/homes/{home}", json={"name": "x" * 51})) == 1109
    assert ok(c.get(f"/v1.0/homes/{home}"))["name"] == "Home"
    assert code(c.get("/v1.0/homes/123")) == 2501
    assert code(c.post(f"/v1.0/homes/{home}/rooms/123/devices", {"device_ids": ["x"]})) == 2502
    assert len(ok(c.get(f"/v1.0/users/{uid}/homes"))) == 20
