"""Project users of custom projects: registration, lookup, paging, changes, passwords, login.

Clients send a password as the lower-case SHA-256 hex of the plaintext; the server keeps scrypt over that hex
with a random salt (``scrypt$n$r$p$salt$hash``), so a leaked table does not give the value clients send. A user
token is an ordinary token of kind ``"user"`` carrying the user's id; deleting a user removes their
authorisations and retires their tokens.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Sequence

from tuyacloud import passwords
from tuyacloud.domain.access import tokens, visibility
from tuyacloud.domain.context import Context
from tuyacloud.errors import ParamIllegal, PasswordWrong, PermissionDeny, UserExists, UserNotExist
from tuyacloud.models import Project, ProjectUser, Token
from tuyacloud.regions import REGIONS
from tuyacloud.store.base import Tx

_SHA256_HEX = re.compile(r"^[0-9a-fA-F]{64}$")


def _check_username(username: str | None) -> str:
    if not isinstance(username, str) or not username.strip():
        raise ParamIllegal("username is required")
    username = username.strip()
    if len(username) > 64 or any(ch.isspace() or not ch.isprintable() for ch in username):
        raise ParamIllegal("username must be 1 to 64 printable characters without spaces")
    return username


def _check_password(password: str | None, field: str = "password") -> str:
    if not isinstance(password, str) or not _SHA256_HEX.match(password):
        raise ParamIllegal(f"{field} must be the SHA-256 hex of the password")
    return password.lower()


def _text(value: object, field: str, limit: int = 64) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit or not value.isprintable():
        raise ParamIllegal(f"{field} must be a string of at most {limit} printable characters")
    return value.strip()


def client_password(plain: str) -> str:
    """What a client sends for a plaintext password (lower-case SHA-256 hex, as tuya-iot-py-sdk's ``connect()``
    does): the console and the CLI take plaintext from a person and register this, so the same plaintext logs in."""
    if not plain:
        raise ParamIllegal("the password must not be empty")
    return hashlib.sha256(plain.encode("utf-8")).hexdigest()


def require_custom(project: Project) -> None:
    """Project users (and the asset grants that scope them) exist in custom-development projects only; an admin
    tool aiming at a smart-home project is told so plainly instead of creating users nobody can log in as."""
    if project.method != "custom":
        raise PermissionDeny(f"project {project.access_id} is a smart-home project: project users and asset "
                             "authorisation belong to custom-development projects (smart-home projects have app "
                             "users, see `tuyacloud app`)")


async def hash_password(ctx: Context, password_hex: str) -> str:
    return await asyncio.to_thread(passwords.hash_password, password_hex, ctx.policy.password_scrypt_n)


async def register(ctx: Context, project: Project, *, username: str | None, password: str | None,
                   country_code: str = "", nick_name: str = "", creator: str = "") -> ProjectUser:
    visibility.require_project_token(ctx)
    name = _check_username(username)
    password_hex = _check_password(password)
    now = ctx.clock.now_ms()
    user = ProjectUser(
        id=ctx.ids.uid(REGIONS[project.region].uid_prefix), access_id=project.access_id, region=project.region,
        username=name, country_code=_text(country_code, "country_code", 8), nick_name=_text(nick_name, "nick_name"),
        password_hash=await hash_password(ctx, password_hex), creator=_text(creator, "creator"), created_ms=now,
        updated_ms=now,
    )

    async def work(tx: Tx) -> None:
        if not await tx.insert_user(user):
            raise UserExists(f"username {name!r} is taken")

    await ctx.store.transaction(work)
    return user


def _own_record_only(ctx: Context, user: ProjectUser | None) -> None:
    """A project user's (or app user's) token reads its own record and no other: 1106 as for the management
    calls, whether or not the other user exists (so a token cannot probe for names)."""
    scope = ctx.scope
    if scope is not None and (scope.app_user or user is None or user.id != scope.uid):
        raise PermissionDeny("a user token reads its own user only")


async def get(ctx: Context, project: Project, uid: str) -> ProjectUser:
    user = await ctx.store.get_user(project.access_id, project.region, uid)
    _own_record_only(ctx, user)
    if user is None:
        raise UserNotExist(f"user {uid!r} does not exist")
    return user


async def get_by_name(ctx: Context, project: Project, username: str) -> ProjectUser:
    user = await ctx.store.get_user_by_name(project.access_id, project.region, username)
    _own_record_only(ctx, user)
    if user is None:
        raise UserNotExist(f"no user named {username!r}")
    return user


async def find(ctx: Context, project: Project, ref: str) -> ProjectUser:
    """A user named by username or by user id, as a person types it at the CLI: the username wins when a name
    happens to equal another user's id."""
    ref = ref.strip()
    user = await ctx.store.get_user_by_name(project.access_id, project.region, ref) if ref else None
    if user is None and ref:
        user = await ctx.store.get_user(project.access_id, project.region, ref)
    if user is None:
        raise UserNotExist(f"no user with username or id {ref!r} in project {project.access_id}")
    return user


