"""Retention and erasure: raw answers and the person↔interview link do not outlive their use.

- Retention (daily, from the tick): `EXITBOT_RETENTION_DAYS` after an interview was completed
  (or, for any other interview, after its last activity) its answer text, conversation state,
  inbound payloads, web links and jobs are deleted, and the links to the person are cut:
  `interviews.employee_id`/`departure_id`/`address` and `interview_facts.interview_id` become
  NULL. The anonymous facts remain for digests; nothing ties them to anyone any more.
- Two years after employment ended nothing identifiable is kept: the employee, their
  departures, platform identities and any interview of theirs not purged yet; interviews
  purged more than two years ago are deleted outright.
- Erasure on request is `InterviewService.forget` (which calls `erase_references` here).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.db import Database
from bot.digest import demo_interviews
from bot.models import (
    AnswerRow,
    Departure,
    Employee,
    ErasedDeparture,
    FactTheme,
    InboundMessage,
    Interview,
    InterviewFact,
    Job,
    PlatformIdentity,
    WebLink,
)

if TYPE_CHECKING:
    from bot.jobs import ClaimedJob, TickContext, TickRegistry

log = logging.getLogger(__name__)

OPEN = ("invited", "in_progress", "paused")
KEEP_IDENTITY_DAYS = 730  # nothing identifiable > 2 years after employment ends
BATCH = 500
ERASED = "erased"  # in place of an erased HR admin's address in `departures.decided_by`


@dataclass(frozen=True, slots=True)
class PurgeCounts:
    interviews: int = 0  # interviews whose answers and links were purged
    employees: int = 0  # employees (and their departures) deleted after two years
    interviews_deleted: int = 0  # purged interview rows older than two years, deleted


async def purge_interviews(session: AsyncSession, ids: Sequence[int], now: datetime) -> None:
    """Delete the raw content of these interviews and cut every link to a person."""
    if not ids:
        return
    ids = list(ids)
    for model in (AnswerRow, InboundMessage, WebLink, Job):
        await session.execute(delete(model).where(model.interview_id.in_(ids)))
    # The playground's demo facts go: cut loose, they could no longer be told from real ones
    demo = demo_interviews().where(Interview.id.in_(ids))
    demo_facts = select(InterviewFact.id).where(InterviewFact.interview_id.in_(demo))
    await session.execute(delete(FactTheme).where(FactTheme.fact_id.in_(demo_facts)))
    await session.execute(
        delete(InterviewFact)
        .where(InterviewFact.interview_id.in_(demo))
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(InterviewFact)
        .where(InterviewFact.interview_id.in_(ids))
        .values(interview_id=None)
        .execution_options(synchronize_session=False)
    )
    for status_now, condition in (
        ("expired", Interview.status.in_(OPEN)),
        (None, Interview.status.not_in(OPEN)),
    ):
        values: dict[str, object] = {
            "state_enc": None,
            "employee_id": None,
            "departure_id": None,
            "address": None,
            "note": None,
            "purged_at": now,
            "updated_at": now,
        }
        if status_now:
            values["status"] = status_now
        await session.execute(
            update(Interview)
            .where(Interview.id.in_(ids), condition)
            .values(values)
            .execution_options(synchronize_session=False)
        )


def _expired(cutoff: datetime) -> ColumnElement[bool]:
    last = func.coalesce(Interview.last_activity_at, Interview.updated_at)
    return and_(
        Interview.purged_at.is_(None),
        Interview.status != "scheduled",
        or_(
            and_(
                Interview.status == "completed",
                func.coalesce(Interview.completed_at, last) < cutoff,
            ),
            and_(Interview.status != "completed", last < cutoff),
        ),
    )


async def purge_expired(db: Database, settings: Settings, now: datetime) -> PurgeCounts:
    """Apply retention and the two-year rule once; idempotent, in short batches."""
    cutoff = now - timedelta(days=settings.retention_days)
    purged = 0
    while True:
        async with db.transaction() as session:
            ids = (
                await session.scalars(
                    select(Interview.id).where(_expired(cutoff)).order_by(Interview.id).limit(BATCH)
                )
            ).all()
            await purge_interviews(session, ids, now)
        purged += len(ids)
        if len(ids) < BATCH:
            break
    employees, more = await _forget_former_employees(db, settings, now)
    purged += more
    old = now - timedelta(days=KEEP_IDENTITY_DAYS)
    async with db.transaction() as session:
        result = await session.execute(
            delete(Interview).where(Interview.purged_at.is_not(None), Interview.purged_at < old)
        )
        deleted = int(getattr(result, "rowcount", 0) or 0)
        await session.execute(
            delete(PlatformIdentity).where(
                PlatformIdentity.employee_id.is_(None), PlatformIdentity.updated_at < old
            )
        )
        await session.execute(delete(ErasedDeparture).where(ErasedDeparture.erased_at < old))
    if purged or employees or deleted:
        log.info(
            "retention: purged %d interviews, forgot %d former employees, deleted %d old ones",
            purged,
            employees,
            deleted,
        )
    return PurgeCounts(purged, employees, deleted)


def _two_years_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 2)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 2, day=28)


async def _forget_former_employees(
    db: Database, settings: Settings, now: datetime
) -> tuple[int, int]:
    """Delete employees whose employment ended over two years ago; (employees, interviews)."""
    horizon = _two_years_before(now.astimezone(settings.zone).date())
    old = now - timedelta(days=KEEP_IDENTITY_DAYS)
    async with db.transaction() as session:
        await session.execute(
            delete(Departure).where(
                Departure.employee_id.is_(None),
                or_(
                    Departure.last_working_day < horizon,
                    and_(Departure.last_working_day.is_(None), Departure.updated_at < old),
                ),
            )
        )
        recent_departure = select(Departure.id).where(
            Departure.employee_id == Employee.id,
            or_(
                Departure.last_working_day >= horizon,
                and_(Departure.last_working_day.is_(None), Departure.updated_at >= old),
            ),
        )
        open_interview = select(Interview.id).where(
            Interview.employee_id == Employee.id,
            or_(Interview.status.in_(OPEN), Interview.status == "scheduled"),
        )
        any_departure = select(Departure.id).where(Departure.employee_id == Employee.id)
        employees = (
            await session.execute(
                select(Employee.id, Employee.email).where(
                    ~recent_departure.exists(),
                    ~open_interview.exists(),
                    # Without any departure (a terminal or web chat), go by the last update.
                    or_(any_departure.exists(), Employee.updated_at < old),
                )
            )
        ).all()
        interviews = 0
        for employee_id, email in employees:
            ids = (
                await session.scalars(
                    select(Interview.id).where(Interview.employee_id == employee_id)
                )
            ).all()
            await purge_interviews(session, ids, now)
            interviews += len(ids)
            await session.execute(delete(Departure).where(Departure.employee_id == employee_id))
            await erase_references(session, employee_id, email)
            await session.execute(delete(Employee).where(Employee.id == employee_id))
    return len(employees), interviews


async def erase_references(session: AsyncSession, employee_id: int | None, email: str) -> int:
    """Remove what other rows say about this person: identities, them as a manager, and them
    as the HR admin who decided on someone else's departure. How many rows named them."""
    changed = 0
    if employee_id is not None:
        await session.execute(
            delete(PlatformIdentity).where(PlatformIdentity.employee_id == employee_id)
        )
    for statement in (
        update(Employee)
        .where(func.lower(Employee.manager_email) == email.lower())
        .values(manager_email=None, manager_name=None),
        # The decision stays (approved, skipped, started by hand); who took it does not.
        update(Departure)
        .where(func.lower(Departure.decided_by) == email.lower())
        .values(decided_by=ERASED),
    ):
        result = await session.execute(statement.execution_options(synchronize_session=False))
        changed += int(getattr(result, "rowcount", 0) or 0)
    return changed


# ---------------------------------------------------------------------- the tick


def register(built: TickRegistry) -> None:
    """Tick contributor: one retention purge per day (a job keyed by the date)."""
    built.handlers["retention_purge"] = _purge_job
    built.periodic["retention_purge"] = _ensure_daily


async def _ensure_daily(ctx: TickContext) -> None:
    from bot.tick import ensure_daily

    await ensure_daily(ctx, "retention_purge")


async def _purge_job(ctx: TickContext, job: ClaimedJob) -> datetime | None:
    counts = await purge_expired(ctx.runtime.db, ctx.runtime.settings, ctx.now)
    ctx.report.add("interviews purged (retention)", counts.interviews)
    ctx.report.add("former employees forgotten", counts.employees)
    async with ctx.runtime.db.transaction() as session:
        await session.execute(
            delete(Job).where(
                Job.kind == "retention_purge",
                Job.status == "done",
                Job.done_at < ctx.now - timedelta(days=30),
            )
        )
    return None
