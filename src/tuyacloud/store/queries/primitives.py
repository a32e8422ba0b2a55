"""What every query mixin stands on: the two primitives an engine provides, and small SQL helpers they share.

Declared once here so a mixin says only its queries; ``store/base.py`` composes the mixins and the engines
(``store/sqlite.py``, ``store/postgres.py``) implement ``fetch`` and ``execute`` for the store and for a unit of
work's ``Tx``.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any

import orjson

from tuyacloud.store.rows import Row


class Primitives(abc.ABC):
    """``fetch`` and ``execute`` with portable ``?`` placeholders; everything else is written on top of them."""

    @abc.abstractmethod
    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run a query; returns its rows."""

    @abc.abstractmethod
    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; returns the number of rows it changed."""

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        rows = await self.fetch(sql, params)
        return rows[0] if rows else None


def dumps(value: Any) -> str:
    """JSON text for a column (the store keeps JSON as text on both engines)."""
    return orjson.dumps(value).decode()


def owner_clause(access_id: str | Sequence[str], column: str = "access_id") -> tuple[str, list[str]]:
    """``access_id = ?`` for one owner; ``IN (...)`` for a project together with the apps linked to it."""
    if isinstance(access_id, str):
        return f"{column} = ?", [access_id]
    return f"{column} IN ({', '.join('?' for _ in access_id)})", list(access_id)
