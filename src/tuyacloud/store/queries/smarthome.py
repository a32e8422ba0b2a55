"""Smart-home queries: apps and their links to projects, app users, homes, members, rooms, pairing tokens.

Mixed into ``Queries``; portable ``?`` SQL. Apps, their users and homes belong to an app (its ``schema``) in one
region, not to a project: a project reaches them through ``app_links``, which the domain checks before any of these
queries run. Devices of app users are ordinary device rows whose ``access_id`` is the app's owner id
(``app:<schema>``) and whose ``asset_id`` is their home.
"""

from __future__ import annotations

from collections.abc import Sequence

from tuyacloud.models import App, AppUser, Device, Home, HomeMember, PairingToken, Room
from tuyacloud.store.queries.primitives import Primitives
from tuyacloud.store.rows import DEVICE_COLS, Row, device_from_row

_USER_COLS = ("id, schema, region, username, username_type, country_code, nick_name, time_zone_id, password_hash, "
              "created_ms, updated_ms")
_HOME_COLS = "id, schema, region, owner_uid, name, geo_name, lon, lat, created_ms"
_PAIRING_COLS = "token, access_id, region, uid, secret, time_zone, created_ms, expires_ms"


def _user(r: Row) -> AppUser:
    return AppUser(r[0], r[1], r[2], r[3], int(r[4]), r[5], r[6], r[7], r[8], int(r[9]), int(r[10]))


def _home(r: Row) -> Home:
    return Home(r[0], r[1], r[2], r[3], r[4], r[5], float(r[6]), float(r[7]), int(r[8]))


def _device_cols() -> str:
    return ", ".join(f"d.{c.strip()}" for c in DEVICE_COLS.split(","))


