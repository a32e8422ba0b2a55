"""A small client for tuyacloud's control API (``/_tuyacloud/``): what a test does to the cloud that a real device
or a real clock would otherwise do.

It speaks plain HTTP, so it drives any tuyacloud, the one :class:`~tuyacloud.testing.LocalCloud` starts in the
test process as well as a ``tuyacloud serve`` elsewhere (give its URL and the admin token it printed).
"""

from __future__ import annotations

import http.client
import json as jsonlib
import select
import threading
import urllib.parse
from typing import Any


class ControlError(RuntimeError):
    """The control API refused a call; ``code`` and ``msg`` are the Tuya error it answered (``msg`` exactly the
    platform's text), ``detail`` what the cloud added about this refusal ("" when nothing)."""

    def __init__(self, code: Any, msg: str, path: str, detail: str = "") -> None:
        super().__init__(f"{path}: {code} {msg}" + (f": {detail}" if detail else ""))
        self.code = code
        self.msg = msg
        self.detail = detail


class ControlClient:
    """The control API of one cloud, authenticated with its admin token.

    Every method is one HTTP call; results are the control API's JSON (see the control API reference). Failures
    raise :class:`ControlError` so a test that sets up the wrong thing stops at that line.

    It uses the standard library's HTTP client over one kept-alive connection (calls from several threads take
    turns): a general HTTP client costs a test process a third of a second of CPU to import and set up (its TLS
    context loads the CA bundle even for plain HTTP), more than starting the cloud itself.
    """

    def __init__(self, base_url: str, admin_token: str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        parts = urllib.parse.urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http:// or https:// URL: {base_url!r}")
        self._tls = parts.scheme == "https"
        self._host, self._port = parts.hostname, parts.port
        self._prefix = parts.path + "/_tuyacloud"
        self._headers = {"Authorization": f"Bearer {admin_token}", "Accept": "application/json"}
        self._timeout = timeout
        self._conn: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._drop()

    def __enter__(self) -> ControlClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, method: str, path: str, json: Any = None, params: dict[str, Any] | None = None) -> Any:
        """One control call (``path`` below ``/_tuyacloud``); returns its ``result``."""
        target = self._prefix + path
        if params:
            target += "?" + urllib.parse.urlencode({k: _param(v) for k, v in params.items() if v is not None})
        headers = dict(self._headers)
        payload = None
        if json is not None:
            payload = jsonlib.dumps(json, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
            headers["Content-Type"] = "application/json"
        with self._lock:
            data = self._exchange(method, target, payload, headers)
        body = jsonlib.loads(data)
        if not body.get("success"):
            raise ControlError(body.get("code"), str(body.get("msg", "")), path, str(body.get("detail") or ""))
        return body.get("result")

    def _exchange(self, method: str, target: str, payload: bytes | None, headers: dict[str, str]) -> bytes:
        conn = self._connection()
        try:
            conn.request(method, target, body=payload, headers=headers)
            response = conn.getresponse()
            data = response.read()
        except BaseException:  # a half-used connection is never reused
            self._drop()
            raise
        if response.will_close:
            self._drop()
        return data

    def _connection(self) -> http.client.HTTPConnection:
        """The kept-alive connection, or a new one when there is none or the server has closed it meanwhile (an
        idle keep-alive ends after a few seconds): an idle connection with something to read has been closed,
        so no request is ever sent on it (a request is never sent twice)."""
        if self._conn is not None and self._conn.sock is not None:
            readable, _, _ = select.select([self._conn.sock], [], [], 0)
            if readable:
                self._drop()
        if self._conn is None:
            if self._tls:
                import ssl

                self._conn = http.client.HTTPSConnection(self._host, self._port, timeout=self._timeout,
                                                         context=ssl.create_default_context())
            else:
                self._conn = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
        return self._conn

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def health(self) -> dict[str, Any]:
        result: dict[str, Any] = self.call("GET", "/health")
        return result

    # --- the clock ------------------------------------------------------------------------------------------------
    def clock(self) -> dict[str, Any]:
        """``{"now": <ms>, "offset_ms": <ms>, "frozen": bool}``."""
        result: dict[str, Any] = self.call("GET", "/clock")
        return result

    def now_ms(self) -> int:
        return int(self.clock()["now"])

    def step(self, seconds: float = 0.0, *, ms: int | None = None) -> int:
        """Move the cloud's time forward (negative: back) and return the new now in ms. Tokens, signatures'
        timestamp window, timers, automations and the simulator all follow: 600 s makes a curtain arrive."""
        step_ms = ms if ms is not None else round(seconds * 1000)
        return int(self.call("POST", "/clock", {"step_ms": step_ms})["now"])

    def freeze(self, at_ms: int | None = None) -> int:
        """Stop the cloud's time (at ``at_ms``, or now); :meth:`step` still moves a frozen clock."""
        body: dict[str, Any] = {"freeze": True}
        if at_ms is not None:
            body["at_ms"] = at_ms
        return int(self.call("POST", "/clock", body)["now"])

    def unfreeze(self) -> int:
        """Let time run again from the frozen instant (no jump back to the wall clock)."""
        return int(self.call("POST", "/clock", {"freeze": False})["now"])

    def reset_clock(self) -> int:
        """Back to the wall clock: unfrozen, no offset."""
        offset = int(self.call("POST", "/clock", {"freeze": False})["offset_ms"])
        return int(self.call("POST", "/clock", {"step_ms": -offset})["now"]) if offset else self.now_ms()

    # --- devices --------------------------------------------------------------------------------------------------
    def report(self, device_id: str, status: dict[str, Any] | None = None, **codes: Any) -> dict[str, Any]:
        """Make a device report values as if it sent them itself (validated against its data points; status,
        logs and a status message follow). ``report(id, {"va_temperature": 312})`` or ``report(id, switch=True)``.
        Returns what changed."""
        values = {**(status or {}), **codes}
        result: dict[str, Any] = self.call("POST", f"/devices/{device_id}/report", {"status": values})["changed"]
        return result

    def set_online(self, device_id: str, online: bool) -> bool:
        return bool(self.call("POST", f"/devices/{device_id}/online", {"online": online})["online"])

    def take_offline(self, device_id: str) -> None:
        """The device drops off: commands to it answer ``2001``, an offline event is sent."""
        self.set_online(device_id, False)

    def bring_online(self, device_id: str) -> None:
        self.set_online(device_id, True)

    def timers(self, device_id: str) -> list[dict[str, Any]]:
        """A device's timers with the scheduler's view (next run, last run and its result)."""
        result: list[dict[str, Any]] = self.call("GET", f"/devices/{device_id}/timers")
        return result

    def rule_runs(self) -> list[dict[str, Any]]:
        """The automation engine's recent decisions (scenes and automations), oldest first."""
        result: list[dict[str, Any]] = self.call("GET", "/rules/runs")
        return result

    # --- projects -------------------------------------------------------------------------------------------------
    def projects(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.call("GET", "/projects")
        return result

    def create_project(self, name: str = "Test project", region: str = "us", method: str = "custom",
                       **options: Any) -> dict[str, Any]:
        """A cloud project (``method``: ``custom`` or ``smart_home``) with its ``access_id`` and ``access_secret``;
        ``options`` as the control API takes them (``services``, ``message_encryption``, ``legacy_signing``)."""
        result: dict[str, Any] = self.call("POST", "/projects", {"name": name, "region": region, "method": method,
                                                                 **options})
        return result

    def add_devices(self, access_id: str, category: str | None = None, count: int = 1, *,
                    product_id: str | None = None, name: str | None = None,
                    asset_id: str | None = None, gateway_id: str | None = None) -> list[dict[str, Any]]:
        """Virtual devices of any catalog category (or of a given product) in a project (v1.0 device objects);
        with ``gateway_id`` (a ``wg2`` device), sub-devices of that gateway."""
        body: dict[str, Any] = {"count": count}
        for key, value in (("category", category), ("product_id", product_id), ("name", name),
                           ("asset_id", asset_id), ("gateway_id", gateway_id)):
            if value is not None:
                body[key] = value
        result: list[dict[str, Any]] = self.call("POST", f"/projects/{access_id}/devices", body)
        return result

    def join_gateway(self, gateway_id: str, category: str | None = None, *, product_id: str | None = None,
                     name: str | None = None) -> dict[str, Any]:
        """A virtual Zigbee device joins a gateway that is searching for sub-devices (opened with the OpenAPI's
        ``.../device-registration/devices/{id}/actions/discover``); ``2007`` when it is not searching."""
        body = {k: v for k, v in (("category", category), ("product_id", product_id), ("name", name)) if v}
        result: dict[str, Any] = self.call("POST", f"/devices/{gateway_id}/join", body)
        return result

    def messages(self, access_id: str, *, after: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
        """The project's messages in topic order, decrypted: ``[{"seq", "protocol", "device_id", "data", "t"}]``;
        ``after`` is the last ``seq`` already seen. Protocol 4 is a status report, 20 a device event."""
        result: list[dict[str, Any]] = self.call("GET", f"/projects/{access_id}/messages",
                                                 params={"after": after, "limit": limit})
        return result

    def usage(self, access_id: str, first_day: str = "00000000", last_day: str = "99999999") -> list[dict[str, Any]]:
        """Calls and failures per API and day (``YYYYMMDD``), flushed every second."""
        result: list[dict[str, Any]] = self.call("GET", f"/projects/{access_id}/usage",
                                                 params={"from": first_day, "to": last_day})
        return result

    # --- quotas (opt-in trial limits) -----------------------------------------------------------------------------
    def quotas(self, access_id: str) -> dict[str, Any]:
        """The project's plan, quota month and use: ``{"plan", "period", "calls": {"used", "limit", "remaining"},
        "messages": {...}, "devices": {...}, "suspended", "refused"}``."""
        result: dict[str, Any] = self.call("GET", f"/projects/{access_id}/quotas")
        return result

    def set_quotas(self, access_id: str, **settings: Any) -> dict[str, Any]:
        """The project's own ``plan`` (``"trial"``, ``"off"``, ``"default"``) and figures (``monthly_calls``,
        ``monthly_messages``, ``devices``; None: the plan's), e.g. ``set_quotas(id, plan="trial", monthly_calls=20)``
        to reach the call quota quickly."""
        result: dict[str, Any] = self.call("PUT", f"/projects/{access_id}/quotas", settings)
        return result

    def reset_quotas(self, access_id: str) -> dict[str, Any]:
        """The quota month's calls and messages start again from zero: calls are accepted again."""
        result: dict[str, Any] = self.call("POST", f"/projects/{access_id}/quotas/reset")
        return result

    def next_quota_month(self, access_id: str, months: int = 1) -> dict[str, Any]:
        """Move the project to its next quota month (fresh counts) without moving the cloud's clock."""
        result: dict[str, Any] = self.call("POST", f"/projects/{access_id}/quotas/month", {"months": months})
        return result


def _param(value: Any) -> str:
    """A query value as the control API reads it (``true``/``false`` for booleans)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


__all__ = ["ControlClient", "ControlError"]
