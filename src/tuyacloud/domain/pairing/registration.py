"""Device registration (pairing) of industry projects, simulated.

A project asks for a registration token (``POST /v1.0/iot-03/device-registration/token``): an 8-character token,
a 4-character secret and the 2-letter pairing region of its data center, valid for :data:`TOKEN_TTL_S` seconds.
On the platform the phone hands ``{region}{token}{secret}`` to the device over EZ/AP/Bluetooth and the device
activates; here :func:`pair` (control API, CLI) plays both: it creates a virtual device at the token's asset, in
the token's time zone, and records it on the token, in one unit of work with its ``bindUser`` message. The project
polls the token for the devices that paired (``GET /v1.1/iot-03/device-registration/tokens/{token}``); an expired
token keeps answering that list for :data:`LIST_KEEP_S` seconds but refuses pairing with ``2007``.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, datetime

from tuyacloud.domain.access import visibility
from tuyacloud.domain.context import Context
from tuyacloud.domain.devices import devices
from tuyacloud.domain.industry import assets
from tuyacloud.domain.pairing.requests import PAIRING_TYPES, TIME_ZONE_REFUSED
from tuyacloud.domain.pairing.requests import RegistrationToken as RegistrationRequest
from tuyacloud.domain.projects import projects
from tuyacloud.errors import DataNotExist, DeviceTokenExpired, ParamEmpty, ParamIllegal, SystemError_
from tuyacloud.models import Device, Project, RegistrationToken
from tuyacloud.regions import REGIONS
from tuyacloud.store.base import Tx

_PAIRING_ALIASES = {"ez": "EZ", "ap": "AP", "ble": "Bluetooth", "bluetooth": "Bluetooth"}
TOKEN_TTL_S = 300
LIST_KEEP_S = 24 * 3600  # how long after its expiry a token still answers its device list
# The pairing region codes devices receive ({region}{token}{secret}), by data center.
PAIRING_REGIONS = {"cn": "AY", "us": "AZ", "us-e": "UE", "eu": "EU", "eu-w": "WE", "in": "IN", "sg": "SG"}
_OFFSET = re.compile(r"^[+-](0\d|1[0-4]):[0-5]\d$")


def pairing_region(region: str) -> str:
    return PAIRING_REGIONS.get(region, region[:2].upper())


def check_time_zone(value: str | None) -> str:
    """An IANA zone ("Europe/Berlin") or a UTC offset ("+08:00")."""
    if value is None or value == "":
        raise ParamEmpty("time_zone_id is required")
    if len(value) > 64:
        raise ParamIllegal(TIME_ZONE_REFUSED)
    if _OFFSET.match(value):
        return value
    try:
        zoneinfo.ZoneInfo(value)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError) as exc:
        raise ParamIllegal(f"unknown time_zone_id {value!r}") from exc
    return value


def utc_offset(time_zone: str, now_ms: int) -> str:
    """The device's ``time_zone`` field ("+01:00") for a token's zone at an instant."""
    if _OFFSET.match(time_zone):
        return time_zone
    offset = datetime.fromtimestamp(now_ms / 1000, UTC).astimezone(zoneinfo.ZoneInfo(time_zone)).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


async def create_token(ctx: Context, project: Project, body: RegistrationRequest
                       ) -> tuple[RegistrationToken, dict[str, str]]:
    """A new registration token for devices that land at ``asset_id`` (default: the project's root asset); the
    shapes of its optional fields (lon, lat, lang, extension) were checked with the body."""
    visibility.require_project_token(ctx)
    pairing_type = body.pairing_type
    if pairing_type is None or pairing_type == "":
        raise ParamEmpty("pairing_type is required")
    pairing_type = _PAIRING_ALIASES.get(pairing_type.lower(), pairing_type)  # the Node connector: "ez", "ap", "ble"
    if pairing_type not in PAIRING_TYPES:
        raise ParamIllegal(f"pairing_type must be one of {', '.join(PAIRING_TYPES)}")
    time_zone = check_time_zone(body.time_zone_id)
    asset_id = body.asset_id
    if asset_id:
        asset_id = (await assets.get_owned(ctx, project, asset_id)).id
    else:
        asset_id = await assets.ensure_root(ctx, project)
    now = ctx.clock.now_ms()
    for _ in range(10):
        token = RegistrationToken(ctx.ids.alnum(8), project.access_id, project.region, asset_id, ctx.ids.alnum(4),
                                  time_zone, now, now + TOKEN_TTL_S * 1000)

        async def work(tx: Tx, token: RegistrationToken = token) -> bool:
            return await tx.insert_registration_token(token)

        if await ctx.store.transaction(work):
            return token, {"encrypt_key": ctx.ids.alnum(16), "random": ctx.ids.alnum(16)}
    raise SystemError_("could not draw an unused registration token")


async def _listed(ctx: Context, project: Project, token: str) -> RegistrationToken:
    found = await ctx.store.get_registration_token(token, project.region) if token else None
    if found is None or found.access_id != project.access_id \
            or ctx.clock.now_ms() >= found.expires_ms + LIST_KEEP_S * 1000:
        raise DataNotExist(f"registration token {token!r} does not exist")
    return found


async def paired_devices(ctx: Context, project: Project, token: str) -> tuple[RegistrationToken, list[Device]]:
    """The token and the devices that paired with it (still existing ones), oldest first."""
    visibility.require_project_token(ctx)
    found = await _listed(ctx, project, token)
    return found, await ctx.store.registration_devices(project.access_id, project.region, found.token)


async def _find(ctx: Context, token: str) -> RegistrationToken:
    """A token by its value alone (the admin's pairing step names no project): unique across data centers."""
    for region in REGIONS:
        found = await ctx.store.get_registration_token(token, region) if token else None
        if found is not None:
            return found
    raise DataNotExist(f"registration token {token!r} does not exist")


async def pair(ctx: Context, token: str, *, category: str | None = None, product_id: str | None = None,
               name: str | None = None) -> tuple[RegistrationToken, Device]:
    """Play the phone and the device: a virtual device activates with the token (``2007`` once it expired)."""
    found = await _find(ctx, token)
    if name is not None and (not isinstance(name, str) or not name.strip() or len(name.strip()) > 50):
        raise ParamIllegal("name must be 1 to 50 characters")
    if ctx.clock.now_ms() >= found.expires_ms:
        raise DeviceTokenExpired(f"registration token {token!r} expired")
    project = await projects.get(ctx, found.access_id)

    async def record(tx: Tx, chunk: list[Device]) -> None:
        if ctx.clock.now_ms() >= found.expires_ms:
            raise DeviceTokenExpired(f"registration token {token!r} expired")
        for device in chunk:
            await tx.add_registration_device(found.access_id, found.region, found.token, device.id)

    created = await devices.create_virtual(
        ctx, project, category=category, product_id=product_id, name=name.strip() if name else None,
        asset_id=found.asset_id, time_zone=utc_offset(found.time_zone, ctx.clock.now_ms()),
        pairing_token=found.token, also=record,
    )
    return found, created[0]
