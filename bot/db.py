"""Database engines and transactions: SQLite (WAL, BEGIN IMMEDIATE) or PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)


def _engine(url: URL, **options: Any) -> Engine:
    """Every engine hides statement parameters from its error messages (they reach logs and
    tracebacks; answer text is encrypted, but addresses and keys can hold an email)."""
    return create_engine(url, hide_parameters=True, **options)


def _async_engine(url: URL, **options: Any) -> AsyncEngine:
    return create_async_engine(url, hide_parameters=True, **options)


def _postgres_engine(url: URL, **pool: Any) -> AsyncEngine:
    """PostgreSQL: connections recycled after 30 minutes; a connection or a checkout that
    takes longer than a few seconds fails (the caller answers 503) instead of hanging."""
    return _async_engine(
        url, pool_recycle=1800, pool_timeout=10, connect_args={"connect_timeout": 5}, **pool
    )


MIGRATION_LOCK_ID = 0x45584954  # "EXIT": pg_advisory_lock key around `db upgrade`


class StorageUnavailable(RuntimeError):
    """The database cannot be reached right now; the caller should answer 503 / retry."""


def _urls(database_url: str) -> tuple[URL, URL]:
    """(async URL, sync URL) for one configured SQLAlchemy URL."""
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        return url.set(drivername="sqlite+aiosqlite"), url.set(drivername="sqlite")
    if backend == "postgresql":
        return url.set(drivername="postgresql+psycopg"), url.set(drivername="postgresql+psycopg")
    raise ValueError(
        f"EXITBOT_DATABASE_URL: unsupported database {backend!r} (use sqlite or postgresql)"
    )


WRITE = "exitbot_write"  # execution option: this connection's transactions will write


def _enter_wal(cursor: Any, wait: float = 15.0) -> None:
    """`PRAGMA journal_mode=WAL`. Switching a new file to WAL needs it to itself, and SQLite
    answers "database is locked" at once, without its busy handler, while another connection
    is doing the same (processes or threads starting together): try again until `wait`."""
    deadline = time.monotonic() + wait
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except Exception as exc:  # sqlite3's or aiosqlite's OperationalError
            if "database is locked" not in str(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(0.005)


def _sqlite_setup(engine: Engine, *, writes: bool = True) -> None:
    """WAL + busy timeout + BEGIN IMMEDIATE for writers: pysqlite's own transactions lose
    updates. Readers (`writes=False`, unless the `WRITE` option says otherwise) begin a
    plain deferred transaction: in WAL mode they never block a writer, nor wait for one.
    """

    path = engine.url.database
    if path and path != ":memory:" and not path.startswith("file:"):

        @event.listens_for(engine, "do_connect")
        def _create_private(*_args: Any) -> None:
            _private_file(Path(path).expanduser())  # then SQLAlchemy connects as usual

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        # aiosqlite wraps the sqlite3 connection; both accept isolation_level.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout=15000")
        _enter_wal(cur)
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        write = conn.get_execution_options().get(WRITE, writes)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


class Checkpointer:
    """Moves SQLite's write-ahead log into the database file on a thread of its own.

    SQLite checkpoints by itself on the connection whose commit crosses 1,000 pages of log,
    and that commit then waits for the copy and two fsyncs (milliseconds on a VM): a
    latency spike in the middle of someone's turn. The turn writer's connection turns that
    off (`wal_autocheckpoint=0`) and this thread runs a PASSIVE checkpoint (never blocks
    readers or writers) every `interval` seconds instead. Other connections (the tick,
    CLI commands) keep SQLite's default, so the log never grows without bound.
    """

    def __init__(self, path: Path, interval: float = 1.0) -> None:
        self.path = path
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="exitbot-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self.path, timeout=5, isolation_level=None)
        except sqlite3.Error:
            log.warning("SQLite checkpoints: cannot open the database", exc_info=True)
            return
        try:
            while not self._stop.wait(self.interval):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:
                    log.debug("SQLite checkpoint skipped: %s", exc)
        finally:
            conn.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def _private_file(path: Path) -> None:
    """A new SQLite file is readable by its owner only (it holds names and addresses), like
    the key file beside it; SQLite gives its -wal and -shm files the same mode."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass  # an existing database keeps the mode its owner gave it


