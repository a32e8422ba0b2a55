"""Infrared remotes and camera live-stream URLs.

Mixed into ``Queries``; portable ``?`` SQL. A remote belongs to one IR blaster (a device) in one region and project;
its ``state`` is a JSON document. A camera stream row is the one-time URL ``stream/actions/allocate`` handed out.
"""

from __future__ import annotations

from typing import Any

import orjson

from tuyacloud.models import CameraStream, InfraredRemote
from tuyacloud.store.queries.primitives import Primitives
from tuyacloud.store.rows import Row

_REMOTE_COLS = ("remote_id, infrared_id, access_id, region, category_id, remote_name, brand_id, brand_name, "
                "remote_index, state, created_ms, updated_ms")
_STREAM_COLS = "token, device_id, access_id, region, type, created_ms, opened_ms, expires_ms"


def _remote(r: Row) -> InfraredRemote:
    return InfraredRemote(r[0], r[1], r[2], r[3], int(r[4]), r[5], int(r[6]), r[7], int(r[8]), orjson.loads(r[9]),
                          int(r[10]), int(r[11]))


def _stream(r: Row) -> CameraStream:
    return CameraStream(r[0], r[1], r[2], r[3], r[4], int(r[5]), int(r[6]), int(r[7]))


class InfraredQueries(Primitives):
    # --- remotes ----------------------------------------------------------------------------------
    async def insert_remote(self, r: InfraredRemote) -> None:
        await self.execute(
            f"INSERT INTO infrared_remotes ({_REMOTE_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (r.id, r.infrared_id, r.access_id, r.region, r.category_id, r.remote_name, r.brand_id, r.brand_name,
             r.remote_index, orjson.dumps(r.state).decode(), r.created_ms, r.updated_ms),
        )

    async def get_remote(self, remote_id: str, region: str) -> InfraredRemote | None:
        rows = await self.fetch(f"SELECT {_REMOTE_COLS} FROM infrared_remotes WHERE remote_id = ? AND region = ?",
                                (remote_id, region))
        return _remote(rows[0]) if rows else None

    async def remotes_of(self, infrared_id: str, region: str) -> list[InfraredRemote]:
        """A blaster's remotes in the order they were added."""
        rows = await self.fetch(
            f"SELECT {_REMOTE_COLS} FROM infrared_remotes WHERE infrared_id = ? AND region = ? "
            "ORDER BY created_ms, remote_id", (infrared_id, region))
        return [_remote(r) for r in rows]

    async def update_remote_state(self, remote_id: str, region: str, state: dict[str, Any], updated_ms: int) -> None:
        await self.execute("UPDATE infrared_remotes SET state = ?, updated_ms = ? WHERE remote_id = ? AND region = ?",
                           (orjson.dumps(state).decode(), updated_ms, remote_id, region))

    async def rename_remote(self, remote_id: str, region: str, name: str, updated_ms: int) -> None:
        await self.execute("UPDATE infrared_remotes SET remote_name = ?, updated_ms = ? "
                           "WHERE remote_id = ? AND region = ?", (name, updated_ms, remote_id, region))

    async def delete_remote(self, remote_id: str, region: str) -> int:
        return await self.execute("DELETE FROM infrared_remotes WHERE remote_id = ? AND region = ?",
                                  (remote_id, region))

    # --- camera streams ---------------------------------------------------------------------------
    async def insert_stream(self, s: CameraStream) -> None:
        await self.execute(f"INSERT INTO camera_streams ({_STREAM_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           (s.token, s.device_id, s.access_id, s.region, s.type, s.created_ms, s.opened_ms,
                            s.expires_ms))

    async def get_stream(self, token: str) -> CameraStream | None:
        rows = await self.fetch(f"SELECT {_STREAM_COLS} FROM camera_streams WHERE token = ?", (token,))
        return _stream(rows[0]) if rows else None

    async def open_stream(self, token: str, opened_ms: int, expires_ms: int) -> bool:
        """Mark a stream opened (its first playlist fetch) and set how long it then plays; False when it was
        opened already."""
        changed = await self.execute("UPDATE camera_streams SET opened_ms = ?, expires_ms = ? "
                                     "WHERE token = ? AND opened_ms = 0", (opened_ms, expires_ms, token))
        return changed == 1

    async def delete_streams_expired_before(self, before_ms: int) -> int:
        return await self.execute("DELETE FROM camera_streams WHERE expires_ms < ?", (before_ms,))
