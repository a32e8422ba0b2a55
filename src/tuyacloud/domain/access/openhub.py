"""The MQTT open-hub's decisions: issuing a link's credentials, checking them when a client connects, and what a
credential's holder may see.

A config call (tuya-iot-py-sdk's ``TuyaOpenMQ``, homebridge, Home Assistant forks) gets a fresh credential for its
link every time: its own username, password, client id and source topic, valid for ``ttl_s``. A client renews
before expiry with a new config call, and its MQTT library's automatic reconnects reuse the old credential, so an
earlier credential stays valid until it expires (or is revoked with its user). The messages a credential receives
are encrypted with ``password[8:24]``, so each credential is delivered to on its own topic.

Who sees what follows the OpenAPI rule: a project-level token sees every device of the project; a project user's
token its authorised assets; an app user's token the homes it belongs to and the devices it owns.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from tuyacloud.domain.access import visibility
from tuyacloud.domain.context import Context, HubSettings, Scope
from tuyacloud.errors import (
    OpenHubDisabled,
    ParamEmpty,
    ParamIllegal,
    PermissionDeny,
    UserNotExist,
)
from tuyacloud.models import AssetGrant, HubCredential, Project, Token
from tuyacloud.store.base import Tx

if TYPE_CHECKING:  # the edge decodes the body (msgspec); the rules only read it
    from tuyacloud.domain.access.requests import HubLink

VERSIONS = ("1.0", "2.0")
# Home Assistant's device-sharing SDK: plain JSON messages on per-device topics under the credential's topic
# (``<topic>/dev/<devId>/sta``; ``<topic>/home/<homeId>`` for a device newly bound to a home).
SHARING = "sharing"
TOPIC_PREFIX = "cloud/token/in/"
SINK_PREFIX = "cloud/token/out/"
PASSWORD_LENGTH = 32
_LINK_ID = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")
BULK_GRANTS = 20  # more project (app) users than this among the links: their grants (homes) are read at once


def password_hash(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


def _text(value: str | None, name: str, default: str | None = None) -> str:
    if value is None or value == "":
        if default is not None:
            return default
        raise ParamEmpty(f"{name} is required")
    return value


async def _holder(ctx: Context, project: Project, token: Token, uid: str) -> tuple[str, str]:
    """(uid, token kind) the credential sees as: a user's token only for itself; the project's token for the
    whole project (its own uid) or for one of its users."""
    if token.kind != "project":
        if uid != token.uid:
            raise PermissionDeny("uid must be the uid of the access token")
        return uid, token.kind
    if uid == project.uid:
        return uid, "project"
    if project.method == "custom" and await ctx.store.get_user(project.access_id, project.region, uid) is not None:
        return uid, "user"
    app_user = await ctx.store.get_app_user(uid)
    if app_user is not None and app_user.region == project.region and project.access_id in await \
            ctx.store.app_links(app_user.schema):
        return uid, "app_user"
    raise UserNotExist(f"user {uid!r} does not exist in this project")


async def issue(ctx: Context, project: Project, token: Token | None, body: HubLink,
                settings: HubSettings, sharing: bool = False) -> tuple[HubCredential, str]:
    """A new credential for the link the body names, and its password (shown this once, stored hashed)."""
    if not settings.enabled:
        raise OpenHubDisabled("this server runs without its MQTT broker (serve --mqtt-port)")
    if token is None:
        raise PermissionDeny("an access token is required")
    uid = _text(body.uid, "uid")
    link_id = _text(body.link_id, "link_id")
    if not _LINK_ID.match(link_id):
        raise ParamIllegal("link_id must be 1 to 128 letters, digits or . _ : @ -")
    if _text(body.link_type, "link_type", "mqtt") != "mqtt":
        raise ParamIllegal("link_type must be mqtt")
    if _text(body.topics, "topics", "device") != "device":
        raise ParamIllegal("topics must be device")
    version = SHARING if sharing else _text(body.msg_encrypted_version, "msg_encrypted_version", "1.0")
    if version not in VERSIONS and not sharing:
        raise ParamIllegal("msg_encrypted_version must be 1.0 or 2.0")
    holder, kind = await _holder(ctx, project, token, uid)
    password = ctx.ids.alnum(PASSWORD_LENGTH)
    name = ctx.ids.hex(24)
    now = ctx.clock.now_ms()
    credential = HubCredential(
        username=f"cloud_{name}", access_id=project.access_id, region=project.region, link_id=link_id,
        client_id=f"{link_id}_{ctx.ids.hex(16)}", uid=holder, token_kind=kind, password_hash=password_hash(password),
        message_key=password[8:24], topic=TOPIC_PREFIX + name, version=version, created_ms=now,
        expires_ms=now + settings.ttl_s * 1000,
    )

    # Delivery starts with the messages committed after this call: a client connects right after it. The store
    # answers a position below which nothing can still commit (on PostgreSQL, commits of several processes land
    # out of position order), so starting there skips none.
    credential.start_seq = credential.delivered_seq = await ctx.store.last_message_seq(project.access_id)

    async def work(tx: Tx) -> None:
        await tx.insert_credential(credential)

    await ctx.store.transaction(work)
    if settings.on_issue is not None:
        await settings.on_issue(credential, password)
    return credential, password


def config_result(credential: HubCredential, password: str, settings: HubSettings, host: str,
                  now_ms: int) -> dict[str, Any]:
    """The ``result`` of a config call, as tuya-iot-py-sdk's ``TuyaMQConfig`` reads it."""
    scheme = "ssl" if settings.tls else "tcp"
    name = credential.topic[len(TOPIC_PREFIX):]
    return {
        "url": f"{scheme}://{settings.host or host}:{settings.port}",
        "client_id": credential.client_id,
        "username": credential.username,
        "password": password,
        "expire_time": max(0, -((now_ms - credential.expires_ms) // 1000)),  # whole seconds, rounded up
        "source_topic": {"device": credential.topic},
        "sink_topic": {"device": SINK_PREFIX + name},
    }


def covers(credential: HubCredential, topic: str) -> bool:
    """Whether a subscription to ``topic`` is the credential's: its topic, or for a sharing credential the device and
    home topics under it."""
    if topic == credential.topic:
        return credential.version != SHARING
    return credential.version == SHARING and topic.startswith(credential.topic + "/") and "#" not in topic \
        and "+" not in topic


def sharing_topic(credential: HubCredential, protocol: int, device_id: str, data: dict[str, Any],
                  home_id: str | None) -> str:
    """Where a message goes for a sharing credential: a device newly bound to a home on the home's topic (the SDK
    is not subscribed to the device yet), everything else on the device's status topic."""
    if protocol == 20 and data.get("bizCode") == "bindUser" and home_id:
        return f"{credential.topic}/home/{home_id}"
    return f"{credential.topic}/dev/{device_id}/sta"


def is_valid(credential: HubCredential, now_ms: int) -> bool:
    return credential.expires_ms > now_ms and (credential.revoked_ms is None or credential.revoked_ms > now_ms)


async def authenticate(ctx: Context, username: str | None, password: str | None,
                       client_id: str | None) -> HubCredential | None:
    """The credential a CONNECT names, if its password is right and it is neither expired nor revoked."""
    if not username or not password:
        return None
    credential = await ctx.store.get_credential(username)
    if credential is None or not is_valid(credential, ctx.clock.now_ms()):
        return None
    if not hmac.compare_digest(credential.password_hash, password_hash(password)):
        return None
    if client_id is not None and client_id != credential.client_id:
        return None
    project = await ctx.store.get_project(credential.access_id)
    if project is None or project.region != credential.region:
        return None
    return credential


async def scopes_of(ctx: Context, credentials: list[HubCredential]) -> dict[str, Scope | None]:
    """``scope_of`` for many credentials of one project at once (by username): the asset tree is read once, each
    user's grants or homes once, however many links the user has."""
    scopes: dict[str, Scope | None] = {}
    by_uid: dict[tuple[str, str], Scope | None] = {}
    assets = None
    tree: visibility.AssetTree | None = None
    # Many project users' links: one read of the project's grants instead of one per user.
    grants_by_uid: dict[str, list[AssetGrant]] | None = None
    users = {c.uid for c in credentials if c.token_kind == "user"}
    if len(users) > BULK_GRANTS and credentials:
        grants_by_uid = {}
        for g in await ctx.store.grants_of_project(credentials[0].access_id, credentials[0].region):
            grants_by_uid.setdefault(g.uid, []).append(g)
    # Many app users' links: their homes in a few queries instead of one per user.
    app_users = sorted({c.uid for c in credentials if c.token_kind == "app_user"})
    homes_by_uid = await ctx.store.home_ids_of_users(app_users) if len(app_users) > BULK_GRANTS else None
    for c in credentials:
        key = (c.token_kind, c.uid)
        if key not in by_uid:
            if c.token_kind == "project":
                by_uid[key] = None
            elif c.token_kind == "app_user" and homes_by_uid is not None:
                by_uid[key] = Scope(c.uid, frozenset(homes_by_uid.get(c.uid, ())), frozenset(), app_user=True)
            elif c.token_kind == "app_user":
                by_uid[key] = await visibility.for_app_user(ctx, c.uid)
            else:
                if grants_by_uid is not None:
                    grants = grants_by_uid.get(c.uid, [])
                else:
                    grants = await ctx.store.grants_of_user(c.access_id, c.region, c.uid)
                if grants and assets is None:
                    assets = await ctx.store.all_assets(c.access_id, c.region)
                    tree = visibility.AssetTree.of(assets)
                by_uid[key] = visibility.scope_of(c.uid, grants, assets or [], tree)
        scopes[c.username] = by_uid[key]
    return scopes


async def scope_of(ctx: Context, credential: HubCredential) -> Scope | None:
    """What the credential's holder sees now (None: the whole project), as an OpenAPI call with its token would."""
    if credential.token_kind == "project":
        return None
    if credential.token_kind == "app_user":
        return await visibility.for_app_user(ctx, credential.uid)
    project = await ctx.store.get_project(credential.access_id)
    if project is None:
        return Scope(credential.uid, frozenset(), frozenset())
    return await visibility.for_user(ctx, project, credential.uid)


def may_see(scope: Scope | None, placement: tuple[str, str] | None, data: dict[str, Any]) -> bool:
    """Whether a message about a device at ``placement`` (asset or home id, owner uid) reaches this scope. A device
    with no placement (deleted, or unbound by a factory reset, before its placement was known) is judged by the
    binding its ``delete`` event names: ``ownerId`` (the asset or home it left, or its owner) and ``uid``."""
    if scope is None:
        return True
    if placement is not None:
        return scope.sees(placement[0], placement[1])
    biz = data.get("bizData")
    if not isinstance(biz, dict):
        return False
    owner_id, uid = biz.get("ownerId") or "", biz.get("uid") or ""
    return scope.sees(str(owner_id), str(uid)) or (scope.app_user and owner_id == scope.uid)


L = TypeVar("L")


class Audience(Generic[L]):
    """A project's links indexed by what their scopes see, so the links a message reaches are found by its device's
    placement instead of by asking every link (``may_see`` on each of a thousand links, for every device, was most
    of what delivery did with many links connected).

    The index gives exactly the links ``may_see`` accepts: a scope sees a device at (asset or home, owner) when the
    asset is among its ``asset_ids`` (``by_asset``) or, for an app user, when the user owns it (``by_owner``); a
    link without a scope sees everything (``everyone``). A link is keyed by its username; ``put`` again replaces
    its scope (after visibility was read again)."""

    def __init__(self) -> None:
        self._scopes: dict[str, Scope | None] = {}
        self._everyone: dict[str, L] = {}
        self._by_asset: dict[str, dict[str, L]] = {}
        self._by_owner: dict[str, dict[str, L]] = {}

    def __len__(self) -> int:
        return len(self._scopes)

    @property
    def scoped(self) -> bool:
        """Whether any link sees less than the whole project (only then does a message's placement matter)."""
        return len(self._scopes) > len(self._everyone)

    def put(self, key: str, link: L, scope: Scope | None) -> None:
        if key in self._scopes:
            if self._scopes[key] == scope:
                return
            self.remove(key)
        self._scopes[key] = scope
        if scope is None:
            self._everyone[key] = link
            return
        for asset_id in scope.asset_ids:
            self._by_asset.setdefault(asset_id, {})[key] = link
        if scope.app_user:
            self._by_owner.setdefault(scope.uid, {})[key] = link

    def remove(self, key: str) -> None:
        if key not in self._scopes:
            return
        scope = self._scopes.pop(key)
        if scope is None:
            self._everyone.pop(key, None)
            return
        for asset_id in scope.asset_ids:
            _discard(self._by_asset, asset_id, key)
        if scope.app_user:
            _discard(self._by_owner, scope.uid, key)

    def recipients(self, placement: tuple[str, str] | None, data: dict[str, Any]) -> list[L]:
        """The links that may see a message about a device at ``placement`` (see ``may_see``, which this equals)."""
        owners: tuple[str, ...]
        if placement is not None:
            asset_id, owners = placement[0], (placement[1],)
        else:  # judged by the binding the delete event names
            biz = data.get("bizData")
            if not isinstance(biz, dict):
                return list(self._everyone.values())
            asset_id = str(biz.get("ownerId") or "")
            owners = (str(biz.get("uid") or ""), asset_id)
        found = dict(self._everyone)
        found.update(self._by_asset.get(asset_id, ()))
        for owner in owners:
            found.update(self._by_owner.get(owner, ()))
        return list(found.values())


def _discard(index: dict[str, dict[str, L]], at: str, key: str) -> None:
    links = index.get(at)
    if links is not None:
        links.pop(key, None)
        if not links:
            del index[at]


KEEP_EXPIRED_MS = 86_400_000


async def sweep(ctx: Context) -> int:
    """Forget credentials that expired more than a day ago; they would be refused either way."""

    async def work(tx: Tx) -> int:
        return await tx.delete_credentials_expired_before(ctx.clock.now_ms() - KEEP_EXPIRED_MS)

    return await ctx.store.transaction(work)
