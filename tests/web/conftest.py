"""Fixtures for the web chat: a runtime on a frozen clock, its app behind a test client."""

from __future__ import annotations

import re
import shutil
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot import links, migrate
from bot.app import create_app
from bot.clock import FrozenClock
from bot.config import Settings
from bot.crypto import Cipher
from bot.db import Database
from bot.models import Interview
from bot.runtime import Runtime

START = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def make_settings(database_url: str, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "encryption_key": Cipher.new_key(),
        "tick_seconds": 3600.0,
        "min_group_size": 3,
    }
    values.update(changes)
    return Settings(**values)


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file per session, copied by each test (migrating takes a while)."""
    path = tmp_path_factory.mktemp("web-template") / "exitbot.db"
    migrate.upgrade(Database(f"sqlite:///{path}"))
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture
def fast_sqlite_url(tmp_path: Path, migrated_sqlite: Path) -> str:
    """An empty, migrated SQLite database (a copy of one migrated template)."""
    path = tmp_path / "exitbot.db"
    shutil.copyfile(migrated_sqlite, path)
    return f"sqlite:///{path}"


@pytest.fixture
async def runtime(fast_sqlite_url: str) -> AsyncIterator[Runtime]:
    rt = Runtime.open(make_settings(fast_sqlite_url), clock=FrozenClock(START))
    try:
        yield rt
    finally:
        await rt.close()


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[TestClient]:
    app = create_app(runtime)
    test_client = TestClient(TestServer(app, host="127.0.0.1"))
    await test_client.start_server()
    try:
        yield test_client
    finally:
        await test_client.close()


async def new_interview(
    runtime: Runtime,
    *,
    email: str = "anna@example.com",
    language: str = "en",
    status: str = "scheduled",
    expires_in: timedelta | None = timedelta(days=10),
) -> int:
    """An interview as the departures module leaves it before any invite went out."""
    now = runtime.clock.now()
    async with runtime.db.transaction() as session:
        employee = await runtime.service.upsert_employee(session, email=email, now=now)
        interview = runtime.service.new_interview(
            employee_id=employee.id, language=language, now=now, status=status
        )
        interview.expires_at = now + expires_in if expires_in else None
        session.add(interview)
        await session.flush()
        return interview.id


async def link_to(runtime: Runtime, interview_id: int) -> str:
    async with runtime.db.transaction() as session:
        interview = await session.get(Interview, interview_id)
        assert interview is not None
        return await links.issue(session, interview, runtime.clock.now())


def csrf_of(html: str) -> str:
    found = re.search(r'data-csrf="([0-9a-f]+)"', html) or re.search(
        r'name="csrf" value="([0-9a-f]+)"', html
    )
    assert found, "page has no CSRF token"
    return found.group(1)


def origin_of(client: TestClient) -> str:
    return f"http://127.0.0.1:{client.port}"


async def api_post(
    client: TestClient,
    token: str,
    csrf: str,
    *,
    text: str = "",
    choice: str | None = None,
    message_id: str = "m0000001",
    origin: str | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, object] | None = None,
) -> Any:
    body: dict[str, object] = {"id": message_id, "text": text, **(extra or {})}
    if choice is not None:
        body["choice"] = choice
    return await client.post(
        f"/i/{token}/messages",
        json=body,
        headers={
            "X-CSRF-Token": csrf,
            "Origin": origin or origin_of(client),
            **(headers or {}),
        },
    )
