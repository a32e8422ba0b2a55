"""A pooled connection whose server died mid-use is an outage, not a bug: ``StoreUnavailable``, never a traceback.

When PostgreSQL closes a connection (a restart, an administrator's ``pg_terminate_backend``), asyncpg's pool takes
the connection back on its own and detaches the handle the store still holds (a writer lane's, a reader's, the
NOTIFY sender's). Every later call on that handle raises ``InterfaceError: cannot call Connection.execute():
connection has been released back to the pool``. The store must read that as "the database is unavailable" like
any lost connection; before, it went on as an unexpected error: the simulator logged a traceback for it when
PostgreSQL restarted under a running server (tests/faults/test_pg_outage.py failed on it now and then).
"""

from __future__ import annotations

import asyncio
import os

import asyncpg
import pytest

from support.server import database_url_for_test
from tuyacloud.errors import StoreUnavailable
from tuyacloud.store.postgres import unavailable

pytestmark = pytest.mark.skipif(not os.environ.get("TUYACLOUD_TEST_DATABASE_URL"), reason="PostgreSQL only")


def test_a_handle_the_pool_took_back_after_its_server_died_reads_as_unavailable() -> None:
    async def main(url: str) -> None:
        pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
        try:
            held = await pool.acquire()
            # The connection dies under the handle (as when its server goes away): the pool takes it back on its
            # own and detaches the handle, which is what the store's writer lanes and readers are left holding.
            held.terminate()
            with pytest.raises(asyncpg.InterfaceError) as raised:
                await held.execute("SELECT 1")
            released = raised.value
            assert "released back to the pool" in str(released)
            error = unavailable(released)
            assert isinstance(error, StoreUnavailable), released
        finally:
            pool.terminate()

    url = database_url_for_test()
    assert url is not None
    asyncio.run(main(url))
