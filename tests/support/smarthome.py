"""Shared helpers of the smart-home tests: apps, app users, the associated-user login, homes."""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass
from typing import Any

from support import web
from support.custom import ok
from support.server import ADMIN_TOKEN, CloudServer
from support.signed import SignedClient

LOGIN_PATH = "/v1.0/iot-01/associated-users/actions/authorized-login"
_counter = itertools.count(1)


def md5(password: str) -> str:
    return hashlib.md5(password.encode()).hexdigest()


def control(server: CloudServer, method: str, path: str, json: Any = None) -> dict[str, Any]:
    """The control API's envelope, successful or not."""
    response = web.request(method, f"{server.url}/_tuyacloud{path}", json=json,
                           headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=30)
    body: dict[str, Any] = response.json()
    return body


def new_schema(prefix: str = "app") -> str:
    return f"{prefix}{next(_counter)}x{id(_counter) % 10000}"


def make_app(server: CloudServer, schema: str | None = None, region: str = "us") -> str:
    schema = schema or new_schema()
    ok(control(server, "POST", "/apps", {"schema": schema, "name": f"App {schema}", "region": region}))
    return schema


def link(server: CloudServer, schema: str, access_id: str) -> dict[str, Any]:
    return control(server, "POST", f"/apps/{schema}/links", {"access_id": access_id})


@dataclass
class SmartHomeProject:
    project: dict[str, Any]
    client: SignedClient
    schema: str


def smart_home_project(server: CloudServer, name: str = "Smart home", region: str = "us",
                       host: str | None = None) -> SmartHomeProject:
    project = server.create_project(name=name, region=region, method="smart_home")
    c = SignedClient(server.url, project["access_id"], project["access_secret"], host=host)
    assert c.connect()["success"]
    schema = make_app(server, region=region)
    ok(link(server, schema, project["access_id"]))
    return SmartHomeProject(project, c, schema)


def sync_user(c: SignedClient, schema: str, username: str, password: str = "secret", **extra: Any) -> str:
    body = {"country_code": "1", "username": username, "password": md5(password), "username_type": 2, **extra}
    return str(ok(c.post(f"/v1.0/apps/{schema}/user", body))["uid"])


def user_login(c: SignedClient, schema: str, username: str, password: str = "secret",
               country_code: Any = "1") -> SignedClient:
    """A client of the same project carrying the app user's token."""
    result = ok(c.request("POST", LOGIN_PATH, json={"username": username, "password": md5(password),
                                                    "country_code": country_code, "schema": schema}, token=""))
    user = SignedClient(c.base_url, c.access_id, c.secret, host=c.host)
    user.access_token, user.refresh_token = result["access_token"], result["refresh_token"]
    return user


def create_home(c: SignedClient, uid: str, name: str = "Home", rooms: list[str] | None = None) -> str:
    body = {"uid": uid, "home": {"name": name, "geo_name": "Berlin", "lon": 13.4, "lat": 52.5},
            "rooms": rooms or []}
    return str(ok(c.post("/v1.0/home/create-home", body)))


def add_home_device(server: CloudServer, access_id: str, uid: str, home_id: str, category: str = "dj",
                    room_id: str = "") -> dict[str, Any]:
    result: list[dict[str, Any]] = ok(control(server, "POST", f"/projects/{access_id}/devices",
                                              {"category": category, "user": uid, "home_id": home_id,
                                               "room_id": room_id}))
    return result[0]
