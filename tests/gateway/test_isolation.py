"""Projects never see each other's devices, through every device endpoint of the route table.

Three projects: A (us), B (eu, reached with ``Host: openapi.tuyaeu.com``) and C (us, A's neighbour in the same
data center). Every route of the live route table is called by each attacker with the victim's device ids, uid,
refresh token and cursors substituted; a route the sweep does not know how to call fails the test, so a new
route cannot slip past it. Afterwards the victims' devices are exactly as they were.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from support.server import CloudServer
from support.signed import SignedClient
from tuyacloud.bodies import openapi_schema as body_schema
from tuyacloud.gateway.router import Route, RouteTable

EU_HOST = "openapi.tuyaeu.com"
ALL_EVENT_TYPES = "1,2,3,4,5,6,7,8,9,10"
DEVICE_AREAS = {"Devices (smart home)", "Devices (industry)", "Things (v2.0)", "Device logs", "Camera streams"}
CUSTOM_AREAS = {"Assets", "Project users", "Asset authorisation"}
REGISTRATION_AREA = "Device registration"
SMART_HOME_AREAS = {"App users", "Homes", "Pairing (smart home)", "Scenes", "Automations"}
CURSOR_PARAMS = ("last_id", "last_row_key")
TIMER_AREAS = {"Timers (v1.0)", "Timers (v2.0)"}
OPENHUB_AREA = "MQTT open-hub"
INFRARED_AREA = "Infrared"


@dataclass
class Tenant:
    name: str
    project: dict[str, Any]
    client: SignedClient
    devices: list[dict[str, Any]] = field(default_factory=list)
    root_asset: str = ""
    user_id: str = ""
    user_name: str = ""
    registration_token: str = ""
    schema: str = ""
    app_uid: str = ""
    home_id: str = ""
    room_id: str = ""
    app_device: str = ""
    pairing_token: str = ""
    scene_id: str = ""
    automation_id: str = ""
    timer_group: str = ""
    timer_id: str = ""
    blaster: str = ""
    remote: str = ""

    @property
    def ids(self) -> list[str]:
        return [d["id"] for d in self.devices]

    @property
    def secrets(self) -> list[str]:
        """Strings that must never appear in a successful answer to another project."""
        return [*self.ids, *(d["local_key"] for d in self.devices), self.project["uid"], self.project["access_id"],
                self.client.access_token, self.client.refresh_token, self.root_asset, self.user_id,
                self.registration_token, self.app_uid, self.app_device, self.pairing_token, self.scene_id,
                self.automation_id, self.remote]


def make_tenant(cloud: CloudServer, name: str, region: str, host: str | None = None) -> Tenant:
    project = cloud.create_project(name=f"Isolation {name}", region=region)
    c = SignedClient(cloud.url, project["access_id"], project["access_secret"], host=host)
    assert c.connect()["success"]
    tenant = Tenant(name, project, c)
    for category in ("dj", "dj", "kg", "qt"):
        tenant.devices += cloud.add_devices(project["access_id"], category)
    # an IR blaster (the qt device) with an air-conditioner remote
    tenant.blaster = tenant.devices[-1]["id"]
    tenant.remote = cloud.control("POST", f"/infrareds/{tenant.blaster}/remotes", {"category_id": 5})["remote_id"]
    # custom project: its root asset (where the devices went) and a project user authorised on it
    top = c.get("/v1.0/iot-02/assets/-1/sub-assets", {"page_size": 10})["result"]["list"]
    tenant.root_asset = top[0]["asset_id"]
    tenant.user_name = f"isolation-{name.lower()}"
    registered = c.post("/v1.0/iot-02/users", {"username": tenant.user_name, "password": "0" * 64})
    tenant.user_id = registered["result"]["user_id"]
    assert c.post("/v1.0/iot-03/assets/actions/user-authorized",
                  {"uid": tenant.user_id, "asset_id": tenant.root_asset, "authorized_children": True})["success"]
    # a device registration token with one paired device
    made = c.post("/v1.0/iot-03/device-registration/token", {"pairing_type": "EZ", "time_zone_id": "Europe/Berlin"})
    tenant.registration_token = made["result"]["token"]
    tenant.devices.append(cloud.control("POST", f"/registration/{tenant.registration_token}/pair", {"category": "dj"}))
    # smart home: a linked app with a user, a home with a room, a device paired into it
    tenant.schema = f"isolation{name.lower()}app"
    cloud.control("POST", "/apps", {"schema": tenant.schema, "name": f"App {name}", "region": region})
    cloud.control("POST", f"/apps/{tenant.schema}/links", {"access_id": project["access_id"]})
    tenant.app_uid = c.post(f"/v1.0/apps/{tenant.schema}/user", {"country_code": "1", "username": "owner@example.com",
                                                                 "password": "0" * 32})["result"]["uid"]
    tenant.home_id = str(c.post("/v1.0/home/create-home", {"uid": tenant.app_uid, "home": {"name": "Home"},
                                                           "rooms": ["Room"]})["result"])
    tenant.room_id = str(c.get(f"/v1.0/homes/{tenant.home_id}/rooms")["result"]["rooms"][0]["room_id"])
    made = c.post("/v1.0/device/paring/token", {"uid": tenant.app_uid, "paring_type": "EZ", "time_zone_id": "UTC"})
    tenant.pairing_token = made["result"]["token"]
    tenant.app_device = cloud.control("POST", f"/paring/{tenant.pairing_token}/pair",
                                      {"category": "dj", "room_id": tenant.room_id})["id"]
    # a scene and an automation in the home
    home = f"/v1.0/homes/{tenant.home_id}"
    action = {"entity_id": tenant.app_device, "action_executor": "dpIssue", "executor_property": {"switch_led": True}}
    tenant.scene_id = c.post(f"{home}/scenes", {"name": "Scene", "actions": [action]})["result"]
    tenant.automation_id = c.post(f"{home}/automations", {"name": "Automation", "conditions": [{"entity_type": 15}],
                                                          "actions": [action]})["result"]
    # timers on the first light, one of each family (one-shots far ahead: they never run during the sweep)
    tenant.timer_group = c.post(f"/v1.0/devices/{tenant.ids[0]}/timers", timer_body_v1())["result"]["group_id"]
    tenant.timer_id = c.post(f"/v2.0/cloud/timer/device/{tenant.ids[0]}", timer_body_v2())["result"]["timer_id"]
    return tenant


def _far_day() -> str:
    return time.strftime("%Y%m%d", time.gmtime(time.time() + 200 * 86400))


def timer_body_v1() -> dict[str, Any]:
    return {"category": "timer", "loops": "0000000", "timezone_id": "UTC", "alias_name": "isolation",
            "instruct": [{"time": "07:30", "date": _far_day(), "functions": [{"code": "switch_led", "value": False}]}]}


def timer_body_v2() -> dict[str, Any]:
    return {"alias_name": "isolation", "time": "07:30", "timezone_id": "UTC", "date": _far_day(),
            "functions": [{"code": "switch_led", "value": False}]}


@pytest.fixture(scope="module")
def tenants(cloud: CloudServer) -> dict[str, Tenant]:
    return {
        "A": make_tenant(cloud, "A", "us"),
        "B": make_tenant(cloud, "B", "eu", host=EU_HOST),
        "C": make_tenant(cloud, "C", "us"),
    }


def table(cloud: CloudServer) -> RouteTable:
    routes: RouteTable = cloud.app.state.table
    return routes


def snapshot(tenant: Tenant) -> dict[str, Any]:
    """Everything about a tenant's devices an attack could change: names, status with times, logs."""
    c = tenant.client
    state: dict[str, Any] = {}
    for device_id in tenant.ids:
        details = c.get(f"/v1.0/devices/{device_id}")
        shadow = c.get(f"/v2.0/cloud/thing/{device_id}/shadow/properties")
        logs = c.get(f"/v1.0/iot-03/devices/{device_id}/logs",
                     {"event_types": ALL_EVENT_TYPES, "start_time": 0, "size": 100,
                      "end_time": int(time.time() * 1000) + 10**9})
        assert details["success"] and shadow["success"] and logs["success"], (details, shadow, logs)
        d = details["result"]
        state[device_id] = (d["name"], d["online"], d["update_time"], shadow["result"]["properties"],
                            logs["result"]["logs"])
    assets = c.get("/v1.1/iot-02/assets", {"page_size": 100})["result"]["list"]
    users = c.get("/v1.0/iot-02/users", {"page_size": 100})["result"]["list"]
    grants = c.get(f"/v1.0/iot-03/{tenant.root_asset}/authorized_users")["result"]["data"]
    state["custom"] = (assets, [(u["user_id"], u["user_name"], u["nick_name"]) for u in users], grants)
    home = f"/v1.0/homes/{tenant.home_id}"
    state["smarthome"] = [c.get(path)["result"] for path in (
        home, f"{home}/rooms", f"{home}/members", f"{home}/devices", f"{home}/rooms/{tenant.room_id}/devices",
        f"/v1.0/apps/{tenant.schema}/users", f"/v1.0/users/{tenant.app_uid}/homes",
        f"/v1.0/device/paring/tokens/{tenant.pairing_token}", f"{home}/scenes", f"{home}/automations")]
    state["infrared"] = [c.get(f"/v2.0/infrareds/{tenant.blaster}/remotes")["result"],
                         c.get(f"/v2.0/infrareds/{tenant.blaster}/remotes/{tenant.remote}/ac/status")["result"]]
    state["timers"] = [c.get(path.format(tenant.ids[0]))["result"]
                       for path in ("/v1.0/devices/{}/timers", "/v2.0/cloud/timer/device/{}")]
    return state


