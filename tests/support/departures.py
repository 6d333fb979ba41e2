"""Helpers for departure, webhook and tick tests: a recording chat platform, signed posts."""

from __future__ import annotations

import atexit
import base64
import json
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from adapters.base import Incoming, Opened, Report, Unreachable
from bot import migrate
from bot.app import METRICS, create_app
from bot.clock import FrozenClock
from bot.config import Settings
from bot.crypto import Cipher
from bot.db import Database
from bot.departure_events import sign
from bot.metrics import Metrics
from bot.models import Base, Departure, Interview
from bot.runtime import Runtime
from bot.turns import Outcome
from conversations import OutMessage
from tests.support import pg

SECRET = "whsec_" + base64.b64encode(b"departure-webhook-secret-0001").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"departure-webhook-secret-0002").decode()
WRONG_SECRET = "whsec_" + base64.b64encode(b"not-the-configured-secret-99").decode()


# ---------------------------------------------------------------------- fast empty databases


# Built once per test process (a session fixture imported into several modules would be
# built once per module), removed at exit.
_SHARED: dict[str, Any] = {}


def _sqlite_template() -> Path:
    if "sqlite" not in _SHARED:
        folder = Path(tempfile.mkdtemp(prefix="exitbot-template-"))
        atexit.register(shutil.rmtree, folder, True)
        template = folder / "exitbot.db"
        migrate.upgrade(Database(f"sqlite:///{template}"))
        with sqlite3.connect(template) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        _SHARED["sqlite"] = template
    path: Path = _SHARED["sqlite"]
    return path


def _postgres_database() -> str:
    if "postgres" not in _SHARED:
        url = pg.create_database("exitbot_dep")
        atexit.register(pg.drop_database, url)
        migrate.upgrade(Database(url))
        _SHARED["postgres"] = url
    url_: str = _SHARED["postgres"]
    return url_


def _empty(url: str) -> None:
    """Delete every row, children first (faster than TRUNCATE for a handful of rows)."""
    with psycopg.connect(pg._conninfo(url), autocommit=True) as conn, conn.transaction():
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(f'DELETE FROM "{table.name}"')


def _sqlite_copy(tmp_path: Path) -> str:
    path = tmp_path / "exitbot.db"
    shutil.copyfile(_sqlite_template(), path)
    return f"sqlite:///{path}"


