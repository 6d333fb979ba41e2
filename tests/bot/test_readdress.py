"""A departure's address corrected after the invite went out (`bot.readdress`), on a
recording chat platform: the webhook's answers, a corrected address nobody in chat has, a
cancellation before the tick, a redone job, the language of an invite moved before it
went out; on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

import conversations as conv
from bot import departures, tick
from bot.jobs import ClaimedJob, TickContext, TickReport, claim, finish
from bot.models import AnswerRow, Departure, Employee, Interview, Job, PlatformIdentity
from tests.bot.test_departures import COMPLETING
from tests.support.departures import (
    Harness,
    departure,
    fast_database_url,  # noqa: F401  (overrides the shared, slower `database_url`)
    harness,
    signed,
)

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)  # Monday; last day Fri 18 Dec 2026
INVITE_AT = datetime(2026, 12, 11, 9, tzinfo=UTC)  # Fri 11 Dec, 10:00 CET
LATER = INVITE_AT + timedelta(hours=2)
ANNA, BOB, HR = "anna@example.com", "bob@example.com", "hr@example.com"


@pytest.fixture
async def h(database_url: str) -> AsyncIterator[Harness]:
    async with harness(
        database_url, NOW, timezone="Europe/Amsterdam", fallback_after_last_day=False
    ) as built:
        yield built


async def tick_at(h: Harness, moment: datetime) -> TickReport:
    h.clock.set(moment)
    return await tick.run_tick(h.runtime, metrics=h.metrics)


async def says(h: Harness, email: str, text: str, n: int, choice: str | None = None) -> str:
    """A Slack message from the chat user `email` finds; the status of the interview it
    reached."""
    return (await h.says(email, text, f"m{n}", choice)).status


async def bob_answers(h: Harness) -> None:
    """HR typed Bob's address: the (Dutch) invite reaches him; he starts and answers."""
    assert (await h.post(departure(email=BOB, language="nl")))[1]["status"] == "scheduled"
    assert (await tick_at(h, INVITE_AT))["invites sent"] == 1
    for n, (text, choice) in enumerate([("", "start"), ("Carrièremogelijkheden", None)]):
        await says(h, BOB, text, n, choice)
    assert await h.count(AnswerRow) == 1


async def corrected(h: Harness, type_: str = "departure.updated") -> dict[str, object]:
    h.clock.set(INVITE_AT + timedelta(hours=1))
    status, answer = await h.post(departure(type_, email=ANNA, language="nl"))
    assert status == 202
    return answer


async def interviews(h: Harness) -> list[tuple[str, bool, str | None]]:
    """(status, whether a state is kept, note) of every interview, oldest first."""
    async with h.runtime.db.sessions() as session:
        rows = (await session.scalars(select(Interview).order_by(Interview.id))).all()
    return [(row.status, row.state_enc is not None, row.note) for row in rows]


async def test_the_answer_to_a_correction_says_what_happens(h: Harness) -> None:
    await bob_answers(h)
    answer = await corrected(h)
    assert answer["status"] == "scheduled" and answer["interview"] == "sent"
    assert answer["detail"] == (
        "the employee's address changed after the invite went out: if the new address finds "
        "the same chat user, the conversation goes on; otherwise the invite is withdrawn from "
        "whoever got it and the employee is invited at the new address"
    )
    assert await h.count(Job, Job.kind == "readdress", Job.status == "due") == 1
    # the same correction again (another webhook id): no new job, the same answer
    again = await corrected(h)
    assert again["detail"] == answer["detail"]
    assert await h.count(Job, Job.kind == "readdress") == 1


async def test_a_correction_before_the_invite_went_out_only_moves_it(h: Harness) -> None:
    await h.post(departure(email=BOB), at=NOW - timedelta(seconds=1))
    status, answer = await h.post(departure("departure.updated", email=ANNA))
    assert (status, answer["interview"]) == (202, "scheduled") and "detail" not in answer
    report = await tick_at(h, INVITE_AT)
    assert (report["invites sent"], report["invites withdrawn from the wrong person"]) == (1, 0)
    assert h.channel.opened == [ANNA] and h.channel.to(BOB) == []


