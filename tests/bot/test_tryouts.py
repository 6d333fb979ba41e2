"""Try-outs, on both backends: an interview `exitbot chat` opens with no departure behind it
is someone trying the bot (IT setting it up, HR previewing the questions), never a leaver.
It makes no facts (no digest, no export), HR's status does not count it, and it is no bar to
a real interview at the same address. A departure's interview held in the terminal counts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from adapters.base import Incoming, Opened, Report
from bot import departures, digest_post, export, hr_commands, privacy
from bot.clock import FrozenClock
from bot.config import Settings
from bot.crypto import Cipher
from bot.departure_events import DepartureEvent
from bot.departure_events import Employee as Person
from bot.models import AnswerRow, Interview, InterviewFact, Job
from bot.runtime import Runtime
from bot.tick import run_tick
from bot.turns import Outcome
from conversations import OutMessage
from tests.bot.test_departures import COMPLETING

EMAIL = "me@example.com"
NOW = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)  # a Monday
LAST_DAY = date(2026, 12, 4)
ANSWERS = COMPLETING  # the model questionnaire answered to the end


class ChatPlatform:
    """A chat platform double that reaches everyone: records the invites it was given."""

    name = "slack"

    def __init__(self) -> None:
        self.sent: list[tuple[str, list[OutMessage]]] = []

    async def open_conversation(self, email: str) -> Opened:
        return Opened(user_id=f"U-{email}", conversation_id=f"D-{email}")

    async def send(self, conversation_id: str, messages: Sequence[OutMessage], *, key: str) -> None:
        self.sent.append((conversation_id, list(messages)))

    async def post_report(self, target: str, report: Report) -> None:
        raise AssertionError("not used")


class Terminal(ChatPlatform):
    name = "console"


@pytest.fixture
async def rt(database_url: str) -> AsyncIterator[Runtime]:
    settings = Settings(database_url=database_url, encryption_key=Cipher.new_key())
    runtime = Runtime.open(
        settings,
        channels={"console": Terminal(), "slack": ChatPlatform()},
        clock=FrozenClock(NOW),
    )
    try:
        yield runtime
        assert runtime.service.writer.lean_errors == 0  # PostgreSQL's lean path held
    finally:
        await runtime.close()


async def in_the_terminal(rt: Runtime, answers: Sequence[str] = ANSWERS) -> tuple[Outcome, str]:
    """`exitbot chat --as EMAIL` and the answers typed: how it began, the status it ended in."""
    begun = await rt.service.begin_chat(channel="console", email=EMAIL, conversation_id=EMAIL)
    status = begun.status
    for n, text in enumerate(answers):
        said = Incoming("console", EMAIL, EMAIL, text, f"{begun.interview_id}:{n}")
        status = (await rt.service.handle(said)).status or status
    assert status is not None
    return begun, status


async def facts(rt: Runtime) -> int:
    async with rt.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(InterviewFact)) or 0)


async def status_lines(rt: Runtime) -> tuple[str, ...]:
    return (await hr_commands.status_report(rt, "en")).sections[0].lines


async def test_a_tryout_completed_in_the_terminal_counts_in_no_digest_or_export(
    rt: Runtime,
) -> None:
    """IT setting the bot up, or HR previewing the questions, is nobody leaving: no facts,
    so nothing for a digest to count or `exitbot export` to wait for."""
    begun, status = await in_the_terminal(rt)
    assert begun.tryout and status == "completed"
    assert await facts(rt) == 0
    assert (await digest_post.preview(rt)).count == 0
    assert await export.waiting(rt.db) == 0  # `exitbot export`: no completed one waits


async def test_hr_status_does_not_count_a_tryout(rt: Runtime) -> None:
    await in_the_terminal(rt)  # completed
    other = await rt.service.begin_chat(  # and one under way, at another address
        channel="console", email="it@example.com", conversation_id="it@example.com"
    )
    assert other.tryout and other.status == "in_progress"
    assert await status_lines(rt) == (
        "Awaiting approval: 0",
        "Invite to be sent: 0",
        "Invite sent, not closed yet: 0",
        "Closed: 0",
        "Could not be reached in chat: 0",
    )


@pytest.mark.parametrize("finished", [True, False], ids=["completed", "under_way"])
async def test_a_real_invite_after_a_tryout_is_sent(rt: Runtime, finished: bool) -> None:
    """IT tried the bot as me@example.com; later HR invites me@example.com for real. The
    try-out was taken for "an exit interview in the last 365 days" (or one under way), and
    the invite was refused as `interview_elsewhere`."""
    _, status = await in_the_terminal(rt, ANSWERS if finished else ANSWERS[:2])
    assert status == ("completed" if finished else "in_progress")
    outcome = await departures.invite_by_hand(rt, EMAIL, LAST_DAY, kind="resignation")
    assert (outcome.status, outcome.interview) == ("scheduled", "scheduled"), outcome
    assert outcome.invite_at is not None
    report = await run_tick(rt, outcome.invite_at)
    assert report["invites sent"] == 1
    platform = rt.service.channels["slack"]
    assert isinstance(platform, ChatPlatform)
    assert [to for to, _ in platform.sent] == [f"D-{EMAIL}"]


async def test_a_departure_held_in_the_terminal_counts(rt: Runtime) -> None:
    """`exitbot invite EMAIL --last-day DATE`, then `exitbot chat --as EMAIL`: the chat holds
    that departure's interview (it started a second one, without the departure), which
    counts like any other, and its invite is not sent as well."""
    recorded = await departures.invite_by_hand(rt, EMAIL, LAST_DAY, kind="resignation")
    assert recorded.status == "scheduled" and recorded.invite_at is not None
    begun, status = await in_the_terminal(rt)
    assert not begun.tryout and status == "completed"
    async with rt.db.sessions() as session:
        rows = (await session.execute(select(Interview.departure_id, Interview.tryout))).all()
        invite = await session.scalar(select(Job.status).where(Job.kind == "invite"))
    assert len(rows) == 1 and rows[0][0] is not None and rows[0][1] is False
    assert invite == "cancelled"
    assert await facts(rt) == 1
    # what HR is shown, as for an invite: sent until the end of the last working day
    assert "Invite sent, not closed yet: 1" in await status_lines(rt)
    report = await run_tick(rt, recorded.invite_at)
    assert report["invites sent"] == 0
    platform = rt.service.channels["slack"]
    assert isinstance(platform, ChatPlatform) and platform.sent == []
    # one interview a year: the HR system's second record of the same leaving is not invited
    event = DepartureEvent(
        type="departure.created",
        departure_id="hr-4711",
        kind="resignation",
        last_working_day=LAST_DAY,
        employee=Person(email=EMAIL),
    )
    second = await departures.apply_event(rt, event, webhook_id="msg_1", event_at=NOW)
    assert (second.status, second.reason_code) == ("not_invited", "interview_elsewhere")


async def test_the_departure_goes_before_an_unfinished_tryout(rt: Runtime) -> None:
    """IT left a try-out as me@example.com half done; HR then records the departure, and
    `exitbot chat --as me@example.com` holds the real interview, from its first question
    (it resumed the try-out, whose note again said to record the departure first)."""
    tried, status = await in_the_terminal(rt, ANSWERS[:2])
    assert tried.tryout and status == "in_progress"
    await departures.invite_by_hand(rt, EMAIL, LAST_DAY, kind="resignation")
    real = await rt.service.begin_chat(channel="console", email=EMAIL, conversation_id=EMAIL)
    assert not real.tryout and real.interview_id != tried.interview_id
    assert [m.kind for m in real.messages] == ["intro", "question"]
    async with rt.db.sessions() as session:
        held = await session.get(Interview, real.interview_id)
        assert held is not None and held.departure_id is not None
    _, status = await in_the_terminal(rt)
    assert status == "completed" and await facts(rt) == 1


async def test_an_open_tryout_is_not_resumed_on_the_web_page(rt: Runtime) -> None:
    """A chat begun on the web page (the playground's `begin_chat`) for an address with a
    try-out left open in the terminal resumed the try-out there. Only the terminal continues
    a try-out: the page begins one of its own, the try-out untouched."""
    tried, status = await in_the_terminal(rt, ANSWERS[:2])
    assert tried.tryout and status == "in_progress"
    web = await rt.service.begin_chat(channel="web", email=EMAIL, conversation_id="page")
    assert web.interview_id != tried.interview_id and not web.tryout
    assert [m.kind for m in web.messages] == ["intro", "question"]
    async with rt.db.sessions() as session:
        kept = await session.get(Interview, tried.interview_id)
        assert kept is not None and kept.status == "in_progress"
        count = select(func.count()).where(AnswerRow.interview_id == tried.interview_id)
        assert await session.scalar(count) == 2


async def test_a_tryouts_answers_are_purged_and_erased_like_any_others(rt: Runtime) -> None:
    """Not a leaver, but what was typed is kept no longer than anyone's answers: retention
    purges it on schedule, and `exitbot forget` erases it."""
    await in_the_terminal(rt)
    other = await rt.service.begin_chat(
        channel="console", email="it@example.com", conversation_id="it@example.com"
    )
    await rt.service.handle(Incoming("console", "it@example.com", "it@example.com", "1", "it"))
    assert await rt.service.forget("it@example.com")
    async with rt.db.sessions() as session:
        assert await session.get(Interview, other.interview_id) is None
    purged = await privacy.purge_expired(rt.db, rt.settings, NOW + timedelta(days=91))
    assert purged.interviews == 1
    async with rt.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(AnswerRow)) == 0
