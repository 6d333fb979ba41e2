"""Anonymous per-interview aggregates (what the digest counts), kept apart from answers.

A custom questionnaire feeds the digest by reusing the model form's question ids:
`main_reason`, `recommend`, `manager_relationship`, `come_back`.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.models import AnswerRow, Departure, Employee, FactTheme, Interview, InterviewFact

SCORE_QUESTIONS = {"recommend": "recommend", "manager_relationship": "manager_score"}


def period_of(moment: datetime, timezone: str) -> str:
    """The digest period (calendar month, company time zone) a moment falls into."""
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m")


async def record(
    session: AsyncSession, interview: Interview, settings: Settings, now: datetime
) -> InterviewFact:
    """Write the facts of a just-confirmed interview (replacing any unpublished earlier ones).

    Facts a digest already published are kept as they are: changing them afterwards would
    let the next digest reveal one person's change by comparison.
    """
    await remove(session, interview.id)
    published = await session.scalar(
        select(InterviewFact).where(InterviewFact.interview_id == interview.id)
    )
    if published is not None:
        return published
    rows = (
        await session.execute(
            select(AnswerRow.question_id, AnswerRow.seq, AnswerRow.value, AnswerRow.themes).where(
                AnswerRow.interview_id == interview.id
            )
        )
    ).all()
    fact = InterviewFact(interview_id=interview.id, period=period_of(now, settings.timezone))
    if interview.employee_id is not None:
        employee = await session.get(Employee, interview.employee_id)
        fact.department = employee.department if employee else None
    if interview.departure_id is not None:
        departure = await session.get(Departure, interview.departure_id)
        fact.departure_kind = departure.kind if departure else None
    themes: set[tuple[str, str]] = set()
    for question_id, seq, value, theme_list in rows:
        if seq == 0 and value is not None:
            if question_id == "main_reason":
                fact.main_reason = value
            elif question_id == "come_back":
                fact.come_back = value
            elif question_id in SCORE_QUESTIONS and value.lstrip("-").isdigit():
                setattr(fact, SCORE_QUESTIONS[question_id], int(value))
        for theme in (theme_list or "").split(","):
            if theme:
                themes.add((question_id, theme))
    session.add(fact)
    await session.flush()
    for source, theme in sorted(themes):
        session.add(FactTheme(fact_id=fact.id, source=source, theme=theme))
    return fact


async def remove(session: AsyncSession, interview_id: int) -> None:
    """Drop the facts of one interview unless a digest already published them."""
    await session.execute(
        delete(InterviewFact).where(
            InterviewFact.interview_id == interview_id, InterviewFact.digest_id.is_(None)
        )
    )


async def forget_departures(session: AsyncSession, employee_id: int) -> None:
    await session.execute(delete(Departure).where(Departure.employee_id == employee_id))