# (Bob's own departure, told his language; Anna's departure at Bob's address, with its
# language; the correction to Anna's, with its language; Anna's chat locale) -> the invite's
MOVED_INVITE_LANGUAGE = {
    "the correction's language": (None, "nl", "en", None, "en"),
    "not the wrong address's own language": ("nl", None, None, None, "en"),
    "the chat locale, not the wrong address's language": ("nl", None, None, "en-GB", "en"),
    "what the departure told before still holds": (None, "nl", None, None, "nl"),
    "a new language for the same address": (None, "nl", "en", None, "en"),
}


@pytest.mark.parametrize("case", list(MOVED_INVITE_LANGUAGE))
async def test_an_invite_moved_before_it_went_out_is_in_the_language_a_fresh_one_gets(
    h: Harness, case: str
) -> None:
    """HR typed Bob's address and corrected it to Anna's before the invite went out: it goes
    out in the language a fresh invite to Anna would have, the departure's (the correction's,
    else what it told before), else her chat locale, else EXITBOT_LANGUAGE; never one chosen
    for Bob. (It kept Bob's: the first event's language, or the one Bob's own record gives.)"""
    bobs_own, first, correction, locale, expected = MOVED_INVITE_LANGUAGE[case]
    wrong = ANNA if case == "a new language for the same address" else BOB
    h.channel.language = locale
    if bobs_own is not None:  # Bob's own departure, since cancelled: his row keeps his language
        own = departure(id_="hr-5000", email=BOB, name="Bob Bakker", language=bobs_own)
        await h.post(own, at=NOW - timedelta(seconds=3))
        await h.post(departure("departure.cancelled", id_="hr-5000"), at=NOW - timedelta(seconds=2))
    _, answer = await h.post(departure(email=wrong, language=first), at=NOW - timedelta(seconds=1))
    assert (answer["status"], answer["interview"]) == ("scheduled", "scheduled")
    status, answer = await h.post(departure("departure.updated", email=ANNA, language=correction))
    assert (status, answer["interview"]) == (202, "scheduled")

    assert (await tick_at(h, INVITE_AT))["invites sent"] == 1
    assert h.channel.opened == [ANNA]
    moved = await h.one(Interview, Interview.status == "invited")
    assert moved.language == expected
    invite = conv.invite(h.runtime.questionnaire, expected).messages[0].text
    assert [sent.text for sent in h.channel.to(ANNA)] == [invite]


async def test_a_corrected_address_nobody_in_chat_has_withdraws_it_and_tells_hr(
    h: Harness,
) -> None:
    await bob_answers(h)
    h.channel.unreachable.add(ANNA)
    await corrected(h)
    report = await tick_at(h, LATER)
    assert report["invites withdrawn from the wrong person"] == 1
    assert (report["cancellation notices sent"], report["unreachable"]) == (1, 1)
    note = h.channel.to(BOB)[-1].text
    assert "per vergissing bij jou terecht" in note and "wordt bewaard" in note
    assert "Anna" not in note
    assert await h.count(AnswerRow) == 0
    assert await interviews(h) == [
        ("cancelled", False, "withdrawn: the invite reached the wrong person"),
        ("unreachable", False, "slack: user_disabled"),
    ]
    assert any("could not deliver the exit-interview invite" in s.text for s in h.channel.to(HR))


