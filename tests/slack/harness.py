"""Slack over real HTTP: `bot.app.create_app(runtime)` with the real Bolt app on an aiohttp
TestServer (127.0.0.1), every Web API call going to a FakeSlackAPI, requests signed like
Slack signs them."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from adapters.slack_pacing import Limits, Pacer
from bot.app import create_app
from bot.clock import FrozenClock
from bot.config import Settings
from bot.crypto import Cipher
from bot.departure_events import sign
from bot.jobs import TickReport
from bot.metrics import Metrics
from bot.models import InboundMessage, Interview
from bot.runtime import Runtime
from bot.slack_plugin import SLACK, SlackApp
from bot.tick import run_tick
from tests.fakes import FakeSlackAPI, dm_event, signed_headers

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # a Tuesday
SIGNING_SECRET = "test-signing-secret"
TOKEN = "xoxb-test-token"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"slack-tests-webhook-secret-01").decode()
FORM = "application/x-www-form-urlencoded"

ADMIN, ADMIN_ID = "hr@example.com", "UHR0001"
ANNA, ANNA_ID = "anna@example.com", "U1001"
HR_CHANNEL = "CHR0001"


def settings_for(database_url: str, fake: FakeSlackAPI, **changes: Any) -> Settings:
    base = Settings(
        database_url=database_url,
        encryption_key=Cipher.new_key(),
        slack_bot_token=TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake.base_url,
        webhook_secret=WEBHOOK_SECRET,
        hr_admins=(ADMIN,),
        hr_channel=f"slack:{HR_CHANNEL}",
        tick_seconds=3600.0,  # the tests tick by hand
    )
    return base.with_(**changes)


@dataclass
class SlackHarness:
    runtime: Runtime
    fake: FakeSlackAPI
    server: TestServer
    clock: FrozenClock
    handled: int = 0  # DMs / clicks the listeners finished (successfully or not)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def slack(self) -> SlackApp:
        return self.server.app[SLACK]

    @property
    def url(self) -> str:
        return str(self.server.make_url("/slack/events"))

    # ------------------------------------------------------------------ requests

    async def post(
        self,
        body: str,
        *,
        content_type: str = "application/json",
        secret: str = SIGNING_SECRET,
        timestamp: int | None = None,
        retry: int | None = None,
        sign_as: str | None = None,
    ) -> tuple[int, str]:
        """POST like Slack; `sign_as` signs another body than the one sent (tampering)."""
        signed = body if sign_as is None else sign_as
        headers = signed_headers(secret, signed, timestamp=timestamp, content_type=content_type)
        if retry is not None:
            headers["X-Slack-Retry-Num"] = str(retry)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.url, data=body.encode(), headers=headers) as response,
        ):
            return response.status, await response.text()

    def event(self, user: str, text: str, channel: str | None = None, **extra: Any) -> str:
        """A signed-ready DM envelope (JSON) with a fresh event id."""
        event_id = f"Ev{next(self._ids):06d}{uuid.uuid4().hex[:4].upper()}"
        channel = channel or self.fake.dm_channel_id(user)
        return json.dumps(dm_event(user, text, channel, event_id, f"{time.time():.6f}", **extra))

    async def dm(self, user: str, text: str, *, wait: bool = True) -> int:
        """The user writes to the bot; waits until the listener has finished with it."""
        target = self.handled + 1
        status, _ = await self.post(self.event(user, text))
        if wait and status == 200:
            await self.until(lambda: self.handled >= target, f"DM {text!r} handled")
        return status

    async def click(
        self,
        user: str,
        message: dict[str, Any],
        value: str,
        *,
        channel: str | None = None,
        ephemeral: bool = False,
    ) -> int:
        """Click the button with `value` on a message the bot posted, as Slack sends it
        (for an ephemeral message Slack sends no copy of the message)."""
        channel = channel or self.fake.dm_channel_id(user)
        block, button = find_button(message, value)
        body = self.fake.block_action_payload(
            user,
            channel,
            message.get("ts") or "1700000000.000001",
            button["action_id"],
            value,
            block_id=block["block_id"],
            message=message,
        )
        payload = json.loads(urllib.parse.unquote(body.removeprefix("payload=")))
        payload["actions"][0]["text"] = button["text"]
        if ephemeral:
            payload["container"]["is_ephemeral"] = True
            del payload["message"]
        body = "payload=" + urllib.parse.quote(json.dumps(payload))
        status, _ = await self.post(body, content_type=FORM)
        return status

    async def answer_by_click(self, user: str, message: dict[str, Any], value: str) -> None:
        """Click, then wait until the answer was handled and the message updated."""
        handled, updates = self.handled, len(self.fake.calls_to("chat.update"))
        assert await self.click(user, message, value) == 200
        await self.until(lambda: self.handled > handled, "click handled")
        await self.until(lambda: len(self.fake.calls_to("chat.update")) > updates, "update")

    async def command(self, user: str, text: str) -> int:
        body = self.fake.slash_command_body(user, "/exitbot", text, channel_id="D0COMMAND")
        status, _ = await self.post(body, content_type=FORM)
        return status

    async def post_webhook(self, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        body = json.dumps(payload).encode()
        stamp = int(self.clock.now().timestamp())
        headers = sign(WEBHOOK_SECRET, f"msg_{uuid.uuid4().hex}", stamp, body)
        headers["Content-Type"] = "application/json"
        url = str(self.server.make_url("/webhooks/departures"))
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, data=body, headers=headers) as response,
        ):
            return response.status, await response.json()

    async def tick(self, at: datetime | None = None) -> TickReport:
        if at is not None:
            self.clock.set(at)
        return await run_tick(self.runtime)

    # ------------------------------------------------------------------ what Slack saw

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Messages in a channel as Slack holds them now (updates applied), oldest first."""
        return list(self.fake.messages[channel].values())

    def responses(self) -> list[dict[str, Any]]:
        return [c.args for c in self.fake.calls_to("response_url")]

    async def until(self, predicate: Any, what: str, seconds: float = 5.0) -> None:
        deadline = time.monotonic() + seconds
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.005)

    async def wait_messages(self, channel: str, count: int) -> list[dict[str, Any]]:
        await self.until(lambda: len(self.messages(channel)) >= count, f"{count} in {channel}")
        return self.messages(channel)

    async def interview(self) -> Interview:
        async with self.runtime.db.sessions() as session:
            found = await session.scalar(select(Interview).order_by(Interview.id.desc()).limit(1))
        assert found is not None
        return found

    async def inbox(self) -> list[InboundMessage]:
        await self.runtime.service.flush()  # "reply sent" marks ride with the next batch
        async with self.runtime.db.sessions() as session:
            return list((await session.scalars(select(InboundMessage))).all())


def buttons(message: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [
        (block, element)
        for block in message.get("blocks") or []
        if block.get("type") == "actions"
        for element in block["elements"]
    ]


def find_button(message: dict[str, Any], value: str) -> tuple[dict[str, Any], dict[str, Any]]:
    for block, element in buttons(message):
        if element["value"] == value:
            return block, element
    raise AssertionError(f"no button {value!r} in {[e['value'] for _, e in buttons(message)]}")


async def open_harness(fake: FakeSlackAPI, settings: Settings) -> SlackHarness:
    clock = FrozenClock(START)
    runtime = Runtime.open(settings, clock=clock)
    app = create_app(runtime, metrics_=Metrics())
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    harness = SlackHarness(runtime, fake, server, clock)
    slack = app[SLACK]
    slack.channel.pacer = Pacer(Limits.unlimited())  # pacing has its own tests
    store = slack.store
    original = store.record

    async def counting(incoming: Any) -> Any:
        reply = await original(incoming)
        if reply is None:
            return None  # a redelivery: nothing to handle

        async def counted() -> None:
            try:
                await reply.send()
            finally:
                harness.handled += 1

        return replace(reply, send=counted)

    store.record = counting  # type: ignore[method-assign]
    return harness
