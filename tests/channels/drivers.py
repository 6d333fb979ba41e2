"""One conversation, four channels: drivers that type and click like an employee would.

Each driver gets Anna to the first question (`begin`), then `say(text)` / `click(value)`
return the texts of the bot messages that followed, as the employee would read them. The
scenarios in test_conversation_contract.py only use this interface, so the terminal, Teams,
Slack and the web chat cannot drift apart.
"""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import func, select

import conversations as conv
from adapters.base import Incoming
from adapters.console import ConsoleChannel
from bot import departures
from bot.clock import FrozenClock
from bot.config import Settings
from bot.crypto import Cipher
from bot.models import AnswerRow, Interview
from bot.runtime import Runtime
from bot.tick import run_tick

EMAIL = "anna@example.com"
LAST_DAY = date(2026, 12, 18)
START = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # the web chat's tests' moment too


class Driver(Protocol):
    name: str
    runtime: Runtime

    async def begin(self) -> list[str]: ...

    async def say(self, text: str) -> list[str]: ...

    async def click(self, value: str) -> list[str]: ...


async def interview_status(runtime: Runtime) -> str | None:
    async with runtime.db.sessions() as session:
        return await session.scalar(select(Interview.status).order_by(Interview.id.desc()))


async def answers_stored(runtime: Runtime) -> int:
    async with runtime.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(AnswerRow)) or 0)


async def invite_anna(runtime: Runtime) -> None:
    """HR starts Anna's interview; the tick at the invite moment sends the invite."""
    outcome = await departures.invite_by_hand(
        runtime, EMAIL, LAST_DAY, kind="resignation", language="en"
    )
    assert outcome.status == "scheduled" and outcome.invite_at is not None
    if isinstance(runtime.clock, FrozenClock):
        runtime.clock.set(outcome.invite_at)
    report = await run_tick(runtime)
    assert report["invites sent"] == 1


async def invite_in_chat(runtime: Runtime) -> int:
    """An interview invited (in Slack or Teams, say) that has not been answered yet: what
    `exitbot chat --as` then shows is the invite."""
    now = runtime.clock.now()
    async with runtime.db.transaction() as session:
        employee = await runtime.service.upsert_employee(session, email=EMAIL, now=now)
        interview = runtime.service.new_interview(
            employee_id=employee.id, language="en", now=now, status="scheduled"
        )
        interview.expires_at = now + timedelta(days=10)
        session.add(interview)
        await session.flush()
        turn = conv.invite(runtime.questionnaire, "en")
        await runtime.service.store_turn(
            session, interview, turn, message_key=f"invite:{interview.id}", now=now
        )
        interview.invited_at = now
        return interview.id


# ---------------------------------------------------------------------- terminal


class TerminalDriver:
    """`exitbot chat --json`'s path: the console channel and `service.begin_chat/handle`."""

    name = "terminal"

    def __init__(self, database_url: str) -> None:
        self.out = io.StringIO()
        self.console = ConsoleChannel(self.out, as_json=True)
        settings = Settings(database_url=database_url, encryption_key=Cipher.new_key())
        self.runtime = Runtime.open(
            settings, channels={"console": self.console}, clock=FrozenClock(START)
        )
        self.read = 0

    async def close(self) -> None:
        await self.runtime.close()

    def _new(self) -> list[str]:
        lines = self.out.getvalue().splitlines()[self.read :]
        self.read += len(lines)
        return [json.loads(line)["text"] for line in lines]

    async def begin(self) -> list[str]:
        outcome = await self.runtime.service.begin_chat(
            channel="console", email=EMAIL, conversation_id=EMAIL, language="en"
        )
        await self.console.send(EMAIL, outcome.messages, key="begin")
        return self._new()

    async def _handle(self, text: str, choice: str | None = None) -> list[str]:
        incoming = Incoming("console", EMAIL, EMAIL, text, uuid.uuid4().hex, choice=choice)
        await self.runtime.service.handle(incoming)
        return self._new()

    async def say(self, text: str) -> list[str]:
        return await self._handle(text)

    async def click(self, value: str) -> list[str]:
        return await self._handle("", value)  # what a button (the web chat's) sends


# ---------------------------------------------------------------------- Teams