async def test_cancelled_before_the_tick_nobody_else_is_invited(h: Harness) -> None:
    await bob_answers(h)
    await corrected(h)
    h.clock.set(INVITE_AT + timedelta(hours=1, seconds=1))
    status, answer = await h.post(departure("departure.cancelled", email=ANNA))
    assert (status, answer["status"]) == (202, "cancelled")
    assert await h.count(Job, Job.kind == "readdress", Job.status == "cancelled") == 1
    report = await tick_at(h, LATER)
    assert (report["invites withdrawn from the wrong person"], report["invites sent"]) == (0, 0)
    assert report["cancellation notices sent"] == 1  # the one closing note, to Bob
    assert h.channel.opened == [BOB]  # nobody else was looked up or invited
    assert await h.count(AnswerRow) == 0
    # withdrawn with its departure after the invite went out: as after any answer, the
    # departure, sent again, does not invite again (`bot.departures.went_out`)
    assert await interviews(h) == [("cancelled", False, departures.WITHDRAWN_AFTER_INVITE)]


async def test_a_redone_job_changes_and_sends_nothing_twice(h: Harness) -> None:
    await bob_answers(h)
    await corrected(h)
    await tick_at(h, LATER)
    sent = list(h.channel.sent)
    # as if the worker died after its work, before finishing the job (its lease ran out)
    async with h.runtime.db.transaction() as session:
        await session.execute(
            update(Job).where(Job.kind == "readdress").values(status="due", done_at=None)
        )
    report = await tick_at(h, LATER + timedelta(minutes=10))
    assert report.jobs_run >= 1 and report["invites withdrawn from the wrong person"] == 0
    assert h.channel.sent == sent
    assert [status for status, _, _ in await interviews(h)] == ["cancelled", "invited"]


async def test_whoever_declined_an_invite_meant_for_another_cannot_start_it_later(
    h: Harness,
) -> None:
    """The invite reached Bob (HR typed his address); he said "no thanks", as anyone would
    to an invite meant for someone else. After HR corrected the address to Anna's, Bob's
    "start" does not open Anna's exit interview: it may be restarted only by the person its
    departure names."""
    assert (await h.post(departure(email=BOB, language="nl")))[1]["status"] == "scheduled"
    assert (await tick_at(h, INVITE_AT))["invites sent"] == 1

    assert await says(h, BOB, "", 0, choice="decline") == "declined"
    answer = await corrected(h)
    assert await says(h, BOB, "start", 1) != "in_progress"
    assert await says(h, BOB, "", 2, choice="start") != "in_progress"
    assert await h.count(AnswerRow) == 0
    # Whose "no thanks" it was is for the tick to find out in chat (a renamed address would
    # have been Anna's own); the answer reads as for any invite that went out (under way
    # until the end of the last day, however it was answered), with what follows.
    assert (answer["status"], answer["interview"]) == ("scheduled", "sent")
    assert "reason_code" not in answer
    assert answer["detail"] == (
        "the employee's address changed after the invite went out and was answered: if the "
        "new address finds the same chat user, that answer stands; if someone else said no to "
        "it or let it expire, the employee is invited at the new address"
    )
    assert [status for status, _, _ in await interviews(h)] == ["declined"]
    # Bob's "no thanks" was not Anna's: she is asked now, as if anew.
    report = await tick_at(h, LATER)
    assert (report["invites the wrong person had declined"], report["invites sent"]) == (1, 1)
    assert h.channel.to(ANNA) and await interviews(h) == [
        ("declined", True, "answered by another chat user: the address was corrected"),
        ("invited", True, None),
    ]
    assert await says(h, BOB, "start", 3) != "in_progress"
    # Ticking again (a retry, another replica): nothing more happens or is sent
    sent = list(h.channel.sent)
    report = await tick_at(h, LATER + timedelta(minutes=10))
    assert report["invites the wrong person had declined"] == 0 and h.channel.sent == sent


ANSWERING = {
    "declined": [("", "decline")],
    "stopped": [("", "start"), ("stop", None)],
    "deleted": [("", "start"), ("delete my answers", None), ("yes", None)],
    "completed": [("", "start"), *((text, None) for text in COMPLETING)],
}