class Database:
    """One async engine for the application plus a sync engine for migrations and CLI work."""

    def __init__(self, database_url: str, *, pool_size: int = 5) -> None:
        self.url = database_url
        async_url, sync_url = _urls(database_url)
        self.dialect = async_url.get_backend_name()
        if self.dialect == "sqlite":
            path = async_url.database
            if path and path != ":memory:":
                Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
            # A small pool: opening an aiosqlite connection costs a thread and the PRAGMAs.
            self.engine: AsyncEngine = _async_engine(
                async_url, pool_size=pool_size, max_overflow=pool_size, pool_timeout=30
            )
            _sqlite_setup(self.engine.sync_engine, writes=False)
            self._sync_url = sync_url
        else:
            self.engine = _postgres_engine(
                async_url, pool_size=pool_size, max_overflow=pool_size * 2, pool_pre_ping=True
            )
            self._sync_url = sync_url
        # Reads: `sessions()`; writes: `transaction()` (BEGIN IMMEDIATE on SQLite).
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._writes = async_sessionmaker(
            self.engine.execution_options(**{WRITE: True}), expire_on_commit=False
        )
        self._write_lock: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None

    def write_lock(self) -> contextlib.AbstractAsyncContextManager[object]:
        """SQLite has one writer at a time: writers of this process queue here, and are
        woken the moment the previous one commits, instead of sleeping in SQLite's busy
        handler (1, 2, 5 … 100 ms steps). A no-op on PostgreSQL (row locks)."""
        if not self.is_sqlite:
            return contextlib.nullcontext()
        loop = asyncio.get_running_loop()
        if self._write_lock is None or self._write_lock[0] is not loop:
            self._write_lock = (loop, asyncio.Lock())
        return self._write_lock[1]

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def sqlite_path(self) -> Path | None:
        if not self.is_sqlite:
            return None
        database = make_url(self.url).database
        return Path(database).expanduser() if database and database != ":memory:" else None

    def sync_engine(self) -> Engine:
        """A short-lived sync engine (migrations, key rotation)."""
        if self.is_sqlite:
            engine = _engine(self._sync_url, poolclass=NullPool)
            _sqlite_setup(engine)
            return engine
        return _engine(self._sync_url, poolclass=NullPool, connect_args={"connect_timeout": 5})

    def writer_engine(self) -> Engine:
        """SQLite: the turn writer's sync engine (`bot.writer`), used on the event loop.

        Its commits never checkpoint; a `Checkpointer` does that beside it.
        """
        assert self.is_sqlite
        engine = _engine(
            self._sync_url,
            pool_size=1,
            max_overflow=1,
            connect_args={"check_same_thread": False},
        )
        _sqlite_setup(engine)

        @event.listens_for(engine, "connect")
        def _no_checkpoints(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.execute("PRAGMA wal_autocheckpoint=0")
            # It runs on the event loop: a lock held by another process is waited for in
            # asyncio by the writer (`TurnWriter._sqlite`), not in SQLite's busy handler.
            dbapi_conn.execute("PRAGMA busy_timeout=20")

        return engine

    def writer_async_engine(self) -> AsyncEngine:
        """PostgreSQL: the turn writer's async engine. No ping per checkout (a round trip
        per batch); the writer retries a batch once when its connection turns out dead."""
        assert not self.is_sqlite
        return _postgres_engine(self.engine.url, pool_size=2, max_overflow=2)

    def reader_engine(self) -> Engine:
        """SQLite only: a sync engine for small reads on the event loop (deferred BEGIN:
        in WAL mode a reader never waits for a writer)."""
        assert self.is_sqlite
        engine = _engine(
            self._sync_url, pool_size=1, max_overflow=2, connect_args={"check_same_thread": False}
        )
        _sqlite_setup(engine, writes=False)
        return engine

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One short write transaction; commits on success, rolls back on error.

        Connection failures surface as `StorageUnavailable`.
        """
        try:
            async with self.write_lock(), self._writes() as session, session.begin():
                yield session
        except (OperationalError, DBAPIError, OSError, sqlite3.OperationalError) as exc:
            if is_connection_problem(exc):
                raise StorageUnavailable(type(exc).__name__) from exc
            raise

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    async def dispose(self) -> None:
        await self.engine.dispose()


# The unique keys a message is recorded under (the inbox's, the answer's): taken means the
# message was recorded before (a redelivery, or the same message on another replica at once)
MESSAGE_KEYS = ("pk_inbound_messages", "uq_answers_message_key")
_SQLITE_MESSAGE_KEYS = ("inbound_messages.key", "answers.message_key")


def is_message_seen(exc: BaseException) -> bool:
    """`exc` (through SQLAlchemy or from the driver) says a message's key is taken. Any other
    integrity error (a foreign key, a check, a trigger, another unique key) is a failure to
    report, not a duplicate to drop silently."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    if isinstance(orig, sqlite3.IntegrityError):
        failed, _, columns = str(orig).partition(":")
        return failed == "UNIQUE constraint failed" and columns.strip() in _SQLITE_MESSAGE_KEYS
    constraint = getattr(getattr(orig, "diag", None), "constraint_name", None)
    return getattr(orig, "sqlstate", None) == "23505" and constraint in MESSAGE_KEYS


def is_connection_problem(exc: BaseException) -> bool:
    if isinstance(exc, OSError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    message = str(exc).lower()
    return any(
        marker in message
        for marker in (
            "connection",
            "could not connect",
            "server closed",
            "terminating",
            "database is locked",
            "unable to open database",
            "the database system is",
        )
    )
