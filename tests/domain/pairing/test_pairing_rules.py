"""Smart-home pairing (``domain/pairing/pairing.py``), in process on a real store: a pairing token is an app
user's, lands devices in a home the user owns or administers (or the one named, in a room of it), serves devices
until it expires and none after (2007), and its list is shown to its own project and its own user only. The same
mechanism as registration (``registration.py``): the same lifetime, time-zone rule and list window."""

from __future__ import annotations

import pytest

from support.home_domain import app_user, home_of
from tuyacloud import bodies
from tuyacloud.domain.access import visibility
from tuyacloud.domain.context import Context
from tuyacloud.domain.pairing import pairing, registration
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
)
from tuyacloud.models import AppUser, PairingToken, Project

pytestmark = pytest.mark.anyio


async def token_for(ctx: Context, project: Project, user: AppUser, **fields: object) -> PairingToken:
    """``POST /v1.0/device/paring/token`` (sic) for the app user, decoded as the edge decodes it."""
    body = {"uid": user.id, "paring_type": "EZ", "time_zone_id": "Europe/Berlin", **fields}
    return await pairing.create_token(ctx, project, bodies.convert(PairingRequest, body))


async def test_a_token_is_an_app_users_and_lives_as_long_as_a_registration_token(
        ctx: Context, smart_home_project: Project) -> None:
    _, user, _ = await home_of(ctx, smart_home_project, "ann@example.com")
    token = await token_for(ctx, smart_home_project, user)
    assert (token.uid, token.access_id, len(token.token), len(token.secret)) == (
        user.id, smart_home_project.access_id, 8, 4)
    assert token.expires_ms - token.created_ms == registration.TOKEN_TTL_S * 1000
    assert (await token_for(ctx, smart_home_project, user, paring_type=None, pairing_type="BLE")).token
    for fields, refusal in (({"paring_type": "Bluetooth"}, ParamIllegal), ({"paring_type": ""}, ParamEmpty),
                            ({"uid": ""}, ParamEmpty), ({"time_zone_id": "Nowhere/Town"}, ParamIllegal)):
        with pytest.raises(refusal):
            await token_for(ctx, smart_home_project, user, **fields)


async def test_pairing_lands_in_the_users_own_home_in_the_tokens_time_zone(ctx: Context,
                                                                           smart_home_project: Project) -> None:
    home, user, _ = await home_of(ctx, smart_home_project, "ann@example.com")
    token = await token_for(ctx, smart_home_project, user)
    found, device = await pairing.pair(ctx, token.token, category="dj", name="Lamp")
    assert found == token
    assert (device.asset_id, device.owner_uid, device.name, device.time_zone) == (home.id, user.id, "Lamp", "+01:00")
    assert [d.id for d in await ctx.store.pairing_devices(token.token)] == [device.id]


async def test_a_named_home_and_room_are_used_and_a_user_without_a_home_gets_none(
        ctx: Context, smart_home_project: Project) -> None:
    home, user, _ = await home_of(ctx, smart_home_project, "ann@example.com")
    kitchen = await homes.add_room(ctx, smart_home_project, home.id, "Kitchen")
    token = await token_for(ctx, smart_home_project, user)
    _, device = await pairing.pair(ctx, token.token, category="cz", home_id=home.id, room_id=kitchen.id)
    assert [d.id for d in await ctx.store.room_devices(kitchen.id)] == [device.id]
    homeless = await app_user(ctx, smart_home_project, "bob@example.com")
    with pytest.raises(HomeNotExist):
        await pairing.pair(ctx, (await token_for(ctx, smart_home_project, homeless)).token, category="dj")


async def test_a_token_pairs_nothing_once_it_expired(ctx: Context, smart_home_project: Project) -> None:
    home, user, _ = await home_of(ctx, smart_home_project, "ann@example.com")
    token = await token_for(ctx, smart_home_project, user)
    ctx.clock.step(registration.TOKEN_TTL_S * 1000 - 1)
    await pairing.pair(ctx, token.token, category="dj")  # the last millisecond still pairs
    ctx.clock.step(1)
    with pytest.raises(DeviceTokenExpired):
        await pairing.pair(ctx, token.token, category="dj")
    with pytest.raises(DataNotExist):
        await pairing.pair(ctx, "nosuchtk", category="dj")
    assert len(await homes.home_devices(ctx, smart_home_project, home.id)) == 1


async def test_the_list_is_the_projects_and_the_users_own(ctx: Context, smart_home_project: Project) -> None:
    _, ann, _ = await home_of(ctx, smart_home_project, "ann@example.com")
    _, bob, _ = await home_of(ctx, smart_home_project, "bob@example.com")
    token = await token_for(ctx, smart_home_project, ann)
    _, device = await pairing.pair(ctx, token.token, category="dj")
    as_ann = ctx.scoped(await visibility.for_app_user(ctx, ann.id))
    as_bob = ctx.scoped(await visibility.for_app_user(ctx, bob.id))
    assert [d.id for d in await pairing.paired_devices(as_ann, smart_home_project, token.token)] == [device.id]
    assert [d.id for d in await pairing.paired_devices(ctx, smart_home_project, token.token)] == [device.id]
    with pytest.raises(PermissionDeny):
        await pairing.paired_devices(as_bob, smart_home_project, token.token)
    other = await projects.create(ctx, name="Other home", region="us", method="smart_home")
    with pytest.raises(DataNotExist):
        await pairing.paired_devices(ctx, other, token.token)
    ctx.clock.step(registration.TOKEN_TTL_S * 1000 + registration.LIST_KEEP_S * 1000)
    with pytest.raises(DataNotExist):  # a day past its expiry the token is gone for the list too
        await pairing.paired_devices(ctx, smart_home_project, token.token)
