"""The records the cloud keeps, as plain dataclasses shared by the domain and the store.

They carry no behaviour beyond small derived properties; rules live in ``domain/``, persistence in ``store/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

METHODS = ("custom", "smart_home")


@dataclass
class Project:
    access_id: str
    access_secret: str
    region: str
    name: str
    description: str
    method: str  # "custom" | "smart_home"
    industry: str
    uid: str  # the developer account uid that project tokens carry
    created_ms: int
    updated_ms: int
    allowlist_enabled: bool = False
    allowlist: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    message_encryption: str = "aes_ecb"  # or "aes_gcm"
    # Accept the pre-2021 signature algorithm (tinytuya new_sign_algorithm=False, old SDKs). Off by default: as
    # on the platform, projects created after mid-2021 verify with the current algorithm only.
    legacy_signing: bool = False


@dataclass
class Token:
    access_token: str
    refresh_token: str
    access_id: str
    region: str
    uid: str
    kind: str  # "project" | "user"
    created_ms: int
    expires_ms: int
    # When refreshed away: the old access token keeps working until this instant (grace period).
    revoked_ms: int | None = None
    refresh_used: bool = False


@dataclass
class Device:
    id: str
    access_id: str
    region: str
    product_id: str
    category: str
    name: str
    local_key: str
    uuid: str
    ip: str
    time_zone: str
    lat: str
    lon: str
    online: bool
    owner_uid: str
    asset_id: str
    created_ms: int
    active_ms: int
    updated_ms: int
    status: dict[str, Any] = field(default_factory=dict)
    status_t: dict[str, int] = field(default_factory=dict)
    custom_name: str = ""
    sn: str = ""
    mac: str = ""
    virtual: bool = True
    # A sub-device's gateway and its node id on the gateway's network (Zigbee); empty for directly connected ones.
    gateway_id: str = ""
    node_id: str = ""
    # Frozen by the project (``PUT .../freeze-state``): it refuses commands until unfrozen.
    frozen: bool = False
    # A sub-device taken offline because its gateway went offline: it comes back with the gateway.
    gateway_held: bool = False


@dataclass
class DeviceLog:
    device_id: str
    event_time: int
    event_id: int  # 1 online, 2 offline, 5 command issued, 7 DP report
    code: str
    value: str
    event_from: str  # "1" device, "2" client, "3" third party, "4" cloud, "-1" unknown
    row_id: int = 0


@dataclass
class Message:
    """An outbox entry: the plaintext Tuya message data, written with the change that caused it."""

    access_id: str
    region: str
    protocol: int
    device_id: str
    data: dict[str, Any]
    created_ms: int
    seq: int = 0


@dataclass
class Asset:
    """A node of a custom project's asset tree; ``parent_id`` is ``"-1"`` for a top asset (level 0)."""

    id: str
    access_id: str
    region: str
    parent_id: str
    name: str
    asset_type: str
    image: str
    level: int
    created_ms: int
    is_root: bool = False  # the project's own root, named after it, where devices without a node go


@dataclass
class ProjectUser:
    """A custom project's user; ``password_hash`` is scrypt over the SHA-256 hex the client sends."""

    id: str
    access_id: str
    region: str
    username: str
    country_code: str
    nick_name: str
    password_hash: str
    creator: str
    created_ms: int
    updated_ms: int


@dataclass
class AssetGrant:
    """A user authorised on an asset, and on its descendants when ``with_children``."""

    access_id: str
    region: str
    uid: str
    asset_id: str
    with_children: bool
    created_ms: int


@dataclass
class RegistrationToken:
    """A device registration (pairing) token of a custom project: devices that pair with it land at ``asset_id``."""

    token: str
    access_id: str
    region: str
    asset_id: str
    secret: str
    time_zone: str  # the ``time_zone_id`` given at creation ("Europe/Berlin", "+08:00")
    created_ms: int
    expires_ms: int


@dataclass
class App:
    """A smart-home app (OEM app, App SDK app, Tuya's own): its users and their devices, seen by linked projects."""

    schema: str
    name: str
    region: str
    created_ms: int


@dataclass
class AppUser:
    """A user of an app; ``password_hash`` is scrypt over the MD5 hex the client sends."""

    id: str
    schema: str
    region: str
    username: str
    username_type: int
    country_code: str
    nick_name: str
    time_zone_id: str
    password_hash: str
    created_ms: int
    updated_ms: int


@dataclass
class Home:
    id: str
    schema: str
    region: str
    owner_uid: str
    name: str
    geo_name: str
    lon: float
    lat: float
    created_ms: int


@dataclass
class Room:
    id: str
    home_id: str
    name: str
    created_ms: int


@dataclass
class HomeMember:
    home_id: str
    uid: str
    role: str  # "OWNER" | "ADMIN" | "MEMBER"
    name: str
    created_ms: int


@dataclass
class QrLogin:
    """A device-sharing QR login (Home Assistant): ``pending`` until approved or refused, ``used`` once redeemed."""

    qrcode: str
    user_code: str
    uid: str
    client_id: str
    schema: str
    state: str  # "pending" | "approved" | "refused" | "used"
    created_ms: int
    expires_ms: int


@dataclass
class PairingToken:
    """A smart-home pairing token (``/v1.0/device/paring/token``): devices that pair with it belong to ``uid``."""

    token: str
    access_id: str
    region: str
    uid: str
    secret: str
    time_zone: str
    created_ms: int
    expires_ms: int


