"""Anonymous per-interview aggregates (what the digest counts), kept apart from answers.

A custom questionnaire feeds the digest by reusing the model form's question ids:
`main_reason`, `recommend`, `manager_relationship`, `come_back`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, bindparam, delete, func, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

from bot.config import Settings
from bot.models import AnswerRow, Departure, Employee, FactTheme, Interview, InterviewFact

SCORE_QUESTIONS = {"recommend": "recommend", "manager_relationship": "manager_score"}


def period_of(moment: datetime, timezone: str) -> str:
    """The digest period (calendar month, company time zone) a moment falls into."""
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m")


async def record(
    session: AsyncSession, interview: Interview, settings: Settings, now: datetime
) -> InterviewFact | None:
    """`record_sync` on an async session."""
    return await session.run_sync(record_sync, interview, settings, now)


def record_sync(
    session: Session, interview: Interview, settings: Settings, now: datetime
) -> InterviewFact | None:
    """`write` for an ORM interview; the fact row (None for a try-out)."""
    session.flush()
    fact_id = write(
        session.connection(),
        interview.id,
        interview.employee_id,
        interview.departure_id,
        settings,
        now,
    )
    if fact_id is None:
        return None
    fact = session.get(InterviewFact, fact_id)
    assert fact is not None
    return fact


_FACTS = cast(Table, InterviewFact.__table__)
_THEMES = cast(Table, FactTheme.__table__)
REMOVE = delete(_FACTS).where(
    _FACTS.c.interview_id == bindparam("interview_id"), _FACTS.c.digest_id.is_(None)
)
PUBLISHED = select(_FACTS.c.id).where(_FACTS.c.interview_id == bindparam("interview_id"))
ANSWERS = select(AnswerRow.question_id, AnswerRow.seq, AnswerRow.value, AnswerRow.themes).where(
    AnswerRow.interview_id == bindparam("interview_id")
)
_DEPARTURE: BindParameter[int] = bindparam("departure")
# The department of the person leaving: the one the departure names, also while the interview
# is still held at an address HR has since corrected (`bot.readdress`), whose row no longer
# carries it (`bot.departures`); without a departure (an interview opened in the terminal or
# on the web), its holder's. Then the departure's kind, and whether the interview is a
# try-out (`Interview.tryout`), which makes no facts.
ORIGIN = select(
    func.coalesce(
        select(Employee.department)
        .join(Departure, Departure.employee_id == Employee.id)
        .where(Departure.id == _DEPARTURE)
        .scalar_subquery(),
        select(Employee.department).where(Employee.id == bindparam("employee")).scalar_subquery(),
    ),
    select(Departure.kind).where(Departure.id == _DEPARTURE).scalar_subquery(),
    select(Interview.tryout).where(Interview.id == bindparam("interview")).scalar_subquery(),
)
_INSERT_FACT = insert(_FACTS).returning(_FACTS.c.id)
_INSERT_THEMES = insert(_THEMES)


def write(
    conn: Connection,
    interview_id: int,
    employee_id: int | None,
    departure_id: int | None,
    settings: Settings,
    now: datetime,
) -> int | None:
    """Write the facts of a just-confirmed interview (replacing any unpublished earlier ones);
    the fact id, None for a try-out (`Interview.tryout`), which makes none.

    Facts a digest already published are kept as they are: changing them afterwards would
    let the next digest reveal one person's change by comparison.
    """
    conn.execute(REMOVE, {"interview_id": interview_id})
    published = conn.scalar(PUBLISHED, {"interview_id": interview_id})
    if published is not None:
        return int(published)
    found = conn.execute(ORIGIN, origin_params(interview_id, employee_id, departure_id)).one()
    if found[2]:
        return None
    origin: tuple[str | None, str | None] = (found[0], found[1])
    answers = conn.execute(ANSWERS, {"interview_id": interview_id}).all()
    fact, themes = values(interview_id, origin, answers, settings, now)
    fact_id = int(conn.execute(_INSERT_FACT, fact).scalar_one())
    if themes:
        conn.execute(
            _INSERT_THEMES,
            [{"fact_id": fact_id, "source": src, "theme": theme} for src, theme in themes],
        )
    return fact_id


def origin_params(
    interview_id: int, employee_id: int | None, departure_id: int | None
) -> dict[str, int | None]:
    """`ORIGIN`'s parameters."""
    return {"interview": interview_id, "employee": employee_id, "departure": departure_id}


def values(
    interview_id: int,
    origin: tuple[str | None, str | None],
    answers: Iterable[Sequence[Any]],
    settings: Settings,
    now: datetime,
) -> tuple[dict[str, object], list[tuple[str, str]]]:
    """The fact row of an interview and its (source question, theme) pairs, sorted, from
    its `origin` (department, departure kind) and its answers (question id, seq, value,
    themes: `ANSWERS`' columns)."""
    fact: dict[str, object] = {
        "interview_id": interview_id,
        "period": period_of(now, settings.timezone),
        "department": origin[0],
        "departure_kind": origin[1],
        "main_reason": None,
        "come_back": None,
        "recommend": None,
        "manager_score": None,
        "digest_id": None,
    }
    themes: set[tuple[str, str]] = set()
    for question_id, seq, value, theme_list in answers:
        if seq == 0 and value is not None:
            if question_id == "main_reason":
                fact["main_reason"] = value
            elif question_id == "come_back":
                fact["come_back"] = value
            elif question_id in SCORE_QUESTIONS and value.lstrip("-").isdigit():
                fact[SCORE_QUESTIONS[question_id]] = int(value)
        for theme in (theme_list or "").split(","):
            if theme:
                themes.add((question_id, theme))
    return fact, sorted(themes)


async def remove(session: AsyncSession, interview_id: int) -> None:
    """`remove_sync` on an async session."""
    await session.run_sync(remove_sync, interview_id)


def remove_sync(session: Session | Connection, interview_id: int) -> None:
    """Drop the facts of one interview unless a digest already published them."""
    session.execute(REMOVE, {"interview_id": interview_id})


async def forget_departures(session: AsyncSession, employee_id: int) -> None:
    await session.execute(delete(Departure).where(Departure.employee_id == employee_id))
