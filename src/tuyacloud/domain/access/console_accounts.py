"""Console accounts: who may log in to the web console, their sessions, and the lock-out after failed logins.

Passwords are kept as scrypt hashes with a random salt and the cost parameters stored next to the hash
(``scrypt$n$r$p$salt$hash``), so the cost can be raised later without invalidating existing accounts.

Sessions live in the store (not in a signed cookie) so that logging out, changing a password or an operator
deleting rows really ends them, on every server process alike. The cookie carries a random token; the store
keeps only its SHA-256, so reading the table does not let anyone log in. Each session carries its own CSRF
token (synchronizer pattern), checked by the console on every POST.

Tokens and generated passwords come from the injected id source (``ctx.ids``), which draws them from
:mod:`secrets`; only a test seeds it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
from dataclasses import dataclass

from tuyacloud import passwords
from tuyacloud.domain.context import Context
from tuyacloud.models import ConsoleAccount, ConsoleSession
from tuyacloud.store.base import Tx

FIRST_ADMIN = "admin"
_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 256


class ConsoleAccountError(Exception):
    """A console account operation refused; the message is safe to show to the person."""


class LoginRefused(ConsoleAccountError):
    """Wrong username or password (deliberately not saying which), or locked out."""

    def __init__(self, message: str, locked_until_ms: int | None = None) -> None:
        super().__init__(message)
        self.locked_until_ms = locked_until_ms


@dataclass(frozen=True)
class ConsolePolicy:
    session_ttl_s: int = 12 * 3600
    lockout_failures: int = 5  # this many failures within lockout_s lock one address out of one username ...
    lockout_s: int = 15 * 60  # ... for this long
    scrypt_n: int = 1 << 14
    # Past lockout_failures for a username from all addresses (or ten times that across the console), every
    # login attempt for it waits, from slowdown_s doubling up to slowdown_max_s: guessing slows to a crawl while
    # the right password from another address still gets in.
    slowdown_s: float = 0.25
    slowdown_max_s: float = 4.0


# --- accounts --------------------------------------------------------------------------------------------
def check_username(username: str) -> str:
    username = username.strip()
    if not _USERNAME.match(username):
        raise ConsoleAccountError("a username is 1 to 64 letters, digits or _ . @ -")
    return username


def check_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise ConsoleAccountError(f"a password is {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    return password


def generate_password(ctx: Context) -> str:
    """20 URL-safe characters (120 bits), starting with a letter or digit so it pastes safely after a flag."""
    while True:
        password = ctx.ids.urlsafe(15)
        if password[0].isalnum():
            return password


# --- accounts -------------------------------------------------------------------------------------------
async def create(ctx: Context, policy: ConsolePolicy, username: str, password: str) -> ConsoleAccount:
    username = check_username(username)
    digest = await asyncio.to_thread(passwords.hash_password, check_password(password), policy.scrypt_n)
    now = ctx.clock.now_ms()
    account = ConsoleAccount(username, digest, now, now)

    async def work(tx: Tx) -> bool:
        return await tx.insert_console_account(account)

    if not await ctx.store.transaction(work):
        raise ConsoleAccountError(f"the console account {username!r} already exists")
    return account


async def set_password(ctx: Context, policy: ConsolePolicy, username: str, password: str) -> None:
    """A new password ends every session of the account."""
    digest = await asyncio.to_thread(passwords.hash_password, check_password(password), policy.scrypt_n)
    now = ctx.clock.now_ms()

    async def work(tx: Tx) -> bool:
        if not await tx.set_console_password(username, digest, now):
            return False
        await tx.delete_console_sessions_of(username)
        for key in await tx.login_failure_keys():
            if _unlocks(key, username, None):
                await tx.clear_login_failures(key)
        return True

    if not await ctx.store.transaction(work):
        raise ConsoleAccountError(f"no console account {username!r}")


async def ensure_first_admin(ctx: Context, policy: ConsolePolicy, password: str | None = None) -> str | None:
    """When no console account exists, create ``admin``; returns its password (generated unless given) so the
    caller can show it once, or None when accounts already exist."""
    if await ctx.store.count_console_accounts() > 0:
        return None
    password = password or generate_password(ctx)
    try:
        await create(ctx, policy, FIRST_ADMIN, password)
    except ConsoleAccountError:  # another process created it at the same moment
        return None
    return password


# --- login, sessions --------------------------------------------------------------------------------------
def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# Failure counters, by key: one address guessing one username (the lock-out), one username from anywhere and the
# whole console (the slow-down). A lock-out keyed on the username alone let anyone lock the administrator out
# with five guesses; keyed on the address alone, behind a proxy every client shares one.
ALL_KEY = "all"
GLOBAL_FACTOR = 10


def _pair_key(username: str, address: str) -> str:
    return f"pair:{address}|{username.strip().lower()}"


def _user_key(username: str) -> str:
    return "user:" + username.strip().lower()


def slowdown_s(policy: ConsolePolicy, user_failures: int, all_failures: int) -> float:
    """How long a login attempt waits, from the failures in the current window."""
    excess = max(user_failures - policy.lockout_failures,
                 all_failures - policy.lockout_failures * GLOBAL_FACTOR)
    if excess <= 0:
        return 0.0
    return min(policy.slowdown_max_s, policy.slowdown_s * 2 ** min(excess - 1, 16))


def _live(found: dict[str, tuple[int, int, int]], key: str, now: int, window: int) -> tuple[int, int]:
    """(failures within the window, locked until) of one counter."""
    failures, first, until = found.get(key, (0, now, 0))
    return (failures if now - first <= window else 0), until


async def _record_failure(ctx: Context, policy: ConsolePolicy, keys: list[str]) -> int | None:
    now = ctx.clock.now_ms()
    window = policy.lockout_s * 1000

    async def work(tx: Tx) -> int | None:
        await tx.delete_stale_login_failures(now - window, now)
        found = await tx.get_login_failures(keys)
        locked: int | None = None
        for key in keys:
            failures, first, _ = found.get(key, (0, now, 0))
            if now - first > window:
                failures, first = 0, now
            failures += 1
            # only the address+username pair locks; the other counters only slow down
            until = now + window if key.startswith("pair:") and failures >= policy.lockout_failures else 0
            if until:
                locked = until
            await tx.put_login_failure(key, failures, first, until)
        return locked

    return await ctx.store.transaction(work)


async def login(ctx: Context, policy: ConsolePolicy, username: str, password: str,
                address: str) -> tuple[str, ConsoleSession]:
    """Check the password and open a session: returns (cookie token, session).

    Refuses while this address is locked out of this username, without even checking the password (so a
    lock-out cannot be probed); other addresses are not locked out, but wait longer per attempt while the
    username (or the console) keeps failing.
    """
    keys = [_pair_key(username, address), _user_key(username), ALL_KEY]
    now, window = ctx.clock.now_ms(), policy.lockout_s * 1000
    found = await ctx.store.get_login_failures(keys)
    _, locked = _live(found, keys[0], now, window)
    if locked > now:
        raise LoginRefused("too many failed logins: try again later", locked)
    delay = slowdown_s(policy, _live(found, keys[1], now, window)[0], _live(found, keys[2], now, window)[0])
    if delay:
        await asyncio.sleep(delay)
    account = await ctx.store.get_console_account(username.strip())
    stored = account.password_hash if account else passwords.DUMMY_HASH
    ok = await asyncio.to_thread(passwords.verify_password, password, stored)
    if account is None or not ok:
        now_locked = await _record_failure(ctx, policy, keys)
        if now_locked is not None:
            raise LoginRefused("too many failed logins: try again later", now_locked)
        raise LoginRefused("wrong username or password")
    token = ctx.ids.urlsafe(32)
    now = ctx.clock.now_ms()
    session = ConsoleSession(_token_hash(token), account.username, ctx.ids.urlsafe(32), now,
                             now + policy.session_ttl_s * 1000)

    async def work(tx: Tx) -> None:
        await tx.insert_console_session(session)
        await tx.clear_login_failures(keys[0])
        await tx.clear_login_failures(keys[1])  # the console-wide count stays: others may be guessing
        await tx.delete_console_sessions_expired(now)

    await ctx.store.transaction(work)
    return token, session


def _unlocks(key: str, username: str | None, address: str | None) -> bool:
    """Whether clearing the lock-outs of ``username`` and/or ``address`` (None: any) clears this counter."""
    if key.startswith("pair:"):
        key_address, _, key_user = key[5:].partition("|")
        return ((username is None or key_user == username.strip().lower())
                and (address is None or key_address == address))
    if key.startswith("user:"):
        return address is None and (username is None or key[5:] == username.strip().lower())
    return username is None and address is None  # the console-wide count, and counters of earlier versions


async def unlock(ctx: Context, username: str | None = None, address: str | None = None) -> int:
    """Clear the failed-login counters of a username, an address, both, or (neither given) all of them; returns
    how many were cleared. For ``tuyacloud admin unlock``: an operator's way in during an attack."""

    async def work(tx: Tx) -> int:
        keys = [k for k in await tx.login_failure_keys() if _unlocks(k, username, address)]
        for key in keys:
            await tx.clear_login_failures(key)
        return len(keys)

    return await ctx.store.transaction(work)


async def session_of(ctx: Context, token: str) -> ConsoleSession | None:
    """The live session a cookie token names, or None (unknown, logged out or expired)."""
    if not token or len(token) > 128:
        return None
    session = await ctx.store.get_console_session(_token_hash(token))
    if session is None or session.expires_ms < ctx.clock.now_ms():
        return None
    return session


async def logout(ctx: Context, token: str) -> None:
    async def work(tx: Tx) -> None:
        await tx.delete_console_session(_token_hash(token))

    await ctx.store.transaction(work)


def csrf_matches(session: ConsoleSession, given: str) -> bool:
    return bool(given) and hmac.compare_digest(session.csrf_token.encode(), given.encode())


async def accounts(ctx: Context) -> list[ConsoleAccount]:
    return await ctx.store.list_console_accounts()
