"""The one store interface: every query the cloud makes, written once in portable SQL.

``Queries`` holds the SQL; an engine only supplies ``fetch``/``execute`` (with ``?`` placeholders) and a
``transaction`` that runs a unit of work atomically. Reads made on the store see committed data; reads made on
the ``Tx`` handed to a unit of work also see that unit's own writes. Every query is scoped by region and project
where the data belongs to one.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NoReturn, TypeVar

import orjson

from tuyacloud.errors import StoreUnavailable
from tuyacloud.models import Device, DeviceLog, Message, Project, Token
from tuyacloud.store.asset_queries import AssetQueries
from tuyacloud.store.console_queries import ConsoleQueries
from tuyacloud.store.gateway_queries import GatewayQueries
from tuyacloud.store.infrared_queries import InfraredQueries
from tuyacloud.store.message_queries import MessageQueries
from tuyacloud.store.openhub_queries import OpenHubQueries
from tuyacloud.store.quota_queries import QuotaQueries
from tuyacloud.store.registration_queries import RegistrationQueries
from tuyacloud.store.rows import DEVICE_COLS, Row, device_from_row
from tuyacloud.store.scene_queries import SceneQueries
from tuyacloud.store.sharing_queries import SharingQueries
from tuyacloud.store.simulator_queries import SimulatorQueries
from tuyacloud.store.smarthome_queries import SmartHomeQueries, owner_clause
from tuyacloud.store.statistics_queries import StatisticsQueries
from tuyacloud.store.timer_queries import TimerQueries
from tuyacloud.supervision import Episode

log = logging.getLogger("tuyacloud.store")

T = TypeVar("T")

_PROJECT_COLS = (
    "access_id, access_secret, region, name, description, method, industry, uid, created_ms, updated_ms, "
    "allowlist_enabled, allowlist, services, message_encryption, legacy_signing"
)
_TOKEN_COLS = (
    "access_token, refresh_token, access_id, region, uid, kind, created_ms, expires_ms, revoked_ms, refresh_used"
)
def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _project(row: Row) -> Project:
    return Project(
        access_id=row[0], access_secret=row[1], region=row[2], name=row[3], description=row[4], method=row[5],
        industry=row[6], uid=row[7], created_ms=row[8], updated_ms=row[9], allowlist_enabled=bool(row[10]),
        allowlist=orjson.loads(row[11]), services=orjson.loads(row[12]), message_encryption=row[13],
        legacy_signing=bool(row[14]),
    )


def _token(row: Row) -> Token:
    return Token(
        access_token=row[0], refresh_token=row[1], access_id=row[2], region=row[3], uid=row[4], kind=row[5],
        created_ms=row[6], expires_ms=row[7], revoked_ms=row[8], refresh_used=bool(row[9]),
    )


def _device_params(d: Device) -> tuple[Any, ...]:
    return (
        d.id, d.access_id, d.region, d.product_id, d.category, d.name, d.local_key, d.uuid, d.ip, d.time_zone,
        d.lat, d.lon, int(d.online), d.owner_uid, d.asset_id, d.created_ms, d.active_ms, d.updated_ms,
        _dumps(d.status), _dumps(d.status_t), d.custom_name, d.sn, d.mac, int(d.virtual), d.gateway_id, d.node_id,
        int(d.frozen), int(d.gateway_held),
    )


class Queries(MessageQueries, AssetQueries, RegistrationQueries, SmartHomeQueries, SceneQueries, ConsoleQueries,
              TimerQueries, StatisticsQueries, SimulatorQueries, OpenHubQueries, SharingQueries, QuotaQueries,
              InfraredQueries, GatewayQueries, abc.ABC):
    """All SQL of the cloud, on top of two primitives an engine provides."""

    touched_projects: set[str]
    appended_messages: int

    @abc.abstractmethod
    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    @abc.abstractmethod
    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; returns the number of rows it changed."""

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        rows = await self.fetch(sql, params)
        return rows[0] if rows else None

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
                p.created_ms, p.updated_ms, int(p.allowlist_enabled), _dumps(p.allowlist), _dumps(p.services),
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
                _dumps(p.allowlist), _dumps(p.services), p.message_encryption, int(p.legacy_signing), p.access_id,
            ),
        )

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

    # --- devices ----------------------------------------------------------------------------------
    async def get_device(self, device_id: str, region: str) -> Device | None:
        row = await self.fetchone(
            f"SELECT {DEVICE_COLS} FROM devices WHERE id = ? AND region = ?", (device_id, region)
        )
        return device_from_row(row) if row else None

    async def get_device_for_update(self, device_id: str, region: str) -> Device | None:
        """Inside a unit of work: the device, locked until commit where the engine has row locks (SQLite's single
        writer already serialises units)."""
        return await self.get_device(device_id, region)

    async def get_devices(self, access_id: str | Sequence[str], region: str, ids: Sequence[str]) -> list[Device]:
        """``access_id`` is one owner or several (a project and the apps linked to it)."""
        if not ids:
            return []
        marks = ", ".join("?" for _ in ids)
        owner, owners = owner_clause(access_id)
        rows = await self.fetch(
            f"SELECT {DEVICE_COLS} FROM devices WHERE {owner} AND region = ? AND id IN ({marks}) ORDER BY id",
            (*owners, region, *ids),
        )
        return [device_from_row(r) for r in rows]

    async def page_devices(
        self,
        access_id: str | Sequence[str],
        region: str,
        after_id: str = "",
        limit: int = 20,
        *,
        category: str | None = None,
        categories: Sequence[str] = (),
        product_ids: Sequence[str] = (),
        name: str | None = None,
        owner_uid: str | None = None,
        asset_id: str | None = None,
        asset_ids: Sequence[str] | None = None,
        or_owner_uid: str | None = None,
        offset: int = 0,
        online: bool | None = None,
    ) -> list[Device]:
        """Devices of a project in id order after ``after_id``: the basis of every list endpoint's cursor.

        ``or_owner_uid`` widens ``asset_ids`` to also take the devices that user owns (an app user's view)."""
        owner, owners = owner_clause(access_id)
        where = [owner, "region = ?", "id > ?"]
        params: list[Any] = [*owners, region, after_id]
        if category:
            where.append("category = ?")
            params.append(category)
        if categories:
            where.append(f"category IN ({', '.join('?' for _ in categories)})")
            params.extend(categories)
        if product_ids:
            where.append(f"product_id IN ({', '.join('?' for _ in product_ids)})")
            params.extend(product_ids)
        if name:
            where.append("name LIKE ?")
            params.append(f"%{name}%")
        if owner_uid is not None:
            where.append("owner_uid = ?")
            params.append(owner_uid)
        if online is not None:  # the console's online/offline filter
            where.append("online = ?")
            params.append(int(online))
        if asset_id is not None:
            where.append("asset_id = ?")
            params.append(asset_id)
        if asset_ids is not None:  # a user token's visible nodes (never empty here: the domain answers none)
            visible = f"asset_id IN ({', '.join('?' for _ in asset_ids)})"
            params.extend(asset_ids)
            if or_owner_uid is not None:
                visible = f"({visible} OR owner_uid = ?)"
                params.append(or_owner_uid)
            where.append(visible)
        params += [limit, offset]
        rows = await self.fetch(
            f"SELECT {DEVICE_COLS} FROM devices WHERE {' AND '.join(where)} ORDER BY id LIMIT ? OFFSET ?", params
        )
        return [device_from_row(r) for r in rows]

    async def count_devices(self, access_id: str | Sequence[str], region: str, owner_uid: str | None = None) -> int:
        owner, owners = owner_clause(access_id)
        if owner_uid is None:
            row = await self.fetchone(
                f"SELECT COUNT(*) FROM devices WHERE {owner} AND region = ?", (*owners, region)
            )
        else:
            row = await self.fetchone(
                f"SELECT COUNT(*) FROM devices WHERE {owner} AND region = ? AND owner_uid = ?",
                (*owners, region, owner_uid),
            )
        return int(row[0]) if row else 0

    async def all_device_ids(self, created_after_ms: int = -1) -> list[tuple[str, str, int]]:
        """(id, region, created_ms) of every device created after a mark: lets the simulator pick up new ones."""
        rows = await self.fetch(
            "SELECT id, region, created_ms FROM devices WHERE created_ms > ? ORDER BY created_ms", (created_after_ms,)
        )
        return [(r[0], r[1], int(r[2])) for r in rows]

    async def insert_device(self, d: Device) -> None:
        await self.execute(
            f"INSERT INTO devices ({DEVICE_COLS}) VALUES ({', '.join('?' for _ in range(28))})", _device_params(d)
        )

    async def update_device_status(
        self, device_id: str, status: dict[str, Any], status_t: dict[str, int], updated_ms: int
    ) -> None:
        await self.execute(
            "UPDATE devices SET status = ?, status_t = ?, updated_ms = ? WHERE id = ?",
            (_dumps(status), _dumps(status_t), updated_ms, device_id),
        )

    async def update_device_fields(self, device_id: str, **fields: Any) -> None:
        allowed = {
            "name", "online", "updated_ms", "active_ms", "custom_name", "lat", "lon", "ip", "asset_id", "owner_uid",
            "gateway_id", "node_id", "frozen", "gateway_held",
        }
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")
        assignments = ", ".join(f"{k} = ?" for k in fields)
        values = [int(v) if isinstance(v, bool) else v for v in fields.values()]
        await self.execute(f"UPDATE devices SET {assignments} WHERE id = ?", (*values, device_id))

    async def delete_device(self, device_id: str) -> None:
        await self.execute("DELETE FROM devices WHERE id = ?", (device_id,))
        await self.execute("DELETE FROM timers WHERE device_id = ?", (device_id,))  # a device's timers go with it

    # --- device logs ------------------------------------------------------------------------------
    async def insert_device_logs(self, logs: Sequence[DeviceLog]) -> None:
        """One statement for the rows of one change (a command logs its command and the report it caused)."""
        for first in range(0, len(logs), 100):
            chunk = logs[first:first + 100]
            await self.execute(
                "INSERT INTO device_logs (device_id, event_time, event_id, code, value, event_from) VALUES "
                + ", ".join(["(?, ?, ?, ?, ?, ?)"] * len(chunk)),
                [v for log in chunk
                 for v in (log.device_id, log.event_time, log.event_id, log.code, log.value, log.event_from)],
            )

    async def page_device_logs(
        self,
        device_id: str,
        event_ids: Sequence[int],
        start_ms: int,
        end_ms: int,
        codes: Sequence[str] = (),
        before_row: int | None = None,
        limit: int = 20,
    ) -> list[DeviceLog]:
        """Newest first, below the ``before_row`` cursor."""
        where = ["device_id = ?", "event_time >= ?", "event_time <= ?"]
        params: list[Any] = [device_id, start_ms, end_ms]
        if event_ids:
            where.append(f"event_id IN ({', '.join('?' for _ in event_ids)})")
            params.extend(event_ids)
        if codes:
            where.append(f"code IN ({', '.join('?' for _ in codes)})")
            params.extend(codes)
        if before_row is not None:
            where.append("row_id < ?")
            params.append(before_row)
        params.append(limit)
        rows = await self.fetch(
            "SELECT device_id, event_time, event_id, code, value, event_from, row_id FROM device_logs "
            f"WHERE {' AND '.join(where)} ORDER BY row_id DESC LIMIT ?",
            params,
        )
        return [DeviceLog(r[0], int(r[1]), int(r[2]), r[3], r[4], r[5], int(r[6])) for r in rows]

    async def delete_device_logs(self, device_id: str) -> None:
        await self.execute("DELETE FROM device_logs WHERE device_id = ?", (device_id,))

    # --- message outbox ---------------------------------------------------------------------------
    async def append_message(self, m: Message) -> None:
        await self.execute(
            "INSERT INTO messages (access_id, region, protocol, device_id, data, created_ms) VALUES (?, ?, ?, ?, ?, ?)",
            (m.access_id, m.region, m.protocol, m.device_id, _dumps(m.data), m.created_ms),
        )
        self.touched_projects.add(m.access_id)
        self.appended_messages += 1

    async def messages_after(self, access_id: str, after_seq: int, limit: int = 100) -> list[Message]:
        rows = await self.fetch(
            "SELECT access_id, region, protocol, device_id, data, created_ms, seq FROM messages "
            "WHERE access_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (access_id, after_seq, limit),
        )
        return [Message(r[0], r[1], int(r[2]), r[3], orjson.loads(r[4]), int(r[5]), int(r[6])) for r in rows]

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


