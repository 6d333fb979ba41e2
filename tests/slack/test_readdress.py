"""HR corrects a departure's address after the invite went out, in Slack: an invite that
reached a colleague is withdrawn from them and the right person invited; an address renamed
for the same Slack user keeps the conversation going. Through the signed webhook, the tick
and the real Bolt app against the fake Slack API, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.models import AnswerRow, Employee, Interview, InterviewFact, PlatformIdentity
from tests.slack.harness import ANNA, ANNA_ID, SlackHarness
from tests.slack.test_interview import TYPED_ANSWERS, complete_by_typing

BOB, BOB_ID = "bob@example.com", "U2002"
STARTED = TYPED_ANSWERS[:3]  # start, the main reason and what made it so


def event(type_: str, email: str) -> dict[str, Any]:
    return {
        "type": type_,
        "departure": {
            "id": "hr-4711",
            "kind": "resignation",
            "last_working_day": "2026-12-18",
            "employee": {"email": email, "name": "Anna de Vries", "department": "Sales"},
        },
    }


async def invited(slack: SlackHarness, email: str) -> datetime:
    """HR announces the departure under `email`; the tick sends the invite there."""
    status, answer = await slack.post_webhook(event("departure.created", email))
    assert (status, answer["status"]) == (202, "scheduled")
    invite_at = datetime.fromisoformat(answer["invite_at"].replace("Z", "+00:00"))
    assert (await slack.tick(invite_at))["invites sent"] == 1
    return invite_at


async def corrected(slack: SlackHarness, at: datetime, email: str) -> dict[str, Any]:
    slack.clock.set(at)
    status, answer = await slack.post_webhook(event("departure.updated", email))
    assert status == 202
    return answer


async def interviews(slack: SlackHarness) -> list[tuple[int, str, str | None, bool]]:
    """(id, status, the holder's address, whether a state is kept), oldest first."""
    async with slack.runtime.db.sessions() as session:
        rows = await session.execute(
            select(Interview.id, Interview.status, Employee.email, Interview.state_enc)
            .outerjoin(Employee, Employee.id == Interview.employee_id)
            .order_by(Interview.id)
        )
        return [(i, status, email, state is not None) for i, status, email, state in rows]


async def answers_of(slack: SlackHarness, interview_id: int) -> int:
    async with slack.runtime.db.sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(AnswerRow)
            .where(AnswerRow.interview_id == interview_id)
        )
    return int(count or 0)