@pytest.fixture(
    name="database_url",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def fast_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Like the shared `database_url` (an empty, migrated database on each backend), but
    fast: SQLite copies a migrated template file; PostgreSQL reuses one migrated database
    per test process, emptied before each test."""
    if request.param == "sqlite":
        return _sqlite_copy(tmp_path)
    if pg.admin_url() is None:
        pytest.skip(f"PostgreSQL tests need {pg.ENV} (.ci/run sets it)")
    url = _postgres_database()
    _empty(url)
    return url


@pytest.fixture(name="fast_sqlite_url")
def fast_sqlite_url_fixture(tmp_path: Path) -> str:
    """An empty, migrated SQLite database (for checks that are not about storage)."""
    return _sqlite_copy(tmp_path)


# ---------------------------------------------------------------------- a fake platform


@dataclass(frozen=True, slots=True)
class Sent:
    conversation_id: str
    messages: tuple[OutMessage, ...]
    key: str

    @property
    def text(self) -> str:
        return "\n".join(m.text for m in self.messages)


@dataclass
class RecordingChannel:
    """A test double of a chat platform (the `Channel` protocol): records what it would post."""

    name: str = "slack"
    unreachable: set[str] = field(default_factory=set)
    language: str | None = None
    timezone: str | None = None
    sent: list[Sent] = field(default_factory=list)
    opened: list[str] = field(default_factory=list)

    async def open_conversation(self, email: str) -> Opened:
        if email in self.unreachable:
            raise Unreachable("user_disabled")
        self.opened.append(email)
        return Opened(
            user_id=f"U-{email}",
            conversation_id=f"D-{email}",
            language=self.language,
            timezone=self.timezone,
        )

    async def send(self, conversation_id: str, messages: Sequence[OutMessage], *, key: str) -> None:
        self.sent.append(Sent(conversation_id, tuple(messages), key))

    async def post_report(self, target: str, report: Report) -> None:
        raise AssertionError("not used")

    def to(self, email: str) -> list[Sent]:
        return [s for s in self.sent if s.conversation_id == f"D-{email}"]


def settings_for(database_url: str, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "encryption_key": Cipher.new_key(),
        "webhook_secret": SECRET,
        "tick_seconds": 3600.0,
        "hr_admins": ("hr@example.com",),
    }
    values.update(changes)
    return Settings(**values)


def departure(
    type_: str = "departure.created",
    *,
    id_: str = "hr-4711",
    kind: str = "resignation",
    last_day: str = "2026-12-18",
    email: str = "anna@example.com",
    **employee: object,
) -> dict[str, object]:
    person: dict[str, object] = {"email": email, "name": "Anna de Vries", **employee}
    return {
        "type": type_,
        "departure": {"id": id_, "kind": kind, "last_working_day": last_day, "employee": person},
    }


def signed(
    body: bytes,
    moment: datetime,
    *,
    secret: str = SECRET,
    msg_id: str | None = None,
) -> dict[str, str]:
    headers = sign(secret, msg_id or f"msg_{uuid.uuid4().hex}", int(moment.timestamp()), body)
    headers["Content-Type"] = "application/json"
    return headers


class Harness:
    """A runtime on a frozen clock, its aiohttp app behind a test client, a fake platform."""

    def __init__(self, runtime: Runtime, client: TestClient, channel: RecordingChannel) -> None:
        self.runtime = runtime
        self.client = client
        self.channel = channel
        assert client.app is not None
        self.metrics: Metrics = client.app[METRICS]

    @property
    def clock(self) -> FrozenClock:
        clock = self.runtime.clock
        assert isinstance(clock, FrozenClock)
        return clock

    async def post(
        self,
        document: dict[str, object] | bytes,
        *,
        secret: str = SECRET,
        msg_id: str | None = None,
        at: datetime | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """Post a signed event; `at` is the webhook-timestamp (default: the clock's now)."""
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        headers = signed(body, at or self.clock.now(), secret=secret, msg_id=msg_id)
        response = await self.client.post("/webhooks/departures", data=body, headers=headers)
        return response.status, await response.json()

    async def says(self, email: str, text: str, key: str, choice: str | None = None) -> Outcome:
        """A Slack message from the chat user `email` finds on the recording platform
        (`U-<email>` in `D-<email>`), handled as a turn."""
        return await self.runtime.service.handle(
            Incoming(
                channel="slack",
                user_id=f"U-{email}",
                conversation_id=f"D-{email}",
                text=text,
                message_id=key,
                choice=choice,
            )
        )

    async def statuses_of(self, departure_id: str) -> list[str]:
        """The statuses of the interviews of one departure (HR's id), oldest first."""
        async with self.runtime.db.sessions() as session:
            rows = await session.scalars(
                select(Interview.status)
                .join(Departure, Departure.id == Interview.departure_id)
                .where(Departure.external_id == departure_id)
                .order_by(Interview.id)
            )
            return list(rows.all())

    async def count(self, model: type, *where: Any) -> int:
        async with self.runtime.db.sessions() as session:
            stmt: Any = select(func.count()).select_from(model)
            for condition in where:
                stmt = stmt.where(condition)
            return int(await session.scalar(stmt) or 0)

    async def one(self, model: type, *where: Any) -> Any:
        async with self.runtime.db.sessions() as session:
            stmt: Any = select(model)
            for condition in where:
                stmt = stmt.where(condition)
            return (await session.scalars(stmt)).one()


@asynccontextmanager
async def harness(
    database_url: str,
    start: datetime,
    *,
    channels: Sequence[RecordingChannel] | None = None,
    **settings: Any,
) -> AsyncIterator[Harness]:
    clock = FrozenClock(start)
    chans = list(channels) if channels is not None else [RecordingChannel()]
    runtime = Runtime.open(
        settings_for(database_url, **settings),
        clock=clock,
        channels={c.name: c for c in chans},
    )
    app = create_app(runtime)
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        yield Harness(runtime, client, chans[0] if chans else RecordingChannel("none"))
    finally:
        await client.close()
