"""The interview in Teams: the proactive invite, typed answers, card clicks, redelivery."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.models import AnswerRow, Interview
from bot.tick import run_tick
from tests.teams.harness import BotMessage, TeamsHarness

DEPARTURE = {
    "type": "departure.created",
    "departure": {
        "id": "hr-4711",
        "kind": "resignation",
        "last_working_day": "2026-12-18",
        "employee": {"id": "E1001", "email": "anna@example.com", "language": "en"},
    },
}
DETAILED = "I really enjoyed the projects with customers and the freedom to organise my own days"


async def invited(teams: TeamsHarness) -> None:
    """Anna installed the app; HR announces her departure; the tick sends the invite."""
    assert await teams.post(teams.install()) == 201
    status, outcome = await teams.post_webhook(DEPARTURE)
    assert (status, outcome["status"]) == (202, "scheduled")
    teams.clock.advance(timedelta(days=14))
    report = await run_tick(teams.runtime)
    assert report["invites sent"] == 1


def click(teams: TeamsHarness, card_id: str, data: dict[str, Any], **kw: Any) -> dict[str, Any]:
    activity = teams.connector.message_activity(None, value=data, **kw)
    activity["replyToId"] = card_id
    return activity


async def say(teams: TeamsHarness, text: str, **kw: Any) -> list[str]:
    assert await teams.post(teams.connector.message_activity(text, **kw)) == 201
    return [m.text for m in teams.new_messages()]


async def answers(teams: TeamsHarness) -> int:
    async with teams.runtime.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(AnswerRow)) or 0)


async def status_of(teams: TeamsHarness) -> str | None:
    async with teams.runtime.db.sessions() as session:
        return await session.scalar(select(Interview.status))


async def test_departure_sends_a_proactive_invite(teams: TeamsHarness) -> None:
    await invited(teams)
    [invite] = teams.new_messages()
    call = invite.call
    assert call.conversation_id == "a:conv1" and call.verb == "POST"
    assert call.body["replyToId"] == call.activity_id  # a continuation turn's fresh id
    assert call.authorization is None  # anonymous mode
    assert "voluntary" in invite.text
    assert invite.choices == ["start", "later", "decline"]
    assert invite.card is not None and invite.card["version"] == "1.4"
    assert "1. Start" in invite.card["fallbackText"]
    assert await status_of(teams) == "invited"


async def test_whole_interview_typed(
    make_teams, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """On SQLite and PostgreSQL (the `database_url` fixture)."""
    caplog.set_level(logging.INFO)
    teams = await make_teams(database_url=database_url)
    await invited(teams)
    teams.new_messages()
    replies = await say(teams, "start")
    assert "main reason" in replies[-1]
    await say(teams, "Pay and benefits")
    await say(teams, "The salary was well below the market for my role and experience")
    for text in (DETAILED, DETAILED, "4", "8", "maybe", DETAILED, "no"):
        replies = await say(teams, text)
    assert "Is this right?" in replies[-1]
    replies = await say(teams, "yes")
    assert await status_of(teams) == "completed"
    assert teams.updates() == []  # nothing was clicked
    assert replies and "Thank" in replies[-1]
    assert [c.conversation_id for c in teams.connector.activities] == ["a:conv1"] * len(
        teams.connector.activities
    )
    logged = caplog.text
    assert "anna@example.com" not in logged and "salary" not in logged and "customers" not in logged


def submit_data(message: BotMessage, value: str) -> dict[str, Any]:
    """What Teams sends when `value` is chosen on the card (a button, or the choice set)."""
    assert message.card is not None
    actions = list(message.card.get("actions", []))
    for element in message.card["body"]:
        actions += element.get("actions", [])
    button = next((a for a in actions if a["data"].get("exitbot_choice") == value), actions[-1])
    return {**button["data"], "exitbot_choice": value}


async def test_whole_interview_by_card_clicks_updates_each_card(teams: TeamsHarness) -> None:
    await invited(teams)
    clicked: list[str] = []
    last = teams.new_messages()[-1]
    for _ in range(30):
        if await status_of(teams) == "completed":
            break
        if not last.choices:
            assert await teams.post(teams.connector.message_activity(DETAILED)) == 201
        else:
            value = next(
                (
                    v
                    for v in ("confirm", "start", "pay_benefits", "4", "8", "maybe")
                    if v in last.choices
                ),
                last.choices[0],
            )
            updates = len(teams.updates())
            card_id = last.call.response["id"]
            assert await teams.post(click(teams, card_id, submit_data(last, value))) == 201
            [update] = teams.updates()[updates:]
            assert update.verb == "PUT" and update.activity_id == card_id
            answered = update.body["attachments"][0]["content"]
            assert "actions" not in answered
            assert all(b["type"] == "TextBlock" for b in answered["body"])
            clicked.append(value)
        last = teams.new_messages()[-1]
    assert await status_of(teams) == "completed"
    assert clicked[0] == "start" and clicked[-1] == "confirm"
    assert {"pay_benefits", "4", "maybe"} <= set(clicked) and len(clicked) >= 6
    first = teams.updates()[0].body["attachments"][0]["content"]
    assert first["body"][-1]["text"] == "✓ Start"
    async with teams.runtime.db.sessions() as session:
        stored = await session.scalar(
            select(AnswerRow.value).where(AnswerRow.question_id == "main_reason")
        )
    assert stored == "pay_benefits"


async def test_a_double_click_on_a_card_counts_once(teams: TeamsHarness) -> None:
    await invited(teams)
    [invite] = teams.new_messages()
    card_id = invite.call.response["id"]
    assert await teams.post(click(teams, card_id, submit_data(invite, "start"))) == 201
    sent = teams.new_messages()
    assert sent and len(teams.updates()) == 1
    assert await teams.post(click(teams, card_id, submit_data(invite, "start"))) == 201
    assert await teams.post(click(teams, card_id, submit_data(invite, "later"))) == 201
    assert teams.new_messages() == [] and len(teams.updates()) == 1
    assert await status_of(teams) == "in_progress"


async def test_a_card_that_does_not_say_its_text_is_left_as_it_is(teams: TeamsHarness) -> None:
    """A submit without `exitbot_prompt` (not a card of ours, or one edited by a client): the
    click is taken as usual, but the card is not replaced by one without its text."""
    await invited(teams)
    [invite] = teams.new_messages()
    data = {k: v for k, v in submit_data(invite, "start").items() if k != "exitbot_prompt"}
    assert await teams.post(click(teams, invite.call.response["id"], data)) == 201
    assert await status_of(teams) == "in_progress"
    assert teams.new_messages()  # the first question
    assert teams.updates() == []


async def test_an_answer_that_begins_with_hr_is_an_answer(teams: TeamsHarness) -> None:
    """'HR …' was taken for the HR admins' command prefix: the employee got "these commands
    are only for HR admins" and the answer was lost."""
    await invited(teams)
    teams.new_messages()
    await say(teams, "start")
    await say(teams, "Pay and benefits")
    before = await answers(teams)
    replies = await say(
        teams, "HR never did anything with my complaints, that is what I valued least"
    )
    assert not any("only for HR admins" in r for r in replies), replies
    assert await answers(teams) == before + 1


async def test_redelivered_activity_is_processed_once(teams: TeamsHarness) -> None:
    await invited(teams)
    teams.new_messages()
    start = teams.connector.message_activity("start", activity_id="in-42")
    assert await teams.post(start) == 201
    first = teams.new_messages()
    assert first
    assert (
        await teams.post(teams.connector.message_activity("Pay and benefits", activity_id="in-43"))
        == 201
    )
    teams.new_messages()
    before = await answers(teams)
    assert (
        await teams.post(teams.connector.message_activity("Pay and benefits", activity_id="in-43"))
        == 201
    )
    assert await answers(teams) == before
    assert teams.new_messages() == []  # nothing sent again
