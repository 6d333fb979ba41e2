"""Database engines and transactions: SQLite (WAL, BEGIN IMMEDIATE) or PostgreSQL."""

from __future__ import annotations

import logging
import sqlite3
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


def _sqlite_setup(engine: Engine) -> None:
    """WAL + busy timeout + BEGIN IMMEDIATE: pysqlite's own transactions lose updates."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        # aiosqlite wraps the sqlite3 connection; both accept isolation_level.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=15000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


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
            self.engine: AsyncEngine = create_async_engine(
                async_url, pool_size=pool_size, max_overflow=pool_size, pool_timeout=30
            )
            _sqlite_setup(self.engine.sync_engine)
            self._sync_url = sync_url
        else:
            self.engine = create_async_engine(
                async_url,
                pool_size=pool_size,
                max_overflow=pool_size * 2,
                pool_pre_ping=True,
                pool_recycle=1800,
                pool_timeout=10,
                connect_args={"connect_timeout": 5},
            )
            self._sync_url = sync_url
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

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
            engine = create_engine(self._sync_url, poolclass=NullPool)
            _sqlite_setup(engine)
            return engine
        return create_engine(
            self._sync_url, poolclass=NullPool, connect_args={"connect_timeout": 5}
        )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One short write transaction; commits on success, rolls back on error.

        Connection failures surface as `StorageUnavailable`.
        """
        try:
            async with self.sessions() as session, session.begin():
                yield session
        except (OperationalError, DBAPIError, OSError, sqlite3.OperationalError) as exc:
            if _is_connection_problem(exc):
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


def _is_connection_problem(exc: BaseException) -> bool:
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