@pytest.mark.parametrize("ending", list(ANSWERING))
async def test_the_answer_to_a_correction_does_not_tell_how_the_invite_was_answered(
    h: Harness, ending: str
) -> None:
    """Whoever the invite reached declined it, stopped, deleted their answers or took part: the
    correction's answer reads the same (it may have been the employee, under an address since
    renamed). What follows depends on whom the tick finds in chat."""
    assert (await h.post(departure(email=BOB, language="nl")))[1]["status"] == "scheduled"
    assert (await tick_at(h, INVITE_AT))["invites sent"] == 1
    for n, (text, choice) in enumerate(ANSWERING[ending]):
        await says(h, BOB, text, n, choice)
    assert [status for status, _, _ in await interviews(h)] == [ending]
    answer = await corrected(h)
    assert answer == {  # as for any invite that went out, until the end of the last day
        "status": "scheduled",
        "departure_id": "hr-4711",
        "invite_at": "2026-12-11T09:00:00Z",
        "expires_at": "2026-12-18T22:59:59.999999Z",
        "timezone": "Europe/Amsterdam",
        "interview": "sent",
        "detail": (
            "the employee's address changed after the invite went out and was answered: if "
            "the new address finds the same chat user, that answer stands; if someone else "
            "said no to it or let it expire, the employee is invited at the new address"
        ),
    }
    assert await h.count(Job, Job.kind == "readdress", Job.status == "due") == 1
    # Bob is another chat user: his answer stays his, and only his "no thanks" is not Anna's
    report = await tick_at(h, LATER)
    assert report["invites sent"] == (1 if ending == "declined" else 0)
    expected = [ending, "invited"] if ending == "declined" else [ending]
    assert [status for status, _, _ in await interviews(h)] == expected
    # What the HR system hears afterwards no longer carries the detail
    h.clock.set(LATER + timedelta(minutes=5))
    _, again = await h.post(departure("departure.updated", email=ANNA, language="nl"))
    assert "detail" not in again


async def test_an_invite_the_wrong_address_could_not_deliver_is_sent_to_the_corrected_one(
    h: Harness,
) -> None:
    """HR typed an address nobody in chat has: the invite was undeliverable (HR was told).
    The corrected address gets the invite; before, the answer was "could not be reached"."""
    h.channel.unreachable.add(BOB)
    assert (await h.post(departure(email=BOB, language="nl")))[1]["status"] == "scheduled"
    assert (await tick_at(h, INVITE_AT))["unreachable"] == 1
    answer = await corrected(h)
    assert (answer["status"], answer["interview"]) == ("scheduled", "scheduled")
    assert (await tick_at(h, LATER))["invites sent"] == 1
    assert [status for status, _, _ in await interviews(h)] == ["unreachable", "invited"]
    assert len(h.channel.to(ANNA)) == 1


async def test_an_invite_the_wrong_address_let_expire_is_sent_to_the_corrected_one(
    h: Harness,
) -> None:
    """The invite reached Bob (HR typed his address), who ignored it until it expired; HR
    then corrects the address to Anna's and moves her last day later. Bob's silence was not
    Anna's answer (an invite Anna herself let expire is: `bot.departures.ended`): she is
    invited at the corrected address."""
    assert (await h.post(departure(email=BOB, language="nl")))[1]["status"] == "scheduled"
    assert (await tick_at(h, INVITE_AT))["invites sent"] == 1
    await tick_at(h, datetime(2026, 12, 21, 9, tzinfo=UTC))  # after the last day
    assert [status for status, _, _ in await interviews(h)] == ["expired"]
    status, answer = await h.post(departure(email=ANNA, language="nl", last_day="2027-01-29"))
    assert status == 202
    # Whose silence it was is for the tick to find out in chat (a renamed address would have
    # been Anna's own): the answer reads as for any answered invite
    assert (answer["status"], answer["interview"]) == ("not_invited", "closed")
    report = await tick_at(h, datetime(2027, 1, 22, 9, tzinfo=UTC))
    assert (report["invites the wrong person had let expire"], report["invites sent"]) == (1, 1)
    assert [status for status, _, _ in await interviews(h)] == ["expired", "invited"]
    assert len(h.channel.to(ANNA)) == 1


