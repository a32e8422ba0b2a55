"""The outbox's visibility horizon on PostgreSQL: the highest message position below which nothing can still appear.

Why it is needed: a message's position (``messages.seq``) comes from a sequence when its row is inserted, but rows
become visible when their transaction commits, and commits of different server processes do not happen in the
order their positions were drawn. A reader whose cursor passed position 120 because 111-120 had committed would
never see 100-110 of a transaction that committed a moment later. Earlier code kept positions in commit order
with a per-project lock held from the insert to the commit, so one project's commits waited on each other's
fsync. Instead, readers here read only up to a *horizon*: a position ``H`` such that every position ``<= H`` is
settled (its row is visible, or its transaction rolled back and the position is a gap for ever).

How a horizon is proved, with no lock on the write path:

1. Every transaction that draws positions has its transaction id (xid) assigned *before* it draws them (the
   writer assigns it when the batch begins). Positions come from a sequence with no per-session cache, so they
   grow with the time they are drawn.
2. Take a candidate ``L`` known at a moment ``t``: every position ``<= L`` was drawn before ``t`` (``L`` is the
   sequence's ``last_value`` read before ``t``, or the highest position of a batch that committed before ``t``).
   Whoever drew them had an xid before ``t``; so any of them still running is among the transactions running at
   the first round sent after ``t`` (the round lists every running xid: each holds the lock on its own xid from
   its assignment until after its commit is visible). Call that set ``B``.
3. ``L`` is settled as soon as a later round shows none of ``B`` running. Transactions of this process are known
   by xid: one of them that had not started drawing by ``t`` draws later, above ``L``, and is left out of ``B``.

Why not ``pg_current_snapshot()``: its in-progress list stops below its ``xmax``, which is the latest *completed*
xid plus one, so the newest running transactions are not in it at all (and a backend reuses a snapshot while no
transaction completes). Trusting it settled positions of a batch still committing: a stress run of two processes
(many concurrent writers, a consumer polling the horizon) lost a few messages in one run out of two.

So one query per round (the running xids from ``pg_locks`` with the sequence's ``last_value``) moves the
horizon, and a round is run when something may have moved it: one of this process's batches has drawn its
positions, another process's NOTIFY arrived, or, while a candidate is held back by another transaction, every few
milliseconds. A batch's round is sent as soon as its insert has returned, so it runs while the batch's COMMIT waits
for the disk: it is a round sent after every position up to the batch's highest was drawn, so when the COMMIT
returns the batch's candidate is settled at once if that round found none of its possible blockers running (the
common case: nothing else was writing), with no round trip after the commit. The cost:
delivery waits for transactions that were running when the messages committed to end (a batch of another process:
a few milliseconds). A transaction left open for long anywhere on the same PostgreSQL cluster holds delivery back
for as long (``idle_in_transaction_session_timeout`` bounds that).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("tuyacloud.store")

RETRY_S = 0.003  # a candidate held back by another transaction: look again this soon
IDLE_S = 1.0  # with nothing pending: a round now and then (another process's NOTIFY may be lost)
STOP_S = 2.0  # how long a stop waits for a round in flight to finish
SLOW_S = 0.01  # a round not back by then: the next one may be sent beside it (see _run)
MAX_FLYING = 3  # rounds in flight at most

# One round: every transaction id now running (each running transaction holds the lock on its own id from the
# moment the id is assigned until after its commit is visible), then the sequence's last value. Not the xip list of
# pg_current_snapshot(): that lists only running transactions below the snapshot's xmax, which is the latest
# *completed* transaction plus one, so the newest running transactions are missing from it (and a snapshot may be
# reused as long as no transaction completed). Transaction ids come as their low 32 bits, as pg_locks has them.
ROUND_SQL = (
    "SELECT 0, ARRAY(SELECT transactionid::text::bigint FROM pg_locks "
    "WHERE locktype = 'transactionid' AND mode = 'ExclusiveLock'), "
    "(SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM {sequence})"
)
XID_MASK = 0xFFFF_FFFF  # a transaction id (xid8) as pg_locks shows it
ENDED_KEPT = 256  # own transactions remembered as ended (a round in flight may still list them)


@dataclass
class _Candidate:
    seq: int  # every position <= seq was drawn before this candidate was made
    after: int  # rounds numbered above this were sent after it was made
    own: frozenset[int]  # this process's transactions that may hold a position <= seq (low 32 bits)
    blockers: frozenset[int] | None = None  # running at the first round sent after it was made, and may hold one


@dataclass
class Horizon:
    """Tracks the settled position for one store. ``run_round`` executes ``ROUND_SQL`` (on any connection) and
    returns its row; ``announce`` wakes the readers of the given projects when the horizon passes their messages."""

    run_round: Callable[[], Any]
    announce: Callable[[set[str]], None]
    settled: int = 0
    committed: int = 0  # the highest position this process committed: what a read of "everything" waits for
    _candidates: list[_Candidate] = field(default_factory=list)
    _rounds: int = 0
    # xid of this process's open batch -> 0 until it starts drawing, then the number of the draw that started it
    _own: dict[int, int] = field(default_factory=dict)
    _draws: int = 0  # draws started so far
    _drawn: dict[int, int] = field(default_factory=dict)  # xid -> draws started when its last draw had returned
    _drawn_round: dict[int, int] = field(default_factory=dict)  # xid -> rounds begun when its last draw returned
    # The latest round that has returned: its number, the transactions it found running, and this process's own
    # transactions then. A batch that commits after it was sent settles against it at once (see ``batch_ended``).
    _last: tuple[int, frozenset[int], frozenset[int]] | None = None
    _swept: float = float("-inf")  # loop time of the last candidate made from the sequence's last value
    _flying: int = 0  # rounds sent and not back
    # This process's transactions known to have ended (their COMMIT or ROLLBACK returned), low 32 bits, the latest
    # ENDED_KEPT of them: a round sent before one ended may still list it as running, and it is not a blocker.
    _ended: dict[int, None] = field(default_factory=dict)
    # Own transactions whose end did not return (low 32 bits): they may still be running, even commit, on the
    # server, so they count as another process's until a round sent after their end no longer lists them
    # (value: rounds begun at their end).
    _unsure: dict[int, int] = field(default_factory=dict)
    _waiting: dict[str, int] = field(default_factory=dict)  # project -> position to announce it at
    _unaimed: set[str] = field(default_factory=set)  # projects told by NOTIFY, awaiting a round sent after it
    _stopping: bool = False
    _kick: asyncio.Event = field(default_factory=asyncio.Event)
    _moved: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None
    _flights: set[asyncio.Task[None]] = field(default_factory=set)  # rounds in flight

    # --- what the writer and the listener tell it -------------------------------------------------------------
    def batch_began(self, xid: int) -> None:
        """A batch of this process has its transaction id (and has drawn nothing yet). A round that read pg_locks
        while the batch was getting its id may have come back before this call and counted it as another
        process's: it is no candidate's blocker (it draws above every candidate made so far)."""
        self._own[xid] = 0
        low = xid & XID_MASK
        for c in self._candidates:
            if c.blockers is not None and low in c.blockers:
                c.blockers = c.blockers - {low}

    def batch_drawing(self, xid: int) -> None:
        """Called just before the batch's outbox insert is sent."""
        self._draws += 1
        if not self._own.get(xid):
            self._own[xid] = self._draws

    def batch_drawn(self, xid: int) -> None:
        """Called when the batch's outbox insert has returned: a draw started after this one returned comes later
        in the sequence than every position of this batch (the writer's lanes overlap one batch's COMMIT with the
        next batch's draw). A round is started now, so that it runs while the batch's COMMIT waits for the disk:
        it is the first round sent after the batch's positions were drawn, so the batch can settle against it
        the moment its COMMIT returns, with no round trip of its own after the commit."""
        self._drawn[xid] = self._draws
        self._drawn_round[xid] = self._rounds
        self._kick.set()

    def batch_ended(self, xid: int, committed: dict[str, int] | None, finished: bool = True) -> None:
        """The batch committed (``committed``: each project's highest position in it) or rolled back (None).
        ``finished``: its COMMIT or ROLLBACK returned, so it is over on the server too (else, a statement failed
        with the connection, say, and the transaction may still be running there for a while)."""
        self._own.pop(xid, None)
        if finished and xid:
            self._ended[xid & XID_MASK] = None
            if len(self._ended) > ENDED_KEPT:
                del self._ended[next(iter(self._ended))]
        elif xid:
            self._unsure[xid & XID_MASK] = self._rounds
        drawn = self._drawn.pop(xid, self._draws)
        after = self._drawn_round.pop(xid, self._rounds)
        before, top = self.settled, 0
        if committed:
            top = max(committed.values())
            self.committed = max(self.committed, top)
            # Own batches that started drawing after this one's draw returned hold only positions above ``top``.
            self._candidate(top, frozenset(x for x, draw in self._own.items() if draw and draw <= drawn), after)
            for project, seq in committed.items():
                self._waiting[project] = max(seq, self._waiting.get(project, 0))
        if self._last is not None:
            # The latest round again, with what is known now: if it was sent after this batch's draw returned (it
            # ran during the COMMIT) and found none of the transactions that may hold a position <= top running,
            # top is settled now; and candidates that waited only for this batch are settled too.
            self._settle(*self._last, announce=False)
        if self.settled > before or (committed and self.settled >= top):
            self._announce_due()
        if self._candidates and not self._flying:
            # Something left to settle and no round in flight (one in flight is followed by the next round or
            # the retry interval as needed: kicking now would only add a round).
            self._kick.set()

    def foreign_commit(self, project: str) -> None:
        """Another process committed messages for ``project`` (its NOTIFY)."""
        self._unaimed.add(project)
        self._waiting.setdefault(project, 0)
        self._kick.set()

    def poke(self) -> None:
        self._kick.set()

    # --- waiting for it -----------------------------------------------------------------------------------------
    async def reach(self, seq: int, timeout: float) -> int:
        """Wait (at most ``timeout``) until the horizon covers ``seq``; return the horizon then."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.settled < seq:
            left = deadline - loop.time()
            if left <= 0:
                break
            self._moved.clear()
            self._kick.set()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):  # not wait_for: on 3.11 it can swallow a cancel
                    await self._moved.wait()
        return self.settled

    async def prime(self, timeout: float) -> None:
        """At start: settle what is already in the log (a round reads it, the next ones settle it)."""
        await self.one_round()
        if self._candidates:
            await self.reach(max(c.seq for c in self._candidates), timeout)

    # --- the rounds ---------------------------------------------------------------------------------------------
    def _candidate(self, seq: int, own: frozenset[int] | None = None, after: int | None = None) -> None:
        """A candidate for ``seq``, whose first round is the one numbered above ``after`` (default: the next).
        Candidates are independent proofs, so one below a pending candidate is kept too: its first round may be
        earlier (a batch's is the round sent while it commits)."""
        if seq <= self.settled:
            return
        if own is None:  # any own batch that is drawing may hold a position <= seq
            own = frozenset(xid for xid, draw in self._own.items() if draw)
        self._candidates.append(_Candidate(seq, self._rounds if after is None else after,
                                           frozenset(x & XID_MASK for x in own)))

    async def one_round(self) -> None:
        self._rounds += 1
        number = self._rounds
        aimed, self._unaimed = self._unaimed, set()
        self._flying += 1
        try:
            xmax, xip, last = await self.run_round()
        except BaseException:
            self._unaimed |= aimed
            raise
        finally:
            self._flying -= 1
        last = int(last or 0)
        for project in aimed:  # their commits were drawn before this round read ``last``
            self._waiting[project] = max(last, self._waiting.get(project, 0))
        # Own transactions that ended after the round read pg_locks are not running any more: their commits are
        # visible, or their positions are gaps for ever.
        running = frozenset(int(x) for x in xip).difference(self._ended)
        own = frozenset(x & XID_MASK for x in self._own)
        if self._last is None or number > self._last[0]:
            self._last = (number, running, own)
        for low in [x for x, at in self._unsure.items() if number > at and x not in running]:
            del self._unsure[low]  # not listed by a round sent after its end: over for good
        before = self.settled
        self._settle(number, running, own, announce=False)
        now = asyncio.get_running_loop().time()
        if aimed or (not self._candidates and now - self._swept >= IDLE_S / 2):
            # Another process's positions (its NOTIFY), or now and then (a NOTIFY may be lost): settle whatever
            # the sequence has drawn so far. Not after every round: this process's batches make candidates of
            # their own, and one made from the sequence while they commit would only wait for them.
            self._swept = now
            self._candidate(last)  # made now: rounds from the next one on were sent after it
        if self.settled > before:
            self._announce_due()

    def _settle(self, number: int, running: frozenset[int], own: frozenset[int], announce: bool = True) -> None:
        """Apply round ``number`` (the transactions it found running; this process's own ones then) to the
        candidates: a candidate whose first round it is takes its blockers from it, and one with none of its
        blockers running is settled. Applying a round again changes nothing."""
        before = self.settled
        # What is known now counts too: an own transaction ended since the round (over, whatever the round saw),
        # and one whose id was learnt only after the round came back (see ``batch_began``).
        running = running.difference(self._ended)
        own = own.union(x & XID_MASK for x in self._own).difference(self._unsure)
        kept: list[_Candidate] = []
        for c in self._candidates:
            if c.after >= number:
                kept.append(c)
                continue
            if c.blockers is None:  # whoever drew a position <= seq got its id before, so is running now or done
                c.blockers = frozenset(x for x in running if x not in own or x in c.own)
            if c.blockers & running:
                kept.append(c)
            else:
                self.settled = max(self.settled, c.seq)
        self._candidates = [c for c in kept if c.seq > self.settled]
        if announce and self.settled > before:
            self._announce_due()

    def _announce_due(self) -> None:
        """Wake waiting reads, and the consumers of every project whose messages the horizon now covers."""
        self._moved.set()
        due = {p for p, at in self._waiting.items() if at <= self.settled and p not in self._unaimed}
        for project in due:
            del self._waiting[project]
        if due:
            self.announce(due)

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="pg-horizon")

    async def stop(self) -> None:
        """Let the rounds in flight finish before the store closes its pool: cancelling a round while the pool
        opens a connection for it leaves asyncpg's half-made connection failing later, outside any caller."""
        if self._task is not None:
            self._stopping = True
            self._kick.set()
            with contextlib.suppress(TimeoutError, asyncio.CancelledError, Exception):
                await asyncio.wait_for(asyncio.shield(self._task), STOP_S)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._flights:
            await asyncio.wait(set(self._flights), timeout=STOP_S)
            for flight in set(self._flights):
                flight.cancel()
                with contextlib.suppress(BaseException):
                    await flight

    async def _run(self) -> None:
        """Rounds for ever: at once while a candidate waits for a round sent after it, every ``RETRY_S`` while
        one is held back by a running transaction, else when told or every ``IDLE_S``. A failing round (the
        database is down) is retried; readers meanwhile keep the old horizon, which stays true.

        A round that is slow to come back (measured: now and then 60-110 ms on a loaded machine, where it
        takes one) does not hold the next one back: after ``SLOW_S`` the loop goes on and may send the next
        beside it (at most ``MAX_FLYING`` at once), so batches that commit meanwhile settle against a round of
        their own instead of all waiting for the slow one and then for the round after it. Rounds may come
        back in any order: each is a true picture of its moment, applied to the candidates it came after."""
        failures = 0
        while not self._stopping:
            if any(c.after >= self._rounds for c in self._candidates) or self._unaimed:
                wait = 0.0
            elif self._candidates:
                wait = RETRY_S
            else:
                wait = IDLE_S
            if wait:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):  # not wait_for: on 3.11 it can swallow a cancel
                        await self._kick.wait()
            self._kick.clear()
            if self._stopping:
                return
            flight = asyncio.create_task(self.one_round(), name="pg-horizon-round")
            self._flights.add(flight)
            flight.add_done_callback(self._landed)
            await asyncio.wait({flight}, timeout=SLOW_S)
            while not flight.done() and len(self._flights) >= MAX_FLYING and not self._stopping:
                await asyncio.wait(set(self._flights), return_when=asyncio.FIRST_COMPLETED)
            if not flight.done():
                continue  # slow: it is applied when it comes back; the next round may go beside it
            if flight.cancelled():
                continue
            exc = flight.exception()
            if exc is None:
                failures = 0
                continue
            failures += 1
            if failures == 1:
                log.info("the outbox horizon could not be read (%s); retrying", type(exc).__name__)
            await asyncio.sleep(min(1.0, 0.05 * failures))

    def _landed(self, flight: asyncio.Task[None]) -> None:
        self._flights.discard(flight)
        if not flight.cancelled():
            flight.exception()  # retrieved here (a slow round's failure is not waited for); the loop logs its own
