"""The turn writer: group commit for interview turns.

Every incoming message is recorded, run through the engine and stored with its reply in a
transaction before anyone is answered. Done one by one, that costs a transaction and a
handful of statements per turn. The writer instead takes whatever turns are waiting, runs
them all in *one* transaction, and resolves each caller's future with its own outcome.
Under load the batches grow by themselves (turns queue while the previous batch commits);
alone, a turn is a batch of one and waits for nobody. "Reply sent" marks ride along with
the next batch.

On PostgreSQL, under heavy load, a batch also waits a moment for company (`gather_delay`,
at most 30 ms, until `gather_size` turns are waiting), as PostgreSQL's own `commit_delay`
does for commits: only when turns arrive fast enough that several are expected in that
moment (`gather_from`, measured by a decaying rate of arrivals), so a turn at an ordinary
pace never waits. A batch costs the server about a millisecond of CPU beyond its turns;
with several replicas each gets a share of the traffic, and without the wait their batches
were small (about 8 turns against 47 on one replica; the server's CPU per turn 0.69–0.73 ms
against 0.36–0.43; with the wait 17–19 turns and 0.47–0.63 ms, BENCHMARKS.md). The database
is what replicas share, so that is the cost that matters.

The turn logic (`bot.turns`) is synchronous SQLAlchemy, run

* on SQLite, directly on the event loop with the standard `sqlite3` driver: a local file
  answers in microseconds, and every alternative costs more than the transaction itself
  (aiosqlite hands each statement to a thread and back). An in-process lock
  (`Database.write_lock`) makes every other writer of this process queue in asyncio, so
  the loop never waits on itself; readers begin deferred and never block it either.
* on PostgreSQL, first on the lean path (`bot.lean`): straight on psycopg, BEGIN and the
  batch's reads in one round trip, its writes and COMMIT in a second, for every turn that
  needs no more than that (an answer to an open interview; a completion takes one more,
  for its facts). The others (no open interview found, answers deleted, a deletion) then
  go in a transaction of their own inside `AsyncSession.run_sync` on an async engine of
  the writer's own: reads statement by statement, writes and COMMIT in one round trip
  (psycopg's pipeline mode, `_postgres`). Each statement awaits the network, so the loop
  serves other requests meanwhile; no threads. Two batches run at once, never two turns of
  one person. Neither path pings a connection before use; a batch that finds its
  connection dead is retried once on a fresh one (nothing of a failed transaction was
  stored).

Failure handling: a batch that fails on the lean path for a reason other than the database
being down is run again the ORM way; one that fails there (a key another replica recorded
at the same moment, a deadlock) is retried turn by turn, so
one message never takes others down with it; a turn that then finds its message's key
taken (the inbox's or the answer's) is a duplicate, and any other integrity error is that
turn's failure, reported to its caller (not dropped as a duplicate). When the database is
unreachable every waiting turn gets `StorageUnavailable` and nothing is stored: the
platform's retry starts afresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import psycopg
from psycopg.errors import TransactionRollback
from sqlalchemy import bindparam
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import Session, sessionmaker

from adapters.base import Incoming
from bot.db import (
    Checkpointer,
    Database,
    StorageUnavailable,
    is_connection_problem,
    is_message_seen,
)
from bot.lean import LeanPostgres, TooLong
from bot.models import PlatformIdentity
from bot.turns import Outcome, Staged, Turns, identities_where, mark_sent

log = logging.getLogger(__name__)

T = TypeVar("T")
# An integrity error, through SQLAlchemy or from the COMMIT sent on the driver (pipeline):
# a message's key taken is a duplicate (`is_message_seen`), anything else a failure
_INTEGRITY = (IntegrityError, psycopg.IntegrityError)


def _not_the_pipeline_echo(record: logging.LogRecord) -> bool:
    """psycopg warns "error ignored terminating <pipeline>: pipeline aborted" after every
    failed pipeline, i.e. after each platform retry that reaches a batch; the writer has
    the real error and says what it means (a duplicate)."""
    message = str(record.msg)
    return not (message.startswith("error ignored terminating") and "aborted" in str(record.args))


logging.getLogger("psycopg").addFilter(_not_the_pipeline_echo)


@dataclass(frozen=True, slots=True)
class Identity:
    """A platform user ExitBot knows (`TurnWriter.identities`)."""

    user_id: str
    employee_id: int | None  # None: wrote to the bot, but no employee of that address
    locale: str | None


_IDENTITIES = identities_where(PlatformIdentity.user_id.in_(bindparam("users", expanding=True)))


def _identities(platform: str, user_ids: list[str], session: Session) -> list[Identity]:
    rows = session.execute(_IDENTITIES, {"platform": platform, "users": user_ids})
    return [Identity(row.user_id, row.employee_id, row.locale) for row in rows]


@dataclass(slots=True)
class _Waiting:
    incoming: Incoming
    future: asyncio.Future[Outcome]


Person = tuple[str, str, int | None]  # channel, platform user, interview addressed


@dataclass(slots=True)
class _Batch:
    turns: list[_Waiting] = field(default_factory=list)
    marks: list[str] = field(default_factory=list)
    flushes: list[asyncio.Future[None]] = field(default_factory=list)
    people: set[Person] = field(default_factory=set)
    down: bool = False  # the database was unreachable


class TurnWriter:
    def __init__(
        self,
        db: Database,
        turns: Turns,
        *,
        max_batch: int = 64,
        mark_delay: float = 0.25,
        gather_delay: float = 0.03,
        gather_size: int = 32,
        gather_from: float = 4.0,
    ) -> None:
        self.db = db
        self.turns = turns
        self.max_batch = max_batch
        self.mark_delay = mark_delay
        # PostgreSQL under heavy load: a batch waits up to `gather_delay` seconds for
        # `gather_size` turns, when at least `gather_from` are expected meanwhile
        self.gather_delay = gather_delay
        self.gather_size = gather_size
        self.gather_from = gather_from
        self._arrivals = _Rate()
        self.lock_wait = 15.0  # SQLite: how long a batch waits for another process's write
        self._inline = db.is_sqlite
        if db.is_sqlite:
            self._sync = db.writer_engine()
            self._sync_sessions = sessionmaker(self._sync, expire_on_commit=False)
            self._reader = db.reader_engine()
            self._reader_sessions = sessionmaker(self._reader, expire_on_commit=False)
        else:
            self._async = db.writer_async_engine()
            self._async_sessions = async_sessionmaker(self._async, expire_on_commit=False)
        # PostgreSQL: the common turns straight on the driver (`bot.lean`), the rest here;
        # None: everything through the session (SQLite, or set so to compare the two)
        self.lean = None if db.is_sqlite else LeanPostgres(db.engine.url, turns)
        self._checkpointer: Checkpointer | None = None  # SQLite: started with the loop
        self._queue: deque[_Waiting] = deque()
        self._marks: list[str] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._flushes: list[asyncio.Future[None]] = []  # callers of flush(), for the next batch
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._closing = False
        # PostgreSQL: a second batch runs while the first waits on the server (row locks
        # keep them apart; one person is never in two); SQLite has one writer anyway.
        self.parallel = 1 if db.is_sqlite else 2
        self._in_flight: dict[asyncio.Task[None], _Batch] = {}
        self._busy: set[Person] = set()  # people with a turn in a batch in flight
        self.most_in_flight = 0
        self.gathered = 0  # batches that waited for company
        self.batch_observers: list[Callable[[int], None]] = []  # turns of each batch stored
        self.batches = 0  # transactions committed with at least one turn
        self.lean_errors = 0  # PostgreSQL: batches the lean path failed on unexpectedly
        self.lean_redone = 0  # PostgreSQL: batches the lean path failed on, for any reason
        self.transactions = 0  # with turns or only "sent" marks

    # ------------------------------------------------------------------ callers

    async def record(self, incoming: Incoming) -> Outcome:
        """Record and process one message (with whatever else is waiting); its outcome."""
        if self._closed:
            raise StorageUnavailable("the turn writer is closed")
        wake = self._started()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Outcome] = loop.create_future()
        self._queue.append(_Waiting(incoming, future))
        self._arrivals.add(loop.time())
        wake.set()
        return await future

    async def identities(self, platform: str, user_ids: list[str]) -> list[Identity]:
        """Those of `user_ids` ExitBot knows on `platform` (linked to an employee or not).
        PostgreSQL: one statement on the lean path's connections (no session: this read
        comes before a platform's ack); SQLite: straight from the file, on the event loop
        (an aiosqlite session costs a handful of thread hand-offs, each waiting for a turn
        of a busy loop)."""
        if self.lean is None:
            with self._reader_sessions() as session:
                return _identities(platform, user_ids, session)
        with _unreachable_as_unavailable():
            rows = await self.lean.identities(platform, user_ids)
        return [Identity(row.user_id, row.employee_id, row.locale) for row in rows]

    def mark_sent(self, key: str) -> None:
        """The reply of `key` reached the person; stored with the next batch (soon)."""
        if self._closed or (self._closing and (self._task is None or self._task.done())):
            # the tick checks and marks it (Slack: by the DM's history)
            log.warning("a reply mark arrived after shutdown")
            return
        self._marks.append(key)
        self._started().set()

    async def flush(self) -> None:
        """Wait until the "sent" marks handed in so far are stored (the next batch takes
        them all, without waiting for company); turns are awaited by their own callers."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._task is None or self._task.done():
            return
        done: asyncio.Future[None] = loop.create_future()
        self._flushes.append(done)
        assert self._wake is not None
        self._wake.set()
        await done

    async def close(self) -> None:
        """Store what is waiting, stop, close the connections."""
        if self._closed or self._closing:
            return
        self._closing = True  # from here on nothing starts the loop again
        if self._task is not None and self._loop is asyncio.get_running_loop():
            try:
                await asyncio.wait_for(self.flush(), 5)
            except TimeoutError:
                log.warning("shutdown: %d reply marks not stored", len(self._marks))
            for task in (self._task, *self._in_flight):
                task.cancel()  # in flight after the flush's 5 s: its callers are failed
            await asyncio.gather(self._task, *self._in_flight, return_exceptions=True)
        self._closed = True
        _release(self._flushes)  # nothing left to wait for
        self._flushes = []
        _fail(list(self._queue), StorageUnavailable("shutting down"))
        self._queue.clear()
        if self._marks:  # handed in on another event loop than this one: the tick repairs
            log.warning("shutdown: %d reply marks not stored", len(self._marks))
            self._marks.clear()
        if self._inline:
            self._sync.dispose()
            self._reader.dispose()
        else:
            await self._async.dispose()
        if self.lean is not None:
            await self.lean.close()
        if self._checkpointer is not None:
            self._checkpointer.stop()

    # ------------------------------------------------------------------ the loop

    def _started(self) -> asyncio.Event:
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._task is None or self._task.done():
            if self._closing:
                raise StorageUnavailable("the turn writer is shutting down")
            # First use, or a new event loop (tests, CLI commands): anything queued on the
            # old loop can never be awaited again.
            self._loop = loop
            _fail(list(self._queue), StorageUnavailable("the event loop changed"))
            self._queue.clear()
            self._in_flight.clear()
            self._busy.clear()
            self._wake = asyncio.Event()
            self._flushes = []
            self._task = loop.create_task(self._run(self._wake), name="exitbot-turn-writer")
            path = self.db.sqlite_path
            if path is not None and self._checkpointer is None:
                self._checkpointer = Checkpointer(path)
        assert self._wake is not None
        return self._wake

    async def _run(self, wake: asyncio.Event) -> None:
        while True:
            await wake.wait()
            wake.clear()
            if self._marks and not self._queue and not self._flushes and not self._in_flight:
                # Only "sent" marks: give the next turn a moment to carry them (one
                # transaction instead of two); the tick only looks after a minute.
                await self._await_a_turn(wake)
            if self._busy_enough_to_gather():
                await self._gather(wake)
            while (self._queue or self._marks or self._flushes) and len(
                self._in_flight
            ) < self.parallel:
                batch = self._next_batch()
                if not (batch.turns or batch.marks or batch.flushes):
                    break  # what is queued builds on a batch in flight, or is marks: wait
                self._busy |= batch.people
                task = asyncio.create_task(self._finish(batch, list(self._in_flight)))
                self._in_flight[task] = batch
                self.most_in_flight = max(self.most_in_flight, len(self._in_flight))
                task.add_done_callback(self._landed)

    def _landed(self, task: asyncio.Task[None]) -> None:
        batch = self._in_flight.pop(task, None)
        if batch is None:
            return  # from before a change of event loop
        self._busy -= batch.people
        if self._wake is not None:
            self._wake.set()  # a free slot, and people free to go again

    async def _finish(self, batch: _Batch, earlier: list[asyncio.Task[None]]) -> None:
        """Run one batch, answer its callers; its flushes wait for the batches before it."""
        try:
            results: list[Outcome | BaseException] = []
            if batch.turns or batch.marks:
                async with self.db.write_lock():
                    results = await self._execute(batch)
                self.transactions += 1
            if batch.turns:
                self.batches += 1
            for waiting, result in zip(batch.turns, results, strict=True):
                if waiting.future.done():
                    continue  # the caller gave up (cancelled)
                if isinstance(result, BaseException):
                    waiting.future.set_exception(result)
                else:
                    waiting.future.set_result(result)
            if batch.turns:  # after the callers have their outcomes: metrics come second
                for observe in self.batch_observers:
                    observe(len(batch.turns))
            if batch.flushes:  # "marks stored so far": those of earlier batches too
                await asyncio.gather(*earlier, return_exceptions=True)
            _release(batch.flushes)
            if batch.down:
                await asyncio.sleep(0.5)  # kept marks wait a little: no busy loop
        except BaseException as exc:  # a bug, or shutdown: nobody may wait forever
            _fail(batch.turns, StorageUnavailable(type(exc).__name__))
            _release(batch.flushes)
            if isinstance(exc, asyncio.CancelledError):
                raise
            log.error("turn writer: a batch failed: %s", type(exc).__name__)

    def _next_batch(self) -> _Batch:
        """Every flush waiting, and queued turns up to `max_batch`: in order, one per person
        (platform user), none of a person with a turn in a batch in flight (a person's next
        turn builds on the one before). Every mark waiting too, unless the batch would be
        marks alone while another is in flight: they wait for a turn (or a flush) to ride
        with, or for nothing to be in flight (`_run`), instead of costing a transaction, a
        commit the server flushes to disk, of their own. (With several replicas, each
        getting a share of the traffic, that was one transaction in six.)"""
        batch = _Batch(flushes=self._flushes)
        self._flushes = []
        held = set(self._busy)
        left: deque[_Waiting] = deque()
        while self._queue and len(batch.turns) < self.max_batch:
            waiting = self._queue.popleft()
            incoming = waiting.incoming
            person = (incoming.channel, incoming.user_id, incoming.interview_id)
            if person in held or person in batch.people:
                held.add(person)
                left.append(waiting)
                continue
            batch.people.add(person)
            batch.turns.append(waiting)
        left.extend(self._queue)
        self._queue = left
        if batch.turns or batch.flushes or not self._in_flight:
            batch.marks, self._marks = self._marks, []
        return batch

    async def _await_a_turn(self, wake: asyncio.Event) -> None:
        await _wait_while(wake, self.mark_delay, lambda: not self._queue and not self._flushes)

    def _busy_enough_to_gather(self) -> bool:
        if self._inline or not self._queue or self._flushes or self._closing:
            return False  # SQLite (one writer, no round trip to share), or nothing to wait for
        if len(self._queue) >= self.gather_size or len(self._in_flight) >= self.parallel:
            return False  # enough company already, or no batch could start anyway
        rate = self._arrivals.now(asyncio.get_running_loop().time())
        return rate * self.gather_delay >= self.gather_from

    async def _gather(self, wake: asyncio.Event) -> None:
        """Wait up to `gather_delay` for `gather_size` turns (or a flush, or shutdown)."""
        self.gathered += 1
        await _wait_while(
            wake,
            self.gather_delay,
            lambda: len(self._queue) < self.gather_size and not self._flushes and not self._closing,
        )

    async def _execute(self, batch: _Batch) -> list[Outcome | BaseException]:
        incoming = [w.incoming for w in batch.turns]
        marks = batch.marks
        if self.lean is None:
            return await self._through_orm(batch, incoming, marks)
        try:  # PostgreSQL: the common turns (and the marks) on the lean path first
            with _unreachable_as_unavailable():
                lean = await self.lean.run(incoming, marks)
        except StorageUnavailable as exc:
            self._marks.extend(marks)  # kept for the next batch
            batch.down = True
            return [exc] * len(incoming)
        except Exception as exc:  # nothing of it was stored: all of it the ORM way
            self.lean_redone += 1
            if is_message_seen(exc) or isinstance(
                exc, (TooLong, psycopg.DataError, TransactionRollback)
            ):
                # a key another replica recorded meanwhile, a value too long for its column
                # (found before sending, or by the server), a deadlock: again the ORM way,
                # where one message fails alone
                log.info("a batch failed on the lean path (%s): again", type(exc).__name__)
            else:  # not expected: a bug
                self.lean_errors += 1
                log.warning("the lean path failed (%s): the ORM path", type(exc).__name__)
            return await self._through_orm(batch, incoming, marks)
        rest = [m for m, outcome in zip(incoming, lean, strict=True) if outcome is None]
        if not rest:
            return [outcome for outcome in lean if outcome is not None]
        redone = iter(await self._through_orm(batch, rest, []))
        return [next(redone) if outcome is None else outcome for outcome in lean]

    async def _through_orm(
        self, batch: _Batch, incoming: list[Incoming], marks: list[str]
    ) -> list[Outcome | BaseException]:
        """Turns (and marks) in one transaction through the session; when that fails for
        another reason than the database being away, turn by turn."""
        try:
            return list(await self._transaction(lambda s: self._stage(s, incoming, marks)))
        except StorageUnavailable as exc:
            self._marks.extend(marks)  # kept for the next batch
            batch.down = True
            return [exc] * len(incoming)
        except Exception as exc:
            if len(incoming) <= 1 and not marks:
                return [Outcome(duplicate=True) if is_message_seen(exc) else exc]
            if len(incoming) > 1:
                log.info(
                    "a batch of %d turns failed (%s): one by one", len(incoming), type(exc).__name__
                )
        if marks:
            try:
                await self._transaction(lambda s: self._stage(s, [], marks))
            except Exception as exc:  # the tick checks and marks them
                log.warning("could not mark %d replies sent: %s", len(marks), type(exc).__name__)
        return [await self._one(m) for m in incoming]

    def _stage(self, session: Session, incoming: list[Incoming], marks: list[str]) -> Staged:
        """The batch's reads and decisions now; its last writes (with the marks) in
        `Staged.write`, which `_transaction` runs just before the COMMIT."""
        staged = self.turns.stage_batch(session, incoming) if incoming else None
        outcomes = staged.outcomes if staged else []

        def write() -> None:
            if marks:
                mark_sent(session, marks)
            if staged:
                staged.write()

        return Staged(outcomes, write)

    async def _one(self, incoming: Incoming) -> Outcome | BaseException:
        try:
            return (await self._transaction(lambda s: self._stage(s, [incoming], [])))[0]
        except Exception as exc:  # a key taken: a redelivery (the service logs it)
            return Outcome(duplicate=True) if is_message_seen(exc) else exc

    async def _sqlite(self, work: Callable[[Session], Staged]) -> list[Outcome]:
        """On the event loop; when another process holds the file's write lock (a CLI
        command), wait for it here in asyncio, not in SQLite's busy handler (which would
        stop the whole server), up to `lock_wait` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.lock_wait
        while True:
            try:
                with self._sync_sessions() as session, session.begin():
                    staged = work(session)
                    staged.write()
                    return staged.outcomes
            except OperationalError as exc:  # rolled back: nothing of it was stored
                if "database is locked" not in str(exc) or loop.time() >= deadline:
                    raise
            await asyncio.sleep(0.01)

    async def _postgres(self, work: Callable[[Session], Staged]) -> list[Outcome]:
        """Reads and decisions statement by statement; then the remaining writes and the
        COMMIT in one round trip (psycopg's pipeline mode): a batch costs BEGIN, its
        reads, and one more round trip, however many rows it writes."""
        async with self._async_sessions() as remote:
            staged = await remote.run_sync(work)
            connection = await remote.connection()
            raw = await connection.get_raw_connection()
            driver = cast(psycopg.AsyncConnection[Any], raw.driver_connection)
            try:
                async with driver.pipeline():
                    await remote.run_sync(lambda _: staged.write())
                    # Queued as a statement on the driver: the pipeline's closing Sync
                    # carries it (`driver.commit()` would sync once more), and the session
                    # keeps the connection until the pipeline is closed (its commit would
                    # hand it to the other batch in flight before that).
                    await driver.execute("COMMIT")
            except BaseException:
                # A statement of the pipeline failed (a key recorded meanwhile): the COMMIT
                # was skipped; the session would not know the transaction is aborted.
                with contextlib.suppress(Exception):
                    await driver.rollback()
                raise
            await remote.commit()  # the session's side; no transaction left on the wire
            return staged.outcomes

    async def _transaction(self, work: Callable[[Session], Staged]) -> list[Outcome]:
        if not self._inline:
            return await _on_postgres(lambda: self._postgres(work))
        with _unreachable_as_unavailable():
            return await self._sqlite(work)


async def _wait_while(wake: asyncio.Event, delay: float, waiting: Callable[[], bool]) -> None:
    """Wait, at most `delay` seconds, while `waiting()` holds (checked at each wake-up)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + delay
    while waiting():
        remaining = deadline - loop.time()
        if remaining <= 0:
            return
        try:
            await asyncio.wait_for(wake.wait(), remaining)
        except TimeoutError:
            return
        wake.clear()


class _Rate:
    """Arrivals per second, decaying with a time constant of `tau` seconds."""

    def __init__(self, tau: float = 1.0) -> None:
        self.tau = tau
        self._rate = 0.0
        self._at = 0.0

    def add(self, now: float) -> None:
        self._rate = self.now(now) + 1 / self.tau
        self._at = now

    def now(self, now: float) -> float:
        return self._rate * math.exp(-(now - self._at) / self.tau)


@contextlib.contextmanager
def _unreachable_as_unavailable() -> Iterator[None]:
    """The database out of reach: `StorageUnavailable` (the caller answers 503 / retries)."""
    try:
        yield
    except _INTEGRITY:
        raise  # its message may quote a key that reads like a connection problem
    except Exception as exc:
        if is_connection_problem(exc):
            raise StorageUnavailable(type(exc).__name__) from exc
        raise


async def _on_postgres(attempt: Callable[[], Awaitable[T]]) -> T:
    """Once more on a fresh connection when the pool's turns out dead (kept across a
    database restart: what it ran was rolled back; had a COMMIT reached the server first,
    the retry finds the keys: duplicates, whose stored replies the tick sends)."""
    with _unreachable_as_unavailable():
        try:
            return await attempt()
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
        return await attempt()


def _fail(waiting: list[_Waiting], exc: BaseException) -> None:
    for entry in waiting:
        if not entry.future.done() and not entry.future.get_loop().is_closed():
            entry.future.set_exception(exc)


def _release(flushes: list[asyncio.Future[None]]) -> None:
    for flushed in flushes:
        if not flushed.done() and not flushed.get_loop().is_closed():
            flushed.set_result(None)