class SmartHomeQueries(Primitives):
    # --- apps and links ---------------------------------------------------------------------------
    async def insert_app(self, a: App) -> bool:
        changed = await self.execute(
            "INSERT INTO apps (schema, name, region, created_ms) VALUES (?, ?, ?, ?) ON CONFLICT (schema) DO NOTHING",
            (a.schema, a.name, a.region, a.created_ms),
        )
        return changed == 1

    async def get_app(self, schema: str) -> App | None:
        rows = await self.fetch("SELECT schema, name, region, created_ms FROM apps WHERE schema = ?", (schema,))
        return App(rows[0][0], rows[0][1], rows[0][2], int(rows[0][3])) if rows else None

    async def list_apps(self) -> list[App]:
        rows = await self.fetch("SELECT schema, name, region, created_ms FROM apps ORDER BY schema")
        return [App(r[0], r[1], r[2], int(r[3])) for r in rows]

    async def app_links(self, schema: str) -> list[str]:
        rows = await self.fetch("SELECT access_id FROM app_links WHERE schema = ? ORDER BY created_ms, access_id",
                                (schema,))
        return [r[0] for r in rows]

    async def linked_schemas(self, access_id: str) -> list[str]:
        rows = await self.fetch("SELECT schema FROM app_links WHERE access_id = ? ORDER BY schema", (access_id,))
        return [r[0] for r in rows]

    async def insert_app_link(self, schema: str, access_id: str, created_ms: int) -> bool:
        changed = await self.execute(
            "INSERT INTO app_links (schema, access_id, created_ms) VALUES (?, ?, ?) "
            "ON CONFLICT (schema, access_id) DO NOTHING", (schema, access_id, created_ms),
        )
        return changed == 1

    async def delete_app_link(self, schema: str, access_id: str) -> bool:
        return await self.execute("DELETE FROM app_links WHERE schema = ? AND access_id = ?", (schema, access_id)) == 1

    # --- app users --------------------------------------------------------------------------------
    async def insert_app_user(self, u: AppUser) -> bool:
        """False when the username is taken in the app (the unique index decides)."""
        changed = await self.execute(
            f"INSERT INTO app_users ({_USER_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (u.id, u.schema, u.region, u.username, u.username_type, u.country_code, u.nick_name, u.time_zone_id,
             u.password_hash, u.created_ms, u.updated_ms),
        )
        return changed == 1

    async def update_app_user(self, u: AppUser) -> None:
        await self.execute(
            "UPDATE app_users SET username_type = ?, country_code = ?, nick_name = ?, time_zone_id = ?, "
            "password_hash = ?, updated_ms = ? WHERE id = ?",
            (u.username_type, u.country_code, u.nick_name, u.time_zone_id, u.password_hash, u.updated_ms, u.id),
        )

    async def get_app_user(self, uid: str) -> AppUser | None:
        rows = await self.fetch(f"SELECT {_USER_COLS} FROM app_users WHERE id = ?", (uid,))
        return _user(rows[0]) if rows else None

    async def get_app_user_by_name(self, schema: str, username: str) -> AppUser | None:
        rows = await self.fetch(f"SELECT {_USER_COLS} FROM app_users WHERE schema = ? AND username = ?",
                                (schema, username))
        return _user(rows[0]) if rows else None

    async def page_app_users(self, schema: str, offset: int, limit: int) -> list[AppUser]:
        rows = await self.fetch(
            f"SELECT {_USER_COLS} FROM app_users WHERE schema = ? ORDER BY created_ms, id LIMIT ? OFFSET ?",
            (schema, limit, offset),
        )
        return [_user(r) for r in rows]

    async def count_app_users(self, schema: str) -> int:
        rows = await self.fetch("SELECT COUNT(*) FROM app_users WHERE schema = ?", (schema,))
        return int(rows[0][0])

    # --- homes and members ------------------------------------------------------------------------
    async def insert_home(self, h: Home) -> bool:
        changed = await self.execute(
            f"INSERT INTO homes ({_HOME_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            (h.id, h.schema, h.region, h.owner_uid, h.name, h.geo_name, repr(h.lon), repr(h.lat), h.created_ms),
        )
        return changed == 1

    async def get_home(self, home_id: str) -> Home | None:
        rows = await self.fetch(f"SELECT {_HOME_COLS} FROM homes WHERE id = ?", (home_id,))
        return _home(rows[0]) if rows else None

    async def update_home(self, h: Home) -> None:
        await self.execute("UPDATE homes SET name = ?, geo_name = ?, lon = ?, lat = ? WHERE id = ?",
                           (h.name, h.geo_name, repr(h.lon), repr(h.lat), h.id))

    async def delete_home(self, home_id: str) -> None:
        """The home, its members, its rooms and their device placements (the caller removes its devices)."""
        await self.execute("DELETE FROM room_devices WHERE room_id IN (SELECT id FROM rooms WHERE home_id = ?)",
                           (home_id,))
        await self.execute("DELETE FROM rooms WHERE home_id = ?", (home_id,))
        await self.execute("DELETE FROM home_members WHERE home_id = ?", (home_id,))
        await self.execute("DELETE FROM homes WHERE id = ?", (home_id,))

    async def homes_of_user(self, uid: str) -> list[tuple[Home, str]]:
        """The homes a user is a member of, with the user's role, oldest first."""
        cols = ", ".join(f"h.{c.strip()}" for c in _HOME_COLS.split(","))
        rows = await self.fetch(
            f"SELECT {cols}, m.role FROM home_members m JOIN homes h ON h.id = m.home_id WHERE m.uid = ? "
            "ORDER BY h.created_ms, h.id", (uid,),
        )
        return [(_home(r[:9]), r[9]) for r in rows]

    async def home_ids_of_users(self, uids: Sequence[str]) -> dict[str, list[str]]:
        """The ids of the homes each of ``uids`` is a member of (as ``homes_of_user``, for many users at once: the
        open hub reads many app users' scopes together)."""
        found: dict[str, list[str]] = {}
        wanted = list(uids)
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            rows = await self.fetch(
                "SELECT m.uid, h.id FROM home_members m JOIN homes h ON h.id = m.home_id WHERE m.uid IN "
                f"({', '.join('?' for _ in chunk)}) ORDER BY m.uid, h.created_ms, h.id", tuple(chunk),
            )
            for uid, home_id in rows:
                found.setdefault(str(uid), []).append(str(home_id))
        return found

    async def insert_member(self, m: HomeMember) -> bool:
        changed = await self.execute(
            "INSERT INTO home_members (home_id, uid, role, name, created_ms) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (home_id, uid) DO NOTHING", (m.home_id, m.uid, m.role, m.name, m.created_ms),
        )
        return changed == 1

    async def members(self, home_id: str) -> list[HomeMember]:
        rows = await self.fetch("SELECT home_id, uid, role, name, created_ms FROM home_members WHERE home_id = ? "
                                "ORDER BY created_ms, uid", (home_id,))
        return [HomeMember(r[0], r[1], r[2], r[3], int(r[4])) for r in rows]

    async def set_member_role(self, home_id: str, uid: str, role: str) -> None:
        await self.execute("UPDATE home_members SET role = ? WHERE home_id = ? AND uid = ?", (role, home_id, uid))

    async def delete_member(self, home_id: str, uid: str) -> None:
        await self.execute("DELETE FROM home_members WHERE home_id = ? AND uid = ?", (home_id, uid))

    # --- rooms ------------------------------------------------------------------------------------
    async def insert_room(self, r: Room) -> bool:
        changed = await self.execute(
            "INSERT INTO rooms (id, home_id, name, created_ms) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            (r.id, r.home_id, r.name, r.created_ms),
        )
        return changed == 1

    async def rooms(self, home_id: str) -> list[Room]:
        rows = await self.fetch("SELECT id, home_id, name, created_ms FROM rooms WHERE home_id = ? "
                                "ORDER BY created_ms, id", (home_id,))
        return [Room(r[0], r[1], r[2], int(r[3])) for r in rows]

    async def rename_room(self, room_id: str, name: str) -> None:
        await self.execute("UPDATE rooms SET name = ? WHERE id = ?", (name, room_id))

    async def delete_room(self, room_id: str) -> None:
        await self.execute("DELETE FROM room_devices WHERE room_id = ?", (room_id,))
        await self.execute("DELETE FROM rooms WHERE id = ?", (room_id,))

    async def place_in_room(self, device_id: str, room_id: str) -> None:
        await self.execute(
            "INSERT INTO room_devices (device_id, room_id) VALUES (?, ?) "
            "ON CONFLICT (device_id) DO UPDATE SET room_id = excluded.room_id", (device_id, room_id),
        )

    async def remove_from_room(self, device_id: str, room_id: str) -> None:
        await self.execute("DELETE FROM room_devices WHERE device_id = ? AND room_id = ?", (device_id, room_id))

    async def room_devices(self, room_id: str) -> list[Device]:
        """The devices placed in a room that still exist, in id order."""
        rows = await self.fetch(
            f"SELECT {_device_cols()} FROM room_devices r JOIN devices d ON d.id = r.device_id "
            "WHERE r.room_id = ? ORDER BY d.id", (room_id,),
        )
        return [device_from_row(r) for r in rows]

    # --- pairing tokens ---------------------------------------------------------------------------
    async def insert_pairing_token(self, t: PairingToken) -> bool:
        changed = await self.execute(
            f"INSERT INTO pairing_tokens ({_PAIRING_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (token) DO NOTHING",
            (t.token, t.access_id, t.region, t.uid, t.secret, t.time_zone, t.created_ms, t.expires_ms),
        )
        return changed == 1

    async def get_pairing_token(self, token: str) -> PairingToken | None:
        rows = await self.fetch(f"SELECT {_PAIRING_COLS} FROM pairing_tokens WHERE token = ?", (token,))
        r = rows[0] if rows else None
        return PairingToken(r[0], r[1], r[2], r[3], r[4], r[5], int(r[6]), int(r[7])) if r else None

    async def add_pairing_device(self, token: str, device_id: str) -> None:
        await self.execute("INSERT INTO pairing_devices (token, device_id) VALUES (?, ?)", (token, device_id))

    async def pairing_devices(self, token: str) -> list[Device]:
        rows = await self.fetch(
            f"SELECT {_device_cols()} FROM pairing_devices p JOIN devices d ON d.id = p.device_id "
            "WHERE p.token = ? ORDER BY d.created_ms, d.id", (token,),
        )
        return [device_from_row(r) for r in rows]
