"""Health and meta queries: is the database there, which schema revision, small key/value settings.

Mixed into ``Queries``; portable ``?`` SQL.
"""

from __future__ import annotations

from tuyacloud.store.queries.primitives import Primitives


class MetaQueries(Primitives):
    # --- health -----------------------------------------------------------------------------------
    async def ping(self) -> None:
        """A trivial query: raises if the database cannot be reached."""
        await self.fetch("SELECT 1")

    async def schema_revisions(self) -> set[str]:
        """The migration revisions the database is at (Alembic's version table)."""
        return {str(r[0]) for r in await self.fetch("SELECT version_num FROM alembic_version")}

    # --- meta -------------------------------------------------------------------------------------
    async def get_meta(self, key: str) -> str | None:
        row = await self.fetchone("SELECT value FROM meta WHERE key = ?", (key,))
        return row[0] if row else None

    async def set_meta(self, key: str, value: str) -> None:
        await self.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )
