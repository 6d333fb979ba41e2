"""HR corrects a departure's address after the invite went out, in Teams: Teams finds people
only by the address they last wrote with, so for an address renamed since, ExitBot asks Teams
which address the one holding the interview has now; the same person keeps the conversation.
Through the signed webhook, the tick and the real CloudAdapter against the fake Bot Connector,
on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from adapters.teams import EMAIL_SECONDS
from bot.crypto import Cipher
from bot.models import Employee, Interview, PlatformIdentity
from bot.tick import run_tick
from tests.teams.harness import TeamsHarness
from tests.teams.test_interview import DETAILED, answers, say

OLD, NEW = "a.devries@example.com", "anna@example.com"


def event(type_: str, email: str) -> dict[str, Any]:
    return {
        "type": type_,
        "departure": {
            "id": "hr-4711",
            "kind": "resignation",
            "last_working_day": "2026-12-18",
            "employee": {"email": email, "language": "en"},
        },
    }


async def holder(teams: TeamsHarness) -> tuple[str, str | None]:
    async with teams.runtime.db.sessions() as session:
        row = (
            await session.execute(
                select(Interview.status, Employee.email).join(
                    Employee, Employee.id == Interview.employee_id
                )
            )
        ).one()
    return row.status, row.email


async def test_a_renamed_teams_address_keeps_the_conversation(
    make_teams: Any, database_url: str
) -> None:
    teams = await make_teams(database_url=database_url)
    assert await teams.post(teams.install(email=OLD)) == 201
    assert (await teams.post_webhook(event("departure.created", OLD)))[1]["status"] == "scheduled"
    teams.clock.advance(timedelta(days=14))
    assert (await run_tick(teams.runtime))["invites sent"] == 1
    teams.new_messages()
    await say(teams, "start")
    await say(teams, "Pay and benefits")
    kept = await answers(teams)
    assert kept == 1

    # Renamed in Teams (she has not written since) and then in the HR system
    teams.connector.members["29:user1"].update(email=NEW, userPrincipalName=NEW)
    teams.clock.advance(timedelta(minutes=5))
    status, answer = await teams.post_webhook(event("departure.updated", NEW))
    assert (status, answer["interview"]) == (202, "sent") and "detail" in answer
    report = await run_tick(teams.runtime)
    assert report["interviews moved to a corrected address"] == 1
    assert report["invites withdrawn from the wrong person"] == 0
    assert teams.new_messages() == []  # nothing said to her
    assert await holder(teams) == ("in_progress", NEW) and await answers(teams) == kept

    # She goes on where she was, to the end
    replies = await say(teams, "The salary was well below the market for my role and experience")
    assert "no interview open" not in replies[-1]
    for text in (DETAILED, DETAILED, "4", "8", "maybe", DETAILED, "no"):
        replies = await say(teams, text)
    assert "Is this right?" in replies[-1] and "Pay and benefits" in replies[-1]
    await say(teams, "yes")
    assert await holder(teams) == ("completed", NEW)


async def test_who_declined_under_a_renamed_teams_address_may_still_start(
    make_teams: Any, database_url: str
) -> None:
    """She said "no thanks" under her old address, which is renamed in Teams (she has not
    written since) and then in the HR system: Teams says the member who declined has the
    corrected address now, so it was her own answer. No second invite; "start" starts it."""
    teams = await make_teams(database_url=database_url)
    assert await teams.post(teams.install(email=OLD)) == 201
    assert (await teams.post_webhook(event("departure.created", OLD)))[1]["status"] == "scheduled"
    teams.clock.advance(timedelta(days=14))
    assert (await run_tick(teams.runtime))["invites sent"] == 1
    teams.new_messages()
    await say(teams, "no thanks")
    assert await holder(teams) == ("declined", OLD)

    teams.connector.members["29:user1"].update(email=NEW, userPrincipalName=NEW)
    teams.clock.advance(timedelta(minutes=5))
    status, answer = await teams.post_webhook(event("departure.updated", NEW))
    # as for any invite that went out, until the end of her last day: never "declined"
    assert (status, answer["status"], answer["interview"]) == (202, "scheduled", "sent")
    report = await run_tick(teams.runtime)
    assert report["interviews moved to a corrected address"] == 1
    assert (report["invites sent"], report["unreachable"]) == (0, 0)
    assert teams.new_messages() == []  # not asked again
    assert await holder(teams) == ("declined", NEW)

    replies = await say(teams, "start")
    assert "main reason" in replies[-1]
    assert await holder(teams) == ("in_progress", NEW)


async def test_another_replica_finds_the_interview_after_a_rename(
    make_teams: Any, database_url: str
) -> None:
    """Two replicas on one database. Replica B learnt her old address from Teams while she
    answered there; replica A's tick then finds her renamed and moves the interview to the
    corrected address. Once B's copy of what Teams said is due again (`EMAIL_SECONDS`), B asks
    Teams afresh, instead of linking her back to the old address with its stale copy, which
    left her with "no interview open for you" on B from then on."""
    key = Cipher.new_key()
    a = await make_teams(database_url=database_url, encryption_key=key)
    b = await make_teams(database_url=database_url, encryption_key=key)
    assert await a.post(a.install(email=OLD)) == 201
    assert (await a.post_webhook(event("departure.created", OLD)))[1]["status"] == "scheduled"
    for replica in (a, b):
        replica.clock.advance(timedelta(days=14))
    assert (await run_tick(a.runtime))["invites sent"] == 1
    a.new_messages()
    await say(b, "start")
    assert "Thanks for sharing" in (await say(b, "Pay and benefits"))[-1]

    a.connector.members["29:user1"].update(email=NEW, userPrincipalName=NEW)
    for replica in (a, b):
        replica.clock.advance(timedelta(minutes=5))
    assert (await a.post_webhook(event("departure.updated", NEW)))[0] == 202
    assert (await run_tick(a.runtime))["interviews moved to a corrected address"] == 1
    assert await holder(a) == ("in_progress", NEW)

    b.channel.monotonic = lambda: time.monotonic() + EMAIL_SECONDS + 1
    replies = await say(b, "The salary was well below the market for my role and experience")
    assert "no interview open" not in replies[-1] and "could have been better" in replies[-1]
    assert await linked_to(b) == NEW
    replies = await say(a, DETAILED)
    assert "no interview open" not in replies[-1]
    assert await holder(a) == ("in_progress", NEW)


async def linked_to(teams: TeamsHarness) -> str | None:
    async with teams.runtime.db.sessions() as session:
        return await session.scalar(
            select(Employee.email)
            .join(PlatformIdentity, PlatformIdentity.employee_id == Employee.id)
            .where(PlatformIdentity.platform == "teams", PlatformIdentity.user_id == "29:user1")
        )
