"""The service on both backends: idempotency, encryption at rest, the inbox, resuming."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from adapters.base import Incoming
from bot import departures
from bot.config import Settings
from bot.crypto import Cipher
from bot.models import AnswerRow, InboundMessage, Interview, InterviewFact
from bot.runtime import Runtime
from conversations import OutMessage
from tests.bot.conftest import RecordingChannel


def msg(text: str, n: int, who: str = "anna@example.com") -> Incoming:
    return Incoming(
        channel="console", user_id=who, conversation_id=who, text=text, message_id=f"m{n}"
    )


async def count(rt: Runtime, model: type) -> int:
    async with rt.db.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


SECRET = "Mijn leidinggevende Jan gaf nooit feedback over mijn werkdruk"


async def test_same_message_twice_changes_nothing(runtime: Runtime) -> None:
    begin = await runtime.service.begin_chat(
        channel="console", email="anna@example.com", conversation_id="anna@example.com"
    )
    assert [m.kind for m in begin.messages] == ["intro", "question"]
    first = await runtime.service.handle(msg("Career growth", 1))
    again = await runtime.service.handle(msg("Career growth", 1))
    assert not first.duplicate and again.duplicate
    assert again.messages == []
    assert await count(runtime, AnswerRow) == 1
    channel = runtime.service.channels["console"]
    assert isinstance(channel, RecordingChannel)
    assert len(channel.sent) == 1  # replies sent once
    assert channel.sent[0][2] == "reply:console:m1"


async def test_answer_text_is_encrypted_at_rest(runtime: Runtime) -> None:
    await runtime.service.begin_chat(
        channel="console", email="anna@example.com", conversation_id="anna@example.com"
    )
    await runtime.service.handle(msg("My manager", 1))
    await runtime.service.handle(msg(SECRET, 2))
    async with runtime.db.sessions() as s:
        rows = (await s.execute(select(AnswerRow.text_enc))).scalars().all()
        state = await s.scalar(select(Interview.state_enc))
        dump = json.dumps(
            [list(r) for r in (await s.execute(text("SELECT * FROM answers"))).all()], default=str
        )
    assert rows and all(r is None or r.startswith("gAAAA") for r in rows)
    assert "werkdruk" not in dump and "werkdruk" not in (state or "")
    decrypted = [runtime.cipher.decrypt(r) for r in rows if r]
    assert SECRET in decrypted


async def test_plaintext_never_reaches_the_sqlite_file(tmp_path: Path) -> None:
    db_file = tmp_path / "plain.db"
    settings = Settings(database_url=f"sqlite:///{db_file}", encryption_key=Cipher.new_key())
    rt = Runtime.open(settings, channels={"console": RecordingChannel()})
    try:
        await rt.service.begin_chat(
            channel="console", email="anna@example.com", conversation_id="anna@example.com"
        )
        await rt.service.handle(msg("My manager", 1))
        await rt.service.handle(msg(SECRET, 2))
    finally:
        await rt.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("plain.db*"))
    assert b"werkdruk" not in raw and b"feedback" not in raw
    assert b"anna@example.com" in raw  # identity is stored (until retention), answers are not


async def test_a_kept_message_from_a_newer_version_is_still_processed(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    """A rolling upgrade: a newer replica kept a message with a field this version lacks
    (as `choice_for` was new in 41960c7); this one takes it without that field."""
    await runtime.service.begin_chat(
        channel="console", email="anna@example.com", conversation_id="anna@example.com"
    )
    assert await runtime.service.accept(msg("Career growth", 8))
    async with runtime.db.transaction() as s:
        row = await s.get(InboundMessage, "console:m8")
        assert row is not None and row.payload_enc is not None
        data = json.loads(runtime.service.cipher.decrypt(row.payload_enc))
        data["sent_from_the_future"] = {"anything": 1}
        row.payload_enc = runtime.service.cipher.encrypt(json.dumps(data))
    with caplog.at_level(logging.WARNING):
        done = await runtime.service.process_pending(older_than=timedelta(0))
    assert done == 1
    assert await count(runtime, AnswerRow) == 1
    assert "sent_from_the_future" in caplog.text and "Career growth" not in caplog.text


async def test_pending_inbox_row_is_finished_after_a_crash(runtime: Runtime) -> None:
    await runtime.service.begin_chat(
        channel="console", email="anna@example.com", conversation_id="anna@example.com"
    )
    # The platform was acknowledged (accepted), then the process died before processing.
    assert await runtime.service.accept(msg("Career growth", 7))
    assert not await runtime.service.accept(msg("Career growth", 7))  # redelivery
    async with runtime.db.sessions() as s:
        assert await s.scalar(select(InboundMessage.status)) == "pending"
    assert await count(runtime, AnswerRow) == 0
    done = await runtime.service.process_pending(older_than=__import__("datetime").timedelta(0))
    assert done == 1
    assert await count(runtime, AnswerRow) == 1
    async with runtime.db.sessions() as s:
        row = await s.get(InboundMessage, "console:m7")
        assert row is not None and row.status == "done" and row.payload_enc is None


async def test_concurrent_deliveries_of_one_message_store_one_answer(runtime: Runtime) -> None:
    await runtime.service.begin_chat(
        channel="console", email="anna@example.com", conversation_id="anna@example.com"
    )
    results = await asyncio.gather(
        *(runtime.service.handle(msg("Career growth", 9)) for _ in range(5))
    )
    assert sum(not r.duplicate for r in results) == 1
    assert await count(runtime, AnswerRow) == 1


async def test_whole_interview_completes_and_records_facts(runtime: Runtime) -> None:
    # Anna's departure, recorded first: the terminal holds its interview (without one, it
    # would be a try-out, which makes no facts: tests/bot/test_tryouts.py)
    last_day = runtime.clock.now().date() + timedelta(days=21)
    await departures.invite_by_hand(runtime, "anna@example.com", last_day)
    await runtime.service.begin_chat(
        channel="console", email="anna@example.com", conversation_id="anna@example.com"
    )
    answers = [
        "Pay and benefits",
        "The people in my team and the freedom to organise my own work",
        "Clearer goals and more support from the product team during launches",
        "4",
        "9",
        "Yes",
        "Better onboarding and a transparent salary structure for everyone",
        "no",
        "yes",
    ]
    outcome = None
    for n, answer in enumerate(answers, start=1):
        outcome = await runtime.service.handle(msg(answer, n))
    assert outcome is not None and outcome.status == "completed"
    assert outcome.messages[-1].kind == "outro"
    async with runtime.db.sessions() as s:
        fact = await s.scalar(select(InterviewFact))
        interview = await s.scalar(select(Interview))
    assert fact is not None and interview is not None
    assert (fact.main_reason, fact.recommend, fact.manager_score, fact.come_back) == (
        "pay_benefits",
        9,
        4,
        "yes",
    )
    assert interview.completed_at is not None


async def test_resume_continues_at_the_same_question(runtime: Runtime) -> None:
    await runtime.service.begin_chat(
        channel="console", email="anna@example.com", conversation_id="anna@example.com"
    )
    await runtime.service.handle(msg("Career growth", 1))
    resumed = await runtime.service.begin_chat(
        channel="console", email="anna@example.com", conversation_id="anna@example.com"
    )
    assert resumed.messages[-1].kind == "question"
    assert "value most" in resumed.messages[-1].text
    assert await count(runtime, Interview) == 1


async def test_someone_without_an_interview_gets_a_friendly_explanation(runtime: Runtime) -> None:
    outcome = await runtime.service.handle(msg("hello?", 1, who="nobody@example.com"))
    assert outcome.interview_id is None
    assert len(outcome.messages) == 1 and "no interview open for you" in outcome.messages[0].text


async def test_delete_my_answers_removes_them(runtime: Runtime) -> None:
    await runtime.service.begin_chat(
        channel="console", email="anna@example.com", conversation_id="anna@example.com"
    )
    await runtime.service.handle(msg("Career growth", 1))
    await runtime.service.handle(msg(SECRET, 2))
    assert await count(runtime, AnswerRow) >= 2
    await runtime.service.handle(msg("delete my answers", 3))
    final = await runtime.service.handle(msg("yes", 4))
    assert final.status == "deleted"
    assert await count(runtime, AnswerRow) == 0


async def test_forget_erases_the_person(runtime: Runtime) -> None:
    await runtime.service.begin_chat(
        channel="console", email="anna@example.com", conversation_id="anna@example.com"
    )
    await runtime.service.handle(msg("Career growth", 1))
    assert await runtime.service.forget("Anna@Example.com")
    assert await count(runtime, AnswerRow) == 0
    assert await count(runtime, Interview) == 0
    assert not await runtime.service.forget("anna@example.com")


async def test_a_finished_interview_can_still_be_deleted(runtime: Runtime) -> None:
    await runtime.service.begin_chat(
        channel="console", email="anna@example.com", conversation_id="anna@example.com"
    )
    await runtime.service.handle(msg("Career growth", 1))
    stopped = await runtime.service.handle(msg("stop", 2))
    assert stopped.status == "stopped"
    later = await runtime.service.handle(msg("thanks again", 3))
    assert later.status == "stopped" and later.messages
    await runtime.service.handle(msg("delete my answers", 4))
    deleted = await runtime.service.handle(msg("yes", 5))
    assert deleted.status == "deleted"
    assert await count(runtime, AnswerRow) == 0


class FlakyChannel(RecordingChannel):
    """The platform is unreachable for the first send (or the process died right there)."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 1

    async def send(self, conversation_id: str, messages: Sequence[OutMessage], *, key: str) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("platform unreachable")
        await super().send(conversation_id, messages, key=key)


