"""An HR admin's Approve click, or their `start` command, at the same moment as a departure
webhook for the same person: both answer, and the person has one interview. Real requests
to one server (the signed webhook, the real Bolt app against the fake Slack API), on SQLite
(one writer: they take turns) and PostgreSQL, where a third connection holds a table lock
that makes the two transactions overlap exactly where they used to go wrong."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from sqlalchemy import select

from bot.models import Departure, Interview
from tests.slack.harness import ADMIN_ID, ANNA, ANNA_ID, SlackHarness
from tests.slack.test_hr_commands import command, departure_payload, status_lines
from tests.support import pg


@dataclass
class Held:
    """A table lock held by a connection of the test's own (PostgreSQL), or nothing."""

    conninfo: str | None

    async def waiting(self, count: int, seconds: float = 10.0) -> None:
        """Until `count` transactions of the application wait for a lock."""
        if self.conninfo is None:
            return
        deadline = time.monotonic() + seconds
        async with await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True) as conn:
            while True:
                cursor = await conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'"
                )
                row = await cursor.fetchone()
                if row is not None and row[0] >= count:
                    return
                assert time.monotonic() < deadline, f"{count} transactions never waited"
                await asyncio.sleep(0.01)


@asynccontextmanager
async def holding(database_url: str, lock: str) -> AsyncIterator[Held]:
    """`LOCK TABLE <lock>` in a transaction of its own until the block ends (PostgreSQL)."""
    if not database_url.startswith("postgresql"):
        yield Held(None)
        return
    conninfo = pg._conninfo(database_url)
    async with await psycopg.AsyncConnection.connect(conninfo) as conn:
        await conn.execute(f"LOCK TABLE {lock}")
        try:
            yield Held(conninfo)
        finally:
            await conn.rollback()


async def interviews(slack: SlackHarness) -> list[tuple[str, str]]:
    """(departure id, status) of every interview, oldest first."""
    async with slack.runtime.db.sessions() as session:
        rows = await session.execute(
            select(Departure.external_id, Interview.status)
            .join(Departure, Departure.id == Interview.departure_id)
            .order_by(Interview.id)
        )
        return [(str(d), str(s)) for d, s in rows.all()]


@pytest.fixture
async def waiting_for_approval(make_slack: Any, database_url: str) -> SlackHarness:
    """Anna's contract end (hr-1) waits for approval; the admin has the request in chat."""
    slack: SlackHarness = await make_slack(database_url=database_url, timezone="Europe/Amsterdam")
    created = departure_payload("hr-1", "contract_end", ANNA, "Anna")
    assert (await slack.post_webhook(created))[1]["status"] == "awaiting_approval"
    assert (await slack.tick())["approval requests sent"] == 1
    return slack


async def approve(slack: SlackHarness) -> str:
    """The admin clicks Approve on the request; what the request says under it after."""
    dm = slack.fake.dm_channel_id(ADMIN_ID)
    [request] = slack.messages(dm)
    updates = len(slack.fake.calls_to("chat.update"))
    assert await slack.click(ADMIN_ID, request, "approve#1:hr-1", channel=dm) == 200
    await slack.until(lambda: len(slack.fake.calls_to("chat.update")) > updates, "the answer", 15)
    [answered] = slack.messages(dm)
    text: str = answered["blocks"][-1]["elements"][0]["text"]
    return text


async def start(slack: SlackHarness) -> str:
    """The admin types `start @anna 2026-12-18`; the reply."""
    before = len(slack.responses())
    assert await slack.command(ADMIN_ID, f"start <@{ANNA_ID}> 2026-12-18") == 200
    await slack.until(lambda: len(slack.responses()) > before, "the command's reply", 15)
    text: str = slack.responses()[-1]["text"]
    return text


async def together(held: Held, first: Awaitable[Any], second: Awaitable[Any]) -> tuple[Any, Any]:
    """`first` until it waits for a lock (PostgreSQL), then `second` until it waits too;
    the lock is let go when the caller's `holding` block ends: both are returned then."""
    one = asyncio.ensure_future(first)
    await held.waiting(1)
    two = asyncio.ensure_future(second)
    await held.waiting(2)
    return one, two