class Tx(Queries, abc.ABC):
    """The handle a unit of work writes through; its reads see its own writes."""

    def __init__(self) -> None:
        self.touched_projects: set[str] = set()
        self.appended_messages = 0  # messages this transaction appended (the engine reads it at commit)


CommitObserver = Callable[[int, float, int], None]


class Store(Queries, abc.ABC):
    """An engine: committed reads, plus atomic units of work.

    ``message_listeners`` are called with a project's Access ID after a commit that appended messages for it
    (on PostgreSQL, also for commits made by other server processes): the message service's wake-up.

    ``commit_observer``, when set, is called after every durable commit with (units of work in it, seconds from
    the transaction's start to durable, messages it appended): what /metrics reports as commit batch size and time
    and as messages emitted. It is a plain callback so the store knows nothing of how metrics are kept.

    An engine raises :class:`StoreUnavailable` in place of its driver's error when the database cannot be reached or
    cannot write (``unavailable``); ``outage`` logs such an episode once, with a count, and its end.
    ``refusing_writes`` names why every write is refused for good (the SQLite file was removed), else None.
    """

    def __init__(self) -> None:
        self.touched_projects: set[str] = set()
        self.appended_messages = 0
        self.message_listeners: list[Callable[[str], None]] = []
        self.commit_observer: CommitObserver | None = None
        self.outage = Episode(log, "the store (requests answer 1111 meanwhile)")
        self.refusing_writes: str | None = None

    def queued_units(self) -> int:
        """Units of work accepted but not yet committed (an engine with a commit queue overrides this)."""
        return 0

    def _unavailable(self, error: StoreUnavailable, cause: BaseException) -> NoReturn:
        self.outage.failed(error)
        raise error from cause

    def _announce(self, access_ids: set[str]) -> None:
        for access_id in access_ids:
            for listener in self.message_listeners:
                listener(access_id)

    @abc.abstractmethod
    async def start(self) -> None: ...

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def transaction(self, work: Callable[[Tx], Awaitable[T]]) -> T:
        """Run ``work`` atomically and durably: it returns only after the commit is on disk.

        Either all of its writes commit or none do; an exception it raises is re-raised here.
        """