async def test_a_reply_lost_after_the_commit_is_sent_by_the_tick(database_url: str) -> None:
    from datetime import timedelta

    channel = FlakyChannel()
    settings = Settings(database_url=database_url, encryption_key=Cipher.new_key())
    rt = Runtime.open(settings, channels={"console": channel})
    try:
        await rt.service.begin_chat(
            channel="console", email="anna@example.com", conversation_id="anna@example.com"
        )
        with pytest.raises(ConnectionError):
            await rt.service.handle(msg("Career growth", 1))
        assert await count(rt, AnswerRow) == 1  # the answer is safe
        assert channel.sent == []
        assert await rt.service.process_pending(timedelta(0)) == 1
        assert len(channel.sent) == 1
        assert "value most" in channel.sent[0][1][-1].text  # the very reply that was lost
        assert await rt.service.process_pending(timedelta(0)) == 0  # and only once
        async with rt.db.sessions() as s:
            row = await s.get(InboundMessage, "console:m1")
        assert row is not None and row.status == "done" and row.reply_enc is None
    finally:
        await rt.close()


async def test_database_errors_never_carry_the_values_of_a_statement(runtime: Runtime) -> None:
    """Errors end up in logs and tracebacks; the statement's values must not."""
    from sqlalchemy.exc import IntegrityError

    from bot.models import Employee

    now = runtime.clock.now()
    async with runtime.db.transaction() as session:
        session.add(Employee(email="dup@example.com", created_at=now, updated_at=now))
    with pytest.raises(IntegrityError) as failure:
        async with runtime.db.transaction() as session:
            session.add(Employee(email="dup@example.com", created_at=now, updated_at=now))
    message = str(failure.value)
    assert "[SQL parameters hidden due to hide_parameters=True]" in message
    # No parameter dump. (PostgreSQL's own DETAIL line still names the duplicate key: the
    # log filter of `bot.logs` masks emails in whatever reaches a log.)
    assert "'dup@example.com'" not in message


