"""The turn writer: group commit for interview turns, on one thread of its own.

Every incoming message is recorded, run through the engine and stored with its reply in a
transaction before anyone is answered. Done one by one on the event loop, that costs a
transaction, a dozen statements and, with aiosqlite, a thread hand-off per statement for
every turn. The writer instead takes whatever turns are waiting, runs them all in *one*
transaction on a dedicated thread with plain synchronous SQLAlchemy (one hand-off per
batch), and resolves each caller's future with its own outcome. Under load the batches grow
by themselves (turns queue while the previous batch commits); alone, a turn is a batch of
one and waits for nobody. "Reply sent" marks ride along with the next batch.

Failure handling: a batch that fails for a reason other than the database being down (a
key another replica recorded at the same moment, a deadlock) is retried turn by turn, so
one message never takes others down with it; a turn that then hits a unique key is a
duplicate. When the database is unreachable every waiting turn gets `StorageUnavailable`
and nothing is stored: the platform's retry starts afresh.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from adapters.base import Incoming
from bot.db import Checkpointer, Database, StorageUnavailable, is_connection_problem
from bot.turns import Outcome, Turns, mark_sent

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(slots=True)
class _Waiting:
    incoming: Incoming
    future: asyncio.Future[Outcome]


@dataclass(slots=True)
class _Batch:
    turns: list[_Waiting] = field(default_factory=list)
    marks: list[str] = field(default_factory=list)


class TurnWriter:
    def __init__(self, db: Database, turns: Turns, *, max_batch: int = 64) -> None:
        self.db = db
        self.turns = turns
        self.max_batch = max_batch
        self._engine = db.writer_engine()
        self._reader = db.reader_engine() if db.is_sqlite else None
        self._reader_sessions = sessionmaker(self._reader, expire_on_commit=False)
        self._checkpointer: Checkpointer | None = None  # SQLite: started with the loop
        self._sessions = sessionmaker(self._engine, expire_on_commit=False)
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="exitbot-writer")
        self._queue: deque[_Waiting] = deque()
        self._marks: list[str] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._settled: asyncio.Event | None = None  # set while nothing waits
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        # SQLite runs the batch on the event loop itself: a local file answers in
        # microseconds, and a hand-off to a thread costs more than the whole transaction
        # (the in-process write lock keeps the loop from ever waiting on itself).
        # PostgreSQL's round trips overlap with other work on the writer's thread.
        self._inline = db.is_sqlite
        self.batches = 0  # transactions committed with at least one turn
        self.turns_written = 0
        self._down = False
        self._lock = threading.Lock()  # the writer thread vs. a close from another loop

    # ------------------------------------------------------------------ callers

    async def record(self, incoming: Incoming) -> Outcome:
        """Record and process one message (with whatever else is waiting); its outcome."""
        if self._closed:
            raise StorageUnavailable("the turn writer is closed")
        wake = self._started()
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._queue.append(_Waiting(incoming, future))
        wake.set()
        return await future

    async def read(self, work: Callable[[Session], T]) -> T:
        """A small read for the hot path. SQLite: straight from the file, on the event loop
        (an aiosqlite session costs a handful of thread hand-offs, each waiting for a turn
        of a busy loop); PostgreSQL: an ordinary async session."""
        if self._reader is None:
            async with self.db.sessions() as session:
                return await session.run_sync(work)
        with self._reader_sessions() as session:
            return work(session)

    def mark_sent(self, key: str) -> None:
        """The reply of `key` reached the person; stored with the next batch (soon)."""
        if self._closed:
            self._run_marks([key])
            return
        self._marks.append(key)
        self._started().set()

    async def flush(self) -> None:
        """Wait until everything handed in so far is stored (tests, shutdown)."""
        if self._settled is not None and self._loop is asyncio.get_running_loop():
            await self._settled.wait()

    async def close(self) -> None:
        """Store what is waiting, stop the thread, close the connections."""
        if self._closed:
            return
        if self._task is not None and self._loop is asyncio.get_running_loop():
            try:
                await asyncio.wait_for(self.flush(), 5)
            except TimeoutError:
                log.warning("shutdown: %d reply marks not stored", len(self._marks))
                self._marks.clear()  # the tick checks and resends those replies
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        self._closed = True
        marks, self._marks = self._marks, []
        if marks:  # handed in from another event loop than the one that ran the writer
            try:
                await asyncio.to_thread(self._run_marks, marks)
            except Exception as exc:  # the tick checks and resends those replies
                log.warning(
                    "shutdown: %d reply marks not stored (%s)", len(marks), type(exc).__name__
                )
        self._thread.shutdown(wait=True)
        self._engine.dispose()
        if self._reader is not None:
            self._reader.dispose()
        if self._checkpointer is not None:
            self._checkpointer.stop()

    # ------------------------------------------------------------------ the loop

    def _started(self) -> asyncio.Event:
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._task is None or self._task.done():
            # First use, or a new event loop (tests, CLI commands): anything queued on the
            # old loop can never be awaited again.
            self._loop = loop
            self._queue.clear()
            self._wake = asyncio.Event()
            self._settled = asyncio.Event()
            self._task = loop.create_task(self._run(self._wake), name="exitbot-turn-writer")
            path = self.db.sqlite_path
            if path is not None and self._checkpointer is None:
                self._checkpointer = Checkpointer(path)
        assert self._wake is not None and self._settled is not None
        self._settled.clear()
        return self._wake

    async def _run(self, wake: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await wake.wait()
            wake.clear()
            while self._queue or self._marks:
                batch = _Batch(marks=self._marks)
                self._marks = []
                people: set[tuple[str, str, int | None]] = set()
                while self._queue and len(batch.turns) < self.max_batch:
                    incoming = self._queue[0].incoming
                    person = (incoming.channel, incoming.user_id, incoming.interview_id)
                    if person in people:
                        break  # their next message builds on this one: the next batch
                    people.add(person)
                    batch.turns.append(self._queue.popleft())
                async with self.db.write_lock():
                    if self._inline:
                        results = self._execute(batch)
                    else:
                        results = await loop.run_in_executor(self._thread, self._execute, batch)
                if batch.turns:
                    self.batches += 1
                    self.turns_written += sum(isinstance(r, Outcome) for r in results)
                for waiting, result in zip(batch.turns, results, strict=True):
                    if waiting.future.done():
                        continue  # the caller gave up (cancelled)
                    if isinstance(result, BaseException):
                        waiting.future.set_exception(result)
                    else:
                        waiting.future.set_result(result)
                if self._down:
                    self._down = False
                    await asyncio.sleep(0.5)  # kept marks wait a little: no busy loop
            if self._settled is not None and not (self._queue or self._marks):
                self._settled.set()

    # ------------------------------------------------------------------ the thread

    def _execute(self, batch: _Batch) -> list[Outcome | BaseException]:
        incoming = [w.incoming for w in batch.turns]
        try:
            return list(self._transaction(lambda s: self._all(s, incoming, batch.marks)))
        except StorageUnavailable as exc:
            self._marks.extend(batch.marks)  # kept for the next batch
            self._down = True
            return [exc] * len(incoming)
        except Exception as exc:
            if len(incoming) <= 1 and not batch.marks:
                return [Outcome(duplicate=True) if isinstance(exc, IntegrityError) else exc]
            if len(incoming) > 1:
                log.info(
                    "a batch of %d turns failed (%s): one by one", len(incoming), type(exc).__name__
                )
        if batch.marks:
            try:
                self._run_marks(batch.marks)
            except Exception:
                log.warning("could not mark %d replies sent", len(batch.marks), exc_info=True)
        return [self._one(m) for m in incoming]

    def _all(self, session: Session, incoming: list[Incoming], marks: list[str]) -> list[Outcome]:
        if marks:
            mark_sent(session, marks)
        return self.turns.record_batch(session, incoming) if incoming else []

    def _one(self, incoming: Incoming) -> Outcome | BaseException:
        try:
            return self._transaction(lambda s: self.turns.record_batch(s, [incoming]))[0]
        except IntegrityError:
            log.info("duplicate %s message ignored", incoming.channel)
            return Outcome(duplicate=True)
        except Exception as exc:
            return exc

    def _run_marks(self, marks: list[str]) -> None:
        self._transaction(lambda s: mark_sent(s, marks))

    def _transaction(self, work: Callable[[Session], T]) -> T:
        with self._lock:
            try:
                with self._sessions() as session, session.begin():
                    return work(session)
            except Exception as exc:
                if is_connection_problem(exc):
                    raise StorageUnavailable(type(exc).__name__) from exc
                raise
