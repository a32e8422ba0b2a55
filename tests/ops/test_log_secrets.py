"""Log lines under load contain no Access Secret, token, password or session cookie.

``tuyacloud serve --access-log`` with ``TUYACLOUD_LOG_FORMAT=json`` (the environment variable, so that spelling is
covered too) runs as a subprocess while real clients do everything that carries a secret: tuya-connector-python
gets tokens, refreshes one, reads and commands from several threads; wrong secrets, unknown tokens, a refresh token
in a path no route takes and secrets in query strings; a project user registers and logs in with a password; the
web console is logged in to (after a wrong password) and browsed with its session cookie; a Pulsar consumer
connects with its password (and once with a wrong one); the control API and /metrics are called with the admin
token. Then stderr, the log, is read whole: every line is one JSON object, the access log has a line per request,
and none of the secrets the clients used appears anywhere in it. stdout carries only the start banner (the admin
token is printed there on purpose) and the stop line: no other secret appears there either.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
from pathlib import Path
from typing import Any

import pytest
import websocket
from tuya_connector import TuyaOpenAPI

from support import web
from support.console import ConsoleClient
from support.custom import login, register
from support.pulsar import PulsarConsumer, open_socket, password_for
from support.serve_process import ServeProcess, cli, cli_json, database_for_test
from support.signed import SignedClient

THREADS = 4
ROUNDS = 15


class Load(threading.Thread):
    """One tuya-connector-python client: token, then reads, commands and a bad command, ``ROUNDS`` times;
    halfway through it lets its token expire so the connector refreshes it."""

    def __init__(self, url: str, access_id: str, secret: str, lamp: str) -> None:
        super().__init__(daemon=True)
        self.api = TuyaOpenAPI(url, access_id, secret)
        self.lamp = lamp
        self.tokens: set[str] = set()
        self.failures: list[Any] = []
        self.requests = 0

    def note(self) -> None:
        info = self.api.token_info
        if info is not None:
            self.tokens |= {info.access_token, info.refresh_token}

    def run(self) -> None:
        try:
            assert self.api.connect()["success"]
            self.note()
            for n in range(ROUNDS):
                if n == ROUNDS // 2:
                    self.api.token_info.expire_time = 0  # the next call refreshes with the refresh token
                for answer, wanted in (
                    (self.api.get(f"/v1.0/iot-03/devices/{self.lamp}/status"), True),
                    (self.api.post(f"/v1.0/iot-03/devices/{self.lamp}/commands",
                                   {"commands": [{"code": "temp_value_v2", "value": n}]}), True),
                    (self.api.post(f"/v1.0/iot-03/devices/{self.lamp}/commands",
                                   {"commands": [{"code": "temp_value_v2", "value": "hot"}]}), False),
                ):
                    self.requests += 1
                    if answer["success"] is not wanted:
                        self.failures.append(answer)
                self.note()
            self.requests += 2  # the token and the refresh calls
        except Exception as exc:  # reported by the test, not lost in the thread
            self.failures.append(repr(exc))


def test_log_lines_under_load_contain_no_access_secret_token_password_or_session_cookie(tmp_path: Path) -> None:
    data = tmp_path / "data"
    db = database_for_test()
    project = cli_json(data, db, "project", "create", "--name", "Logs", "--method", "custom")
    access_id, secret = project["access_id"], project["access_secret"]
    lamps = [d["id"] for d in cli_json(data, db, "device", "add-virtual", "--project", access_id,
                                       "--category", "dj", "--count", str(THREADS))]
    console_password = "console-" + secrets.token_hex(12)
    cli(data, db, "admin", "create", "--username", "operator", "--password", console_password)

    server = ServeProcess(data, db, "logged", "--no-demo", "--access-log",
                          env={"TUYACLOUD_LOG_FORMAT": "json"}).wait_ready()
    banner = server.stdout
    secret_values: dict[str, str] = {"access secret": secret, "console password": console_password}
    try:
        # --- OpenAPI under load, with tuya-connector-python ----------------------------------------------------
        loads = [Load(server.url, access_id, secret, lamp) for lamp in lamps]
        for load in loads:
            load.start()
        for load in loads:
            load.join(timeout=120)
        for i, load in enumerate(loads):
            assert not load.is_alive() and not load.failures, load.failures[:3]
            assert len(load.tokens) >= 4, "the connector should have got a token and refreshed it"
            for j, token in enumerate(sorted(load.tokens)):
                secret_values[f"token {i}.{j}"] = token
        requests = sum(load.requests for load in loads)

        # --- errors that carry secrets -------------------------------------------------------------------------
        wrong_secret = secrets.token_hex(16)
        secret_values["wrong secret"] = wrong_secret
        assert TuyaOpenAPI(server.url, access_id, wrong_secret).connect()["success"] is False  # bad sign
        signed = SignedClient(server.url, access_id, secret)
        assert signed.connect()["success"]
        secret_values["signed token"], secret_values["signed refresh"] = signed.access_token, signed.refresh_token
        made_up = secrets.token_hex(16)
        secret_values["made-up token"] = made_up
        assert signed.get(f"/v1.0/devices/{lamps[0]}", token=made_up)["code"] == 1010
        # a secret in a query string, and a refresh token in a path that no route takes (PUT)
        assert signed.get(f"/v1.0/devices/{lamps[0]}", {"access_token": signed.access_token,
                                                         "password": console_password})["success"]
        path = f"/v1.0/token/{signed.refresh_token}"
        wrong_method = signed.http.put(f"{server.url}{path}", headers=signed.headers("PUT", path, token=""))
        assert wrong_method.json()["success"] is False
        requests += 5

        # --- a project user's password login ---------------------------------------------------------------
        user_password = "user-" + secrets.token_hex(12)
        secret_values["user password"] = user_password
        secret_values["user password hash"] = hashlib.sha256(user_password.encode()).hexdigest()
        register(signed, "logs-user", user_password)
        user = login(signed, "logs-user", user_password)
        secret_values["user token"], secret_values["user refresh"] = user.access_token, user.refresh_token
        requests += 2

        # --- the web console -------------------------------------------------------------------------------
        wrong_password = "wrong-" + secrets.token_hex(12)
        secret_values["wrong console password"] = wrong_password
        with ConsoleClient(server.url) as console:
            assert console.login("operator", wrong_password).status_code != 303
            assert console.login("operator", console_password).status_code == 303
            cookie = console.cookies.get("tuyacloud_console")
            assert cookie
            secret_values["session cookie"] = cookie
            secret_values["csrf token"] = console.csrf
            pages = ("/console/projects", f"/console/projects/{access_id}", f"/console/projects/{access_id}/devices")
            for page in pages:
                assert console.get(page).status_code == 200
            # the API Explorer signs and sends its call with httpx, which would log each request at INFO
            sent = console.post_form("/console/explorer/send", {"project": access_id,
                                                                "api": "GET /v1.0/devices/{device_id}",
                                                                "p.device_id": lamps[0]})
            verdict = re.search(r'data-testid="verdict"[^>]*>([^<]*)<', sent.text)
            assert sent.status_code == 200 and verdict and verdict.group(1) == "success", sent.text[:300]
            requests += 9  # the explorer's own token and device calls reach the gateway too

        # --- the message service -----------------------------------------------------------------------------
        ws_password = password_for(access_id, secret)
        secret_values["message service password"] = ws_password
        wrong_ws = password_for(access_id, wrong_secret)
        secret_values["wrong message service password"] = wrong_ws
        with pytest.raises(websocket.WebSocketBadStatusException):  # refused with 401
            open_socket(server.port, access_id, wrong_ws)
        with PulsarConsumer(server.port, access_id, secret, auto_ack=True) as consumer:
            consumer.connect()
            assert signed.post(f"/v1.0/devices/{lamps[0]}/commands",
                               {"commands": [{"code": "temp_value_v2", "value": 999}]})["success"]
            consumer.received.get(timeout=15)
        requests += 1

        # --- the admin token: control API and /metrics -------------------------------------------------------
        admin = {"Authorization": f"Bearer {server.admin_token}"}
        assert web.get(f"{server.url}/_tuyacloud/projects", headers=admin, timeout=10).json()["success"]
        assert web.get(f"{server.url}/metrics", headers=admin, timeout=10).status_code == 200
        assert web.get(f"{server.url}/metrics", params={"token": server.admin_token}, timeout=10).status_code == 401
        requests += 3
    finally:
        status = server.terminate()
    assert status == 0, server.stderr

    log = server.stderr
    lines = [line for line in log.splitlines() if line.strip()]
    records = []
    for line in lines:
        record = json.loads(line)  # every line is one JSON object
        assert isinstance(record, dict) and {"ts", "level", "logger", "msg"} <= set(record), line
        records.append(record)
    access = [r for r in records if r["logger"] == "tuyacloud.access"]
    assert len(access) >= requests, f"{len(access)} access lines for at least {requests} requests"
    routes = {r["route"] for r in access}
    assert {"/v1.0/token", "/v1.0/token/{refresh_token}", "/v1.0/iot-03/devices/{device_id}/commands",
            "/console/login", "/_tuyacloud/projects", "/metrics"} <= routes, routes
    assert {r.get("code") for r in access} >= {"success", "1004", "1010", "1108"}
    assert all("?" not in r["path"] for r in access), "a query string was logged"
    assert not [r for r in records if r["logger"].startswith(("httpx", "httpcore"))], "a client library's request line"

    stdout_after_banner = server.stdout[len(banner):]
    for what, value in secret_values.items():
        assert value and value not in log, f"the {what} is in the log"
        assert value not in server.stdout, f"the {what} is on stdout"
    assert server.admin_token not in log, "the admin token is in the log"
    assert server.admin_token not in stdout_after_banner