async def test_a_declined_interview_reopened_offers_to_start(runtime: Runtime) -> None:
    """On both backends: the chat opened again (`begin_chat`) and a web link after "no
    thanks" offer the start, without starting anything or making a second interview."""
    from bot import links
    from tests.channels.drivers import EMAIL, invite_in_chat

    interview_id = await invite_in_chat(runtime)
    await runtime.service.begin_chat(channel="console", email=EMAIL, conversation_id=EMAIL)
    assert (await runtime.service.handle(msg("no thanks", 1))).status == "declined"
    async with runtime.db.transaction() as session:
        interview = await session.get(Interview, interview_id)
        assert interview is not None
        token = await links.issue(session, interview, runtime.clock.now())
    again = await runtime.service.begin_chat(channel="console", email=EMAIL, conversation_id=EMAIL)
    assert (again.interview_id, again.status) == (interview_id, "declined")
    [offer] = again.messages
    assert "changed your mind" in offer.text and [c.value for c in offer.choices] == ["start"]
    async with runtime.db.sessions() as session:
        found = await links.check(session, token, runtime.clock.now())
        assert (found.state, found.interview_id) == ("ok", interview_id)
        later = await links.check(session, token, runtime.clock.now() + timedelta(days=10))
        assert later.state == "expired"  # when the interview would have expired
    assert (await runtime.service.handle(msg("start", 2))).status == "in_progress"
    assert await count(runtime, Interview) == 1


