"""Homes, rooms and members of smart-home app users, in process on a real store: a home is made with its owner
and rooms in one unit, rooms hold devices of their own home only, members are app users added once under a name
of their own, and an app user's token changes a home only as its owner or an administrator."""

from __future__ import annotations

import pytest

from support.home_domain import app_user, home_of
from tuyacloud import bodies
from tuyacloud.domain.access import visibility
from tuyacloud.domain.context import Context
from tuyacloud.domain.smarthome import homes
from tuyacloud.domain.smarthome.requests import AddMember, CreateHome
from tuyacloud.errors import (
    MemberAlreadyInHome,
    MemberMustBeAdmin,
    MemberNameExists,
    MemberNotRegistered,
    ParamIllegal,
    ParamRangeInvalid,
    PermissionDeny,
    RoomNotExist,
)
from tuyacloud.models import Home, Project

pytestmark = pytest.mark.anyio

async def roles(ctx: Context, home: Home) -> dict[str, str]:
    return {m.uid: m.role for m in await ctx.store.members(home.id)}


async def as_app_user(ctx: Context, uid: str) -> Context:
    """The context of a request made with the app user's own token."""
    return ctx.scoped(await visibility.for_app_user(ctx, uid))


async def test_a_home_is_made_with_its_owner_and_rooms_or_not_at_all(ctx: Context,
                                                                     smart_home_project: Project) -> None:
    owner = await app_user(ctx, smart_home_project, "owner@example.com")
    place = {"name": "Flat", "geo_name": "Berlin", "lon": 13.4, "lat": 52.5}
    home = await homes.create(ctx, smart_home_project, bodies.convert(CreateHome, {"uid": owner.id, "home": place,
                                                        "rooms": ["Kitchen", "Hall"]}))
    assert await roles(ctx, home) == {owner.id: homes.OWNER}
    assert [r.name for r in await ctx.store.rooms(home.id)] == ["Kitchen", "Hall"]
    for bad in ({"rooms": ["Fine", "x" * 51]}, {"home": {**place, "lat": 91}}, {"home": {**place, "name": "\n"}},
                {"rooms": [f"Room {i}" for i in range(homes.MAX_ROOMS + 1)]}):
        with pytest.raises((ParamIllegal, ParamRangeInvalid)):
            await homes.create(ctx, smart_home_project,
                    bodies.convert(CreateHome, {"uid": owner.id, "home": place, **bad}))
    assert [h.id for h, _ in await ctx.store.homes_of_user(owner.id)] == [home.id]


async def test_rooms_hold_devices_of_their_own_home(ctx: Context, smart_home_project: Project) -> None:
    home, _, (lamp, plug) = await home_of(ctx, smart_home_project, "rooms@example.com", "dj", "cz")
    _, _, (elsewhere,) = await home_of(ctx, smart_home_project, "other@example.com", "dj")
    kitchen = await homes.add_room(ctx, smart_home_project, home.id, "Kitchen")
    await homes.move_devices(ctx, smart_home_project, home.id, kitchen.id, [lamp.id, plug.id])
    assert {d.id for d in await ctx.store.room_devices(kitchen.id)} == {lamp.id, plug.id}
    with pytest.raises(ParamIllegal, match="room's home"):  # all or nothing
        await homes.move_devices(ctx, smart_home_project, home.id, kitchen.id, f"{lamp.id},{elsewhere.id}")
    await homes.remove_devices(ctx, smart_home_project, home.id, kitchen.id, [plug.id])
    assert {d.id for d in await ctx.store.room_devices(kitchen.id)} == {lamp.id}
    await homes.rename_room(ctx, smart_home_project, home.id, kitchen.id, "Cuisine")
    assert [r.name for r in await ctx.store.rooms(home.id)] == ["Cuisine"]
    await homes.delete_room(ctx, smart_home_project, home.id, kitchen.id)
    assert await ctx.store.rooms(home.id) == []
    assert {d.id for d in await homes.home_devices(ctx, smart_home_project, home.id)} == {lamp.id, plug.id}
    with pytest.raises(RoomNotExist):
        await homes.rename_room(ctx, smart_home_project, home.id, kitchen.id, "Gone")