async def test_a_declined_invite_stays_declined_when_only_other_details_change(
    h: Harness,
) -> None:
    """The same person declined; a later update (another last day) does not ask again."""
    assert (await h.post(departure(email=ANNA, language="nl")))[1]["status"] == "scheduled"
    assert (await tick_at(h, INVITE_AT))["invites sent"] == 1
    await says(h, ANNA, "", 0, choice="decline")
    answer = await corrected(h)
    assert (answer["status"], answer["interview"]) == ("scheduled", "sent")  # as for any
    assert [status for status, _, _ in await interviews(h)] == ["declined"]


# ---------------------------------------------------------------------- the wrong address's row

ANNAS: dict[str, object] = {
    "id": "E1001",
    "timezone": "Europe/Amsterdam",
    "department": "Sales",
    "personal_email": "anna.devries@example.net",
    "manager": {"email": "jan@example.com", "name": "Jan Jansen"},
}
HR_DETAILS = (
    "external_id",
    "name",
    "language",
    "timezone",
    "department",
    "personal_email",
    "manager_email",
    "manager_name",
)


async def details(h: Harness, email: str) -> dict[str, object]:
    """What the employee row of `email` holds of what the HR system tells."""
    row = await h.one(Employee, Employee.email == email)
    return {name: getattr(row, name) for name in HR_DETAILS}


ANNA_ON_FILE = {
    "external_id": "E1001",
    "name": "Anna de Vries",
    "language": "nl",
    "timezone": "Europe/Amsterdam",
    "department": "Sales",
    "personal_email": "anna.devries@example.net",
    "manager_email": "jan@example.com",
    "manager_name": "Jan Jansen",
}
NOTHING = dict.fromkeys(HR_DETAILS)


async def test_the_wrong_address_keeps_nothing_the_hr_system_told_about_the_employee(
    h: Harness,
) -> None:
    """HR typed Bob's address: Anna's name, department, manager and private address landed on
    Bob's row. After the correction they are on Anna's row only; Bob's row stays, and what
    still refers to it (his withdrawn interview, his chat identity) too."""
    assert (await h.post(departure(email=BOB, language="nl", **ANNAS)))[1]["status"] == (
        "scheduled"
    )
    assert (await tick_at(h, INVITE_AT))["invites sent"] == 1
    assert await details(h, BOB) == ANNA_ON_FILE
    bob = (await h.one(Employee, Employee.email == BOB)).id

    h.clock.set(INVITE_AT + timedelta(hours=1))
    status, _ = await h.post(departure("departure.updated", email=ANNA, language="nl", **ANNAS))
    assert status == 202
    assert await details(h, BOB) == NOTHING
    assert await details(h, ANNA) == ANNA_ON_FILE

    report = await tick_at(h, LATER)
    assert report["invites withdrawn from the wrong person"] == 1
    assert await details(h, BOB) == NOTHING
    withdrawn = await h.one(Interview, Interview.status == "cancelled")
    identity = await h.one(PlatformIdentity, PlatformIdentity.user_id == f"U-{BOB}")
    assert withdrawn.employee_id == bob and identity.employee_id == bob


async def test_a_correction_before_the_invite_leaves_nothing_on_the_wrong_row(
    h: Harness,
) -> None:
    await h.post(departure(email=BOB, language="nl", **ANNAS), at=NOW - timedelta(seconds=1))
    await h.post(departure("departure.updated", email=ANNA, language="nl", **ANNAS))
    assert await details(h, BOB) == NOTHING
    assert await details(h, ANNA) == ANNA_ON_FILE