NOT_INVITED_AGAIN = (
    "✔ Approve: Approved, but not invited: this person has already been invited to an exit "
    "interview. How that went stays private"
)


@pytest.mark.parametrize("first", ["webhook", "approval"])
async def test_an_approval_and_a_webhook_for_the_same_person_make_one_interview(
    waiting_for_approval: SlackHarness, database_url: str, first: str
) -> None:
    """While Anna's contract end waits, the HR system announces her resignation under another
    id, the moment an HR admin approves the contract end. The approval did not lock Anna:
    with the webhook first, the approval looked for her other interview before the
    webhook's was committed, and both scheduled one: two invites. (The other way round, the
    foreign key of the approval's new interview happened to make the webhook wait.) Now the
    approval locks her after the departure, as the webhook does: whichever comes second
    waits for the first and sees its interview; both answers say what was stored."""
    slack = waiting_for_approval
    resigned = departure_payload("hr-2", "resignation", ANNA, "Anna")
    # held until both have stored their interview, before either stores its invite job
    async with holding(database_url, "jobs IN SHARE MODE") as held:
        if first == "webhook":
            posted, approved = await together(held, slack.post_webhook(resigned), approve(slack))
        else:
            approved, posted = await together(held, approve(slack), slack.post_webhook(resigned))
    status, answer = await posted
    note = await approved
    assert status == 202
    # each answer says what was stored, and only one of the two was invited
    if answer["status"] == "scheduled":
        invited = "hr-2"
        assert note.startswith(NOT_INVITED_AGAIN)
    else:
        invited = "hr-1"
        assert (answer["status"], answer["reason_code"]) == ("not_invited", "interview_elsewhere")
        assert note.startswith("✔ Approve: Approved: the invite for hr-1 goes out ")
    assert await interviews(slack) == [(invited, "scheduled")]
    if held.conninfo is not None:  # PostgreSQL: the one that came first, as the lock made it
        assert invited == ("hr-2" if first == "webhook" else "hr-1")
    assert status_lines(await command(slack, ADMIN_ID, "status"))[:2] == [
        "Awaiting approval: 0",
        "Invite to be sent: 1",
    ]
    assert (await slack.tick(slack.clock.now() + timedelta(days=14)))["invites sent"] == 1
    assert len(slack.messages(slack.fake.dm_channel_id(ANNA_ID))) == 1


@pytest.mark.parametrize("other", ["approval", "webhook"])
async def test_an_admins_start_and_an_event_for_that_departure_both_answer(
    waiting_for_approval: SlackHarness, database_url: str, other: str
) -> None:
    """An HR admin starts Anna's interview by hand while the same departure is approved, or
    updated by the HR system. `start` locked Anna, then her departure; the webhook locks
    the departure, then Anna, and so does the approval now (before, the foreign key of the
    interview it stores took a share of Anna's row): on PostgreSQL one of the two was
    aborted as a deadlock (the admin read that something went wrong, or the HR system got a
    503). Now `start` locks in that order too: both answer, and Anna has one interview."""
    slack = waiting_for_approval
    updated = {
        **departure_payload("hr-1", "contract_end", ANNA, "Anna"),
        "type": "departure.updated",
    }
    # held until `start` holds what it locks first and the other what it locks first
    async with holding(database_url, "interviews IN ACCESS EXCLUSIVE MODE") as held:
        started, decided = await together(
            held,
            start(slack),
            approve(slack) if other == "approval" else slack.post_webhook(updated),
        )
    reply = await started
    outcome = await decided
    if other == "approval":
        assert outcome.startswith(
            (
                "✔ Approve: Approved: the invite for hr-1 goes out ",
                "✔ Approve: Departure hr-1 is not awaiting approval",
            )
        )
    else:
        assert outcome[0] == 202 and outcome[1]["status"] in ("awaiting_approval", "scheduled")
    assert reply.startswith("Scheduled: the invite goes out ")
    assert await interviews(slack) == [("hr-1", "scheduled")]
    assert status_lines(await command(slack, ADMIN_ID, "status"))[:2] == [
        "Awaiting approval: 0",
        "Invite to be sent: 1",
    ]
