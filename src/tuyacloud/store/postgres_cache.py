"""Projects and access tokens kept in memory on PostgreSQL, forgotten when any process changes them.

Why: every signed request reads its project and its access token, and on PostgreSQL each read is a round trip
(about a third of a signed status read's server CPU, and two of a command's three reads). Both change rarely (a
project's settings, a token refreshed, revoked or swept), so they are kept here.

How it stays correct across processes: triggers on ``projects`` and ``tokens`` (migration 0018) send
``NOTIFY tuyacloud_cache, '<table>'`` from every statement that updates, deletes or truncates rows of them,
whoever runs it (this server, another worker or host, the CLI, psql). Each process listens and forgets the whole
table when told. Only found rows are kept, so a row inserted anywhere is read from the database the first time
(a token issued by another process works at once). This process's own commits forget what they changed before
their callers are answered (read-your-writes without waiting for the notification).

What is not promised: a change committed by *another* process is seen here once its notification arrives,
normally within a millisecond of the commit; a request that reaches this process in that moment may still be
served with the old project settings or a just-revoked token. The cache is used only while the LISTEN connection
is up: when it is lost everything is forgotten and reads go to the database until it is back (a notification sent
meanwhile would be lost). A read that was in flight when its table was forgotten does not fill the cache (a
generation number per table tells), so a value read before a change is never kept after its notification.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

CHANNEL = "tuyacloud_cache"
TABLES = ("projects", "tokens")
LIMIT = 50_000  # entries per table; past it the table's entries are dropped (a re-read is the only cost)

# The trigger of migration 0018; the store checks it exists before it trusts the cache.
TRIGGER_CHECK = ("SELECT count(DISTINCT c.relname) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                 "WHERE t.tgname LIKE 'tuyacloud_cache_%' AND c.relname = ANY($1::text[])")

_WRITE_TARGET = re.compile(r"\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|TRUNCATE(?:\s+TABLE)?)\s+(\w+)", re.IGNORECASE)


@lru_cache(maxsize=4096)
def written_table(sql: str) -> str | None:
    """The cached table a statement changes (None for any other statement). A plain INSERT changes no kept row
    (absent rows are not kept); an upsert may. A statement that changes a cached table in some other way (a CTE,
    a cascade) is still caught by the trigger's notification."""
    target = _WRITE_TARGET.match(sql)
    if target is None or (sql.lstrip()[:6].upper() == "INSERT" and "DO UPDATE" not in sql.upper()):
        return None
    table = target.group(1).lower()
    return table if table in TABLES else None


class SharedCache:
    """The kept rows, per table, with a generation number each (bumped whenever the table is forgotten).

    ``stats`` (health shows it with the LISTEN connection's task, ``pg-listen``) counts hits, misses and the
    tables forgotten, and says whether the cache is in use (``cache_live``)."""

    def __init__(self, stats: dict[str, Any] | None = None) -> None:
        self._rows: dict[str, dict[str, Any]] = {t: {} for t in TABLES}
        self._generation: dict[str, int] = dict.fromkeys(TABLES, 0)
        self.stats = stats if stats is not None else {}
        self.stats.update(cache_live=False, cache_hits=0, cache_misses=0, cache_forgotten=0)

    @property
    def live(self) -> bool:
        """Whether the cache is used: while notifications arrive and the triggers exist."""
        return bool(self.stats["cache_live"])

    @live.setter
    def live(self, value: bool) -> None:
        self.stats["cache_live"] = value

    def get(self, table: str, key: str) -> Any:
        """The kept value, or None when there is none (or the cache is not live)."""
        if not self.stats["cache_live"]:
            return None
        value = self._rows[table].get(key)
        self.stats["cache_misses" if value is None else "cache_hits"] += 1
        return value

    def generation(self, table: str) -> int:
        return self._generation[table]

    def put(self, table: str, key: str, value: Any, generation: int) -> None:
        """Keep ``value``, read from the database when the table's generation was ``generation``: not if the table
        was forgotten since (the value may predate the change that made it forget)."""
        if value is None or not self.stats["cache_live"] or self._generation[table] != generation:
            return
        rows = self._rows[table]
        if len(rows) >= LIMIT:
            rows.clear()
        rows[key] = value

    def forget(self, table: str) -> None:
        if table in self._generation:
            self._generation[table] += 1
            self._rows[table].clear()
            self.stats["cache_forgotten"] += 1

    def forget_all(self) -> None:
        for table in TABLES:
            self.forget(table)
