"""The one store interface: what the domain may ask of the store, and the unit of work it writes through.

The SQL is not here: it is in ``store/queries/``, one mixin per subject (devices, access, projects, industry,
smarthome, pairing, rules, messaging, ...), each written in portable SQL on the two primitives of
:class:`~tuyacloud.store.queries.primitives.Primitives` (``fetch``/``execute`` with ``?`` placeholders).
``Queries`` composes them; an engine (``store/sqlite.py``, ``store/postgres.py``) subclasses :class:`Store` and
:class:`Tx`, supplies the primitives and a ``transaction`` that runs a unit of work atomically. Reads made on the
store see committed data; reads made on the ``Tx`` handed to a unit of work also see that unit's own writes.
Every query is scoped by region and project where the data belongs to one.
"""

from __future__ import annotations

import abc
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import NoReturn, TypeVar

from tuyacloud.errors import StoreUnavailable
from tuyacloud.store.queries.access import TokenQueries
from tuyacloud.store.queries.console import ConsoleQueries
from tuyacloud.store.queries.devices import DeviceQueries
from tuyacloud.store.queries.gateways import GatewayQueries
from tuyacloud.store.queries.industry import AssetQueries
from tuyacloud.store.queries.infrared import InfraredQueries
from tuyacloud.store.queries.messaging import MessageQueries
from tuyacloud.store.queries.meta import MetaQueries
from tuyacloud.store.queries.openhub import OpenHubQueries
from tuyacloud.store.queries.pairing import RegistrationQueries
from tuyacloud.store.queries.primitives import Primitives
from tuyacloud.store.queries.projects import ProjectQueries
from tuyacloud.store.queries.quotas import QuotaQueries
from tuyacloud.store.queries.rules import SceneQueries
from tuyacloud.store.queries.sharing import SharingQueries
from tuyacloud.store.queries.simulator import SimulatorQueries
from tuyacloud.store.queries.smarthome import SmartHomeQueries
from tuyacloud.store.queries.statistics import StatisticsQueries
from tuyacloud.store.queries.timers import TimerQueries
from tuyacloud.store.rows import Row
from tuyacloud.supervision import Episode

__all__ = ["CommitObserver", "DeviceKey", "Primitives", "Queries", "Row", "Store", "Tx"]

log = logging.getLogger("tuyacloud.store")

T = TypeVar("T")


class Queries(MetaQueries, ProjectQueries, TokenQueries, DeviceQueries, GatewayQueries, InfraredQueries,
              MessageQueries, AssetQueries, RegistrationQueries, SmartHomeQueries, SharingQueries, SceneQueries,
              TimerQueries, ConsoleQueries, StatisticsQueries, QuotaQueries, SimulatorQueries, OpenHubQueries,
              abc.ABC):
    """Every query of the cloud: the subjects' mixins over the two primitives an engine provides."""

    touched_projects: set[str]
    appended_messages: int


class Tx(Queries, abc.ABC):
    """The handle a unit of work writes through; its reads see its own writes."""

    def __init__(self) -> None:
        self.touched_projects: set[str] = set()
        self.appended_messages = 0  # messages this transaction appended (the engine reads it at commit)

    @abc.abstractmethod
    async def lock_device_pool(self, owners: Sequence[str]) -> None:
        """Hold, until this unit's transaction commits, the right to add devices owned by ``owners``: a device
        cap's count read after this and the inserts that follow cannot interleave with another creation's (two
        creations that each saw room under the cap would otherwise both insert)."""


CommitObserver = Callable[[int, float, int], None]
DeviceKey = tuple[str, str]  # (device id, region): a device a unit of work will read for update


class Store(Queries, abc.ABC):
    """An engine: committed reads, plus atomic units of work.

    ``message_listeners`` are called with a project's Access ID after a commit that appended messages for it
    (on PostgreSQL, also for commits made by other server processes): the message service's wake-up.

    ``commit_observer``, when set, is called after every durable commit with (units of work in it, seconds from
    the transaction's start to durable, messages it appended): what /metrics reports as commit batch size and time
    and as messages emitted. It is a plain callback so the store knows nothing of how metrics are kept.

    An engine raises :class:`StoreUnavailable` in place of its driver's error when the database cannot be reached or
    cannot write (``unavailable``); ``outage`` logs such an episode once, with a count, and its end.
    ``refusing_writes`` names why every write is refused for good (the SQLite file was removed), else None;
    ``write_failure`` why the last write failed as an outage (a full disk), until a write succeeds again: health
    answers 503 while either is set (tuyacloud/health.py).
    """

    def __init__(self) -> None:
        self.touched_projects: set[str] = set()
        self.appended_messages = 0
        self.message_listeners: list[Callable[[str], None]] = []
        self.commit_observer: CommitObserver | None = None
        self.outage = Episode(log, "the store (requests answer 1111 meanwhile)")
        self.refusing_writes: str | None = None
        self.write_failure: str | None = None
        self.write_failures = 0  # failed writes since the last one that worked
        self.write_failing_since = 0.0  # monotonic

    def _write_failed(self, error: StoreUnavailable) -> None:
        """A unit of work failed because the database cannot write now: health says so until one succeeds."""
        if self.write_failure is None:
            self.write_failing_since = time.monotonic()
            self.write_failures = 0
        self.write_failures += 1
        self.write_failure = error.detail or "the database is unavailable"

    def check_writable(self) -> str | None:
        """Why every write is refused for good, looking now (an engine with a file to watch overrides this)."""
        return self.refusing_writes

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
    async def transaction(self, work: Callable[[Tx], Awaitable[T]], *, devices: Sequence[DeviceKey] = ()) -> T:
        """Run ``work`` atomically and durably: it returns only after the commit is on disk.

        Either all of its writes commit or none do; an exception it raises is re-raised here. ``devices`` names
        the devices ``work`` will read for update, when the caller knows them: an engine may lock them for the
        whole batch at once before its units run (PostgreSQL does: one statement instead of a round trip per
        unit). It is a hint, never a promise: ``work`` still reads each device for update, and may read others.
        """
