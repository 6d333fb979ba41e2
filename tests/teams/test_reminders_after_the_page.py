"""Reminders for someone invited in Teams who went on on their web page (`bot.reminders`):
the reminder reaches the Teams chat (a web page cannot be messaged), which then shows what is
asked now. The real CloudAdapter over HTTP against the fake Bot Connector and the page over
HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.models import AnswerRow, Job
from bot.tick import run_tick
from tests.slack.test_two_places import Page
from tests.teams.harness import TeamsHarness
from tests.teams.test_interview import DETAILED, invited, say
from tests.web.conftest import link_to

BETTER = "Better tools and a clearer budget for training would have helped a lot"


async def test_quiet_after_answering_on_the_page_is_reminded_in_teams(
    make_teams: Any, database_url: str
) -> None:
    teams: TeamsHarness = await make_teams(database_url=database_url)
    await invited(teams)
    await say(teams, "start")
    assert "value most" in (await say(teams, "Career growth"))[-1]
    async with teams.runtime.db.sessions() as session:
        interview_id = await session.scalar(select(AnswerRow.interview_id))
        due = await session.scalar(select(Job.due_at).where(Job.kind == "remind_idle"))
    assert interview_id is not None and due is not None
    page = Page(teams.server, await link_to(teams.runtime, interview_id))
    await page.open()
    reply = await page.say(DETAILED)  # valued_most, on the page; then silence
    assert reply["messages"][-1]["question_id"] == "role_improvement"

    teams.clock.set(due)
    assert (await run_tick(teams.runtime))["reminders sent"] == 1
    reminder, question = teams.new_messages()
    assert "on the web page, or carry on here in Teams" in reminder.text
    assert reminder.call.conversation_id == question.call.conversation_id == "a:conv1"
    assert "could have been better in your role" in question.text
    teams.clock.advance(timedelta(days=1))
    assert (await run_tick(teams.runtime))["reminders sent"] == 0

    replies = await say(teams, BETTER)  # answers what the reminder showed
    assert "relationship with your manager" in replies[-1]
    async with teams.runtime.db.sessions() as session:
        keys = (await session.scalars(select(AnswerRow.message_key).order_by(AnswerRow.id))).all()
    assert keys[-1].startswith("teams:") and len(keys) == 3
