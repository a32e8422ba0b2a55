"""Smart-home pairing, simulated.

``POST /v1.0/device/paring/token`` (sic) gives an app user a pairing token: 8 characters, a 4-character secret and
the 2-letter pairing region, valid for :data:`registration.TOKEN_TTL_S` seconds. On the platform the phone hands
``{region}{token}{secret}`` to the device, which activates into the user's home; here :func:`pair` (control API,
CLI) plays both, creating a virtual device owned by the user in one of their homes (default: the first home they
own or administer), optionally in a room. ``GET /v1.0/device/paring/tokens/{token}`` lists the devices that
paired; an expired token still answers it for :data:`registration.LIST_KEEP_S` seconds but refuses pairing
(``2007``).
"""

from __future__ import annotations

from tuyacloud.domain.context import Context
from tuyacloud.domain.devices import owners
from tuyacloud.domain.pairing import registration
from tuyacloud.domain.pairing.requests import PARING_TYPES as PAIRING_TYPES
from tuyacloud.domain.pairing.requests import PairingToken as PairingRequest
from tuyacloud.domain.projects import projects
from tuyacloud.domain.smarthome import homes
from tuyacloud.errors import (
    DataNotExist,
    DeviceTokenExpired,
    HomeNotExist,
    ParamEmpty,
    ParamIllegal,
    PermissionDeny,
    SystemError_,
)
from tuyacloud.models import Device, PairingToken, Project
from tuyacloud.store.base import Tx


async def create_token(ctx: Context, project: Project, body: PairingRequest) -> PairingToken:
    user = await homes.user_of_request(ctx, project, body.uid)
    paring_type = body.paring_type if body.paring_type is not None else body.pairing_type
    if paring_type in (None, ""):
        raise ParamEmpty("paring_type is required")
    if paring_type not in PAIRING_TYPES:
        raise ParamIllegal(f"paring_type must be one of {', '.join(PAIRING_TYPES)}")
    time_zone = registration.check_time_zone(body.time_zone_id)
    now = ctx.clock.now_ms()
    for _ in range(10):
        token = PairingToken(ctx.ids.alnum(8), project.access_id, project.region, user.id, ctx.ids.alnum(4),
                             time_zone, now, now + registration.TOKEN_TTL_S * 1000)

        async def work(tx: Tx, token: PairingToken = token) -> bool:
            return await tx.insert_pairing_token(token)

        if await ctx.store.transaction(work):
            return token
    raise SystemError_("could not draw an unused pairing token")


async def _find(ctx: Context, token: str) -> PairingToken:
    found = await ctx.store.get_pairing_token(token) if token else None
    if found is None:
        raise DataNotExist(f"pairing token {token!r} does not exist")
    return found


async def paired_devices(ctx: Context, project: Project, token: str) -> list[Device]:
    found = await _find(ctx, token)
    if found.access_id != project.access_id or ctx.clock.now_ms() >= found.expires_ms + \
            registration.LIST_KEEP_S * 1000:
        raise DataNotExist(f"pairing token {token!r} does not exist")
    scope = ctx.scope
    if scope is not None and scope.uid != found.uid:
        raise PermissionDeny("the pairing token is another user's")
    return [d for d in await ctx.store.pairing_devices(found.token)
            if d.access_id in await owners.linked_owners(ctx, project)]


async def pair(ctx: Context, token: str, *, category: str | None = None, product_id: str | None = None,
               name: str | None = None, home_id: str = "", room_id: str = "") -> tuple[PairingToken, Device]:
    """Play the phone and the device: a virtual device of the token's user activates in their home."""
    found = await _find(ctx, token)
    if ctx.clock.now_ms() >= found.expires_ms:
        raise DeviceTokenExpired(f"pairing token {token!r} expired")
    project = await projects.get(ctx, found.access_id)
    if not home_id:
        owned = [h for h, role in await ctx.store.homes_of_user(found.uid) if role in (homes.OWNER, homes.ADMIN)]
        if not owned:
            raise HomeNotExist("the user has no home to pair into; create one first")
        home_id = owned[0].id

    async def record(tx: Tx, chunk: list[Device]) -> None:
        if ctx.clock.now_ms() >= found.expires_ms:
            raise DeviceTokenExpired(f"pairing token {token!r} expired")
        for device in chunk:
            await tx.add_pairing_device(found.token, device.id)

    device = await homes.add_device(
        ctx, project, uid=found.uid, home_id=home_id, room_id=room_id, category=category, product_id=product_id,
        name=name, time_zone=registration.utc_offset(found.time_zone, ctx.clock.now_ms()), pairing_token=found.token,
        also=record,
    )
    return found, device
