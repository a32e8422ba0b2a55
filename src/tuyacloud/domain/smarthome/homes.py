"""Homes, rooms and members of smart-home app users.

A home belongs to the app of the user who created it (its owner, role ``OWNER``); members have the role ``ADMIN``
or ``MEMBER``. A project reaches a home only when the home's app is linked to it; an app user's token reaches only
the homes the user is a member of, and changes them only as owner or administrator (``2508``). The app-side limits
of the Smart Life help centre are enforced: :data:`MAX_HOMES` homes per account, :data:`MAX_ROOMS` rooms and
:data:`MAX_MEMBERS` members per home, :data:`MAX_HOME_DEVICES` devices per home and :data:`MAX_ROOM_DEVICES` per
room (``1101`` naming the limit). Devices of a home are stored with the home id as their ``asset_id``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from msgspec import UNSET

from tuyacloud.domain.context import Context
from tuyacloud.domain.devices import devices, events, outbox, owners
from tuyacloud.domain.smarthome import apps
from tuyacloud.domain.smarthome.requests import MEMBER_REQUIRED, AddMember, Coordinate, CreateHome, ModifyHome
from tuyacloud.errors import (
    HomeNotExist,
    MemberAlreadyInHome,
    MemberMustBeAdmin,
    MemberNameExists,
    MemberNotExist,
    MemberNotRegistered,
    ParamEmpty,
    ParamIllegal,
    ParamRangeInvalid,
    PermissionDeny,
    RoomNotExist,
    SystemError_,
)
from tuyacloud.models import AppUser, Device, Home, HomeMember, Project, Room
from tuyacloud.store.base import Tx

# What a caller writes in the unit of work that inserts a chunk of devices (a pairing token's result rows).
AlsoWrite = Callable[[Tx, list[Device]], Awaitable[None]]

MAX_HOMES, MAX_ROOMS, MAX_MEMBERS, MAX_HOME_DEVICES, MAX_ROOM_DEVICES = 20, 20, 20, 200, 50
OWNER, ADMIN, MEMBER = "OWNER", "ADMIN", "MEMBER"


def check_name(value: str | None, field: str = "name") -> str:
    if value is None or value == "":
        raise ParamEmpty(f"{field} is required")
    if not value.strip() or len(value.strip()) > 50 or not value.isprintable():
        raise ParamIllegal(f"{field} must be 1 to 50 printable characters")
    return value.strip()


def _coordinate(value: Coordinate, field: str, limit: float) -> float:
    if value is None or value == "":
        return 0.0
    try:
        number: float | None = float(value)
    except ValueError:
        number = None
    if number is None or not -limit <= number <= limit:
        raise ParamIllegal(f"{field} must be a number between -{limit:g} and {limit:g}")
    return number


async def _new_id(ctx: Context, insert: Callable[[str], Awaitable[bool]]) -> str:
    for _ in range(10):
        candidate = ctx.ids.numeric(9)
        if await insert(candidate):
            return candidate
    raise SystemError_("could not draw an unused id")


# --- access -----------------------------------------------------------------------------------------------------
async def get_home(ctx: Context, project: Project, home_id: str, *, manage: bool = False) -> Home:
    """A home the request may see (2501 unknown, 1106 outside the project's apps or the user's homes); with
    ``manage``, a user token must be its owner or an administrator (2508)."""
    home = await ctx.store.get_home(home_id)
    if home is None or home.region != project.region:
        raise HomeNotExist(f"home {home_id!r} does not exist")
    await apps.linked_app(ctx, project, home.schema)
    scope = ctx.scope
    if scope is not None:
        if not scope.app_user or home.id not in scope.asset_ids:
            raise PermissionDeny("the user is not a member of this home")
        if manage and await _role(ctx, home.id, scope.uid) == MEMBER:
            raise MemberMustBeAdmin()
    return home


async def _role(ctx: Context, home_id: str, uid: str) -> str:
    for m in await ctx.store.members(home_id):
        if m.uid == uid:
            return m.role
    return ""


async def user_of_request(ctx: Context, project: Project, uid: str | None) -> AppUser:
    if not uid:
        raise ParamEmpty("uid is required")
    return await apps.get_user(ctx, project, uid)


# --- homes ------------------------------------------------------------------------------------------------------
async def create(ctx: Context, project: Project, body: CreateHome) -> Home:
    """``{uid, home: {name, geo_name, lon, lat}, rooms: [names]}``: a home owned by ``uid``, with its rooms."""
    user = await user_of_request(ctx, project, body.uid)
    spec = body.home
    if spec is None:
        raise ParamEmpty("home {name, geo_name, lon, lat} is required")
    names = [check_name(n, "room name") for n in body.rooms or []]
    if len(names) > MAX_ROOMS:
        raise ParamRangeInvalid(f"a home has at most {MAX_ROOMS} rooms")
    now = ctx.clock.now_ms()
    home = Home("", user.schema, user.region, user.id, check_name(spec.name),
                apps._text(spec.geo_name, "geo_name", 128), _coordinate(spec.lon, "lon", 180),
                _coordinate(spec.lat, "lat", 90), now)

    async def work(tx: Tx) -> Home:
        if len([1 for _, role in await tx.homes_of_user(user.id) if role == OWNER]) >= MAX_HOMES:
            raise ParamRangeInvalid(f"an account owns at most {MAX_HOMES} homes")

        async def insert(candidate: str) -> bool:
            home.id = candidate
            return await tx.insert_home(home)

        await _new_id(ctx, insert)
        await tx.insert_member(HomeMember(home.id, user.id, OWNER, user.nick_name or user.username, now))
        for i, name in enumerate(names):  # listed in the order given

            async def insert_room(candidate: str, name: str = name, at: int = now + i) -> bool:
                return await tx.insert_room(Room(candidate, home.id, name, at))

            await _new_id(ctx, insert_room)
        return home

    return await ctx.store.transaction(work)


async def of_user(ctx: Context, project: Project, uid: str) -> list[tuple[Home, str]]:
    user = await apps.get_user(ctx, project, uid)
    return await ctx.store.homes_of_user(user.id)


async def modify(ctx: Context, project: Project, home_id: str, body: ModifyHome) -> None:
    home = await get_home(ctx, project, home_id, manage=True)
    home.name = check_name(body.name)
    if body.geo_name is not UNSET:
        home.geo_name = apps._text(body.geo_name, "geo_name", 128)
    if body.lon is not UNSET:
        home.lon = _coordinate(body.lon, "lon", 180)
    if body.lat is not UNSET:
        home.lat = _coordinate(body.lat, "lat", 90)

    async def work(tx: Tx) -> None:
        await tx.update_home(home)

    await ctx.store.transaction(work)


async def delete(ctx: Context, project: Project, home_id: str) -> None:
    """The home with its rooms, members, scenes and automations; its devices are removed (``delete`` messages), as
    the app does."""
    home = await get_home(ctx, project, home_id)
    scope = ctx.scope
    if scope is not None and scope.uid != home.owner_uid:
        raise MemberMustBeAdmin("only the owner deletes a home")
    found = await home_devices(ctx, project, home.id)
    now = ctx.clock.now_ms()

    async def work(tx: Tx) -> None:
        for device in found:
            await tx.delete_device(device.id)
            await tx.delete_device_logs(device.id)
            await outbox.emit(tx, events.device_event(device, "delete", now, uid=device.owner_uid,
                                                        ownerId=device.owner_uid))
        await tx.delete_home_rules(home.id)
        await tx.delete_home(home.id)

    await ctx.store.transaction(work)


async def home_devices(ctx: Context, project: Project, home_id: str) -> list[Device]:
    home = await get_home(ctx, project, home_id)
    return await ctx.store.page_devices(owners.owner_id(home.schema), home.region, "", MAX_HOME_DEVICES * 5,
                                        asset_id=home.id)


# --- rooms ------------------------------------------------------------------------------------------------------
async def rooms(ctx: Context, project: Project, home_id: str) -> tuple[Home, list[Room]]:
    home = await get_home(ctx, project, home_id)
    return home, await ctx.store.rooms(home.id)


async def _room(ctx: Context, project: Project, home_id: str, room_id: str, manage: bool = False
                ) -> tuple[Home, Room]:
    home = await get_home(ctx, project, home_id, manage=manage)
    for room in await ctx.store.rooms(home.id):
        if room.id == room_id:
            return home, room
    raise RoomNotExist(f"room {room_id!r} does not exist in home {home.id}")


async def add_room(ctx: Context, project: Project, home_id: str, name: str | None) -> Room:
    home = await get_home(ctx, project, home_id, manage=True)
    room_name = check_name(name)

    async def work(tx: Tx) -> Room:
        if len(await tx.rooms(home.id)) >= MAX_ROOMS:
            raise ParamRangeInvalid(f"a home has at most {MAX_ROOMS} rooms")
        room = Room("", home.id, room_name, ctx.clock.now_ms())

        async def insert(candidate: str) -> bool:
            room.id = candidate
            return await tx.insert_room(room)

        await _new_id(ctx, insert)
        return room

    return await ctx.store.transaction(work)


async def rename_room(ctx: Context, project: Project, home_id: str, room_id: str, name: str | None) -> None:
    _, room = await _room(ctx, project, home_id, room_id, manage=True)
    new_name = check_name(name)

    async def work(tx: Tx) -> None:
        await tx.rename_room(room.id, new_name)

    await ctx.store.transaction(work)


async def delete_room(ctx: Context, project: Project, home_id: str, room_id: str) -> None:
    """The room goes; its devices stay in the home, in no room."""
    _, room = await _room(ctx, project, home_id, room_id, manage=True)

    async def work(tx: Tx) -> None:
        await tx.delete_room(room.id)

    await ctx.store.transaction(work)


async def room_devices(ctx: Context, project: Project, home_id: str, room_id: str) -> list[Device]:
    _, room = await _room(ctx, project, home_id, room_id)
    return await ctx.store.room_devices(room.id)


def _device_ids(value: list[str] | str | None) -> list[str]:
    """A list of ids, or a comma-separated string of them (the query's form)."""
    if isinstance(value, str):
        value = [i for i in value.split(",") if i.strip()]
    if not value:
        raise ParamEmpty("device_ids is required")
    if len(value) > 20 or not all(i.strip() for i in value):
        raise ParamIllegal("device_ids takes 1 to 20 device ids")
    return list(dict.fromkeys(i.strip() for i in value))


async def move_devices(ctx: Context, project: Project, home_id: str, room_id: str,
                       ids: list[str] | str | None) -> None:
    """Put devices of the home into a room (moving them out of the room they were in): all or nothing."""
    home, room = await _room(ctx, project, home_id, room_id, manage=True)
    wanted = _device_ids(ids)
    found = [await devices.get_owned(ctx, project, i) for i in wanted]
    if any(d.asset_id != home.id for d in found):
        raise ParamIllegal("every device must be in the room's home")

    async def work(tx: Tx) -> None:
        present = {d.id for d in await tx.room_devices(room.id)}
        if len(present | set(wanted)) > MAX_ROOM_DEVICES:
            raise ParamRangeInvalid(f"a room holds at most {MAX_ROOM_DEVICES} devices")
        for device_id in wanted:
            await tx.place_in_room(device_id, room.id)

    await ctx.store.transaction(work)


async def remove_devices(ctx: Context, project: Project, home_id: str, room_id: str, ids: str | None) -> None:
    """Take devices out of a room; they stay in the home."""
    _, room = await _room(ctx, project, home_id, room_id, manage=True)
    wanted = _device_ids(ids)
    for device_id in wanted:
        await devices.get_owned(ctx, project, device_id)

    async def work(tx: Tx) -> None:
        for device_id in wanted:
            await tx.remove_from_room(device_id, room.id)

    await ctx.store.transaction(work)


# --- members ----------------------------------------------------------------------------------------------------
async def members(ctx: Context, project: Project, home_id: str) -> list[tuple[HomeMember, AppUser | None]]:
    home = await get_home(ctx, project, home_id)
    return [(m, await ctx.store.get_app_user(m.uid)) for m in await ctx.store.members(home.id)]


async def add_member(ctx: Context, project: Project, home_id: str, body: AddMember) -> HomeMember:
    """``{app_schema, member: {country_code, member_account, admin, name}}``; the account must be a user of the
    home's app (2506), not yet in the home (2507), under a name no other member has (2510)."""
    home = await get_home(ctx, project, home_id, manage=True)
    spec = body.member
    if spec is None or spec.member_account in (None, ""):
        raise ParamEmpty(MEMBER_REQUIRED)
    schema = body.app_schema or home.schema
    if schema != home.schema:
        raise ParamIllegal("app_schema must be the home's app")
    account = spec.member_account
    admin = spec.admin
    user = await ctx.store.get_app_user_by_name(home.schema, account.strip())
    if user is None:
        raise MemberNotRegistered(f"{account!r} is not a user of the app")
    name = check_name(spec.name or user.nick_name or user.username, "member name")
    member = HomeMember(home.id, user.id, ADMIN if admin else MEMBER, name, ctx.clock.now_ms())

    async def work(tx: Tx) -> None:
        present = await tx.members(home.id)
        if any(m.uid == user.id for m in present):
            raise MemberAlreadyInHome()
        if any(m.name == name for m in present):
            raise MemberNameExists(f"a member is called {name!r}")
        if len(present) >= MAX_MEMBERS:
            raise ParamRangeInvalid(f"a home has at most {MAX_MEMBERS} members")
        if len([1 for _, role in await tx.homes_of_user(user.id)]) >= MAX_HOMES:
            raise ParamRangeInvalid(f"an account is in at most {MAX_HOMES} homes")
        await tx.insert_member(member)

    await ctx.store.transaction(work)
    return member


async def _member(ctx: Context, home: Home, uid: str) -> HomeMember:
    for m in await ctx.store.members(home.id):
        if m.uid == uid:
            return m
    raise MemberNotExist(f"{uid!r} is not a member of home {home.id}")


async def set_role(ctx: Context, project: Project, home_id: str, uid: str, admin: bool | None) -> None:
    home = await get_home(ctx, project, home_id, manage=True)
    if not isinstance(admin, bool):
        raise ParamIllegal("admin must be true or false")
    member = await _member(ctx, home, uid)
    if member.role == OWNER:
        raise ParamIllegal("the owner's role cannot change")

    async def work(tx: Tx) -> None:
        await tx.set_member_role(home.id, uid, ADMIN if admin else MEMBER)

    await ctx.store.transaction(work)


async def remove_member(ctx: Context, project: Project, home_id: str, uid: str) -> None:
    """Remove a member (a member may also leave); the owner cannot be removed (delete the home instead)."""
    home = await get_home(ctx, project, home_id)
    scope = ctx.scope
    if scope is not None and scope.uid != uid and await _role(ctx, home.id, scope.uid) == MEMBER:
        raise MemberMustBeAdmin()
    member = await _member(ctx, home, uid)
    if member.role == OWNER:
        raise ParamIllegal("the owner cannot be removed; delete the home instead")

    async def work(tx: Tx) -> None:
        await tx.delete_member(home.id, uid)

    await ctx.store.transaction(work)


# --- devices ----------------------------------------------------------------------------------------------------
async def add_device(ctx: Context, project: Project, *, uid: str, home_id: str, room_id: str = "",
                     category: str | None = None, product_id: str | None = None, name: str | None = None,
                     time_zone: str = "+00:00", pairing_token: str = "", also: AlsoWrite | None = None) -> Device:
    """A virtual device owned by ``uid`` in one of their homes (optionally a room): the end of pairing."""
    created = await add_devices(ctx, project, uid=uid, home_id=home_id, room_id=room_id, category=category,
                                product_id=product_id, name=name, time_zone=time_zone, pairing_token=pairing_token,
                                also=also)
    return created[0]


async def add_devices(ctx: Context, project: Project, *, uid: str, home_id: str, room_id: str = "",
                      category: str | None = None, product_id: str | None = None, name: str | None = None,
                      time_zone: str = "+00:00", pairing_token: str = "", also: AlsoWrite | None = None,
                      count: int = 1) -> list[Device]:
    """``count`` virtual devices owned by ``uid`` in one of their homes (optionally a room), in one transaction:
    the home's and the room's device limits hold for all of them or none is added."""
    user = await apps.get_user(ctx, project, uid)
    home = await get_home(ctx, project, home_id)
    if await _role(ctx, home.id, user.id) == "":
        raise PermissionDeny("the user is not a member of this home")
    room = (await _room(ctx, project, home.id, room_id))[1] if room_id else None
    if name is not None and (not isinstance(name, str) or not name.strip() or len(name.strip()) > 50):
        raise ParamIllegal("name must be 1 to 50 characters")

    async def place(tx: Tx, chunk: list[Device]) -> None:
        if len(await tx.page_devices(owners.owner_id(home.schema), home.region, "", MAX_HOME_DEVICES + 1,
                                     asset_id=home.id)) > MAX_HOME_DEVICES:
            raise ParamRangeInvalid(f"a home holds at most {MAX_HOME_DEVICES} devices")
        for device in chunk:
            if room is not None:
                if len(await tx.room_devices(room.id)) >= MAX_ROOM_DEVICES:
                    raise ParamRangeInvalid(f"a room holds at most {MAX_ROOM_DEVICES} devices")
                await tx.place_in_room(device.id, room.id)
        if also is not None:
            await also(tx, chunk)

    created = await devices.create_virtual(
        ctx, project, category=category, product_id=product_id, name=name.strip() if name else None,
        owner_uid=user.id, asset_id=home.id, time_zone=time_zone, pairing_token=pairing_token, also=place,
        app_owner=owners.owner_id(home.schema), count=count,
    )
    return created