async def test_what_the_correction_does_not_repeat_moves_to_the_corrected_address(
    h: Harness,
) -> None:
    """The correction carries only the address: what HR told before is still the employee's
    (as for any update), now on her row. Only the name is not carried over: on the old row it
    may be the one a chat platform gave that person."""
    await h.post(departure(email=BOB, language="nl", **ANNAS), at=NOW - timedelta(seconds=1))
    assert (await h.post(departure("departure.updated", email=ANNA, name=None)))[0] == 202
    assert await details(h, BOB) == NOTHING
    assert await details(h, ANNA) == {**ANNA_ON_FILE, "name": None}


async def test_a_colleague_with_a_departure_of_their_own_keeps_what_is_theirs(
    h: Harness,
) -> None:
    """Bob is leaving too: his row is the HR system's record of him. Anna's event, sent to his
    address, overwrote some of it; the correction removes what is Anna's and leaves what
    only Bob's own event told."""
    bobs = departure(
        id_="hr-5000",
        email=BOB,
        last_day="2027-03-31",
        name="Bob Bakker",
        department="Finance",
        personal_email="bob@example.net",
    )
    await h.post(bobs, at=NOW - timedelta(seconds=2))
    annas = {key: value for key, value in ANNAS.items() if key != "personal_email"}
    await h.post(departure(email=BOB, language="nl", **annas), at=NOW - timedelta(seconds=1))
    await h.post(departure("departure.updated", email=ANNA, language="nl", **annas))
    assert await details(h, BOB) == {**NOTHING, "personal_email": "bob@example.net"}
    assert await details(h, ANNA) == {**ANNA_ON_FILE, "personal_email": None}


# ---------------------------------------------------------------------- two addresses swapped

SWAPS = 20  # rounds; on PostgreSQL, without one lock order about every other one deadlocked


async def post_until_answered(h: Harness, document: dict[str, object]) -> list[int]:
    """Post a signed event as the HR system does: a 503 is retried (up to 5 times) under the
    same webhook id, signed afresh. The status of every try."""
    body = json.dumps(document).encode()
    msg_id = f"msg_{uuid.uuid4().hex}"
    statuses: list[int] = []
    while len(statuses) < 5 and (not statuses or statuses[-1] == 503):
        headers = signed(body, h.clock.now(), msg_id=msg_id)
        async with h.client.post("/webhooks/departures", data=body, headers=headers) as response:
            statuses.append(response.status)
    return statuses


def swapped(n: int) -> list[dict[str, object]]:
    """Round n's two corrections: hr-a<n>, announced with Bob's address, is Anna's, and
    hr-b<n>, announced with Anna's, is Bob's."""
    return [
        departure("departure.updated", id_=f"hr-a{n}", email=f"anna{n}@example.com"),
        departure("departure.updated", id_=f"hr-b{n}", email=f"bob{n}@example.com"),
    ]


async def open_interviews(h: Harness) -> list[tuple[str, str, str]]:
    """(departure, the address of the person it is for, status) of every interview not
    withdrawn, sorted."""
    async with h.runtime.db.sessions() as session:
        rows = await session.execute(
            select(Departure.external_id, Employee.email, Interview.status)
            .join(Interview, Interview.departure_id == Departure.id)
            .join(Employee, Employee.id == Interview.employee_id)
            .where(Interview.status != "cancelled")
        )
        return sorted(tuple(row) for row in rows.all())


async def two_replicas_look_up(h: Harness, moment: datetime) -> TickReport:
    """Two replicas' ticks at `moment`, each claiming one of a round's two `readdress` jobs
    and running it at the same time as the other, round after round; what they did."""
    h.clock.set(moment)
    replicas = [
        TickContext(h.runtime, moment, f"replica-{n}", TickReport(), tick.registry())
        for n in (1, 2)
    ]

    async def run(ctx: TickContext, job: ClaimedJob) -> None:
        again = await ctx.registry.handlers[job.kind](ctx, job)
        await finish(h.runtime.db, job, ctx.worker, moment, again_at=again)

    while True:
        claimed = [
            await claim(h.runtime.db, ctx.worker, moment, kinds=["readdress"], limit=1)
            for ctx in replicas
        ]
        if not any(claimed):
            break
        await asyncio.gather(
            *(run(ctx, job) for ctx, jobs in zip(replicas, claimed, strict=True) for job in jobs)
        )
    done = TickReport()
    for ctx in replicas:
        for line, count in ctx.report.counts.items():
            done.add(line, count)
    return done


