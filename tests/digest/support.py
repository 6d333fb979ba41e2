"""Helpers for digest and privacy tests: real interviews through the service, synthetic facts,
a channel that records reports, and a scan of every stored value."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert, select

from adapters.base import Incoming, Opened, Report, Unreachable
from bot import departures
from bot.config import Settings
from bot.crypto import Cipher, CryptoKeyError
from bot.models import Base, FactTheme, InterviewFact
from bot.runtime import Runtime
from conversations import OutMessage

NOV = datetime(2026, 11, 10, 10, 0, tzinfo=UTC)
# 1 December 2026 09:00 in Amsterdam: the default cron's slot for November.
DEC_SLOT = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
JAN_SLOT = datetime(2027, 1, 1, 8, 0, tzinfo=UTC)
FEB_SLOT = datetime(2027, 2, 1, 8, 0, tzinfo=UTC)


class ReportChannel:
    """A chat platform double: records reports (optionally failing first) and messages."""

    def __init__(self, name: str = "slack", fail_times: int = 0, delay: float = 0.0) -> None:
        self.name = name
        self.reports: list[tuple[str, Report]] = []
        self.sent: list[tuple[str, list[OutMessage]]] = []
        self.fail_times = fail_times
        self.delay = delay  # a slow platform: other ticks run while this post is in flight

    async def open_conversation(self, email: str) -> Opened:
        raise Unreachable("not used in these tests")

    async def send(self, conversation_id: str, messages: Sequence[OutMessage], *, key: str) -> None:
        self.sent.append((conversation_id, list(messages)))

    async def post_report(self, target: str, report: Report) -> None:
        if self.fail_times > 0:
            self.fail_times -= 1
            raise ConnectionError("platform down")
        if self.delay:
            await asyncio.sleep(self.delay)
        self.reports.append((target, report))


def reports(runtime: Runtime) -> ReportChannel:
    channel = runtime.service.channels["slack"]
    assert isinstance(channel, ReportChannel)
    return channel


def settings_for(database_url: str, key: str | None = None, **changes: object) -> Settings:
    base = Settings(
        database_url=database_url,
        encryption_key=key or Cipher.new_key(),
        timezone="Europe/Amsterdam",
        hr_channel="slack:CHR0001",
        min_group_size=5,
    )
    return base.with_(**changes)


@dataclass(frozen=True, slots=True)
class Persona:
    """How one leaver answers the model form."""

    reason: str = "pay_benefits"
    valued: str = "The colleagues were great and always helpful"
    improve: str = "More feedback and a lower workload, the deadlines were too tight"
    manager: int = 3
    recommend: int = 7
    come_back: str = "maybe"
    suggest: str = "Better career paths and a real training budget"
    extra: str = "No, that is all"
    follow_up: str = "The salary was simply too low compared to the market"
    answers: Mapping[str, str] = field(default_factory=dict)

    def answer(self, question_id: str) -> tuple[str, str | None]:
        if question_id in self.answers:
            return self.answers[question_id], None
        choices = {
            "main_reason": self.reason,
            "manager_relationship": str(self.manager),
            "recommend": str(self.recommend),
            "come_back": self.come_back,
        }
        if question_id in choices:
            return choices[question_id], choices[question_id]
        texts = {
            "valued_most": self.valued,
            "role_improvement": self.improve,
            "suggestions": self.suggest,
            "anything_else": self.extra,
        }
        return texts[question_id], None


async def interview(
    rt: Runtime,
    email: str,
    persona: Persona = Persona(),
    *,
    name: str | None = None,
    department: str | None = None,
    manager_name: str | None = None,
    confirm: bool = True,
    last_day: date | None = None,
) -> int:
    """Hold one whole interview through the service and the real engine; its id. A leaver's,
    as `exitbot invite EMAIL --last-day DATE` then `exitbot chat --as EMAIL` holds it: a
    departure first, their active one if they have one (without one, the terminal's
    interview would be a try-out, which no digest counts); its last working day `last_day`,
    by default three weeks ahead."""
    if department or manager_name:
        async with rt.db.transaction() as session:
            await rt.service.upsert_employee(
                session,
                email=email,
                name=name,
                now=rt.clock.now(),
                department=department,
                manager_name=manager_name,
                manager_email=None,
            )
    last_day = last_day or rt.clock.now().date() + timedelta(days=21)
    await departures.invite_by_hand(rt, email, last_day, kind="resignation")
    out = await rt.service.begin_chat(
        channel="console", email=email, conversation_id=email, name=name
    )
    assert out.interview_id is not None and not out.tryout
    last = out.messages[-1]
    for step in range(40):
        if last.kind == "question":
            assert last.question_id is not None
            text, choice = persona.answer(last.question_id)
        elif last.kind == "follow_up":
            text, choice = persona.follow_up, None
        elif last.kind == "summary" and confirm:
            text, choice = last.choices[0].label, last.choices[0].value
        elif last.kind == "summary":
            return out.interview_id
        else:
            raise AssertionError(f"unexpected {last.kind}: {last.text[:80]}")
        result = await rt.service.handle(
            Incoming(
                channel="console",
                user_id=email,
                conversation_id=email,
                text=text,
                choice=choice,
                message_id=f"{email}:{step}",
            )
        )
        if result.status == "completed":
            return out.interview_id
        assert result.status == "in_progress", result.status
        last = result.messages[-1]
    raise AssertionError("interview did not finish")


async def add_facts(
    rt: Runtime,
    n: int,
    *,
    period: str = "2026-11",
    department: str | None = None,
    reason: str | None = "pay_benefits",
    recommend: int | None = 8,
    manager: int | None = 3,
    come_back: str | None = "maybe",
    themes: Iterable[tuple[str, str]] = (),
) -> None:
    """Insert `n` synthetic facts of confirmed interviews (no interview rows behind them)."""
    themes = list(themes)
    async with rt.db.transaction() as session:
        for _ in range(n):
            fact = InterviewFact(
                period=period,
                department=department,
                main_reason=reason,
                recommend=recommend,
                manager_score=manager,
                come_back=come_back,
            )
            session.add(fact)
            await session.flush()
            if themes:
                await session.execute(
                    insert(FactTheme),
                    [{"fact_id": fact.id, "source": s, "theme": t} for s, t in themes],
                )


async def stored_values(rt: Runtime) -> list[tuple[str, str, str]]:
    """(table, column, text) for every stored value, encrypted ones decrypted."""
    found = []
    async with rt.db.sessions() as session:
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(select(table))).mappings():
                for column, value in row.items():
                    if value is None:
                        continue
                    if isinstance(value, str) and column.endswith("_enc"):
                        try:
                            value = rt.cipher.decrypt(value)
                        except CryptoKeyError:
                            value = f"<undecryptable {value}>"
                    elif not isinstance(value, str):
                        value = json.dumps(value, default=str)
                    found.append((table.name, column, value))
    return found


async def holding(rt: Runtime, *needles: str) -> list[tuple[str, str]]:
    """Where any of `needles` still appears (case-insensitive)."""
    lowered = [n.lower() for n in needles]
    return [
        (table, column)
        for table, column, value in await stored_values(rt)
        if any(n in value.lower() for n in lowered)
    ]