# The ways a turn is stored: PostgreSQL's lean path (`bot.lean`), the session's batch path
# (`Turns.stage_batch`: its Core fast path, SQLite's only way), and the ORM's `Turns.apply`
# (what the others leave to it; a message bound to its interview, as a web link's, goes there).
STORAGE_WAYS = ["lean", "batch", "orm"]
CONTINUE = {"en": ("continue", "Welcome back"), "nl": ("doorgaan", "Welkom terug")}


@pytest.mark.parametrize("language", ["en", "nl"])
@pytest.mark.parametrize("way", STORAGE_WAYS)
async def test_a_bare_continue_is_an_answer_unless_the_interview_was_quiet(
    database_url: str, way: str, language: str
) -> None:
    """Every way a turn is stored gives the engine how long the interview was quiet (since
    the employee's previous message): "continue" / "doorgaan" a minute after the question
    is its answer; the same word after a silence is someone coming back, welcomed and asked
    the question again, nothing stored. Before, it was always welcomed and never stored."""
    from datetime import UTC, datetime

    from bot.clock import FrozenClock

    if way == "lean" and not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's lean path")
    clock = FrozenClock(datetime(2026, 11, 27, 10, 0, tzinfo=UTC))
    settings = Settings(database_url=database_url, encryption_key=Cipher.new_key())
    rt = Runtime.open(settings, clock=clock, channels={"console": RecordingChannel()})
    writer = rt.service.writer
    lean = writer.lean
    word, welcome = CONTINUE[language]
    who = "anna@example.com"
    try:
        begin = await rt.service.begin_chat(
            channel="console", email=who, conversation_id=who, language=language
        )
        bound = begin.interview_id if way == "orm" else None
        if way != "lean":
            writer.lean = None
        sent = 0

        async def says(text: str, after: timedelta, choice: str | None = None) -> str:
            nonlocal sent
            sent += 1
            clock.set(clock.now() + after)
            outcome = await rt.service.record(
                Incoming("console", who, who, text, f"m{sent}", choice=choice, interview_id=bound)
            )
            assert not outcome.duplicate and outcome.interview_id == begin.interview_id
            return "\n".join(m.text for m in outcome.messages)

        before = lean.round_trips if lean is not None else 0
        await says("", timedelta(seconds=30), choice="culture")
        assert await count(rt, AnswerRow) == 1
        answered = await says(word, timedelta(minutes=1))  # the question of a minute ago
        assert welcome not in answered
        assert await count(rt, AnswerRow) == 2  # stored (and probed: it is short)
        greeted = await says(word, timedelta(days=2))  # back after two days, at the probe
        assert greeted.startswith(welcome)
        assert await count(rt, AnswerRow) == 2
        if way == "lean":
            assert lean is not None and lean.round_trips - before == 2 * 3  # all of them
        async with rt.db.sessions() as session:
            texts = [
                rt.cipher.decrypt(t)
                for t in (await session.scalars(select(AnswerRow.text_enc))).all()
                if t
            ]
        assert word in texts
        assert writer.lean_errors == 0
    finally:
        writer.lean = lean
        await rt.close()
