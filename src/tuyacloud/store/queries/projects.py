"""Project queries: a cloud project (its credentials, settings and services) and its daily API usage.

Mixed into ``Queries``; portable ``?`` SQL.
"""

from __future__ import annotations

import orjson

from tuyacloud.models import Project
from tuyacloud.store.queries.primitives import Primitives, dumps
from tuyacloud.store.rows import Row

_PROJECT_COLS = (
    "access_id, access_secret, region, name, description, method, industry, uid, created_ms, updated_ms, "
    "allowlist_enabled, allowlist, services, message_encryption, legacy_signing"
)


def _project(row: Row) -> Project:
    return Project(
        access_id=row[0], access_secret=row[1], region=row[2], name=row[3], description=row[4], method=row[5],
        industry=row[6], uid=row[7], created_ms=row[8], updated_ms=row[9], allowlist_enabled=bool(row[10]),
        allowlist=orjson.loads(row[11]), services=orjson.loads(row[12]), message_encryption=row[13],
        legacy_signing=bool(row[14]),
    )


class ProjectQueries(Primitives):
    # --- projects ---------------------------------------------------------------------------------
    async def get_project(self, access_id: str) -> Project | None:
        row = await self.fetchone(f"SELECT {_PROJECT_COLS} FROM projects WHERE access_id = ?", (access_id,))
        return _project(row) if row else None

    async def list_projects(self) -> list[Project]:
        rows = await self.fetch(f"SELECT {_PROJECT_COLS} FROM projects ORDER BY created_ms, access_id")
        return [_project(r) for r in rows]

    async def insert_project(self, p: Project) -> None:
        await self.execute(
            f"INSERT INTO projects ({_PROJECT_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                p.access_id, p.access_secret, p.region, p.name, p.description, p.method, p.industry, p.uid,
                p.created_ms, p.updated_ms, int(p.allowlist_enabled), dumps(p.allowlist), dumps(p.services),
                p.message_encryption, int(p.legacy_signing),
            ),
        )

    async def update_project(self, p: Project) -> None:
        await self.execute(
            "UPDATE projects SET access_secret = ?, name = ?, description = ?, industry = ?, updated_ms = ?, "
            "allowlist_enabled = ?, allowlist = ?, services = ?, message_encryption = ?, legacy_signing = ? "
            "WHERE access_id = ?",
            (
                p.access_secret, p.name, p.description, p.industry, p.updated_ms, int(p.allowlist_enabled),
                dumps(p.allowlist), dumps(p.services), p.message_encryption, int(p.legacy_signing), p.access_id,
            ),
        )

    # --- usage ------------------------------------------------------------------------------------
    async def add_usage(self, access_id: str, day: str, api: str, calls: int, failures: int) -> None:
        await self.execute(
            "INSERT INTO usage (access_id, day, api, calls, failures) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (access_id, day, api) DO UPDATE SET calls = usage.calls + excluded.calls, "
            "failures = usage.failures + excluded.failures",
            (access_id, day, api, calls, failures),
        )

    async def usage_rows(self, access_id: str, first_day: str, last_day: str) -> list[tuple[str, str, int, int]]:
        rows = await self.fetch(
            "SELECT day, api, calls, failures FROM usage WHERE access_id = ? AND day >= ? AND day <= ? "
            "ORDER BY day, api",
            (access_id, first_day, last_day),
        )
        return [(r[0], r[1], int(r[2]), int(r[3])) for r in rows]
