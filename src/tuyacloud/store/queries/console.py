"""Console queries: accounts, server-side sessions and login-failure counters.

Mixed into ``Queries``; portable ``?`` SQL. Console data is not scoped by project or region: a console account
administers the whole cloud (as the admin token does).
"""

from __future__ import annotations

from collections.abc import Sequence

from tuyacloud.models import ConsoleAccount, ConsoleSession
from tuyacloud.store.queries.primitives import Primitives


class ConsoleQueries(Primitives):
    # --- accounts -------------------------------------------------------------------------------------
    async def count_console_accounts(self) -> int:
        rows = await self.fetch("SELECT COUNT(*) FROM console_accounts")
        return int(rows[0][0])

    async def get_console_account(self, username: str) -> ConsoleAccount | None:
        rows = await self.fetch(
            "SELECT username, password_hash, created_ms, updated_ms FROM console_accounts WHERE username = ?",
            (username,),
        )
        return ConsoleAccount(rows[0][0], rows[0][1], int(rows[0][2]), int(rows[0][3])) if rows else None

    async def list_console_accounts(self) -> list[ConsoleAccount]:
        rows = await self.fetch(
            "SELECT username, password_hash, created_ms, updated_ms FROM console_accounts ORDER BY username")
        return [ConsoleAccount(r[0], r[1], int(r[2]), int(r[3])) for r in rows]

    async def insert_console_account(self, a: ConsoleAccount) -> bool:
        """False when the username is taken."""
        changed = await self.execute(
            "INSERT INTO console_accounts (username, password_hash, created_ms, updated_ms) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (username) DO NOTHING",
            (a.username, a.password_hash, a.created_ms, a.updated_ms),
        )
        return changed == 1

    async def set_console_password(self, username: str, password_hash: str, updated_ms: int) -> bool:
        changed = await self.execute(
            "UPDATE console_accounts SET password_hash = ?, updated_ms = ? WHERE username = ?",
            (password_hash, updated_ms, username),
        )
        return changed == 1

    # --- sessions -------------------------------------------------------------------------------------
    async def insert_console_session(self, s: ConsoleSession) -> None:
        await self.execute(
            "INSERT INTO console_sessions (token_hash, username, csrf_token, created_ms, expires_ms) "
            "VALUES (?, ?, ?, ?, ?)",
            (s.token_hash, s.username, s.csrf_token, s.created_ms, s.expires_ms),
        )

    async def get_console_session(self, token_hash: str) -> ConsoleSession | None:
        rows = await self.fetch(
            "SELECT token_hash, username, csrf_token, created_ms, expires_ms FROM console_sessions "
            "WHERE token_hash = ?",
            (token_hash,),
        )
        if not rows:
            return None
        r = rows[0]
        return ConsoleSession(r[0], r[1], r[2], int(r[3]), int(r[4]))

    async def delete_console_session(self, token_hash: str) -> None:
        await self.execute("DELETE FROM console_sessions WHERE token_hash = ?", (token_hash,))

    async def delete_console_sessions_of(self, username: str) -> int:
        return await self.execute("DELETE FROM console_sessions WHERE username = ?", (username,))

    async def delete_console_sessions_expired(self, now_ms: int) -> int:
        return await self.execute("DELETE FROM console_sessions WHERE expires_ms < ?", (now_ms,))

    # --- login failures ---------------------------------------------------------------------------------
    async def get_login_failures(self, keys: Sequence[str]) -> dict[str, tuple[int, int, int]]:
        """key -> (failures, first_ms, locked_until_ms)."""
        if not keys:
            return {}
        marks = ", ".join("?" for _ in keys)
        rows = await self.fetch(
            f"SELECT key, failures, first_ms, locked_until_ms FROM console_login_failures WHERE key IN ({marks})",
            tuple(keys),
        )
        return {r[0]: (int(r[1]), int(r[2]), int(r[3])) for r in rows}

    async def put_login_failure(self, key: str, failures: int, first_ms: int, locked_until_ms: int) -> None:
        await self.execute(
            "INSERT INTO console_login_failures (key, failures, first_ms, locked_until_ms) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, first_ms = excluded.first_ms, "
            "locked_until_ms = excluded.locked_until_ms",
            (key, failures, first_ms, locked_until_ms),
        )

    async def delete_stale_login_failures(self, first_before_ms: int, now_ms: int) -> int:
        """Counters whose window has passed and that lock nothing: keeps guessed usernames from piling up."""
        return await self.execute(
            "DELETE FROM console_login_failures WHERE first_ms < ? AND locked_until_ms < ?", (first_before_ms, now_ms))

    async def login_failure_keys(self) -> list[str]:
        """Every counter's key (stale ones are swept on each failure, so these are few)."""
        return [r[0] for r in await self.fetch("SELECT key FROM console_login_failures ORDER BY key")]

    async def clear_login_failures(self, key: str) -> None:
        await self.execute("DELETE FROM console_login_failures WHERE key = ?", (key,))
