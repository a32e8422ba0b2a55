"""Device registration queries: pairing tokens and the devices that paired with them.

Mixed into ``Queries``; portable ``?`` SQL. A token looked up by its value is scoped by region (as devices and
assets are), so the domain can answer "not this project's" without a second query; everything else is scoped by
project and region.
"""

from __future__ import annotations

from tuyacloud.models import Device, RegistrationToken
from tuyacloud.store.queries.primitives import Primitives
from tuyacloud.store.rows import DEVICE_COLS, Row, device_from_row

_TOKEN_COLS = "token, access_id, region, asset_id, secret, time_zone, created_ms, expires_ms"


def _token(r: Row) -> RegistrationToken:
    return RegistrationToken(r[0], r[1], r[2], r[3], r[4], r[5], int(r[6]), int(r[7]))


class RegistrationQueries(Primitives):
    async def insert_registration_token(self, t: RegistrationToken) -> bool:
        """False when the token value is taken (the caller draws another)."""
        changed = await self.execute(
            f"INSERT INTO registration_tokens ({_TOKEN_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (token) DO NOTHING",
            (t.token, t.access_id, t.region, t.asset_id, t.secret, t.time_zone, t.created_ms, t.expires_ms),
        )
        return changed == 1

    async def get_registration_token(self, token: str, region: str) -> RegistrationToken | None:
        rows = await self.fetch(
            f"SELECT {_TOKEN_COLS} FROM registration_tokens WHERE token = ? AND region = ?", (token, region)
        )
        return _token(rows[0]) if rows else None

    async def add_registration_device(self, access_id: str, region: str, token: str, device_id: str) -> None:
        await self.execute(
            "INSERT INTO registration_devices (token, device_id) SELECT token, ? FROM registration_tokens "
            "WHERE token = ? AND access_id = ? AND region = ?",
            (device_id, token, access_id, region),
        )

    async def registration_devices(self, access_id: str, region: str, token: str) -> list[Device]:
        """The devices that paired with the token and still exist, in pairing (id) order."""
        cols = ", ".join(f"d.{c.strip()}" for c in DEVICE_COLS.split(","))
        rows = await self.fetch(
            f"SELECT {cols} FROM registration_devices r JOIN registration_tokens t ON t.token = r.token "
            "JOIN devices d ON d.id = r.device_id AND d.access_id = t.access_id AND d.region = t.region "
            "WHERE t.token = ? AND t.access_id = ? AND t.region = ? ORDER BY d.created_ms, d.id",
            (token, access_id, region),
        )
        return [device_from_row(r) for r in rows]
