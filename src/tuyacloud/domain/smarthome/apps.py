"""Smart-home apps, their links to cloud projects, their users, and the associated-user login.

An app (schema ``S``) has users, and its users have homes and devices. A project sees an app's users and devices
only while the app is linked to it; an app links to at most :data:`MAX_LINKS` projects (the platform's rule), in
its own data center. Devices of app users are stored with the owner id ``app:<schema>``, so every device lookup
of a project reaches exactly its own devices and those of its linked apps (``domain/devices/owners.py``).
Passwords arrive as the lower-case MD5 hex of the plaintext and are kept as scrypt over that hex (as
``domain/industry/users.py`` does for project users).
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING

from tuyacloud import passwords
from tuyacloud.domain.access import tokens, visibility
from tuyacloud.domain.context import Context
from tuyacloud.domain.industry import users
from tuyacloud.domain.projects import projects
from tuyacloud.errors import (
    ParamEmpty,
    ParamIllegal,
    ParamRangeInvalid,
    PasswordWrong,
    PermissionDeny,
    SchemaNotExist,
    UserNotExist,
)
from tuyacloud.models import App, AppUser, Project, Token
from tuyacloud.regions import REGIONS
from tuyacloud.store.base import Tx

if TYPE_CHECKING:  # the edge decodes the bodies (msgspec); the rules only read them
    from tuyacloud.domain.smarthome.requests import AppLogin, SyncAppUser

MAX_LINKS = 2
_SCHEMA = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_MD5_HEX = re.compile(r"^[0-9a-fA-F]{32}$")


def _check_schema(schema: object) -> str:
    if not isinstance(schema, str) or not _SCHEMA.match(schema):
        raise ParamIllegal("schema must be 1 to 64 letters, digits, '.', '_' or '-'")
    return schema


# --- apps and links -------------------------------------------------------------------------------------------
async def create(ctx: Context, *, schema: object, name: object, region: str = "us") -> App:
    schema = _check_schema(schema)
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 64:
        raise ParamIllegal("app name must be 1 to 64 characters")
    if region not in REGIONS:
        raise ParamIllegal(f"unknown data center {region!r}; one of {', '.join(REGIONS)}")
    app = App(schema, name.strip(), region, ctx.clock.now_ms())

    async def work(tx: Tx) -> bool:
        return await tx.insert_app(app)

    if not await ctx.store.transaction(work):
        raise ParamIllegal(f"an app with schema {schema!r} exists")
    return app


async def get(ctx: Context, schema: str) -> App:
    app = await ctx.store.get_app(schema) if isinstance(schema, str) else None
    if app is None:
        raise SchemaNotExist(f"no app with schema {schema!r}")
    return app


async def listing(ctx: Context) -> list[tuple[App, list[str]]]:
    return [(a, await ctx.store.app_links(a.schema)) for a in await ctx.store.list_apps()]


async def link(ctx: Context, schema: str, access_id: str) -> list[str]:
    """Link an app to a project (idempotent); a third project is refused until one is unlinked."""
    app = await get(ctx, schema)
    project = await projects.get(ctx, access_id)
    if project.region != app.region:
        raise ParamIllegal(f"the app lives in the {app.region} data center, the project in {project.region}")

    async def work(tx: Tx) -> list[str]:
        linked = await tx.app_links(app.schema)
        if project.access_id in linked:
            return linked
        if len(linked) >= MAX_LINKS:
            raise ParamRangeInvalid(f"app {app.schema!r} is already linked to {MAX_LINKS} projects "
                                    f"({', '.join(linked)}); unlink one first")
        await tx.insert_app_link(app.schema, project.access_id, ctx.clock.now_ms())
        return await tx.app_links(app.schema)

    return await ctx.store.transaction(work)


async def unlink(ctx: Context, schema: str, access_id: str) -> list[str]:
    app = await get(ctx, schema)

    async def work(tx: Tx) -> list[str]:
        if not await tx.delete_app_link(app.schema, access_id):
            raise ParamIllegal(f"app {app.schema!r} is not linked to project {access_id!r}")
        return await tx.app_links(app.schema)

    return await ctx.store.transaction(work)


async def linked_app(ctx: Context, project: Project, schema: str) -> App:
    """An app the project may act on: 2017 when no such app exists, 1106 when it is not linked to the project."""
    app = await get(ctx, schema)
    if project.access_id not in await ctx.store.app_links(app.schema):
        raise PermissionDeny(f"app {schema!r} is not linked to this project")
    return app


# --- app users ----------------------------------------------------------------------------------------------
def _md5(password: str | None) -> str:
    if password is None or not _MD5_HEX.match(password):
        raise ParamIllegal("password must be the MD5 hex of the password")
    return password.lower()


def country_code(value: object) -> str:
    """A calling code sent as a string ("1") or a number (1)."""
    if isinstance(value, bool) or value is None:
        raise ParamIllegal("country_code must be a calling code such as \"1\" or 49")
    text = str(value).strip().lstrip("+")
    if not text.isascii() or not text.isdigit() or len(text) > 4:
        raise ParamIllegal("country_code must be a calling code such as \"1\" or 49")
    return text


def _text(value: object, field: str, limit: int = 64) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit or not value.isprintable():
        raise ParamIllegal(f"{field} must be a string of at most {limit} printable characters")
    return value.strip()


async def sync_user(ctx: Context, project: Project, schema: str, body: SyncAppUser) -> AppUser:
    """Create an app user, or update the one with this username (idempotent per username: same uid)."""
    visibility.require_project_token(ctx)
    app = await linked_app(ctx, project, schema)
    if body.username in (None, "") or body.password in (None, ""):
        raise ParamEmpty("username and password are required")
    name = users._check_username(body.username)
    password_hex = _md5(body.password)
    code = country_code(body.country_code)
    username_type = body.username_type
    if username_type not in (1, 2, 3):
        raise ParamIllegal("username_type must be 1 (mobile), 2 (email) or 3 (other)")
    nick = _text(body.nick_name, "nick_name")
    zone = _text(body.time_zone_id, "time_zone_id")
    password_hash = await users.hash_password(ctx, password_hex)
    now = ctx.clock.now_ms()

    async def work(tx: Tx) -> AppUser:
        found = await tx.get_app_user_by_name(app.schema, name)
        if found is None:
            user = AppUser(ctx.ids.uid(REGIONS[app.region].uid_prefix), app.schema, app.region, name,
                           int(username_type), code, nick, zone, password_hash, now, now)  # type: ignore[arg-type]
            if await tx.insert_app_user(user):
                return user
            found = await tx.get_app_user_by_name(app.schema, name)
            assert found is not None
        found.username_type, found.country_code = int(username_type), code  # type: ignore[arg-type]
        found.nick_name, found.time_zone_id = nick or found.nick_name, zone or found.time_zone_id
        found.password_hash, found.updated_ms = password_hash, now
        await tx.update_app_user(found)
        return found

    return await ctx.store.transaction(work)


async def get_user(ctx: Context, project: Project, uid: str) -> AppUser:
    """An app user of a linked app (2006 unknown, 1106 not linked / another user's token)."""
    user = await ctx.store.get_app_user(uid)
    if user is None or user.region != project.region:
        raise UserNotExist(f"user {uid!r} does not exist")
    await linked_app(ctx, project, user.schema)
    scope = ctx.scope
    if scope is not None and (not scope.app_user or scope.uid != uid):
        raise PermissionDeny("a user token reads its own user only")
    return user


async def page_users(ctx: Context, project: Project, schema: str, page_no: int, size: int
                     ) -> tuple[list[AppUser], bool, int]:
    visibility.require_project_token(ctx)
    app = await linked_app(ctx, project, schema)
    rows = await ctx.store.page_app_users(app.schema, (page_no - 1) * size, size + 1)
    return rows[:size], len(rows) > size, await ctx.store.count_app_users(app.schema)


async def login(ctx: Context, project: Project, body: AppLogin) -> Token:
    """The associated-user login: a token of kind ``app_user`` that sees the user's homes and devices only."""
    schema, username, password = body.schema, body.username, body.password
    if not username:
        raise ParamEmpty("username is required")
    if not password:
        raise ParamEmpty("password is required")
    if not schema:
        raise ParamEmpty("schema is required")
    app = await linked_app(ctx, project, schema)
    user = await ctx.store.get_app_user_by_name(app.schema, username.strip())
    if user is None:
        raise PermissionDeny("no such user of the app")
    given_code = body.country_code
    if not _MD5_HEX.match(password) or not await asyncio.to_thread(passwords.verify_password, password.lower(),
                                                                 user.password_hash):
        raise PasswordWrong()
    if given_code not in (None, "") and user.country_code and country_code(given_code) != user.country_code:
        raise PasswordWrong("the country code does not match the account")
    return await tokens.issue(ctx, project, "1", uid=user.id, kind="app_user")