async def test_members_are_app_users_added_once_under_their_own_name(ctx: Context,
                                                                     smart_home_project: Project) -> None:
    home, owner, _ = await home_of(ctx, smart_home_project, "owner@example.com")
    ada = await app_user(ctx, smart_home_project, "ada@example.com")
    bob = await app_user(ctx, smart_home_project, "bob@example.com")

    def member(account: str, name: str, admin: bool = False) -> dict[str, object]:
        return {"member": {"member_account": account, "name": name, "admin": admin}}

    await homes.add_member(ctx, smart_home_project, home.id,
            bodies.convert(AddMember, member("ada@example.com", "Ada", admin=True)))
    with pytest.raises(MemberNotRegistered):
        await homes.add_member(ctx, smart_home_project, home.id,
                bodies.convert(AddMember, member("nobody@example.com", "Nobody")))
    with pytest.raises(MemberAlreadyInHome):
        await homes.add_member(ctx, smart_home_project, home.id,
                bodies.convert(AddMember, member("ada@example.com", "Ada again")))
    with pytest.raises(MemberNameExists):
        await homes.add_member(ctx, smart_home_project, home.id,
                bodies.convert(AddMember, member("bob@example.com", "Ada")))
    await homes.add_member(ctx, smart_home_project, home.id,
            bodies.convert(AddMember, member("bob@example.com", "Bob")))
    assert await roles(ctx, home) == {owner.id: homes.OWNER, ada.id: homes.ADMIN, bob.id: homes.MEMBER}
    await homes.set_role(ctx, smart_home_project, home.id, bob.id, True)
    with pytest.raises(ParamIllegal, match="owner"):
        await homes.set_role(ctx, smart_home_project, home.id, owner.id, False)
    with pytest.raises(ParamIllegal, match="owner"):
        await homes.remove_member(ctx, smart_home_project, home.id, owner.id)
    await homes.remove_member(ctx, smart_home_project, home.id, ada.id)
    assert await roles(ctx, home) == {owner.id: homes.OWNER, bob.id: homes.ADMIN}


async def test_an_app_users_token_changes_a_home_only_as_owner_or_administrator(
        ctx: Context, smart_home_project: Project) -> None:
    home, owner, _ = await home_of(ctx, smart_home_project, "owner@example.com")
    admin = await app_user(ctx, smart_home_project, "admin@example.com")
    plain = await app_user(ctx, smart_home_project, "plain@example.com")
    stranger = await app_user(ctx, smart_home_project, "stranger@example.com")
    for account, is_admin in (("admin@example.com", True), ("plain@example.com", False)):
        await homes.add_member(ctx, smart_home_project, home.id,
                bodies.convert(AddMember, {"member": {"member_account": account,
                                                                             "admin": is_admin}}))
    as_admin, as_plain = await as_app_user(ctx, admin.id), await as_app_user(ctx, plain.id)
    as_stranger = await as_app_user(ctx, stranger.id)

    await homes.add_room(as_admin, smart_home_project, home.id, "Study")
    with pytest.raises(MemberMustBeAdmin):
        await homes.add_room(as_plain, smart_home_project, home.id, "Den")
    with pytest.raises(PermissionDeny):
        await homes.rooms(as_stranger, smart_home_project, home.id)
    assert [r.name for r in (await homes.rooms(as_plain, smart_home_project, home.id))[1]] == ["Study"]
    with pytest.raises(MemberMustBeAdmin):  # a plain member removes nobody but may leave
        await homes.remove_member(as_plain, smart_home_project, home.id, admin.id)
    with pytest.raises(MemberMustBeAdmin, match="only the owner"):
        await homes.delete(as_admin, smart_home_project, home.id)
    await homes.remove_member(as_plain, smart_home_project, home.id, plain.id)
    assert set(await roles(ctx, home)) == {owner.id, admin.id}


async def test_deleting_a_home_removes_its_devices_with_a_message_each(ctx: Context,
                                                                       smart_home_project: Project) -> None:
    home, owner, (lamp, plug) = await home_of(ctx, smart_home_project, "owner@example.com", "dj", "cz")
    seq = max((m.seq for m in await ctx.store.messages_after(smart_home_project.access_id, 0, limit=1000)),
              default=0)
    await homes.delete(await as_app_user(ctx, owner.id), smart_home_project, home.id)
    assert await ctx.store.get_home(home.id) is None
    assert await ctx.store.get_device(lamp.id, lamp.region) is None
    assert await ctx.store.get_device(plug.id, plug.region) is None
    deleted = [m for m in await ctx.store.messages_after(smart_home_project.access_id, seq, limit=1000)
               if m.data.get("bizCode") == "delete"]
    assert {m.device_id for m in deleted} == {lamp.id, plug.id}