PHASES = ["before the invites", "after the invites", "after the invites, two replicas"]


@pytest.mark.parametrize("phase", PHASES)
async def test_two_departures_swapping_addresses_at_once_invite_each_person_once(
    h: Harness, phase: str
) -> None:
    """HR had Anna's and Bob's addresses the wrong way round on their two departures and
    corrects both at once: two concurrent webhooks, each moving one invite to the person the
    other one's leaves. Each is answered (a 503 retried would do; never a 500), and in the
    end each person has one invite, of the departure that names them: none doubled, none
    lost. Each correction locks both people: in opposite orders they deadlocked on
    PostgreSQL (a 503). Whichever came first found the other person's invite still there and
    was not invited, and nothing invited it once the other correction had moved that invite
    away; after the invites went out, the tick's `readdress` jobs did the same (two replicas
    running the two at once: both were lost)."""
    sent = phase != "before the invites"
    for n in range(SWAPS):
        for who, email in (("a", f"bob{n}@example.com"), ("b", f"anna{n}@example.com")):
            _, answer = await h.post(departure(id_=f"hr-{who}{n}", email=email))
            assert answer["status"] == "scheduled"
    if sent:
        assert (await tick_at(h, INVITE_AT))["invites sent"] == 2 * SWAPS
    h.clock.set(h.clock.now() + timedelta(minutes=1))
    tries = []
    for n in range(SWAPS):
        tries += await asyncio.gather(*(post_until_answered(h, event) for event in swapped(n)))
    assert all(set(statuses[:-1]) <= {503} and statuses[-1] == 202 for statuses in tries), tries
    assert tries == [[202]] * (2 * SWAPS), "a 503: storage was available, so a deadlock"

    if phase == "after the invites, two replicas":
        looked_up = await two_replicas_look_up(h, LATER)
        assert looked_up["invites withdrawn from the wrong person"] == 2 * SWAPS
    report = await tick_at(h, LATER if sent else INVITE_AT)
    assert report["invites sent"] == 2 * SWAPS
    if phase == "after the invites":
        assert report["invites withdrawn from the wrong person"] == 2 * SWAPS
    invited = sorted(
        (f"hr-{who}{n}", f"{name}{n}@example.com", "invited")
        for n in range(SWAPS)
        for who, name in (("a", "anna"), ("b", "bob"))
    )
    assert await open_interviews(h) == invited
    for _, email, _ in invited:  # the invite (if sent before: that one and the note first)
        assert len(h.channel.to(email)) == (3 if sent else 1)


# ---------------------------------------------------------------------- the wrong person's own leaving

BOBS_OWN_LAST_DAY = "2027-03-19"  # a Friday, three months after Anna's
BOBS_INVITE_AT = datetime(2027, 3, 12, 9, tzinfo=UTC)
# how whoever an invite meant for Anna reached answered it (or not): `ANSWERING`, and silence
BOB_ANSWERS = [*ANSWERING, "expired"]


