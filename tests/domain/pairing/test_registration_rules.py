"""Device registration of industry projects (``domain/pairing/registration.py``), in process on a real store: a
token is the project's own and lands devices at its asset in its time zone, serves any number of devices until it
expires and none after (2007), is listed to its own project only and for a day past its expiry, and is a
management call a user's token may not make."""

from __future__ import annotations

import pytest

from tuyacloud import bodies
from tuyacloud.domain.access import visibility
from tuyacloud.domain.context import Context
from tuyacloud.domain.devices import devices
from tuyacloud.domain.industry import assets, users
from tuyacloud.domain.pairing import registration
from tuyacloud.domain.pairing.requests import RegistrationToken as RegistrationRequest
from tuyacloud.domain.projects import projects
from tuyacloud.errors import (
    AssetNotExist,
    DataNotExist,
    DeviceTokenExpired,
    ParamEmpty,
    ParamIllegal,
    PermissionDeny,
)
from tuyacloud.models import Project, RegistrationToken

pytestmark = pytest.mark.anyio


def request(**fields: object) -> RegistrationRequest:
    """The body of ``POST /v1.0/iot-03/device-registration/token``, decoded as the edge decodes it."""
    return bodies.convert(RegistrationRequest, {"pairing_type": "EZ", "time_zone_id": "Europe/Berlin", **fields})


async def token_of(ctx: Context, project: Project, **fields: object) -> RegistrationToken:
    return (await registration.create_token(ctx, project, request(**fields)))[0]


async def test_a_token_is_drawn_for_the_projects_root_asset_and_lives_five_minutes(
        ctx: Context, custom_project: Project) -> None:
    token, keys = await registration.create_token(ctx, custom_project, request())
    assert (len(token.token), len(token.secret), len(keys["encrypt_key"]), len(keys["random"])) == (8, 4, 16, 16)
    assert token.asset_id == await assets.ensure_root(ctx, custom_project)
    assert token.expires_ms - token.created_ms == registration.TOKEN_TTL_S * 1000
    assert token.created_ms == ctx.clock.now_ms()
    assert registration.pairing_region(custom_project.region) == "AZ"
    assert await ctx.store.get_registration_token(token.token, custom_project.region) == token


async def test_the_request_is_checked_before_anything_is_stored(ctx: Context, custom_project: Project) -> None:
    assert (await token_of(ctx, custom_project, pairing_type="ble")).token  # the Node connector's spelling
    assert (await token_of(ctx, custom_project, time_zone_id="+08:00")).time_zone == "+08:00"
    for fields, refusal in (({"pairing_type": ""}, ParamEmpty), ({"pairing_type": "ZIGBEE"}, ParamIllegal),
                            ({"time_zone_id": ""}, ParamEmpty), ({"time_zone_id": "Mars/Olympus"}, ParamIllegal),
                            ({"time_zone_id": "+15:00"}, ParamIllegal)):
        with pytest.raises(refusal):
            await token_of(ctx, custom_project, **fields)


async def test_a_token_lands_devices_only_at_an_asset_of_its_own_project(ctx: Context,
                                                                          custom_project: Project) -> None:
    hall = await assets.add(ctx, custom_project, "Hall", None)
    assert (await token_of(ctx, custom_project, asset_id=hall.id)).asset_id == hall.id
    other = await projects.create(ctx, name="Other", region="us", method="custom")
    elsewhere = await assets.add(ctx, other, "Elsewhere", None)
    with pytest.raises(PermissionDeny, match="another project"):
        await token_of(ctx, custom_project, asset_id=elsewhere.id)
    with pytest.raises(AssetNotExist):
        await token_of(ctx, custom_project, asset_id="nosuchasset")


async def test_pairing_places_the_device_at_the_tokens_asset_in_its_time_zone_with_its_message(
        ctx: Context, custom_project: Project) -> None:
    hall = await assets.add(ctx, custom_project, "Hall", None)
    token = await token_of(ctx, custom_project, asset_id=hall.id)
    found, device = await registration.pair(ctx, token.token, category="cz", name="  Plug  ")
    assert found == token
    assert (device.access_id, device.asset_id, device.category, device.name) == (
        custom_project.access_id, hall.id, "cz", "Plug")
    assert device.time_zone == "+01:00"  # Berlin in March, at the cloud's (frozen) time
    bound = [m.data for m in await ctx.store.messages_after(custom_project.access_id, 0)]
    assert [(b["bizCode"], b["devId"], b["bizData"]["token"]) for b in bound] == [("bindUser", device.id, token.token)]


async def test_a_token_serves_several_devices_until_it_expires_and_none_after(ctx: Context,
                                                                               custom_project: Project) -> None:
    token = await token_of(ctx, custom_project)
    first = (await registration.pair(ctx, token.token, category="dj"))[1]
    second = (await registration.pair(ctx, token.token, category="cz"))[1]
    ctx.clock.step(registration.TOKEN_TTL_S * 1000)  # the instant it expires
    with pytest.raises(DeviceTokenExpired):
        await registration.pair(ctx, token.token, category="dj")
    assert {d.id for d in await ctx.store.registration_devices(custom_project.access_id, custom_project.region,
                                                                token.token)} == {first.id, second.id}
    assert await devices.count(ctx, custom_project) == 2  # the refused pairing created nothing


async def test_an_unknown_token_or_a_bad_name_pairs_nothing(ctx: Context, custom_project: Project) -> None:
    with pytest.raises(DataNotExist):
        await registration.pair(ctx, "nosuchtk", category="dj")
    token = await token_of(ctx, custom_project)
    for name in ("   ", "x" * 51):
        with pytest.raises(ParamIllegal, match="1 to 50"):
            await registration.pair(ctx, token.token, category="dj", name=name)
    assert await devices.count(ctx, custom_project) == 0


async def test_the_paired_list_is_the_projects_own_and_kept_a_day_past_expiry(ctx: Context,
                                                                               custom_project: Project) -> None:
    token = await token_of(ctx, custom_project)
    _, device = await registration.pair(ctx, token.token, category="dj")
    other = await projects.create(ctx, name="Other", region="us", method="custom")
    with pytest.raises(DataNotExist):  # another project's token does not exist for this one
        await registration.paired_devices(ctx, other, token.token)
    ctx.clock.step(registration.TOKEN_TTL_S * 1000 + registration.LIST_KEEP_S * 1000 - 1)
    assert [d.id for d in (await registration.paired_devices(ctx, custom_project, token.token))[1]] == [device.id]
    ctx.clock.step(1)
    with pytest.raises(DataNotExist):
        await registration.paired_devices(ctx, custom_project, token.token)


async def test_a_removed_device_leaves_the_paired_list(ctx: Context, custom_project: Project) -> None:
    token = await token_of(ctx, custom_project)
    _, kept = await registration.pair(ctx, token.token, category="dj")
    _, removed = await registration.pair(ctx, token.token, category="cz")
    await devices.delete(ctx, custom_project, removed.id)
    assert [d.id for d in (await registration.paired_devices(ctx, custom_project, token.token))[1]] == [kept.id]


async def test_a_project_users_token_may_neither_draw_nor_list_tokens(ctx: Context, custom_project: Project) -> None:
    token = await token_of(ctx, custom_project)
    user = await users.register(ctx, custom_project, username="ann", password="0" * 64, country_code="1")
    as_user = ctx.scoped(await visibility.for_user(ctx, custom_project, user.id))
    with pytest.raises(PermissionDeny):
        await registration.create_token(as_user, custom_project, request())
    with pytest.raises(PermissionDeny):
        await registration.paired_devices(as_user, custom_project, token.token)
