"""Access token queries: issue, look up, refresh once, revoke and sweep a project's tokens.

Mixed into ``Queries``; portable ``?`` SQL.
"""

from __future__ import annotations

from tuyacloud.models import Token
from tuyacloud.store.queries.primitives import Primitives
from tuyacloud.store.rows import Row

_TOKEN_COLS = (
    "access_token, refresh_token, access_id, region, uid, kind, created_ms, expires_ms, revoked_ms, refresh_used"
)


def _token(row: Row) -> Token:
    return Token(
        access_token=row[0], refresh_token=row[1], access_id=row[2], region=row[3], uid=row[4], kind=row[5],
        created_ms=row[6], expires_ms=row[7], revoked_ms=row[8], refresh_used=bool(row[9]),
    )


class TokenQueries(Primitives):
    # --- tokens -----------------------------------------------------------------------------------
    async def get_token(self, access_token: str) -> Token | None:
        row = await self.fetchone(f"SELECT {_TOKEN_COLS} FROM tokens WHERE access_token = ?", (access_token,))
        return _token(row) if row else None

    async def get_token_by_refresh(self, refresh_token: str) -> Token | None:
        row = await self.fetchone(f"SELECT {_TOKEN_COLS} FROM tokens WHERE refresh_token = ?", (refresh_token,))
        return _token(row) if row else None

    async def insert_token(self, t: Token) -> None:
        await self.execute(
            f"INSERT INTO tokens ({_TOKEN_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                t.access_token, t.refresh_token, t.access_id, t.region, t.uid, t.kind, t.created_ms, t.expires_ms,
                t.revoked_ms, int(t.refresh_used),
            ),
        )

    async def use_refresh_token(self, refresh_token: str, revoked_ms: int) -> bool:
        """Mark a refresh token used (once only) and start its access token's grace period."""
        changed = await self.execute(
            "UPDATE tokens SET refresh_used = 1, revoked_ms = ? WHERE refresh_token = ? AND refresh_used = 0",
            (revoked_ms, refresh_token),
        )
        return changed == 1

    async def delete_tokens_expired_before(self, cutoff_ms: int) -> int:
        return await self.execute("DELETE FROM tokens WHERE expires_ms < ?", (cutoff_ms,))

    async def revoke_project_tokens(self, access_id: str, revoked_ms: int) -> int:
        return await self.execute(
            "UPDATE tokens SET revoked_ms = ? WHERE access_id = ? AND (revoked_ms IS NULL OR revoked_ms > ?)",
            (revoked_ms, access_id, revoked_ms),
        )