# --- filling in a route ----------------------------------------------------------------------------------------------
def required_of(route: Route) -> tuple[str, ...]:
    """The fields the route's body model documents as required (none without a body)."""
    return tuple(body_schema(route.body).get("required", ())) if route.body is not None else ()


def body_for(route: Route) -> Any:
    """A valid body for the route's declared shape (valid for a dj light); unknown shapes fail the test."""
    if route.body is None:
        return None
    required = required_of(route)
    bodies: dict[tuple[str, ...], Any] = {
        ("commands",): {"commands": [{"code": "switch_led", "value": False}]},
        ("name",): {"name": "taken over"},
        ("properties",): {"properties": json.dumps({"switch_led": False})},
        ("type", "data"): {"type": 1, "data": "taken over"},
        ("type",): {"type": "hls"},
        ("state",): {"state": 1},  # freeze-state
        (): {},  # sub-device discovery: every field optional
    }
    assert required in bodies, f"{route.key}: the isolation sweep does not know how to fill a body {route.body}"
    return bodies[required]


def required_query(route: Route, ids: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for p in route.query:
        if not p.required:
            continue
        if p.name == "device_ids":
            params[p.name] = ",".join(ids)
        elif p.name in ("type", "event_types"):
            params[p.name] = ALL_EVENT_TYPES
        elif p.name == "grant_type":
            params[p.name] = "1"
        elif p.type == "integer":
            params[p.name] = min(p.maximum or 20, 20)
        else:
            raise AssertionError(f"{route.key}: the isolation sweep does not know how to fill {p.name}")
    return params


def fill_path(route: Route, values: dict[str, str]) -> str:
    path = route.path
    for name in route.path_params:
        assert name in values, f"{route.key}: the isolation sweep does not know the path parameter {name}"
        path = path.replace("{" + name + "}", values[name])
    return path


def call(attacker: Tenant, route: Route, path: str, params: dict[str, Any]) -> dict[str, Any]:
    body = body_for(route)
    token = "" if route.auth == "token" else None
    if body is None:
        return attacker.client.request(route.method, path, params, token=token)
    return attacker.client.request(route.method, path, params, json=body, token=token)


def assert_no_leak(response: dict[str, Any], victim: Tenant, what: str) -> None:
    assert response["success"] is True, (what, response)
    text = json.dumps(response["result"])
    for secret in victim.secrets:
        assert secret not in text, f"{what} leaked {secret!r} of project {victim.name}: {text[:400]}"


def assert_refused(response: dict[str, Any], codes: tuple[int, ...], what: str) -> None:
    assert response["success"] is False, (what, response)
    assert response["code"] in codes, (what, response)


def classify(route: Route) -> str:
    if route.area == "Token":
        return "token"
    if route.area == "Categories":
        return "catalogue"
    if route.area in CUSTOM_AREAS:
        return "custom"
    if route.area == REGISTRATION_AREA:
        return "registration"
    if route.area in SMART_HOME_AREAS:
        return "smarthome"
    if route.area in TIMER_AREAS:
        return "timer"
    if route.area == OPENHUB_AREA:
        return "openhub"
    if route.area == INFRARED_AREA:
        return "infrared"
    assert route.area in DEVICE_AREAS, f"{route.key}: unknown area {route.area!r}; extend the isolation sweep"
    if "device_id" in route.path_params:
        return "device"
    if any(p.name == "device_ids" for p in route.query):
        return "batch"
    return "list"


# --- the sweep -------------------------------------------------------------------------------------------------------
PAIRS = [("A", "B"), ("B", "A"), ("A", "C"), ("C", "A")]


@pytest.mark.parametrize(("attacker_name", "victim_name"), PAIRS)
def test_every_device_route_keeps_projects_apart(cloud: CloudServer, tenants: dict[str, Tenant], attacker_name: str,
                                                 victim_name: str) -> None:
    attacker, victim = tenants[attacker_name], tenants[victim_name]
    same_region = attacker.project["region"] == victim.project["region"]
    # Same data center: the device exists but is not linked to the project (1106); another data center: it
    # does not exist there (2010). Either way, never the device.
    foreign_codes = (1106,) if same_region else (2010,)
    victim_before, attacker_before = snapshot(victim), snapshot(attacker)
    routes = table(cloud).routes
    seen: dict[str, int] = {}
    for route in routes:
        kind = classify(route)
        seen[kind] = seen.get(kind, 0) + 1
        what = f"{attacker.name} -> {victim.name}: {route.key}"
        if kind == "device":
            for device_id in victim.ids:
                path = fill_path(route, {"device_id": device_id})
                response = call(attacker, route, path, required_query(route, [device_id]))
                assert_refused(response, foreign_codes, what)
        elif kind == "batch":
            for ids in ([victim.ids[0]], victim.ids, [attacker.ids[0], *victim.ids]):
                params = required_query(route, ids)
                params["device_ids"] = ",".join(ids)
                response = call(attacker, route, fill_path(route, {}), params)
                if route.method == "DELETE":
                    # all or nothing: a batch naming someone else's device removes none, not even one's own
                    assert_refused(response, foreign_codes, what)
                else:
                    assert_no_leak(response, victim, what)
                    if attacker.ids[0] in ids:
                        assert attacker.ids[0] in json.dumps(response["result"]), (what, response)
            if not any(p.required and p.name == "device_ids" for p in route.query):
                check_list(attacker, victim, route, what)
        elif kind == "list":
            check_list(attacker, victim, route, what)
        elif kind == "custom":
            check_custom(attacker, victim, route, what)
        elif kind == "registration":
            check_registration(attacker, victim, route, what)
        elif kind == "smarthome":
            check_smart_home(attacker, victim, route, what)
        elif kind == "timer":
            check_timers(attacker, victim, route, what, foreign_codes)
        elif kind == "infrared":
            check_infrared(attacker, victim, route, what, foreign_codes)
        elif kind == "openhub":
            # MQTT credentials for the victim's project or user: refused (2006, or 1106 without a broker)
            for uid in (victim.project["uid"], victim.user_id):
                body = {"uid": uid, "link_id": "isolation.link", "link_type": "mqtt", "topics": "device",
                        "msg_encrypted_version": "1.0"}
                assert_refused(attacker.client.request(route.method, route.path, json=body), (1106, 2006), what)
        elif kind == "token":
            if "refresh_token" in route.path_params:
                path = fill_path(route, {"refresh_token": victim.client.refresh_token})
                assert_refused(call(attacker, route, path, {}), (1010,), what)
            else:
                response = call(attacker, route, route.path, required_query(route, []))
                assert_no_leak(response, victim, what)
                assert response["result"]["uid"] == attacker.project["uid"]
        else:
            path = fill_path(route, {"category": "dj"})
            assert_no_leak(call(attacker, route, path, {}), victim, what)
    assert seen.get("device", 0) >= 25 and seen.get("batch", 0) >= 6 and seen.get("list", 0) >= 3, seen
    assert seen.get("custom", 0) >= 25 and seen.get("registration", 0) >= 2, seen
    assert seen.get("smarthome", 0) >= 20, seen
    assert seen.get("timer", 0) >= 14, seen
    assert seen.get("openhub", 0) >= 2, seen
    assert seen.get("infrared", 0) >= 12, seen
    assert snapshot(victim) == victim_before
    # the victim's refresh token was not spent by the attacker's attempts, and its devices are all still there
    assert victim.client.get("/v1.0/iot-03/device-categories")["success"]
    # (the attacker's own assets and users may have grown: its calls act on its own project)
    assert {k: v for k, v in snapshot(attacker).items() if k not in ("custom", "smarthome")} == \
        {k: v for k, v in attacker_before.items() if k not in ("custom", "smarthome")}


def check_list(attacker: Tenant, victim: Tenant, route: Route, what: str) -> None:
    """A list answers the attacker's own devices only, whatever filters, cursors or uids are thrown at it."""
    names = {p.name for p in route.query}
    variants: list[tuple[dict[str, str], dict[str, Any]]] = [({"uid": attacker.project["uid"]}, {})]
    if "uid" in route.path_params:
        variants.append(({"uid": victim.project["uid"]}, {}))
    for cursor in CURSOR_PARAMS:
        if cursor in names:
            variants.append(({"uid": attacker.project["uid"]}, {cursor: victim.ids[0]}))
    if "source_id" in names:
        variants.append(({"uid": attacker.project["uid"]}, {"source_type": "tuyaUser",
                                                            "source_id": victim.project["uid"]}))
        variants.append(({"uid": attacker.project["uid"]}, {"source_type": "asset", "source_id": ""}))
    for path_values, extra in variants:
        params = {**required_query(route, []), **extra}
        response = call(attacker, route, fill_path(route, path_values), params)
        assert_no_leak(response, victim, f"{what} {path_values} {extra}")
    own = call(attacker, route, fill_path(route, {"uid": attacker.project["uid"]}), required_query(route, []))
    text = json.dumps(own["result"])
    assert all(device_id in text for device_id in attacker.ids), (what, own)


def check_custom(attacker: Tenant, victim: Tenant, route: Route, what: str) -> None:
    """Assets, users and grants: the victim's ids in the path, query and body are refused or answered with the
    attacker's own data; never the victim's, and the victim's tree, users and grants stay as they were."""
    values = {"asset_id": victim.root_asset, "uid": victim.user_id, "user_id": victim.user_id,
              "user_name": victim.user_name, "device_id": victim.ids[0]}
    path = fill_path(route, values)
    params: dict[str, Any] = {}
    for p in route.query:
        if p.name in ("asset_ids", "asset_id", "parent_asset_id"):
            params[p.name] = victim.root_asset
        elif p.name == "user_ids":
            params[p.name] = victim.user_id
        elif p.name == "user_names":
            params[p.name] = victim.user_name
        elif p.required and p.type == "integer":
            params[p.name] = 20
    body = None
    if route.body is not None:
        schema = body_schema(route.body)
        props = schema.get("properties", {})
        body = {k: v for k, v in {
            "name": "taken over", "asset_name": "taken over", "asset_id": victim.root_asset,
            "asset_ids": victim.root_asset, "parent_asset_id": victim.root_asset, "uid": victim.user_id,
            "target_asset_id": victim.root_asset, "source_asset_id": victim.root_asset,
            "username": victim.user_name, "password": "1" * 64, "new_password": "1" * 64,
            "old_password": "0" * 64, "nick_name": "taken over", "authorized_children": True,
        }.items() if k in props}
        for name in schema.get("required", ()):
            assert name in body, f"{route.key}: the isolation sweep does not know how to fill {name}"
    token = "" if route.auth == "login" else None
    if body is None:
        response = attacker.client.request(route.method, path, params, token=token)
    else:
        response = attacker.client.request(route.method, path, params, json=body, token=token)
    if response["success"]:
        assert_no_leak(response, victim, what)
    else:
        assert response["code"] in (1000, 1106, 1109, 2006, 2010, 2401), (what, response)


def check_registration(attacker: Tenant, victim: Tenant, route: Route, what: str) -> None:
    """A token for the victim's asset is refused; the victim's registration token answers "data not exist"; the
    victim's devices cannot be opened for sub-devices nor have theirs listed."""
    if "device_id" in route.path_params:
        for device_id in victim.ids:
            response = call(attacker, route, fill_path(route, {"device_id": device_id}),
                            required_query(route, [device_id]))
            assert_refused(response, (1106, 2010), what)
        return
    if "token" in route.path_params:
        response = attacker.client.request(route.method, fill_path(route, {"token": victim.registration_token}))
        assert_refused(response, (1000,), what)
        own = attacker.client.request(route.method, fill_path(route, {"token": attacker.registration_token}))
        assert_no_leak(own, victim, what)
        assert [d["device_id"] for d in own["result"]["success_devices"]] == [attacker.ids[-1]], (what, own)
        return
    assert route.body is not None and set(required_of(route)) <= {"pairing_type", "time_zone_id"}, \
        f"{route.key}: the isolation sweep does not know how to fill {route.body}"
    body = {"pairing_type": "EZ", "time_zone_id": "Europe/Berlin", "asset_id": victim.root_asset}
    assert_refused(attacker.client.request(route.method, route.path, json=body), (1000, 1106), what)


def check_smart_home(attacker: Tenant, victim: Tenant, route: Route, what: str) -> None:
    """Apps, app users, homes, rooms, members, pairing: the victim's schema, users, homes, rooms, devices and
    pairing token are refused (its app is not linked to the attacker) and stay as they were."""
    values = {"schema": victim.schema, "uid": victim.app_uid, "home_id": victim.home_id, "room_id": victim.room_id,
              "token": victim.pairing_token, "scene_id": victim.scene_id, "automation_id": victim.automation_id}
    path = fill_path(route, values)
    params: dict[str, Any] = {}
    for p in route.query:
        if p.name == "device_ids":
            params[p.name] = victim.app_device
    body = None
    if route.body is not None:
        schema = body_schema(route.body)
        props = schema.get("properties", {})
        body = {k: v for k, v in {
            "uid": victim.app_uid, "name": "taken over", "device_ids": [victim.app_device],
            "home": {"name": "taken over"}, "rooms": ["taken over"], "app_schema": victim.schema,
            "member": {"member_account": "owner@example.com", "name": "taken over", "admin": True},
            "admin": True, "paring_type": "EZ", "time_zone_id": "UTC", "username": "owner@example.com",
            "password": "0" * 32, "country_code": "1", "schema": victim.schema,
            "actions": [{"entity_id": victim.app_device, "action_executor": "dpIssue",
                         "executor_property": {"switch_led": False}}],
            "conditions": [{"entity_type": 15}],
        }.items() if k in props}
        for name in schema.get("required", ()):
            assert name in body, f"{route.key}: the isolation sweep does not know how to fill {name}"
    token = "" if route.auth == "login" else None
    if body is None:
        response = attacker.client.request(route.method, path, params, token=token)
    else:
        response = attacker.client.request(route.method, path, params, json=body, token=token)
    assert_refused(response, (1000, 1106, 2006, 2017, 2501), what)


def test_credentials_at_another_data_centers_host_are_1106(cloud: CloudServer, tenants: dict[str, Tenant]) -> None:
    a, b = tenants["A"], tenants["B"]
    at_eu = SignedClient(cloud.url, a.project["access_id"], a.project["access_secret"], host=EU_HOST)
    at_eu.access_token = a.client.access_token
    for response in (at_eu.connect(), at_eu.get(f"/v1.0/devices/{a.ids[0]}"), at_eu.get("/v1.0/devices")):
        assert response["success"] is False and response["code"] == 1106, response
        assert response["msg"] == "permission deny", response
        assert "us data center" in response["detail"] and "openapi.tuyaus.com" in response["detail"], response
    # and the eu project at the default (us) host is told where it lives
    at_us = SignedClient(cloud.url, b.project["access_id"], b.project["access_secret"])
    response = at_us.connect()
    assert response["code"] == 1106 and response["msg"] == "permission deny", response
    assert "eu data center" in response["detail"], response
    assert "openapi.tuyaeu.com" in response["detail"]
    # with the eu host, the eu project works and sees its own devices only
    listed = b.client.get("/v1.0/devices", {"page_size": 100})
    assert sorted(d["id"] for d in listed["result"]["devices"]) == sorted([*b.ids, b.app_device])


def test_host_header_with_port_and_case_selects_the_region(cloud: CloudServer, tenants: dict[str, Tenant]) -> None:
    b = tenants["B"]
    for host in ("OpenAPI.TuyaEU.com", "openapi.tuyaeu.com:443", "eu.localhost:8000"):
        c = SignedClient(cloud.url, b.project["access_id"], b.project["access_secret"], host=host)
        assert c.connect()["success"], host


def test_region_aliases_and_default_region(tmp_path: Any) -> None:
    """A listener whose default is eu serves eu projects without a Host; an alias selects us."""
    server = CloudServer(tmp_path, default_region="eu", region_aliases={"us.example.test": "us"}).start()
    try:
        eu = server.create_project(region="eu")
        us = server.create_project(region="us")
        assert SignedClient(server.url, eu["access_id"], eu["access_secret"]).connect()["success"]
        refused = SignedClient(server.url, us["access_id"], us["access_secret"]).connect()
        assert refused["code"] == 1106 and "us data center" in refused["detail"]
        aliased = SignedClient(server.url, us["access_id"], us["access_secret"], host="us.example.test")
        assert aliased.connect()["success"]
        device = server.add_devices(us["access_id"], "dj")[0]["id"]
        assert aliased.get(f"/v1.0/devices/{device}")["success"]
        eu_client = SignedClient(server.url, eu["access_id"], eu["access_secret"])
        eu_client.connect()
        assert eu_client.get(f"/v1.0/devices/{device}")["code"] == 2010
    finally:
        server.stop()


def check_timers(attacker: Tenant, victim: Tenant, route: Route, what: str, foreign_codes: tuple[int, ...]) -> None:
    """Timers of the victim's device, by the victim's group and timer ids: refused like the device itself (1106 in
    the same data center, 2010 in another), with bodies that would be valid on the attacker's own device."""
    path = fill_path(route, {"device_id": victim.ids[0], "category": "timer", "group_id": victim.timer_group})
    params = {p.name: victim.timer_id for p in route.query if p.name == "timer_ids"}
    required = tuple(sorted(required_of(route)))
    bodies: dict[tuple[str, ...], Any] = {
        (): None,
        ("category", "instruct", "loops"): timer_body_v1(),
        ("functions", "time", "timezone_id"): timer_body_v2(),
        ("functions", "time", "timer_id", "timezone_id"): {**timer_body_v2(), "timer_id": victim.timer_id},
        ("enable", "timer_id"): {"timer_id": victim.timer_id, "enable": False},
        ("value",): {"value": "2"},
    }
    assert required in bodies, f"{route.key}: the isolation sweep does not know how to fill a body {route.body}"
    body = bodies[required]
    if body is None:
        response = attacker.client.request(route.method, path, params)
    else:
        response = attacker.client.request(route.method, path, params, json=body)
    assert_refused(response, foreign_codes, what)


def check_infrared(attacker: Tenant, victim: Tenant, route: Route, what: str, foreign_codes: tuple[int, ...]) -> None:
    """The victim's blaster is refused like any of its devices; the victim's remote through the attacker's own
    blaster is unknown there (2010); the victim's remotes keep their state."""
    required = required_of(route)
    bodies: dict[tuple[str, ...], Any] = {
        (): {"key": "PowerOn"}, ("category_id",): {"category_id": 2}, ("remote_name",): {"remote_name": "taken"},
        ("code", "value"): {"code": "temp", "value": 30}, ("power",): {"power": 1, "temp": 30},
    }
    assert required in bodies, f"{route.key}: the isolation sweep does not know how to fill {route.body}"
    body = bodies[required] if route.body is not None else None
    path = fill_path(route, {"infrared_id": victim.blaster, "remote_id": victim.remote})
    assert_refused(attacker.client.request(route.method, path, json=body), foreign_codes, what)
    if "remote_id" in route.path_params:
        path = fill_path(route, {"infrared_id": attacker.blaster, "remote_id": victim.remote})
        assert_refused(attacker.client.request(route.method, path, json=body), (2010,), what)
    elif route.method == "GET":
        own = attacker.client.request(route.method, fill_path(route, {"infrared_id": attacker.blaster}))
        assert_no_leak(own, victim, what)