async def page(ctx: Context, project: Project, after_id: str, size: int, *, offset: int = 0,
               ids: Sequence[str] = (), names: Sequence[str] = (), nick_name: str | None = None
               ) -> tuple[list[ProjectUser], bool, int]:
    """Users in id order after the cursor (or from an offset): (page, has more, total)."""
    visibility.require_project_token(ctx)
    rows = await ctx.store.page_users(project.access_id, project.region, after_id, size + 1, offset=offset,
                                      ids=ids, names=names, nick_name=nick_name)
    total = await ctx.store.count_users(project.access_id, project.region, ids=ids, names=names, nick_name=nick_name)
    return rows[:size], len(rows) > size, total


async def modify(ctx: Context, project: Project, uid: str, *, nick_name: str | None = None,
                 country_code: str | None = None, old_password: str | None = None,
                 new_password: str | None = None) -> None:
    """Change the nick name / country code, and the password when the old one is given right."""
    visibility.require_project_token(ctx)
    user = await get(ctx, project, uid)
    if nick_name is not None:
        user.nick_name = _text(nick_name, "nick_name")
    if country_code is not None:
        user.country_code = _text(country_code, "country_code", 8)
    if new_password is not None or old_password is not None:
        new_hex = _check_password(new_password, "new_password")
        old_hex = _check_password(old_password, "old_password")
        if not await asyncio.to_thread(passwords.verify_password, old_hex, user.password_hash):
            raise PasswordWrong("the old password is wrong")
        user.password_hash = await hash_password(ctx, new_hex)
    user.updated_ms = ctx.clock.now_ms()
    await _save(ctx, user)


async def reset_password(ctx: Context, project: Project, username: str | None, new_password: str | None) -> None:
    visibility.require_project_token(ctx)
    user = await get_by_name(ctx, project, _check_username(username))
    user.password_hash = await hash_password(ctx, _check_password(new_password, "new_password"))
    user.updated_ms = ctx.clock.now_ms()
    await _save(ctx, user)


async def _save(ctx: Context, user: ProjectUser) -> None:
    async def work(tx: Tx) -> None:
        await tx.update_user(user)

    await ctx.store.transaction(work)


async def delete(ctx: Context, project: Project, uid: str) -> None:
    """The user, their authorisations and their tokens, in one unit."""
    visibility.require_project_token(ctx)
    user = await get(ctx, project, uid)

    async def work(tx: Tx) -> None:
        await tx.delete_user(project.access_id, project.region, user.id)
        # the MQTT open-hub credentials issued to the user's tokens go with them
        await tx.revoke_user_credentials(project.access_id, project.region, user.id, ctx.clock.now_ms())

    await ctx.store.transaction(work)


async def login(ctx: Context, project: Project, username: str | None, password: str | None) -> Token:
    """A user token for the right username and password; 2401 for any wrong pair (no hint which part)."""
    if project.method != "custom":
        raise PasswordWrong("project users exist in custom projects only")
    if not isinstance(username, str) or not isinstance(password, str) or not _SHA256_HEX.match(password):
        raise PasswordWrong()
    user = await ctx.store.get_user_by_name(project.access_id, project.region, username.strip())
    if user is None or not await asyncio.to_thread(passwords.verify_password, password.lower(), user.password_hash):
        raise PasswordWrong()
    return await tokens.issue(ctx, project, "1", uid=user.id, kind="user")
