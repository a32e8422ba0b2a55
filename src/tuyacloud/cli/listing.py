"""Lists on the command line never stop silently: every list command shows one page (``--limit``, default
100, from ``--offset``) or everything (``--all``), and says how many there are in all ("showing 100 of 21,000
devices"), with the option that gives the next page.

Under ``--json`` a list is one object, the shape of the OpenAPI's own lists plus where the page starts::

    {"list": [...], "total": 21000, "offset": 0, "limit": 100, "has_more": true}

(``limit`` is null under ``--all``.)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import typer

from tuyacloud.cli.common import console, emit_json

T = TypeVar("T")
DEFAULT_LIMIT = 100

Limit = typer.Option(DEFAULT_LIMIT, "--limit", min=1, help="Show at most this many")
Offset = typer.Option(0, "--offset", min=0, help="Skip this many first")
All = typer.Option(False, "--all", help="Show every one (ignores --limit)")


@dataclass(frozen=True)
class Window:
    """Which rows of a list to show: ``limit`` None means every row from ``offset`` on."""

    offset: int
    limit: int | None

    @classmethod
    def of(cls, limit: int, offset: int, every: bool) -> Window:
        return cls(offset, None if every else limit)

    def cut(self, rows: Sequence[T]) -> list[T]:
        """This window of a list held in memory (projects, accounts, apps: never many)."""
        end = None if self.limit is None else self.offset + self.limit
        return list(rows[self.offset:end])

    async def walk(self, fetch: Callable[[str, int, int], Awaitable[tuple[list[T], bool]]], key: Callable[[T], str],
                   chunk: int = 1000) -> list[T]:
        """This window of a long list read in chunks: ``fetch(after_key, size, offset)`` returns rows after a
        cursor (the offset only applies to the first chunk) and whether more follow."""
        found: list[T] = []
        after, skip = "", self.offset
        while True:
            want = chunk if self.limit is None else min(chunk, self.limit - len(found))
            if want <= 0:
                return found
            rows, more = await fetch(after, want, skip)
            found += rows
            if not more or not rows:
                return found
            after, skip = key(rows[-1]), 0


@dataclass(frozen=True)
class Page(Generic[T]):
    rows: list[T]
    total: int
    window: Window

    @property
    def has_more(self) -> bool:
        return self.window.offset + len(self.rows) < self.total

    def as_json(self) -> dict[str, Any]:
        return {"list": self.rows, "total": self.total, "offset": self.window.offset, "limit": self.window.limit,
                "has_more": self.has_more}

    def summary(self, noun: str) -> str:
        """"showing 100 of 21,000 devices (1-100); next page: --offset 100, every one: --all"."""
        shown, start = len(self.rows), self.window.offset
        text = f"showing {shown:,} of {self.total:,} {noun}"
        if shown and (start or self.has_more):
            text += f" ({start + 1:,}-{start + shown:,})"
        elif not shown and start and start >= self.total:
            text += f" (--offset {start} is past the end)"
        if self.has_more:
            text += f"; next page: --offset {start + shown}, every one: --all"
        return text


def emit_page(page: Page[Any], noun: str, as_json: bool, show: Callable[[list[Any]], None]) -> None:
    """Print a page: the JSON object, or ``show(rows)`` followed by the summary line."""
    if as_json:
        emit_json(page.as_json())
        return
    if page.rows:
        show(page.rows)
    console().print(page.summary(noun), highlight=False, markup=False, soft_wrap=True)
