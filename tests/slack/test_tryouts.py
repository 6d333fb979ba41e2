"""A try-out in the terminal (`exitbot chat --as EMAIL`, `Interview.tryout`) next to the same
person's real interview in Slack: Slack looks past the try-out, which only the terminal ever
continues. Through the signed webhook, the tick and the real Bolt app against the fake Slack
API; the try-out through the service on the console channel, as `exitbot chat` holds it; on
SQLite and PostgreSQL."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from sqlalchemy import select

from adapters.base import Incoming
from adapters.console import ConsoleChannel
from bot.models import AnswerRow, Departure, Interview
from bot.runtime import Runtime
from tests.bot.test_tryouts import ANSWERS
from tests.slack.harness import ANNA, ANNA_ID, SlackHarness
from tests.slack.test_interview import TYPED_ANSWERS


def departure(kind: str = "departure.created", last_day: str = "2026-12-18") -> dict:
    return {
        "type": kind,
        "departure": {
            "id": "hr-4711",
            "kind": "resignation",
            "last_working_day": last_day,
            "employee": {"email": ANNA, "name": "Anna de Vries"},
        },
    }


async def tryout(slack: SlackHarness, answers: int = len(ANSWERS)) -> int:
    """Someone tries the bot in the terminal as Anna (`exitbot chat --as`), to the end or
    leaving it open after `answers` answers: the try-out's id."""
    terminal = Runtime.open(
        slack.runtime.settings,
        clock=slack.clock,
        channels={"console": ConsoleChannel(io.StringIO())},
    )
    try:
        begun = await terminal.service.begin_chat(
            channel="console", email=ANNA, conversation_id=ANNA
        )
        assert begun.tryout and begun.interview_id is not None
        status = None
        for n, text in enumerate(ANSWERS[:answers]):
            said = Incoming("console", ANNA, ANNA, text, f"tryout:{n}")
            status = (await terminal.service.handle(said)).status or status
        assert status == ("completed" if answers == len(ANSWERS) else "in_progress")
        return begun.interview_id
    finally:
        await terminal.close()


async def interviews(slack: SlackHarness) -> dict[str, tuple[int, str]]:
    """Anna's interviews: "real" (her departure's) and "tryout", as (id, status)."""
    async with slack.runtime.db.sessions() as session:
        rows = (
            await session.execute(
                select(Interview.id, Interview.status, Interview.tryout, Departure.external_id)
                .outerjoin(Departure, Departure.id == Interview.departure_id)
                .order_by(Interview.id)
            )
        ).all()
    found = {("tryout" if tried else "real"): (id_, status) for id_, status, tried, _ in rows}
    assert len(found) == len(rows) == 2
    return found


async def declined_then_tried_out(slack: SlackHarness, answers: int = len(ANSWERS)) -> str:
    """Anna is invited in Slack and says no thanks; her last working day passes (no more
    starting after all), and someone tries the bot as her in the terminal (to the end, or
    `answers` answers); then the HR system moves her last day later, so she may start it
    after all again. Her DM's id."""
    dm = slack.fake.dm_channel_id(ANNA_ID)
    _, answer = await slack.post_webhook(departure())
    await slack.tick(datetime.fromisoformat(answer["invite_at"]))
    await slack.dm(ANNA_ID, "no thanks")
    assert (await slack.interview()).status == "declined"
    slack.clock.set(datetime(2026, 12, 21, 9, tzinfo=UTC))  # the 18th has passed
    await tryout(slack, answers)
    _, answer = await slack.post_webhook(departure("departure.updated", "2026-12-31"))
    assert answer["reason_code"] == "invited_before"  # not invited again; the end moved
    return dm


async def test_a_newer_tryout_does_not_keep_her_from_starting_after_all(
    make_slack, database_url
) -> None:
    """Only the person's newest interview may be started after all (one person counts once),
    and the try-out was newer: "start" in Slack answered that she has no interview. The
    try-out is nobody leaving: her declined interview starts."""
    slack = await make_slack(database_url=database_url)
    dm = await declined_then_tried_out(slack)
    posted = len(slack.messages(dm))
    await slack.dm(ANNA_ID, "start")
    found = await interviews(slack)
    assert found["real"][1] == "in_progress"
    assert found["tryout"][1] == "completed"  # untouched
    said = " ".join(m["text"] for m in slack.messages(dm)[posted:])
    assert said.startswith("Great, thank you! I have 8 short questions.")
    assert "main reason" in said


async def test_delete_my_answers_in_slack_is_for_her_interview_not_the_tryout(
    make_slack, database_url
) -> None:
    """After that, she completes her interview in Slack and then types "delete my answers",
    which its closing message offers. Her latest finished interview was the try-out: its
    answers went, and hers stayed. Slack reopens her own."""
    slack = await make_slack(database_url=database_url)
    dm = await declined_then_tried_out(slack)
    for typed in TYPED_ANSWERS:  # "start" first: she starts after all
        await slack.dm(ANNA_ID, typed)
    assert "Is this right?" in slack.messages(dm)[-1]["text"]
    await slack.dm(ANNA_ID, "yes")
    found = await interviews(slack)
    assert (found["real"][1], found["tryout"][1]) == ("completed", "completed")

    await slack.dm(ANNA_ID, "delete my answers")
    await slack.dm(ANNA_ID, "yes")
    found = await interviews(slack)
    assert (found["real"][1], found["tryout"][1]) == ("deleted", "completed")
    async with slack.runtime.db.sessions() as session:
        kept = set((await session.scalars(select(AnswerRow.interview_id))).all())
    assert kept == {found["tryout"][0]}  # the try-out's answers stay, until retention


async def answers_of(slack: SlackHarness, interview_id: int) -> int:
    async with slack.runtime.db.sessions() as session:
        rows = await session.scalars(
            select(AnswerRow.id).where(AnswerRow.interview_id == interview_id)
        )
        return len(rows.all())


async def test_an_open_tryout_is_not_continued_in_slack(make_slack, database_url) -> None:
    """Anna says no thanks in Slack; someone tries the bot as her in the terminal and leaves
    the try-out half done (and her last day moves, so she may start after all). Her "start" and her answers in Slack went into the try-out (her
    latest open interview), which never counts: her own interview stayed declined. Slack
    looks past an open try-out, on the ORM path and PostgreSQL's lean one alike."""
    slack = await make_slack(database_url=database_url)
    dm = await declined_then_tried_out(slack, answers=2)
    tried = (await interviews(slack))["tryout"][0]
    assert await answers_of(slack, tried) == 2

    posted = len(slack.messages(dm))
    await slack.dm(ANNA_ID, "start")
    found = await interviews(slack)
    assert found["real"][1] == "in_progress"
    assert found["tryout"] == (tried, "in_progress")  # untouched
    said = " ".join(m["text"] for m in slack.messages(dm)[posted:])
    assert said.startswith("Great, thank you! I have 8 short questions.")

    for typed in TYPED_ANSWERS[1:4]:  # her answers, one message after another
        await slack.dm(ANNA_ID, typed)
    assert await answers_of(slack, found["real"][0]) >= 2
    assert await answers_of(slack, tried) == 2
    found = await interviews(slack)
    assert (found["real"][1], found["tryout"][1]) == ("in_progress", "in_progress")
