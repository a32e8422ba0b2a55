"""Device-sharing (Home Assistant) queries: the app users' user codes, pending QR logins, rooms of devices.

Mixed into ``Queries``; portable ``?`` SQL. A user code names one app user; a QR login is created for a user code
and waits for its approval (console, CLI or control API) before the poll that redeems it gets a token.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tuyacloud.models import QrLogin, Room
from tuyacloud.store.queries.primitives import Primitives
from tuyacloud.store.rows import Row

_LOGIN_COLS = "qrcode, user_code, uid, client_id, schema, state, created_ms, expires_ms"


def _login(r: Row) -> QrLogin:
    return QrLogin(r[0], r[1], r[2], r[3], r[4], r[5], int(r[6]), int(r[7]))


class SharingQueries(Primitives):
    # --- user codes -------------------------------------------------------------------------------
    async def insert_user_code(self, code: str, uid: str, created_ms: int) -> bool:
        changed = await self.execute(
            "INSERT INTO sharing_user_codes (code, uid, created_ms) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (code, uid, created_ms),
        )
        return changed == 1

    async def user_code_of(self, uid: str) -> str | None:
        rows = await self.fetch("SELECT code FROM sharing_user_codes WHERE uid = ?", (uid,))
        return str(rows[0][0]) if rows else None

    async def uid_of_user_code(self, code: str) -> str | None:
        rows = await self.fetch("SELECT uid FROM sharing_user_codes WHERE code = ?", (code,))
        return str(rows[0][0]) if rows else None

    # --- QR logins --------------------------------------------------------------------------------
    async def insert_qr_login(self, q: QrLogin) -> bool:
        changed = await self.execute(
            f"INSERT INTO sharing_logins ({_LOGIN_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (q.qrcode, q.user_code, q.uid, q.client_id, q.schema, q.state, q.created_ms, q.expires_ms),
        )
        return changed == 1

    async def hold_user_code(self, code: str) -> None:
        """Make QR logins for one user code take turns until this unit commits: a row lock on PostgreSQL (the
        count that follows, in its own statement, sees every login committed before it); SQLite has one writer."""
        await self.execute("UPDATE sharing_user_codes SET created_ms = created_ms WHERE code = ?", (code,))

    async def count_pending_qr_logins(self, user_code: str, now_ms: int) -> int:
        rows = await self.fetch("SELECT count(*) FROM sharing_logins WHERE user_code = ? AND state = 'pending' "
                                "AND expires_ms > ?", (user_code, now_ms))
        return int(rows[0][0])

    async def get_qr_login(self, qrcode: str) -> QrLogin | None:
        rows = await self.fetch(f"SELECT {_LOGIN_COLS} FROM sharing_logins WHERE qrcode = ?", (qrcode,))
        return _login(rows[0]) if rows else None

    async def set_qr_login_state(self, qrcode: str, from_state: str, to_state: str) -> bool:
        """Move a login from one state to the next; False when it was no longer in ``from_state``."""
        changed = await self.execute("UPDATE sharing_logins SET state = ? WHERE qrcode = ? AND state = ?",
                                     (to_state, qrcode, from_state))
        return changed == 1

    async def pending_qr_logins(self, now_ms: int, uids: Sequence[str] | None = None) -> list[QrLogin]:
        """Logins waiting for approval that have not expired, newest first (of these users, if given)."""
        sql = f"SELECT {_LOGIN_COLS} FROM sharing_logins WHERE state = 'pending' AND expires_ms > ?"
        params: list[Any] = [now_ms]
        if uids is not None:
            if not uids:
                return []
            sql += f" AND uid IN ({', '.join('?' for _ in uids)})"
            params += list(uids)
        rows = await self.fetch(sql + " ORDER BY created_ms DESC, qrcode", params)
        return [_login(r) for r in rows]

    async def delete_qr_logins_expired_before(self, before_ms: int) -> int:
        return await self.execute("DELETE FROM sharing_logins WHERE expires_ms < ?", (before_ms,))

    # --- rooms ------------------------------------------------------------------------------------
    async def room_of_device(self, device_id: str) -> Room | None:
        rows = await self.fetch(
            "SELECT r.id, r.home_id, r.name, r.created_ms FROM room_devices rd JOIN rooms r ON r.id = rd.room_id "
            "WHERE rd.device_id = ?", (device_id,))
        return Room(rows[0][0], rows[0][1], rows[0][2], int(rows[0][3])) if rows else None
