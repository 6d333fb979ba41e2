"""Teams over real HTTP: `bot.app.create_app(runtime)` (with the real CloudAdapter in
anonymous mode) on an aiohttp TestServer, every activity's serviceUrl pointing at a
FakeBotConnector. Shared by tests/teams and the cross-channel contract suite."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from adapters.teams import TeamsChannel
from adapters.teams_cards import CHOICE_KEY, CONTENT_TYPE
from bot.app import create_app
from bot.clock import FrozenClock
from bot.config import Settings
from bot.crypto import Cipher
from bot.departure_events import sign
from bot.metrics import Metrics
from bot.runtime import Runtime
from bot.teams_plugin import TEAMS
from tests.fakes import ConnectorCall, FakeBotConnector

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # a Tuesday
WEBHOOK_SECRET = "whsec_" + "dGVzdHNlY3JldHRlc3RzZWNyZXR0ZXN0c2VjcmV0MTI="
ADMIN = "hr@example.com"
HR_CHANNEL = "19:hrchannel@thread.tacv2"


@dataclass
class BotMessage:
    """What one connector call showed the user: text (or card text) and button values."""

    call: ConnectorCall
    text: str
    choices: list[str]
    card: dict[str, Any] | None = None


def card_of(body: dict[str, Any]) -> dict[str, Any] | None:
    for attachment in body.get("attachments") or []:
        if attachment.get("contentType") == CONTENT_TYPE:
            content: dict[str, Any] = attachment["content"]
            return content
    return None


def _walk(elements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for element in elements:
        found.append(element)
        found += _walk(element.get("actions") or [])
    return found


def read_message(call: ConnectorCall) -> BotMessage:
    body = call.body if isinstance(call.body, dict) else {}
    body = body.get("activity", body)  # create-conversation carries its first activity
    card = card_of(body)
    if card is None:
        return BotMessage(call, str(body.get("text") or ""), [])
    elements = _walk(card.get("body", [])) + _walk(card.get("actions", []))
    text = "\n".join(e["text"] for e in elements if e.get("type") == "TextBlock")
    choices = [
        e["data"][CHOICE_KEY]
        for e in elements
        if e.get("type") == "Action.Submit" and CHOICE_KEY in (e.get("data") or {})
    ]
    for e in elements:
        if e.get("type") == "Input.ChoiceSet":
            choices += [c["value"] for c in e["choices"]]
    return BotMessage(call, text, choices, card)


@dataclass
class TeamsHarness:
    runtime: Runtime
    connector: FakeBotConnector
    server: TestServer
    clock: FrozenClock
    delays: list[float] = field(default_factory=list)
    seen: int = 0  # connector activities already returned by `new_messages`

    @property
    def url(self) -> str:
        return str(self.server.make_url("/api/messages"))

    @property
    def channel(self) -> TeamsChannel:
        return self.server.app[TEAMS]

    async def post(self, activity: dict[str, Any], headers: dict[str, str] | None = None) -> int:
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.url, json=activity, headers=headers) as response,
        ):
            await response.read()
            return response.status

    async def post_webhook(self, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        body = json.dumps(payload).encode()
        stamp = int(self.clock.now().timestamp())
        headers = sign(WEBHOOK_SECRET, f"msg_{uuid.uuid4().hex}", stamp, body)
        headers["Content-Type"] = "application/json"
        url = str(self.server.make_url("/webhooks/departures"))
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, data=body, headers=headers) as r,
        ):
            return r.status, await r.json()

    def new_messages(self) -> list[BotMessage]:
        """Messages posted (not updated) since the last call."""
        calls = self.connector.activities[self.seen :]
        self.seen = len(self.connector.activities)
        return [read_message(c) for c in calls if c.verb == "POST" and c.status < 300]

    def updates(self) -> list[ConnectorCall]:
        return [c for c in self.connector.activities if c.verb == "PUT"]

    def install(
        self, user_id: str = "29:user1", email: str = "anna@example.com", **kw: Any
    ) -> dict[str, Any]:
        """Register the member at the fake and return their install activity."""
        name = kw.pop("name", "Anna de Vries")
        self.connector.add_member(user_id, email, name)
        return self.connector.installation_update_activity(user_id=user_id, user_name=name, **kw)


def settings_for(database_url: str, **changes: Any) -> Settings:
    base = Settings(
        database_url=database_url,
        encryption_key=Cipher.new_key(),
        teams_enabled=True,
        webhook_secret=WEBHOOK_SECRET,
        hr_admins=(ADMIN,),
        hr_channel=f"teams:{HR_CHANNEL}",
        tick_seconds=3600.0,
    )
    return base.with_(**changes)


async def open_harness(connector: FakeBotConnector, settings: Settings) -> TeamsHarness:
    clock = FrozenClock(START)
    runtime = Runtime.open(settings, clock=clock)
    app = create_app(runtime, metrics_=Metrics())
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    harness = TeamsHarness(runtime, connector, server, clock)

    async def record(delay: float) -> None:
        harness.delays.append(delay)

    if TEAMS in app:
        app[TEAMS].sleep = record
    return harness