class TeamsDriver:
    """Activities POSTed to /api/messages (real CloudAdapter); replies at the fake connector."""

    name = "teams"

    def __init__(self, harness: Any) -> None:
        from tests.teams.harness import BotMessage

        self.harness = harness
        self.runtime: Runtime = harness.runtime
        self.posted: list[BotMessage] = []
        self.clicked_now = ""  # the last clicked card, as updated (JSON)

    def _new(self) -> list[str]:
        fresh = self.harness.new_messages()
        self.posted += fresh
        return [m.text for m in fresh]

    async def begin(self) -> list[str]:
        assert await self.harness.post(self.harness.install()) == 201
        await invite_anna(self.runtime)
        return self._new() + await self.say("start")

    async def say(self, text: str) -> list[str]:
        activity = self.harness.connector.message_activity(text, locale="en-GB")
        assert await self.harness.post(activity) == 201
        return self._new()

    async def click(self, value: str) -> list[str]:
        return await self.click_on("", value)

    async def click_on(self, fragment: str, value: str) -> list[str]:
        """Click `value` on the latest card whose text holds `fragment` (old ones stay)."""
        card = next(m for m in reversed(self.posted) if fragment in m.text and value in m.choices)
        assert card.card is not None
        actions = [a for a in card.card.get("actions", []) if a["type"] == "Action.Submit"]
        for block in card.card["body"]:
            actions += [a for a in block.get("actions", []) if a["type"] == "Action.Submit"]
        chosen = next((a for a in actions if a["data"].get("exitbot_choice") == value), actions[-1])
        data = {**chosen["data"], "exitbot_choice": value}  # Input.ChoiceSet adds the value
        activity = self.harness.connector.message_activity(None, value=data, locale="en-GB")
        activity["replyToId"] = card.call.response["id"]
        updates = len(self.harness.updates())
        assert await self.harness.post(activity) == 201
        assert len(self.harness.updates()) == updates + 1  # the card now shows the answer
        self.clicked_now = json.dumps(self.harness.updates()[-1].body, ensure_ascii=False)
        return self._new()


# ---------------------------------------------------------------------- Slack


class SlackDriver:
    """Signed Events API requests / block actions through the Bolt app; the fake Web API."""

    name = "slack"

    def __init__(self, harness: Any) -> None:
        from tests.slack.harness import ANNA_ID

        self.harness = harness
        self.runtime: Runtime = harness.runtime
        self.user = ANNA_ID
        self.dm = harness.fake.dm_channel_id(ANNA_ID)
        self.read = 0
        self.clicked_now = ""  # the last clicked message, as updated (JSON)

    def _new(self) -> list[str]:
        messages = self.harness.messages(self.dm)[self.read :]
        self.read += len(messages)
        return [str(m.get("text") or "") for m in messages]

    async def begin(self) -> list[str]:
        await invite_anna(self.runtime)
        return self._new() + await self.say("start")

    async def say(self, text: str) -> list[str]:
        assert await self.harness.dm(self.user, text) == 200
        return self._new()

    async def click(self, value: str) -> list[str]:
        return await self.click_on("", value)

    async def click_on(self, fragment: str, value: str) -> list[str]:
        """Click `value` on the latest message whose text holds `fragment` (old ones stay)."""
        from tests.slack.harness import buttons

        messages = self.harness.messages(self.dm)
        message = next(
            m
            for m in reversed(messages)
            if fragment in str(m.get("text")) and value in [b["value"] for _, b in buttons(m)]
        )
        await self.harness.answer_by_click(self.user, message, value)
        update = self.harness.fake.calls_to("chat.update")[-1].args  # what it shows now
        self.clicked_now = json.dumps(update, ensure_ascii=False)
        return self._new()


# ---------------------------------------------------------------------- web chat


class WebDriver:
    """The private interview page's JSON API (what chat.js sends) over HTTP: a fallback link
    opened on the invite. A click says whose buttons it was, as the page got them with its
    message: an old message's click is what a second tab still showing it would send."""

    name = "web"

    def __init__(self, runtime: Runtime, client: Any) -> None:
        self.runtime = runtime
        self.client = client
        self.token = ""
        self.csrf = ""
        self.posted: list[dict[str, Any]] = []  # the bot's messages, as the API gave them
        self.clicked_now = ""  # unused: the page shows a click as the employee's own message

    async def open_invite(self) -> None:
        """Anna opens her link: the page shows the invite."""
        from tests.web.conftest import csrf_of, link_to, new_interview

        self.token = await link_to(self.runtime, await new_interview(self.runtime, email=EMAIL))
        page = await self.client.get(f"/i/{self.token}")
        assert page.status == 200
        html = await page.text()
        assert 'value="start"' in html and "msg-intro" in html  # the invite, with its Start
        self.csrf = csrf_of(html)

    async def begin(self) -> list[str]:
        await self.open_invite()
        return await self.say("start")

    async def _post(self, body: dict[str, Any]) -> list[str]:
        from tests.web.conftest import origin_of

        response = await self.client.post(
            f"/i/{self.token}/messages",
            json={"id": uuid.uuid4().hex, **body},
            headers={"X-CSRF-Token": self.csrf, "Origin": origin_of(self.client)},
        )
        assert response.status == 200, await response.text()
        messages = (await response.json())["messages"]
        self.posted += messages
        return [str(m["text"]) for m in messages]

    async def say(self, text: str) -> list[str]:
        return await self._post({"text": text})

    async def click(self, value: str) -> list[str]:
        return await self.click_on("", value)

    async def click_on(self, fragment: str, value: str) -> list[str]:
        """Click `value` on the latest message whose text holds `fragment` (a tab still
        showing it)."""
        message = next(
            m
            for m in reversed(self.posted)
            if fragment in m["text"] and value in [c["value"] for c in m["choices"]]
        )
        label = next(c["label"] for c in message["choices"] if c["value"] == value)
        origin = {"choice_on": message["kind"]}
        if message.get("question_id"):
            origin["choice_for"] = message["question_id"]
        return await self._post({"text": label, "choice": value, **origin})
