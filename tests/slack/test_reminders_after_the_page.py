"""Reminders for someone invited in Slack who went on on their web page (`bot.reminders`):
a web page cannot be messaged, so the reminder goes to the Slack DM, once, however many
replicas tick; Slack then shows what is asked now, and what is typed there answers it.

Through the real Bolt app against the fake Slack Web API and the page over HTTP, on SQLite
and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from sqlalchemy import select

from bot.metrics import Metrics
from bot.models import Job, SentMessage
from bot.tick import run_tick
from tests.slack.harness import ANNA_ID, SlackHarness, buttons
from tests.slack.test_interview import DETAILED, invite
from tests.slack.test_two_places import (
    MANAGER,
    OTHER,
    answers,
    page_for,
    slack_keys,
    started_in_slack,
)

ROLE = "could have been better in your role"
PICK_UP = "pick up where we left off"


async def _due(slack: SlackHarness, kind: str) -> datetime:
    async with slack.runtime.db.sessions() as session:
        job = await session.scalar(select(Job).where(Job.kind == kind))
    assert job is not None
    return job.due_at


async def _reminders_at(at: datetime, *replicas: SlackHarness) -> int:
    """Every replica ticks at `at`, all at once; the reminders they sent together."""
    reports = await asyncio.gather(*(replica.tick(at) for replica in replicas))
    return sum(report["reminders sent"] for report in reports)


async def test_quiet_after_answering_on_the_page_is_reminded_in_slack_once(
    make_slack: Any, database_url: str
) -> None:
    slack = await make_slack(database_url=database_url)
    key = slack.runtime.settings.encryption_key
    replica = await make_slack(database_url=database_url, encryption_key=key)  # a 2nd server
    dm = await started_in_slack(slack)
    page = await page_for(slack)
    await page.open()
    reply = await page.say(DETAILED)  # valued_most, answered on the page; then silence
    assert reply["messages"][-1]["question_id"] == "role_improvement"
    assert (await slack.interview()).channel == "web"
    posted = len(slack.messages(dm))

    due = await _due(slack, "remind_idle")  # a business day after the last answer
    assert await _reminders_at(due, slack, replica) == 1
    reminder, question = slack.messages(dm)[posted:]
    assert f"{PICK_UP} on the web page, or carry on here in Slack" in reminder["text"]
    assert ROLE in question["text"]  # what the page asks now, not Slack's older question
    later = due.replace(day=due.day + 1)
    assert await _reminders_at(later, slack, replica) == 0
    assert sum(PICK_UP in str(m["text"]) for m in slack.messages(dm)) == 1

    # Slack shows what is asked now: what is typed there is its answer
    await slack.dm(ANNA_ID, OTHER)
    assert slack_keys(await answers(slack))[-1] == "role_improvement"
    assert MANAGER in slack.messages(dm)[-1]["text"]
    assert not any("went on" in str(m["text"]) for m in slack.messages(dm)[posted:])
    interview = await slack.interview()
    assert (interview.channel, interview.status) == ("slack", "in_progress")


async def test_later_on_the_page_gets_the_invite_reminder_in_slack(
    make_slack: Any, database_url: str
) -> None:
    slack = await make_slack(database_url=database_url)
    dm = slack.fake.dm_channel_id(ANNA_ID)
    await invite(slack)
    page = await page_for(slack)
    await page.open()
    await page.say("later")  # on the page, not started
    interview = await slack.interview()
    assert (interview.channel, interview.status) == ("web", "invited")
    posted = len(slack.messages(dm))

    assert await _reminders_at(await _due(slack, "remind_invite"), slack) == 1
    (reminder,) = slack.messages(dm)[posted:]
    assert "gentle reminder" in reminder["text"]
    assert [b["value"] for _, b in buttons(reminder)] == ["start", "later", "decline"]

    await slack.dm(ANNA_ID, "start")  # typed in Slack, which shows the invite again
    assert "main reason" in slack.messages(dm)[-1]["text"]
    assert (await slack.interview()).status == "in_progress"


def _reminders_counted(metrics: Metrics) -> float:
    return sum(
        metrics.registry.get_sample_value("exitbot_reminders_sent_total", {"kind": kind}) or 0.0
        for kind in ("invite", "idle")
    )


async def test_an_interview_held_only_on_the_page_is_not_counted_as_reminded(
    make_slack: Any, database_url: str
) -> None:
    """Anna's last day had passed when HR announced it: the fallback made her interview on a
    web page, with no chat invite (so no DM of hers is known). She declined it there, then
    started it after all and went quiet. Her reminder has nowhere to go, a page is never
    messaged, yet the tick counted it in "reminders sent" and `exitbot_reminders_sent`. It
    counts what reached someone; nothing is marked sent, nothing reaches Slack."""
    slack = await make_slack(database_url=database_url)
    late = {
        "type": "departure.created",
        "departure": {
            "id": "hr-5",
            "kind": "resignation",
            "last_working_day": "2026-11-30",  # yesterday
            "employee": {"email": "anna@example.com", "name": "Anna de Vries"},
        },
    }
    assert (await slack.post_webhook(late))[1]["reason_code"] == "web_link"
    assert (await slack.tick())["web links for HR"] == 1
    page = await page_for(slack)
    await page.open()
    await page.say(choice="decline")
    assert (await slack.interview()).status == "declined"
    await page.say(choice="start")
    await page.say("Career growth")
    interview = await slack.interview()
    assert (interview.status, interview.channel) == ("in_progress", "web")

    metrics = Metrics()
    await slack.tick()  # restarted: the reminder waits until she has been idle a business day
    due = await _due(slack, "remind_idle")
    assert due > slack.clock.now()
    report = await run_tick(slack.runtime, due, metrics=metrics)
    assert report["reminders sent"] == 0
    assert _reminders_counted(metrics) == 0
    async with slack.runtime.db.sessions() as session:
        job = await session.scalar(select(Job).where(Job.kind == "remind_idle"))
        marked = await session.scalar(
            select(SentMessage.key).where(SentMessage.key == f"remind_idle:{interview.id}")
        )
    assert job is not None and job.status == "done"  # not tried again and again
    assert marked is None
    assert not slack.messages(slack.fake.dm_channel_id(ANNA_ID))

    # Nor the goodbye when the HR system cancels her departure: the page says it is closed
    assert (await slack.post_webhook({**late, "type": "departure.cancelled"}))[0] == 202
    report = await slack.tick()
    assert (await slack.interview()).status == "cancelled"
    assert report["cancellation notices sent"] == 0
    assert not slack.messages(slack.fake.dm_channel_id(ANNA_ID))
