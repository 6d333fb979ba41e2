"""Helpers for departure, webhook and tick tests: a recording chat platform, signed posts."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from adapters.base import Opened, Report, Unreachable
from bot.app import METRICS, create_app
from bot.clock import FrozenClock
from bot.config import Settings
from bot.crypto import Cipher
from bot.departure_events import sign
from bot.metrics import Metrics
from bot.runtime import Runtime
from conversations import OutMessage

SECRET = "whsec_" + base64.b64encode(b"departure-webhook-secret-0001").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"departure-webhook-secret-0002").decode()
WRONG_SECRET = "whsec_" + base64.b64encode(b"not-the-configured-secret-99").decode()


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
        self.metrics: Metrics = client.server.app[METRICS]

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

    async def count(self, model: type, *where: Any) -> int:
        async with self.runtime.db.sessions() as session:
            stmt = select(func.count()).select_from(model)
            for condition in where:
                stmt = stmt.where(condition)
            return int(await session.scalar(stmt) or 0)

    async def one(self, model: type, *where: Any) -> Any:
        async with self.runtime.db.sessions() as session:
            stmt = select(model)
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
