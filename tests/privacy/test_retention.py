"""Retention: after the purge no row holds the answer text or the person↔interview link."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from adapters.base import Incoming
from bot import digest_post, privacy
from bot.models import AnswerRow, Departure, Employee, Interview, InterviewFact, PlatformIdentity
from bot.runtime import Runtime
from bot.tick import run_tick
from tests.digest.support import DEC_SLOT, NOV, Persona, add_facts, holding, interview, reports

SECRET = "Mijn leidinggevende Jan Jansen gaf nooit feedback over mijn burn-out"


async def _leaver(rt: Runtime, email: str, *, last_day: date, confirm: bool = True) -> int:
    async with rt.db.transaction() as session:
        employee = await rt.service.upsert_employee(
            session,
            email=email,
            name="Anna de Vries",
            now=rt.clock.now(),
            department="Sales",
            manager_name="Jan Jansen",
            manager_email="jan@example.com",
        )
        departure = Departure(
            external_id=f"hr-{email}",
            employee_id=employee.id,
            kind="resignation",
            last_working_day=last_day,
            decision="auto",
            created_at=rt.clock.now(),
            updated_at=rt.clock.now(),
        )
        session.add(departure)
        await rt.service.link_identity(
            session, platform="slack", user_id="U0ANNA", employee_id=employee.id, now=rt.clock.now()
        )
    interview_id = await interview(
        rt, email, Persona(suggest=SECRET), confirm=confirm, last_day=last_day
    )
    async with rt.db.sessions() as session:
        row = await session.get(Interview, interview_id)
        assert row is not None and row.departure_id == departure.id  # the one HR announced
    return interview_id


async def test_answers_and_links_are_purged_after_the_retention_period(rt: Runtime) -> None:
    completed = await _leaver(rt, "anna@example.com", last_day=date(2026, 11, 20))
    assert await holding(rt, SECRET)  # stored (encrypted) until then

    counts = await privacy.purge_expired(rt.db, rt.settings, NOV + timedelta(days=89))
    assert counts.interviews == 0 and await holding(rt, SECRET)

    counts = await privacy.purge_expired(rt.db, rt.settings, NOV + timedelta(days=91))
    assert counts.interviews == 1
    assert await holding(rt, SECRET, "burn-out") == []
    async with rt.db.sessions() as session:
        row = await session.get(Interview, completed)
        assert row is not None and row.purged_at is not None
        assert (row.employee_id, row.departure_id, row.state_enc, row.address) == (None,) * 4
        assert (await session.scalars(select(AnswerRow))).all() == []
        [fact] = (await session.scalars(select(InterviewFact))).all()
    # The anonymous aggregates remain and still count in the digest.
    assert fact.interview_id is None and fact.main_reason == "pay_benefits"
    await add_facts(rt, 4)
    assert (await digest_post.preview(rt)).count == 5


async def test_unfinished_interviews_are_purged_after_their_last_activity(rt: Runtime) -> None:
    interview_id = await _leaver(rt, "anna@example.com", last_day=date(2026, 11, 20), confirm=False)
    await rt.service.handle(
        Incoming("console", "anna@example.com", "anna@example.com", "stop", "stop-1")
    )
    counts = await privacy.purge_expired(rt.db, rt.settings, NOV + timedelta(days=91))
    assert counts.interviews == 1
    assert await holding(rt, SECRET, "burn-out") == []
    async with rt.db.sessions() as session:
        row = await session.get(Interview, interview_id)
        assert row is not None and row.employee_id is None and row.purged_at is not None


async def test_nothing_identifiable_two_years_after_employment_ends(rt: Runtime) -> None:
    await _leaver(rt, "anna@example.com", last_day=date(2026, 11, 20))
    async with rt.db.transaction() as session:
        # A colleague who left recently, whose manager Anna was, and whose interview she
        # approved as an HR admin.
        bob = await rt.service.upsert_employee(
            session,
            email="bob@example.com",
            name="Bob Bakker",
            now=rt.clock.now(),
            manager_email="anna@example.com",
            manager_name="Anna de Vries",
        )
        session.add(
            Departure(
                external_id="hr-bob",
                employee_id=bob.id,
                kind="contract_end",
                last_working_day=date(2028, 11, 1),
                decision="approved",
                decided_by="anna@example.com",
                created_at=rt.clock.now(),
                updated_at=rt.clock.now(),
            )
        )
    # Long retention, so only the two-year rule applies.
    rt.settings = rt.settings.with_(retention_days=5000)
    assert (
        await privacy.purge_expired(rt.db, rt.settings, NOV + timedelta(days=700))
    ).employees == 0
    counts = await privacy.purge_expired(rt.db, rt.settings, NOV + timedelta(days=2 * 365 + 12))
    assert counts.employees == 1 and counts.interviews == 1
    assert await holding(rt, "anna@example.com", "de Vries", "U0ANNA", SECRET) == []
    async with rt.db.sessions() as session:
        assert [d.external_id for d in (await session.scalars(select(Departure))).all()] == [
            "hr-bob"
        ]
        assert (await session.scalars(select(PlatformIdentity))).all() == []
        assert [e.email for e in (await session.scalars(select(Employee))).all()] == [
            "bob@example.com"
        ]
        assert len((await session.scalars(select(InterviewFact))).all()) == 1


async def test_the_tick_purges_once_a_day(rt: Runtime) -> None:
    await _leaver(rt, "anna@example.com", last_day=date(2026, 11, 20))
    when = NOV + timedelta(days=91)
    first = await run_tick(rt, when)
    assert first["interviews purged (retention)"] == 1
    again = await run_tick(rt, when + timedelta(hours=1))
    assert again["interviews purged (retention)"] == 0 and again.jobs_run == 0
    assert await holding(rt, SECRET) == []


async def test_published_digest_survives_the_purge(rt: Runtime) -> None:
    for n in range(5):
        await interview(rt, f"p{n}@example.com", Persona(suggest=f"{SECRET} {n}"))
    await digest_post.post_due_digest(rt, DEC_SLOT)
    await privacy.purge_expired(rt.db, rt.settings, NOV + timedelta(days=91))
    assert await holding(rt, "burn-out") == []
    assert "Interviews: 5" in reports(rt).reports[0][1].as_text()
    async with rt.db.sessions() as session:
        facts = (await session.scalars(select(InterviewFact))).all()
    assert [(f.interview_id, f.digest_id is not None) for f in facts] == [(None, True)] * 5


async def test_erasure_tombstones_go_after_two_years(rt: Runtime) -> None:
    """What `forget` keeps so the HR system cannot have an erased person invited again (a
    hash of the departure id) is kept for the two years anything about a departure is."""
    from bot.models import ErasedDeparture, erased_ref

    async with rt.db.transaction() as session:
        session.add(ErasedDeparture(ref_hash=erased_ref("hr-1"), erased_at=NOV))
        session.add(
            ErasedDeparture(ref_hash=erased_ref("hr-2"), erased_at=NOV + timedelta(days=400))
        )
    await privacy.purge_expired(rt.db, rt.settings, NOV + timedelta(days=731))
    async with rt.db.sessions() as session:
        left = list(await session.scalars(select(ErasedDeparture.ref_hash)))
    assert left == [erased_ref("hr-2")]
