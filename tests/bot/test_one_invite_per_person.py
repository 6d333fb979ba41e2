"""One person, one invite, when the HR system corrects an address to someone who has an
interview of their own: through the signed webhook and the tick, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot import hr_commands
from bot.models import Interview
from bot.tick import run_tick
from tests.bot.test_departures import COMPLETING
from tests.support.departures import (
    Harness,
    departure,
    fast_database_url,  # noqa: F401  (overrides the shared, slower `database_url`)
    harness,
)

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)  # Monday
ALICE, BOB = "alice@example.com", "bob@example.com"
# Bob's own departure, last day Fri 18 Dec: invited Fri 11 Dec 10:00 CET.
BOB_INVITE = datetime(2026, 12, 11, 9, tzinfo=UTC)
# The departure HR first sent with Alice's address, last day Tue 22 Dec: Tue 15 Dec 10:00 CET.
OTHER_INVITE = datetime(2026, 12, 15, 9, tzinfo=UTC)
ELSEWHERE = {
    "status": "not_invited",
    "departure_id": "hr-a",
    "reason": "the employee has or had an exit interview for another departure (one at a "
    "time, and one in 365 days); how it went is not shared",
    "reason_code": "interview_elsewhere",
}


@pytest.fixture
async def h(database_url: str) -> AsyncIterator[Harness]:
    async with harness(
        database_url, NOW, timezone="Europe/Amsterdam", fallback_after_last_day=False
    ) as built:
        yield built


async def post(h: Harness, document: dict[str, object]) -> dict[str, object]:
    """Each event a second after the one before (the order the HR system sent them in)."""
    h.clock.set(h.clock.now() + timedelta(seconds=1))
    status, answer = await h.post(document)
    assert status == 202
    return answer


def alices_departure(type_: str = "departure.created", email: str = ALICE) -> dict[str, object]:
    return departure(type_, id_="hr-a", email=email, last_day="2026-12-22", name="Alice")


def bobs_departure() -> dict[str, object]:
    return departure(id_="hr-b", email=BOB, last_day="2026-12-18", name="Bob")


async def bob_says(h: Harness, n: int, text: str = "", choice: str | None = None) -> None:
    await h.says(BOB, text, f"bob-{n}", choice)


async def invites_to(h: Harness, email: str) -> list[str]:
    """The keys of the invites `email` got (each interview's invite is keyed by its id)."""
    return [s.key for s in h.channel.to(email) if s.key.startswith("invite:")]


@pytest.mark.parametrize(
    "order",
    [
        ("alice", "bob", "correction"),
        ("bob", "alice", "correction"),
        ("alice", "correction", "bob"),
    ],
)
async def test_a_corrected_address_never_brings_a_second_invite(
    h: Harness, order: tuple[str, ...]
) -> None:
    """HR announced a departure with Alice's address; its invite has not gone out when HR
    corrects it to Bob's, whose own departure is scheduled too. Both interviews went out to
    Bob in one tick (`invite:1` and `invite:2`). Now, whatever order the events arrive in,
    the departure that came second for Bob is not invited (the same answer as for any second
    departure of one person), and Bob gets one invite."""
    events = {
        "alice": alices_departure(),
        "bob": bobs_departure(),
        "correction": alices_departure("departure.updated", email=BOB),
    }
    answers = {name: await post(h, events[name]) for name in order}
    if order[-1] == "bob":  # Bob's address came with Alice's departure first
        assert answers["correction"]["status"] == "scheduled"
        assert answers["bob"] == {**ELSEWHERE, "departure_id": "hr-b"}
    else:
        assert answers["bob"]["status"] == "scheduled"
        assert answers["correction"] == ELSEWHERE
    assert (await hr_commands.pipeline_counts(h.runtime))["to_send"] == 1
    sent = [
        (await run_tick(h.runtime, moment))["invites sent"] for moment in (BOB_INVITE, OTHER_INVITE)
    ]
    assert sum(sent) == 1
    assert len(await invites_to(h, BOB)) == 1 and await invites_to(h, ALICE) == []
    assert await h.count(Interview, Interview.status.in_(("scheduled", "invited"))) == 1


BOB_TYPES: dict[str, list[tuple[str, str | None]]] = {
    "invited": [],
    "in_progress": [("", "start")],
    "declined": [("", "decline")],
    "completed": [("", "start"), *((text, None) for text in COMPLETING)],
}


@pytest.mark.parametrize("bobs", ["scheduled", *BOB_TYPES])
async def test_the_answer_to_the_correction_never_tells_what_bob_chose(
    h: Harness, bobs: str
) -> None:
    """Bob's own interview is still to be sent, or went out and he has not answered, started,
    declined or completed it, when HR corrects the other departure's address to his: one
    answer for all five (the departure's invite, not sent yet, is withdrawn), and no second
    invite reaches him however long the tick runs."""
    await post(h, alices_departure())
    await post(h, bobs_departure())
    if bobs != "scheduled":
        assert (await run_tick(h.runtime, BOB_INVITE))["invites sent"] == 1
        for n, (text, choice) in enumerate(BOB_TYPES[bobs]):
            await bob_says(h, n, text, choice)
    assert await h.statuses_of("hr-b") == [bobs]
    before = await hr_commands.pipeline_counts(h.runtime)
    h.clock.set(BOB_INVITE + timedelta(hours=1))
    assert await post(h, alices_departure("departure.updated", email=BOB)) == ELSEWHERE
    assert await h.statuses_of("hr-a") == ["cancelled"]
    # `status`: the withdrawn invite was never sent, so it counts nowhere
    assert await hr_commands.pipeline_counts(h.runtime) == {
        **before,
        "to_send": before["to_send"] - 1,
    }
    # the HR system asking again gets the same answer
    assert await post(h, alices_departure("departure.updated", email=BOB)) == ELSEWHERE
    for moment in (BOB_INVITE, OTHER_INVITE, OTHER_INVITE + timedelta(days=1)):
        await run_tick(h.runtime, moment)
    assert len(await invites_to(h, BOB)) == 1 and await invites_to(h, ALICE) == []
    assert await h.statuses_of("hr-a") == ["cancelled"]


async def test_cancelling_bobs_own_departure_then_invites_him_for_the_corrected_one(
    h: Harness,
) -> None:
    """The corrected departure waits its turn: when Bob's own departure is withdrawn before
    its invite went out, the corrected one is scheduled in the same transaction (as for two
    departures of one person), and Bob gets that one invite."""
    await post(h, alices_departure())
    await post(h, bobs_departure())
    assert await post(h, alices_departure("departure.updated", email=BOB)) == ELSEWHERE
    answer = await post(h, departure("departure.cancelled", id_="hr-b", email=BOB))
    assert answer == {"status": "cancelled", "departure_id": "hr-b"}
    assert await h.statuses_of("hr-a") == ["cancelled", "scheduled"]
    assert (await run_tick(h.runtime, BOB_INVITE))["invites sent"] == 0
    assert (await run_tick(h.runtime, OTHER_INVITE))["invites sent"] == 1
    assert len(await invites_to(h, BOB)) == 1 and await invites_to(h, ALICE) == []
