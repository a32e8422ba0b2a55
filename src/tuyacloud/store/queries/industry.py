"""Custom projects' queries: the asset tree, project users and their authorisations on assets.

Mixed into ``Queries``; portable SQL like the rest of the store, every query scoped by project and region (an
asset looked up by id is scoped by region only, as devices are, so the domain can tell "another project's" from
"unknown").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tuyacloud.models import Asset, AssetGrant, ProjectUser
from tuyacloud.store.queries.primitives import Primitives, owner_clause
from tuyacloud.store.rows import Row

_ASSET_COLS = "id, access_id, region, parent_id, name, asset_type, image, level, created_ms, is_root"
_USER_COLS = (
    "id, access_id, region, username, country_code, nick_name, password_hash, creator, created_ms, updated_ms"
)
_GRANT_COLS = "access_id, region, uid, asset_id, with_children, created_ms"


def _asset(r: Row) -> Asset:
    return Asset(r[0], r[1], r[2], r[3], r[4], r[5], r[6], int(r[7]), int(r[8]), bool(r[9]))


def _user(r: Row) -> ProjectUser:
    return ProjectUser(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], int(r[8]), int(r[9]))


def _grant(r: Row) -> AssetGrant:
    return AssetGrant(r[0], r[1], r[2], r[3], bool(r[4]), int(r[5]))


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


class AssetQueries(Primitives):
    # --- assets -------------------------------------------------------------------------------------
    async def get_asset(self, asset_id: str, region: str) -> Asset | None:
        rows = await self.fetch(f"SELECT {_ASSET_COLS} FROM assets WHERE id = ? AND region = ?", (asset_id, region))
        return _asset(rows[0]) if rows else None

    async def get_assets(self, access_id: str, region: str, ids: Sequence[str]) -> list[Asset]:
        if not ids:
            return []
        rows = await self.fetch(
            f"SELECT {_ASSET_COLS} FROM assets WHERE access_id = ? AND region = ? AND id IN ({_marks(ids)}) "
            "ORDER BY id",
            (access_id, region, *ids),
        )
        return [_asset(r) for r in rows]

    async def all_assets(self, access_id: str, region: str) -> list[Asset]:
        rows = await self.fetch(
            f"SELECT {_ASSET_COLS} FROM assets WHERE access_id = ? AND region = ? ORDER BY id", (access_id, region)
        )
        return [_asset(r) for r in rows]

    async def page_assets(self, access_id: str, region: str, after_id: str, limit: int, *,
                          parent_id: str | None = None, ids: Sequence[str] = (), name: str | None = None,
                          offset: int = 0) -> list[Asset]:
        """Assets in id order after the ``after_id`` cursor, optionally children of one parent, named like."""
        where = ["access_id = ?", "region = ?", "id > ?"]
        params: list[Any] = [access_id, region, after_id]
        if parent_id is not None:
            where.append("parent_id = ?")
            params.append(parent_id)
        if ids:
            where.append(f"id IN ({_marks(ids)})")
            params.extend(ids)
        if name:
            where.append("name LIKE ?")
            params.append(f"%{name}%")
        params += [limit, offset]
        rows = await self.fetch(
            f"SELECT {_ASSET_COLS} FROM assets WHERE {' AND '.join(where)} ORDER BY id LIMIT ? OFFSET ?", params
        )
        return [_asset(r) for r in rows]

    async def count_assets(self, access_id: str, region: str, *, parent_id: str | None = None,
                           name: str | None = None) -> int:
        where = ["access_id = ?", "region = ?"]
        params: list[Any] = [access_id, region]
        if parent_id is not None:
            where.append("parent_id = ?")
            params.append(parent_id)
        if name:
            where.append("name LIKE ?")
            params.append(f"%{name}%")
        rows = await self.fetch(f"SELECT COUNT(*) FROM assets WHERE {' AND '.join(where)}", params)
        return int(rows[0][0])

    async def insert_asset(self, a: Asset) -> None:
        await self.execute(
            f"INSERT INTO assets ({_ASSET_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (a.id, a.access_id, a.region, a.parent_id, a.name, a.asset_type, a.image, a.level, a.created_ms,
             int(a.is_root)),
        )

    async def insert_root_asset(self, a: Asset) -> bool:
        """The project's root asset, once: its id is derived from the project, so a second insert is a no-op."""
        changed = await self.execute(
            f"INSERT INTO assets ({_ASSET_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            (a.id, a.access_id, a.region, a.parent_id, a.name, a.asset_type, a.image, a.level, a.created_ms, 1),
        )
        return changed == 1

    async def rename_asset(self, access_id: str, region: str, asset_id: str, name: str) -> None:
        await self.execute("UPDATE assets SET name = ? WHERE access_id = ? AND region = ? AND id = ?",
                           (name, access_id, region, asset_id))

    async def place_asset(self, access_id: str, region: str, asset_id: str, parent_id: str, level: int) -> None:
        """Set a node's parent and level (a move updates the node and, with the parent unchanged, its subtree)."""
        await self.execute("UPDATE assets SET parent_id = ?, level = ? WHERE access_id = ? AND region = ? AND id = ?",
                           (parent_id, level, access_id, region, asset_id))

    async def delete_asset(self, access_id: str, region: str, asset_id: str) -> None:
        await self.execute("DELETE FROM assets WHERE access_id = ? AND region = ? AND id = ?",
                           (access_id, region, asset_id))
        await self.execute("DELETE FROM asset_grants WHERE access_id = ? AND region = ? AND asset_id = ?",
                           (access_id, region, asset_id))

    async def device_counts_by_asset(self, access_id: str, region: str) -> dict[str, int]:
        rows = await self.fetch(
            "SELECT asset_id, COUNT(*) FROM devices WHERE access_id = ? AND region = ? GROUP BY asset_id",
            (access_id, region),
        )
        return {r[0]: int(r[1]) for r in rows}

    async def count_devices_at(self, access_id: str | Sequence[str], region: str, asset_ids: Sequence[str]) -> int:
        if not asset_ids:
            return 0
        owner, owners = owner_clause(access_id)
        rows = await self.fetch(
            f"SELECT COUNT(*) FROM devices WHERE {owner} AND region = ? AND asset_id IN ({_marks(asset_ids)})",
            (*owners, region, *asset_ids),
        )
        return int(rows[0][0])

    async def place_unplaced_devices(self, access_id: str, region: str, asset_id: str) -> int:
        return await self.execute(
            "UPDATE devices SET asset_id = ? WHERE access_id = ? AND region = ? AND asset_id = ''",
            (asset_id, access_id, region),
        )

    # --- project users ------------------------------------------------------------------------------
    async def insert_user(self, u: ProjectUser) -> bool:
        """False when the username is taken: the unique index decides, so two concurrent registrations of one
        name cannot both succeed (nor fail with a constraint error)."""
        changed = await self.execute(
            f"INSERT INTO project_users ({_USER_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (access_id, region, username) DO NOTHING",
            (u.id, u.access_id, u.region, u.username, u.country_code, u.nick_name, u.password_hash, u.creator,
             u.created_ms, u.updated_ms),
        )
        return changed == 1

    async def get_user(self, access_id: str, region: str, uid: str) -> ProjectUser | None:
        rows = await self.fetch(
            f"SELECT {_USER_COLS} FROM project_users WHERE access_id = ? AND region = ? AND id = ?",
            (access_id, region, uid),
        )
        return _user(rows[0]) if rows else None

    async def get_user_by_name(self, access_id: str, region: str, username: str) -> ProjectUser | None:
        rows = await self.fetch(
            f"SELECT {_USER_COLS} FROM project_users WHERE access_id = ? AND region = ? AND username = ?",
            (access_id, region, username),
        )
        return _user(rows[0]) if rows else None

    async def page_users(self, access_id: str, region: str, after_id: str, limit: int, *, offset: int = 0,
                         ids: Sequence[str] = (), names: Sequence[str] = (), nick_name: str | None = None
                         ) -> list[ProjectUser]:
        where, params = self._user_filter(access_id, region, ids, names, nick_name)
        where.append("id > ?")
        params += [after_id, limit, offset]
        rows = await self.fetch(
            f"SELECT {_USER_COLS} FROM project_users WHERE {' AND '.join(where)} ORDER BY id LIMIT ? OFFSET ?",
            params,
        )
        return [_user(r) for r in rows]

    async def count_users(self, access_id: str, region: str, *, ids: Sequence[str] = (), names: Sequence[str] = (),
                          nick_name: str | None = None) -> int:
        where, params = self._user_filter(access_id, region, ids, names, nick_name)
        rows = await self.fetch(f"SELECT COUNT(*) FROM project_users WHERE {' AND '.join(where)}", params)
        return int(rows[0][0])

    @staticmethod
    def _user_filter(access_id: str, region: str, ids: Sequence[str], names: Sequence[str],
                     nick_name: str | None) -> tuple[list[str], list[Any]]:
        where = ["access_id = ?", "region = ?"]
        params: list[Any] = [access_id, region]
        if ids:
            where.append(f"id IN ({_marks(ids)})")
            params.extend(ids)
        if names:
            where.append(f"username IN ({_marks(names)})")
            params.extend(names)
        if nick_name:
            where.append("nick_name LIKE ?")
            params.append(f"%{nick_name}%")
        return where, params

    async def update_user(self, u: ProjectUser) -> None:
        await self.execute(
            "UPDATE project_users SET nick_name = ?, country_code = ?, password_hash = ?, updated_ms = ? "
            "WHERE access_id = ? AND region = ? AND id = ?",
            (u.nick_name, u.country_code, u.password_hash, u.updated_ms, u.access_id, u.region, u.id),
        )

    async def delete_user(self, access_id: str, region: str, uid: str) -> None:
        await self.execute("DELETE FROM project_users WHERE access_id = ? AND region = ? AND id = ?",
                           (access_id, region, uid))
        await self.execute("DELETE FROM asset_grants WHERE access_id = ? AND region = ? AND uid = ?",
                           (access_id, region, uid))
        await self.execute("UPDATE tokens SET expires_ms = 0 WHERE access_id = ? AND region = ? AND uid = ? "
                           "AND kind = 'user'", (access_id, region, uid))

    # --- authorisations -----------------------------------------------------------------------------
    async def upsert_grant(self, g: AssetGrant) -> None:
        await self.execute(
            f"INSERT INTO asset_grants ({_GRANT_COLS}) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (access_id, region, uid, asset_id) DO UPDATE SET with_children = excluded.with_children",
            (g.access_id, g.region, g.uid, g.asset_id, int(g.with_children), g.created_ms),
        )

    async def delete_grants(self, access_id: str, region: str, uid: str, asset_ids: Sequence[str]) -> int:
        if not asset_ids:
            return 0
        return await self.execute(
            f"DELETE FROM asset_grants WHERE access_id = ? AND region = ? AND uid = ? AND asset_id IN "
            f"({_marks(asset_ids)})",
            (access_id, region, uid, *asset_ids),
        )

    async def grants_of_user(self, access_id: str, region: str, uid: str) -> list[AssetGrant]:
        rows = await self.fetch(
            f"SELECT {_GRANT_COLS} FROM asset_grants WHERE access_id = ? AND region = ? AND uid = ? ORDER BY asset_id",
            (access_id, region, uid),
        )
        return [_grant(r) for r in rows]

    async def grants_of_project(self, access_id: str, region: str) -> list[AssetGrant]:
        """Every user's grants in the project, by user (the open hub reads many users' scopes at once)."""
        rows = await self.fetch(
            f"SELECT {_GRANT_COLS} FROM asset_grants WHERE access_id = ? AND region = ? ORDER BY uid, asset_id",
            (access_id, region),
        )
        return [_grant(r) for r in rows]

    async def page_asset_users(self, access_id: str, region: str, asset_id: str, offset: int,
                               limit: int) -> list[ProjectUser]:
        cols = ", ".join(f"u.{c.strip()}" for c in _USER_COLS.split(","))
        rows = await self.fetch(
            f"SELECT {cols} FROM asset_grants g JOIN project_users u ON u.access_id = g.access_id "
            "AND u.region = g.region AND u.id = g.uid WHERE g.access_id = ? AND g.region = ? AND g.asset_id = ? "
            "ORDER BY u.id LIMIT ? OFFSET ?",
            (access_id, region, asset_id, limit, offset),
        )
        return [_user(r) for r in rows]

    async def count_asset_users(self, access_id: str, region: str, asset_id: str) -> int:
        rows = await self.fetch(
            "SELECT COUNT(*) FROM asset_grants WHERE access_id = ? AND region = ? AND asset_id = ?",
            (access_id, region, asset_id),
        )
        return int(rows[0][0])