async def bob_answered_annas_invite(h: Harness, ending: str) -> None:
    """HR typed Bob's address for Anna's departure; Bob answered the invite (`ending`); HR
    corrected it to Anna's and the tick found Bob is another chat user."""
    assert (await h.post(departure(email=BOB, language="nl")))[1]["status"] == "scheduled"
    assert (await tick_at(h, INVITE_AT))["invites sent"] == 1
    if ending == "expired":
        await tick_at(h, datetime(2026, 12, 21, 9, tzinfo=UTC))  # after Anna's last day
        h.clock.set(datetime(2026, 12, 21, 10, tzinfo=UTC))
        _, answer = await h.post(departure("departure.updated", email=ANNA, last_day="2027-01-29"))
        assert answer["interview"] == "closed"
        await tick_at(h, datetime(2026, 12, 21, 11, tzinfo=UTC))
    else:
        for n, (text, choice) in enumerate(ANSWERING[ending]):
            await says(h, BOB, text, n, choice)
        await corrected(h)
        await tick_at(h, LATER)
    async with h.runtime.db.sessions() as session:
        bob = await session.scalar(select(Employee.id).where(Employee.email == BOB))
        first = (await session.scalars(select(Interview).order_by(Interview.id))).first()
    assert first is not None and (first.employee_id, first.status) == (bob, ending)
    assert first.note == "answered by another chat user: the address was corrected"


@pytest.mark.parametrize("ending", BOB_ANSWERS)
async def test_whoever_an_invite_reached_by_mistake_is_invited_when_they_leave_themselves(
    h: Harness, ending: str
) -> None:
    """HR typed Bob's address for Anna's departure; Bob declined the invite, let it expire,
    stopped, deleted his answers or even took part; HR corrected the address to Anna's.
    Months later Bob leaves himself: that invite was not his exit interview, and his own
    departure is invited like anyone's (before, `not_invited`, `interview_elsewhere` for a
    year). However he answered the invite meant for Anna, his own departure's answer is the
    same: it never tells the HR system whether he took part. One interview of his own still
    rules out a second within the year."""
    await bob_answered_annas_invite(h, ending)

    h.clock.set(datetime(2027, 2, 1, 9, tzinfo=UTC))
    bobs = departure(id_="hr-5000", email=BOB, name="Bob Bakker", last_day=BOBS_OWN_LAST_DAY)
    status, answer = await h.post(bobs)
    assert (status, answer["status"], answer.get("reason_code")) == (202, "scheduled", None)
    sent = len(h.channel.to(BOB))
    assert (await tick_at(h, BOBS_INVITE_AT))["invites sent"] == 1
    assert len(h.channel.to(BOB)) == sent + 1
    assert await h.statuses_of("hr-5000") == ["invited"]

    # his own invite, declined, counts: no second one for another record of his this year
    assert await h.says(BOB, "", "own-0", "decline") is not None
    assert await h.statuses_of("hr-5000") == ["declined"]
    h.clock.set(BOBS_INVITE_AT + timedelta(days=30))
    again = departure(id_="hr-6000", email=BOB, name="Bob Bakker", last_day="2027-06-18")
    _, answer = await h.post(again)
    assert (answer["status"], answer["reason_code"]) == ("not_invited", "interview_elsewhere")


async def test_a_departure_of_his_own_left_uninvited_is_invited_once_the_tick_finds_the_mistake(
    h: Harness,
) -> None:
    """Bob's own departure arrived while Anna's invite, sent to his address, stood declined by
    him: one interview per person, so it was not invited. Once the tick finds that the
    declined invite was not Anna's (nor Bob's own), Bob's departure gets its chance."""
    assert (await h.post(departure(email=BOB, language="nl")))[1]["status"] == "scheduled"
    assert (await tick_at(h, INVITE_AT))["invites sent"] == 1
    await says(h, BOB, "", 0, "decline")
    h.clock.set(INVITE_AT + timedelta(minutes=30))
    bobs = departure(id_="hr-5000", email=BOB, name="Bob Bakker", last_day=BOBS_OWN_LAST_DAY)
    _, answer = await h.post(bobs)
    assert (answer["status"], answer["reason_code"]) == ("not_invited", "interview_elsewhere")
    await corrected(h)
    report = await tick_at(h, LATER)
    assert report["invites the wrong person had declined"] == 1
    assert await h.statuses_of("hr-5000") == ["scheduled"]
    assert (await tick_at(h, BOBS_INVITE_AT))["invites sent"] == 1
    assert await h.statuses_of("hr-5000") == ["invited"]