async def test_an_invite_that_reached_a_colleague_is_withdrawn_and_the_right_person_invited(
    make_slack: Any, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    slack = await make_slack(database_url=database_url)
    slack.fake.add_user(BOB_ID, BOB, "Bob Bakker", locale="en-GB")
    bob_dm, anna_dm = slack.fake.dm_channel_id(BOB_ID), slack.fake.dm_channel_id(ANNA_ID)
    # HR typed Bob's address: the invite reaches Bob, who starts and answers
    invite_at = await invited(slack, BOB)
    for typed in STARTED:
        await slack.dm(BOB_ID, typed)
    [(wrong, status, holder, _)] = await interviews(slack)
    assert (status, holder) == ("in_progress", BOB) and await answers_of(slack, wrong) >= 1

    answer = await corrected(slack, invite_at + timedelta(hours=1), ANNA)
    assert (answer["status"], answer["interview"]) == ("scheduled", "sent")
    assert "address changed after the invite went out" in answer["detail"]

    slack.fake.reset()
    report = await slack.tick()
    assert report["invites withdrawn from the wrong person"] == 1
    assert (report["cancellation notices sent"], report["invites sent"]) == (1, 1)
    # Bob: a short note that it reached him by mistake, not whose interview it was
    note = slack.messages(bob_dm)[-1]["text"]
    assert "reached you by mistake" in note and "nothing you typed here is kept" in note
    assert "Anna" not in note and "Vries" not in note
    assert [row[1:] for row in await interviews(slack)] == [
        ("cancelled", BOB, False),
        ("invited", ANNA, True),
    ]
    assert await answers_of(slack, wrong) == 0
    # Anna: her own invite, in her own DM
    [intro] = slack.messages(anna_dm)
    assert "voluntary" in intro["text"]
    assert {c.args["channel"] for c in slack.fake.calls_to("chat.postMessage")} == {
        bob_dm,
        anna_dm,
    }

    # What Bob types now answers nobody's interview
    await slack.dm(BOB_ID, "Actually, one more thing about my manager")
    assert "no interview open for you" in slack.messages(bob_dm)[-1]["text"]
    assert await answers_of(slack, wrong) == 0
    # Anna holds the whole interview
    await complete_by_typing(slack, ANNA_ID)
    [_, (right, status, holder, _)] = await interviews(slack)
    assert (status, holder) == ("completed", ANNA) and await answers_of(slack, right) >= 8

    # Ticking again (a retry, another replica): nothing more happens or is sent
    slack.fake.reset()
    report = await slack.tick()
    assert report["invites withdrawn from the wrong person"] == 0
    assert slack.fake.calls_to("chat.postMessage") == []
    assert BOB not in caplog.text and ANNA not in caplog.text


async def test_a_renamed_address_of_the_same_slack_user_keeps_the_conversation(
    make_slack: Any, database_url: str
) -> None:
    slack = await make_slack(database_url=database_url)
    old = "a.devries@example.com"
    slack.fake.users[ANNA_ID].email = old
    anna_dm = slack.fake.dm_channel_id(ANNA_ID)
    invite_at = await invited(slack, old)
    for typed in STARTED:
        await slack.dm(ANNA_ID, typed)
    [(interview_id, _, _, _)] = await interviews(slack)
    kept = await answers_of(slack, interview_id)
    asked = slack.messages(anna_dm)[-1]["text"]

    # Her address is renamed, in Slack and then in the HR system
    slack.fake.users[ANNA_ID].email = ANNA
    answer = await corrected(slack, invite_at + timedelta(hours=1), ANNA)
    assert (answer["status"], answer["interview"]) == ("scheduled", "sent")
    slack.fake.reset()
    report = await slack.tick()
    assert report["interviews moved to a corrected address"] == 1
    assert report["invites withdrawn from the wrong person"] == 0
    assert slack.fake.calls_to("chat.postMessage") == []  # nothing said to her
    assert slack.messages(anna_dm)[-1]["text"] == asked
    assert await interviews(slack) == [(interview_id, "in_progress", ANNA, True)]
    assert kept >= 1 and await answers_of(slack, interview_id) == kept
    async with slack.runtime.db.sessions() as session:
        linked = await session.scalar(
            select(Employee.email)
            .join(PlatformIdentity, PlatformIdentity.employee_id == Employee.id)
            .where(PlatformIdentity.platform == "slack", PlatformIdentity.user_id == ANNA_ID)
        )
    assert linked == ANNA

    # She goes on where she was, to the end: the summary holds her first answers too
    for typed in TYPED_ANSWERS[3:]:
        await slack.dm(ANNA_ID, typed)
    summary = slack.messages(anna_dm)[-1]["text"]
    assert "Is this right?" in summary and "Main reason: My manager" in summary
    await slack.dm(ANNA_ID, "yes")
    assert await interviews(slack) == [(interview_id, "completed", ANNA, True)]
    assert await answers_of(slack, interview_id) >= 8


async def test_finishing_before_the_tick_counts_under_the_departing_persons_department(
    make_slack: Any, database_url: str
) -> None:
    """Her address is corrected, and she finishes the interview before the tick has looked the
    new address up: her row at the old address no longer holds what HR told about her, yet
    the digest still counts her interview under her department."""
    slack = await make_slack(database_url=database_url)
    old = "a.devries@example.com"
    slack.fake.users[ANNA_ID].email = old
    invite_at = await invited(slack, old)
    slack.fake.users[ANNA_ID].email = ANNA
    await corrected(slack, invite_at + timedelta(hours=1), ANNA)
    async with slack.runtime.db.sessions() as session:
        left = await session.scalar(select(Employee.department).where(Employee.email == old))
    assert left is None

    await complete_by_typing(slack, ANNA_ID)
    assert [row[1] for row in await interviews(slack)] == ["completed"]
    async with slack.runtime.db.sessions() as session:
        counted = (await session.scalars(select(InterviewFact.department))).all()
    assert counted == ["Sales"]
    # The tick finds her at the corrected address: her interview, as it is, is hers there
    report = await slack.tick()
    assert report["interviews moved to a corrected address"] == 1
    assert [row[1:3] for row in await interviews(slack)] == [("completed", ANNA)]
    async with slack.runtime.db.sessions() as session:
        assert (await session.scalars(select(InterviewFact.department))).all() == ["Sales"]


async def test_who_declined_under_an_address_since_renamed_may_still_start_and_is_not_asked_again(
    make_slack: Any, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Anna said "no thanks" under her old address; it is renamed in Slack and then in the HR
    system. The same Slack user answered: it was her own "no thanks". She is not invited a
    second time, and may still start the interview after all, as anyone who declined."""
    caplog.set_level(logging.INFO)
    slack = await make_slack(database_url=database_url)
    old = "a.devries@example.com"
    slack.fake.users[ANNA_ID].email = old
    anna_dm = slack.fake.dm_channel_id(ANNA_ID)
    invite_at = await invited(slack, old)
    await slack.dm(ANNA_ID, "no thanks")
    [(interview_id, status, _, _)] = await interviews(slack)
    assert status == "declined"

    slack.fake.users[ANNA_ID].email = ANNA
    answer = await corrected(slack, invite_at + timedelta(hours=1), ANNA)
    # as for any invite that went out, until the end of her last day: never "declined"
    assert (answer["status"], answer.get("reason_code"), answer["interview"]) == (
        "scheduled",
        None,
        "sent",
    )
    slack.fake.reset()
    report = await slack.tick(invite_at + timedelta(hours=2))
    assert report["interviews moved to a corrected address"] == 1
    assert (report["invites sent"], report["invites the wrong person had declined"]) == (0, 0)
    assert slack.fake.calls_to("chat.postMessage") == []  # not asked again
    assert await interviews(slack) == [(interview_id, "declined", ANNA, True)]
    # a later update of the departure does not ask her again either
    answer = await corrected(slack, invite_at + timedelta(hours=3), ANNA)
    assert (answer["status"], answer["interview"], "detail" in answer) == (
        "scheduled",
        "sent",
        False,
    )
    assert (await slack.tick())["invites sent"] == 0

    # She changes her mind: her own interview starts, and she holds it to the end
    await slack.dm(ANNA_ID, "start")
    assert "main reason you're leaving" in slack.messages(anna_dm)[-1]["text"]
    assert await interviews(slack) == [(interview_id, "in_progress", ANNA, True)]
    for typed in TYPED_ANSWERS[1:]:
        await slack.dm(ANNA_ID, typed)
    assert "Is this right?" in slack.messages(anna_dm)[-1]["text"]
    await slack.dm(ANNA_ID, "yes")
    assert await interviews(slack) == [(interview_id, "completed", ANNA, True)]
    assert await answers_of(slack, interview_id) >= 8
    assert old not in caplog.text and ANNA not in caplog.text
    assert TYPED_ANSWERS[2] not in caplog.text