@dataclass
class ConsoleAccount:
    """A person who logs in to the web console; ``password_hash`` is ``scrypt$n$r$p$salt$hash``."""

    username: str
    password_hash: str
    created_ms: int
    updated_ms: int


@dataclass
class ConsoleSession:
    """A logged-in browser: the cookie holds the token, the store only its SHA-256 (``token_hash``)."""

    token_hash: str
    username: str
    csrf_token: str
    created_ms: int
    expires_ms: int


# --- scenes and automations ---
@dataclass
class Scene:
    """A tap-to-run scene of a home: ``actions`` as validated action dicts (see ``domain/rules/scene_actions.py``)."""

    id: str
    home_id: str
    region: str
    name: str
    background: str
    enabled: bool
    actions: list[dict[str, Any]]
    created_ms: int
    updated_ms: int


@dataclass
class Automation:
    """A device linkage of a home: when its conditions fire (and its preconditions allow), its actions run.

    ``last_fired_minute`` is the cloud minute (epoch ms // 60000) of the last schedule occurrence claimed: the
    conditional update on it makes a schedule fire once across processes."""

    id: str
    home_id: str
    region: str
    name: str
    background: str
    enabled: bool
    match_type: int  # 1 any, 2 all
    condition_rule: str
    conditions: list[dict[str, Any]]
    preconditions: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    created_ms: int
    updated_ms: int
    last_fired_minute: int = 0


@dataclass
class PendingAction:
    """One action of a scene's or automation's run that has not run yet: due at ``due_ms`` on the cloud clock (the
    run's start plus the delays before it), the ``position``-th action of run ``run_id``. Kept in the store so that
    a restart or the death of the process that started the run loses nothing (``domain/rules/pending_runs.py``).

    ``kind`` ("scene" or "automation"), ``rule_id``, ``reason``, ``started_ms`` and ``chain`` (the automations whose
    runs caused this one) describe the run for the engine's run history and its loop rule. ``owner`` names the
    process that started the run, which runs it on time; others take it over once it is overdue, and a process
    that stops cleanly hands its runs over by clearing it."""

    run_id: str
    position: int
    due_ms: int
    home_id: str
    region: str
    kind: str
    rule_id: str
    reason: str
    started_ms: int
    chain: list[str]
    action: dict[str, Any]
    owner: str = ""


# --- timers ---
@dataclass
class Timer:
    """One scheduled task of a device. The v1.0 timer groups and the v2.0 timers are views of the same rows: a v1.0
    group is the timers sharing ``group_id`` (a v2.0 timer is a group of one).

    ``date`` is the run day of a one-shot (``loops`` all zero) and empty for a repeating timer. ``next_run_ms`` is
    the next instant the cloud runs it, None when it is disabled or a one-shot that is done."""

    id: str
    device_id: str
    region: str
    group_id: str
    category: str
    group_order: int
    alias_name: str
    time: str
    date: str
    loops: str
    timezone_id: str
    time_zone: str
    functions: list[dict[str, Any]]
    enabled: bool
    is_app_push: bool
    next_run_ms: int | None
    last_run_ms: int | None
    last_result: str
    created_ms: int
    updated_ms: int


@dataclass
class HubCredential:
    """One MQTT open-hub credential, issued by a config call for a link (``link_id``) of a token's holder.

    The password is stored only as a SHA-256 hash (it is a long random secret, so a slow hash adds nothing); the
    message key (``password[8:24]``, the protocol's choice) is kept, since every message to the link is encrypted
    with it. ``start_seq`` is the position in the project's message log when it was issued, ``delivered_seq`` how far
    delivery to it has gone.
    """

    username: str
    access_id: str
    region: str
    link_id: str
    client_id: str
    uid: str
    token_kind: str  # the issuing token's kind: "project" | "user" | "app_user"
    password_hash: str
    message_key: str
    topic: str
    version: str  # "1.0" (AES-128-ECB) | "2.0" (AES-128-GCM)
    created_ms: int
    expires_ms: int
    start_seq: int = 0
    delivered_seq: int = 0
    revoked_ms: int | None = None
    connected_ms: int | None = None
    last_seen_ms: int | None = None
    last_message_ms: int | None = None
    messages: int = 0
    node: str | None = None


@dataclass
class QuotaSettings:
    """A project's own quota settings (domain/projects/quotas.py); None fields follow the plan's figure.
    ``plan`` None: the server's default plan (``serve --quotas``); ``month_offset``: months the project's quota
    month was moved."""

    access_id: str
    plan: str | None = None  # "off" | "trial" | None
    monthly_calls: int | None = None
    monthly_messages: int | None = None
    devices: int | None = None
    month_offset: int = 0
    updated_ms: int = 0


@dataclass
class InfraredRemote:
    """A remote control bound to an IR blaster (a ``qt`` device): its type (Tuya's IR category id), brand and code
    library index, and the state its key presses gave it (an air conditioner's power, mode, temp and wind)."""

    id: str
    infrared_id: str
    access_id: str
    region: str
    category_id: int
    remote_name: str
    brand_id: int
    brand_name: str
    remote_index: int
    state: dict[str, Any]
    created_ms: int
    updated_ms: int


@dataclass
class CameraStream:
    """A live-stream URL handed out by ``stream/actions/allocate``: opened within the start window, then played
    until ``expires_ms``."""

    token: str
    device_id: str
    access_id: str
    region: str
    type: str
    created_ms: int
    opened_ms: int  # 0 until the first fetch of the playlist
    expires_ms: int
