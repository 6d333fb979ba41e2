"""Erasure on request: `exitbot forget EMAIL` and "delete my answers" in the chat."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from adapters.base import Incoming
from bot import departures, digest_post
from bot.models import AnswerRow, Departure, Employee, Interview, InterviewFact
from bot.runtime import Runtime
from tests.digest.support import DEC_SLOT, Persona, add_facts, holding, interview

SECRET = "My manager Jan Jansen ignored my burn-out for months"


async def _count(rt: Runtime, model: type) -> int:
    async with rt.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_forget_removes_everything_including_unpublished_facts(rt_any: Runtime) -> None:
    rt = rt_any
    async with rt.db.transaction() as session:
        employee = await rt.service.upsert_employee(
            session,
            email="anna@example.com",
            name="Anna de Vries",
            now=rt.clock.now(),
            department="Sales",
            manager_name="Jan Jansen",
            manager_email="jan@example.com",
        )
        await rt.service.link_identity(
            session, platform="slack", user_id="U0ANNA", employee_id=employee.id, now=rt.clock.now()
        )
        # Someone whose manager Anna was.
        await rt.service.upsert_employee(
            session,
            email="bob@example.com",
            name="Bob",
            now=rt.clock.now(),
            manager_email="anna@example.com",
            manager_name="Anna de Vries",
        )
    await interview(rt, "anna@example.com", Persona(suggest=SECRET, improve=SECRET))
    await interview(rt, "bob@example.com", Persona())
    assert await _count(rt, InterviewFact) == 2

    assert await rt.service.forget("Anna@Example.com")
    assert await holding(rt, "anna@example.com", "Anna", "Vries", "U0ANNA", "burn-out") == []
    assert await _count(rt, InterviewFact) == 1  # only Bob's
    assert await _count(rt, Interview) == 1
    assert await _count(rt, Employee) == 1
    assert not await rt.service.forget("anna@example.com")


async def test_forget_keeps_published_aggregates_but_unlinks_them(rt: Runtime) -> None:
    await interview(rt, "anna@example.com", Persona(suggest=SECRET))
    await add_facts(rt, 4)
    await digest_post.post_due_digest(rt, DEC_SLOT)
    assert await rt.service.forget("anna@example.com")
    assert await holding(rt, "anna@example.com", "burn-out") == []
    async with rt.db.sessions() as session:
        facts = (await session.scalars(select(InterviewFact))).all()
    # Removing a published fact would change a published figure by one person.
    assert len(facts) == 5 and all(f.interview_id is None for f in facts)


async def test_delete_my_answers_in_the_chat(rt: Runtime) -> None:
    email = "anna@example.com"
    await rt.service.begin_chat(channel="console", email=email, conversation_id=email)

    def say(text: str, n: int) -> Incoming:
        return Incoming("console", email, email, text, f"del-{n}")

    await rt.service.handle(say("manager", 1))
    await rt.service.handle(say(SECRET, 2))
    assert await _count(rt, AnswerRow) == 2
    asked = await rt.service.handle(say("delete my answers", 3))
    assert asked.status == "in_progress"  # asks to confirm first
    done = await rt.service.handle(say("yes", 4))
    assert done.status == "deleted"
    assert await _count(rt, AnswerRow) == 0
    assert await _count(rt, InterviewFact) == 0
    assert await holding(rt, "burn-out", "Jan Jansen") == []


async def test_delete_my_answers_at_the_summary_leaves_no_facts(rt: Runtime) -> None:
    email = "anna@example.com"
    await interview(rt, email, Persona(suggest=SECRET), confirm=False)
    result = await rt.service.handle(Incoming("console", email, email, "delete my answers", "d1"))
    result = await rt.service.handle(Incoming("console", email, email, "yes", "d2"))
    assert result.status == "deleted"
    assert await _count(rt, InterviewFact) == 0 and await _count(rt, AnswerRow) == 0
    assert await holding(rt, "burn-out") == []


async def _awaiting_approval(rt: Runtime, email: str, ref: str) -> None:
    """A contract end waiting for an HR admin, as the webhook stores it."""
    now = rt.clock.now()
    async with rt.db.transaction() as session:
        employee = await rt.service.upsert_employee(session, email=email, name=None, now=now)
        session.add(
            Departure(
                external_id=ref,
                employee_id=employee.id,
                kind="contract_end",
                last_working_day=date(2026, 12, 18),
                status="active",
                decision="awaiting_approval",
                created_at=now,
                updated_at=now,
            )
        )


async def _decisions(rt: Runtime) -> dict[str, tuple[str, str | None]]:
    async with rt.db.sessions() as session:
        rows = (await session.scalars(select(Departure))).all()
    return {row.external_id: (row.decision, row.decided_by) for row in rows}


async def test_forget_erases_an_hr_admins_address_from_the_departures_they_decided(
    rt_any: Runtime,
) -> None:
    """Hera, an HR admin, skipped Bob's interview and started Carl's by hand; then she left
    herself and asked to be forgotten. Their departures keep the decision, not her address;
    an HR admin who never left (Olga) can be forgotten too."""
    rt = rt_any
    rt.settings = rt.settings.with_(hr_admins=("hera@example.com", "olga@example.com"))
    async with rt.db.transaction() as session:
        await rt.service.upsert_employee(
            session, email="hera@example.com", name="Hera Smit", now=rt.clock.now()
        )
    await _awaiting_approval(rt, "bob@example.com", "hr-bob")
    await _awaiting_approval(rt, "dora@example.com", "hr-dora")
    skipped = await departures.decide(rt, "hr-bob", False, "Hera@Example.com")
    assert skipped.status == "skipped"
    started = await departures.invite_by_hand(
        rt, "carl@example.com", date(2026, 12, 18), kind="dismissal", by="hera@example.com"
    )
    assert started.status == "scheduled"
    assert (await departures.decide(rt, "hr-dora", False, "olga@example.com")).status == "skipped"
    assert await holding(rt, "hera@", "olga@") != []  # as stored before the erasure

    assert await rt.service.forget("hera@example.com")
    assert await holding(rt, "hera@", "Hera Smit") == []
    decisions = await _decisions(rt)
    assert decisions["hr-bob"] == ("skipped", "erased")
    [carl] = [v for k, v in decisions.items() if k.startswith("manual-")]
    assert carl == ("manual", "erased")
    assert decisions["hr-dora"] == ("skipped", "olga@example.com")

    assert await rt.service.forget("olga@example.com")  # not an employee: only her address
    assert await holding(rt, "olga@") == []
    assert (await _decisions(rt))["hr-dora"] == ("skipped", "erased")
    assert not await rt.service.forget("olga@example.com")
    assert await _count(rt, Employee) == 3  # Bob, Dora and Carl are still there
