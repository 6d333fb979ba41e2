"""When invites are planned (through the webhook, on a frozen clock), and the policies:
approval, manual starts, skips, and the HR admin commands."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import AsyncIterator
from contextlib import redirect_stderr, redirect_stdout
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot import departures, hr_commands
from bot.cli import main
from bot.config import DEFAULT_POLICY
from bot.departure_events import parse_departure_event
from bot.models import AnswerRow, Departure, Employee, Interview, Job
from bot.runtime import Runtime
from bot.tick import run_tick
from tests.support.departures import (
    Harness,
    RecordingChannel,
    departure,
    fast_database_url,  # noqa: F401  (overrides the shared, slower `database_url`)
    fast_sqlite_url_fixture,  # noqa: F401
    harness,
    settings_for,
)


def utc(*args: int) -> datetime:
    return datetime(*args).replace(tzinfo=UTC)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- business days

NL: dict[str, Any] = {"timezone": "Europe/Amsterdam", "holidays": "NL"}
NO_HOLIDAYS: dict[str, Any] = {"timezone": "Europe/Amsterdam"}

CALENDAR_CASES = [
    # (what, now, last working day, settings, expected invite_at)
    ("weekend", utc(2026, 11, 30, 12), "2026-12-14", NL, utc(2026, 12, 7, 9)),
    # Koningsdag Mon 27 April 2026 is skipped: 30, 29, 28, 24, 23 April.
    ("Koningsdag", utc(2026, 4, 13, 12), "2026-05-01", NL, utc(2026, 4, 23, 8)),
    ("no Koningsdag", utc(2026, 4, 13, 12), "2026-05-01", NO_HOLIDAYS, utc(2026, 4, 24, 8)),
    # Christmas Fri 25 Dec (and Sat 26) are skipped: 28, 24, 23, 22, 21 December.
    ("Christmas", utc(2026, 12, 1, 12), "2026-12-29", NL, utc(2026, 12, 21, 9)),
    ("no Christmas", utc(2026, 12, 1, 12), "2026-12-29", NO_HOLIDAYS, utc(2026, 12, 22, 9)),
    # Easter Monday 6 April and Good Friday 3 April are skipped: 8, 7, 2, 1 April, 31 March;
    # 10:00 on 31 March is summer time (CEST, UTC+2) after the switch of 29 March.
    ("Easter Monday", utc(2026, 3, 20, 12), "2026-04-09", NL, utc(2026, 3, 31, 8)),
    ("no Easter", utc(2026, 3, 20, 12), "2026-04-09", NO_HOLIDAYS, utc(2026, 4, 2, 8)),
]


@pytest.mark.parametrize(
    ("last_day", "now", "settings", "expected"),
    [pytest.param(c[2], c[1], c[3], c[4], id=c[0]) for c in CALENDAR_CASES],
)
async def test_invite_is_planned_lead_business_days_ahead_at_ten(
    fast_sqlite_url: str,
    last_day: str,
    now: datetime,
    settings: dict[str, Any],
    expected: datetime,
) -> None:
    async with harness(fast_sqlite_url, now, **settings) as h:
        status, answer = await h.post(departure(last_day=last_day))
        assert (status, answer["status"]) == (202, "scheduled")
        assert answer["invite_at"] == expected.isoformat().replace("+00:00", "Z")
        assert answer["timezone"] == "Europe/Amsterdam"
        job = await h.one(Job, Job.kind == "invite")
        assert job.due_at == expected


async def test_daylight_saving_change(fast_sqlite_url: str) -> None:
    """10:00 local is 09:00 UTC in winter and 08:00 UTC after the spring switch (29 March)."""
    async with harness(fast_sqlite_url, utc(2026, 3, 27, 11), invite_lead_days=2, **NL) as h:
        _, after_switch = await h.post(departure(last_day="2026-04-01"))
        _, before_switch = await h.post(
            departure(id_="hr-2", last_day="2026-03-27", email="bram@example.com")
        )
    assert after_switch["invite_at"] == "2026-03-30T08:00:00Z"  # Mon 10:00 CEST
    assert after_switch["expires_at"] == "2026-04-01T21:59:59.999999Z"  # end of Wed, CEST
    # Lead passed (Wed 25 March) but it is Fri 12:00 CET: within working hours, so now.
    assert before_switch["invite_at"] == "2026-03-27T11:00:00Z"


async def test_lead_moment_passed_means_next_working_moment(fast_sqlite_url: str) -> None:
    evening = utc(2026, 12, 16, 17, 30)  # Wed 18:30 in Amsterdam: after working hours
    async with harness(fast_sqlite_url, evening, **NL) as h:
        status, answer = await h.post(departure(last_day="2026-12-18"))
    assert (status, answer["status"]) == (202, "scheduled")
    assert answer["invite_at"] == "2026-12-17T08:00:00Z"  # Thu 09:00 CET


async def test_employees_own_time_zone_wins(fast_sqlite_url: str) -> None:
    async with harness(fast_sqlite_url, utc(2026, 11, 30, 12), **NL) as h:
        _, answer = await h.post(departure(timezone="America/New_York"))
    assert answer["timezone"] == "America/New_York"
    assert answer["invite_at"] == "2026-12-11T15:00:00Z"  # 10:00 EST


@pytest.mark.parametrize(
    "now",
    [
        utc(2026, 12, 19, 9),  # the day after the last working day
        utc(2026, 12, 18, 16, 30),  # last day 17:30 CET: no working moment left
    ],
)
async def test_last_day_passed_is_not_invited(fast_sqlite_url: str, now: datetime) -> None:
    async with harness(fast_sqlite_url, now, **NL) as h:
        status, answer = await h.post(departure(last_day="2026-12-18"))
        assert (status, answer) == (
            202,
            {
                "status": "not_invited",
                "departure_id": "hr-4711",
                "reason": "last working day has passed: a private web link will be offered"
                " instead",  # by the tick (EXITBOT_FALLBACK_AFTER_LAST_DAY, on by default)
                "reason_code": "web_link",
            },
        )
        assert await h.count(Interview) == 0
        assert await h.count(Job) == 0


async def test_without_the_web_fallback_a_late_departure_is_simply_too_late(
    fast_sqlite_url: str,
) -> None:
    now = utc(2026, 12, 19, 9)
    async with harness(fast_sqlite_url, now, fallback_after_last_day=False, **NL) as h:
        status, answer = await h.post(departure(last_day="2026-12-18"))
    assert (status, answer["reason"]) == (202, "last working day has passed")


# ---------------------------------------------------------------------- policies

NOW = utc(2026, 11, 30, 12)


@pytest.fixture
async def h(database_url: str) -> AsyncIterator[Harness]:
    async with harness(database_url, NOW, **NL) as built:
        yield built


@pytest.mark.parametrize(
    ("kind", "status", "reason"),
    [
        ("resignation", "scheduled", None),
        ("retirement", "scheduled", None),
        ("contract_end", "awaiting_approval", None),
        ("dismissal", "not_invited", "dismissal needs an HR admin to start the interview"),
        ("other", "not_invited", "other needs an HR admin to start the interview"),
    ],
)
async def test_default_policy_per_kind(
    h: Harness, kind: str, status: str, reason: str | None
) -> None:
    _, answer = await h.post(departure(kind=kind))
    assert (answer["status"], answer.get("reason")) == (status, reason)
    assert await h.count(Interview) == (1 if status == "scheduled" else 0)


async def test_policy_is_configurable(fast_sqlite_url: str) -> None:
    policy = {"dismissal": "auto", "resignation": "approval"}
    async with harness(fast_sqlite_url, NOW, policy=policy) as h:
        assert (await h.post(departure(kind="dismissal")))[1]["status"] == "scheduled"
        resigned = departure(id_="hr-2", kind="resignation", email="bob@example.com")
        assert (await h.post(resigned))[1]["status"] == "awaiting_approval"


async def test_contract_end_waits_for_an_hr_admin_in_chat(h: Harness) -> None:
    _, answer = await h.post(departure(kind="contract_end", department="Sales"))
    assert answer["status"] == "awaiting_approval"
    report = await run_tick(h.runtime)
    assert report["approval requests sent"] == 1
    [request] = h.channel.to("hr@example.com")
    assert "Anna de Vries (Sales)" in request.text and "contract end" in request.text
    [message] = request.messages
    assert [c.value for c in message.choices] == ["approve#1:hr-4711", "skip#1:hr-4711"]
    assert [c.label for c in message.choices] == ["Approve", "Skip"]
    # An update while waiting neither schedules nor asks again.
    await h.post(departure("departure.updated", kind="contract_end", last_day="2026-12-23"))
    assert (await run_tick(h.runtime))["approval requests sent"] == 0

    [pending] = await departures.pending_approvals(h.runtime)
    assert (pending.departure_id, pending.kind, str(pending.last_working_day)) == (
        "hr-4711",
        "contract_end",
        "2026-12-23",
    )
    refused = await departures.decide(h.runtime, "hr-4711", True, "anna@example.com")
    assert refused.status == "not_allowed"
    assert departures.parse_decision(message.choices[0].value) == (True, "hr-4711", 1)
    result = await departures.decide(h.runtime, "hr-4711", True, "HR@example.com")
    assert result.status == "scheduled"
    assert "Wed 16 Dec 2026 10:00 Europe/Amsterdam" in result.message
    stored = await h.one(Departure)
    assert (stored.decision, stored.decided_by) == ("approved", "hr@example.com")
    assert await h.count(Interview, Interview.status == "scheduled") == 1
    again = await departures.decide(h.runtime, "hr-4711", False, "hr@example.com")
    assert again.status == "not_pending"
    assert await departures.pending_approvals(h.runtime) == []


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("approve#2:hr-4711", (True, "hr-4711", 2)),
        ("skip#1:hr:47#11", (False, "hr:47#11", 1)),  # the HR system's id is any text
        ("approve:hr-4711", (True, "hr-4711", 1)),  # sent before requests had rounds
        ("skip:hr#2:x", (False, "hr#2:x", 1)),
        ("approve#0:hr-4711", None),
        ("approve#:hr-4711", None),
        ("approve#²:hr-4711", None),
        ("approve#2:", None),
        ("later:hr-4711", None),
        ("approve", None),
    ],
)
def test_approval_button_values(value: str, parsed: tuple[bool, str, int] | None) -> None:
    assert departures.parse_decision(value) == parsed


async def test_each_round_of_waiting_for_approval_asks_hr_once(h: Harness) -> None:
    """Contract end (HR asked), then a resignation, then a contract end again: the departure
    waits for approval a second time and HR admins are asked again, once; an update while it
    waits, a redelivered event and a second tick ask nobody."""
    ended = departure(kind="contract_end")
    await h.post(ended)
    assert (await run_tick(h.runtime))["approval requests sent"] == 1
    await h.post(departure("departure.updated", kind="resignation"))
    assert await departures.pending_approvals(h.runtime) == []
    again = departure("departure.updated", kind="contract_end")
    status, answer = await h.post(again, msg_id="msg_second_round")
    assert (status, answer["status"]) == (202, "awaiting_approval")
    assert [p.departure_id for p in await departures.pending_approvals(h.runtime)] == ["hr-4711"]
    assert (await h.post(again, msg_id="msg_second_round"))[1]["status"] == "duplicate"
    await h.post(departure("departure.updated", kind="contract_end", last_day="2026-12-23"))
    assert (await run_tick(h.runtime))["approval requests sent"] == 1
    assert (await run_tick(h.runtime))["approval requests sent"] == 0
    first, second = h.channel.to("hr@example.com")
    assert first.text.startswith("Approval needed") and "2026-12-18" in first.text
    assert second.text.startswith("Approval needed") and "2026-12-23" in second.text
    assert first.key != second.key


async def test_a_round_that_ended_before_hr_was_asked_asks_no_more(h: Harness) -> None:
    """Waiting, then not, then waiting again before any tick: the second round's request
    asks HR once; the first round's, still due, asks nobody."""
    await h.post(departure(kind="contract_end"))
    await h.post(departure("departure.updated", kind="resignation"))
    await h.post(departure("departure.updated", kind="contract_end"))
    assert await h.count(Job, Job.kind == "notify_approval", Job.status == "due") == 2
    assert (await run_tick(h.runtime))["approval requests sent"] == 1
    assert len(h.channel.to("hr@example.com")) == 1


async def test_skipped_departure_stays_skipped(h: Harness) -> None:
    await h.post(departure(kind="contract_end"))
    result = await departures.decide(h.runtime, "hr-4711", False, None)
    assert result.status == "skipped"
    _, answer = await h.post(departure("departure.updated", kind="contract_end"))
    assert answer == {
        "status": "not_invited",
        "departure_id": "hr-4711",
        "reason": "an HR admin chose to skip the interview",
        "reason_code": "skipped",
    }
    assert (await departures.decide(h.runtime, "nope", True, None)).status == "not_found"


async def test_kind_change_withdraws_an_unsent_invite(h: Harness) -> None:
    await h.post(departure(kind="resignation"), at=NOW - timedelta(seconds=1))
    _, answer = await h.post(departure("departure.updated", kind="contract_end"))
    assert answer["status"] == "awaiting_approval"
    assert await h.count(Interview, Interview.status == "scheduled") == 0
    assert await h.count(Job, Job.kind == "invite", Job.status == "due") == 0


async def test_hr_admin_starts_a_dismissal_by_hand(h: Harness) -> None:
    _, answer = await h.post(departure(kind="dismissal"))
    assert answer["status"] == "not_invited"
    last_day = datetime(2026, 12, 18).date()
    outcome = await departures.invite_by_hand(h.runtime, "Anna@Example.com", last_day)
    assert (outcome.status, outcome.departure_id) == ("scheduled", "hr-4711")
    assert outcome.invite_at == utc(2026, 12, 11, 9)
    stored = await h.one(Departure)
    assert (stored.kind, stored.decision) == ("dismissal", "manual")
    # Someone the HR system never announced: a departure is made for them.
    fresh = await departures.invite_by_hand(
        h.runtime, "bob@example.com", last_day, kind="other", language="nl"
    )
    assert fresh.status == "scheduled"
    assert (fresh.departure_id or "").startswith("manual-")
    bob = await h.one(Interview, Interview.departure_id != stored.id)
    assert bob.language == "nl"


async def test_manual_invite_after_the_lead_moment_goes_out_asap(h: Harness) -> None:
    h.clock.set(utc(2026, 12, 16, 10))  # Wed 11:00 CET, last day Friday
    outcome = await departures.invite_by_hand(
        h.runtime, "bob@example.com", datetime(2026, 12, 18).date()
    )
    assert outcome.invite_at == utc(2026, 12, 16, 10)


async def test_notify_admins_without_a_chat_channel_is_silent(fast_sqlite_url: str) -> None:
    async with harness(fast_sqlite_url, NOW, channels=[]) as h:
        assert await departures.notify_admins(h.runtime, "hello") == 0
        # An approval request waits for a chat channel (or a decision on the command line).
        await h.post(departure(kind="contract_end"))
        assert (await run_tick(h.runtime))["approval requests sent"] == 0
        job = await h.one(Job, Job.kind == "notify_approval")
        assert (job.status, job.due_at) == ("due", NOW + timedelta(hours=1))
        await departures.decide(h.runtime, "hr-4711", False, None)
        await run_tick(h.runtime, NOW + timedelta(hours=1))
        assert (await h.one(Job, Job.kind == "notify_approval")).status == "done"


async def test_notify_admins_tries_the_next_channel(fast_sqlite_url: str) -> None:
    slack = RecordingChannel("slack", unreachable={"hr@example.com"})
    teams = RecordingChannel("teams")
    async with harness(fast_sqlite_url, NOW, channels=[slack, teams]) as h:
        assert await departures.notify_admins(h.runtime, "hello", key="k") == 1
        assert await departures.notify_admins(h.runtime, "hello", key="k") == 1
    assert slack.sent == [] and len(teams.sent) == 1  # the same key is delivered once


# ---------------------------------------------------------------------- one person, two departures

INVITE_AT = utc(2026, 12, 11, 9)  # Fri 11 Dec 10:00 CET, 5 business days before Fri 18 Dec
COMPLETING = [
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


async def say(h: Harness, text: str, n: int, choice: str | None = None) -> None:
    await h.says("anna@example.com", text, f"m{n}", choice)


ENDING_TYPED = {"stopped": ["stop"], "deleted": ["delete my answers", "yes"]}


async def end_interview(h: Harness, ending: str) -> None:
    """The invite goes out (Fri 11 Dec); an hour later Anna declines, stops, deletes her
    answers, or completes it."""
    assert (await run_tick(h.runtime, INVITE_AT))["invites sent"] == 1
    h.clock.set(INVITE_AT + timedelta(hours=1))
    if ending == "declined":
        await say(h, "", 1, choice="decline")
    elif ending in ENDING_TYPED:
        await say(h, "", 1, choice="start")
        for n, text in enumerate(ENDING_TYPED[ending], start=2):
            await say(h, text, n)
    else:
        await say(h, "", 1, choice="start")
        for n, text in enumerate(COMPLETING, start=2):
            await say(h, text, n)


async def announced_twice(h: Harness, second_kind: str = "resignation", **second: Any) -> None:
    """Anna under two departure ids: the first is invited, the second is not (one each)."""
    _, first = await h.post(departure(id_="hr-a"), at=NOW - timedelta(seconds=2))
    assert first["status"] == "scheduled"
    _, other = await h.post(
        departure(id_="hr-b", kind=second_kind, **second), at=NOW - timedelta(seconds=1)
    )
    assert other["status"] != "scheduled"


async def test_cancelling_one_of_two_departures_invites_for_the_other(h: Harness) -> None:
    """The cancelled departure's interview was withdrawn; the other one, still active, was
    left with none. Now it is scheduled in the same transaction and the tick sends it."""
    await announced_twice(h, last_day="2026-12-22")
    assert await h.statuses_of("hr-b") == []
    _, answer = await h.post(departure("departure.cancelled", id_="hr-a"))
    assert answer == {"status": "cancelled", "departure_id": "hr-a"}
    assert await h.statuses_of("hr-a") == ["cancelled"]
    assert await h.statuses_of("hr-b") == ["scheduled"]
    job = await h.one(Job, Job.kind == "invite", Job.status == "due")
    assert job.due_at == utc(2026, 12, 15, 9)  # 5 business days before Tue 22 Dec
    report = await run_tick(h.runtime, utc(2026, 12, 15, 9))
    assert report["invites sent"] == 1
    assert await h.statuses_of("hr-b") == ["invited"]
    [invite] = h.channel.to("anna@example.com")
    assert invite.key.startswith("invite:")
    # and the HR system asking again changes nothing
    _, again = await h.post(departure("departure.updated", id_="hr-b", last_day="2026-12-22"))
    assert (again["status"], again["interview"]) == ("scheduled", "sent")


async def test_cancelling_an_invited_duplicate_says_goodbye_and_invites_no_more(
    h: Harness,
) -> None:
    """The invite went out: withdrawn, it is closed politely and counts as her one invite,
    as it would had she answered it (a second one would tell the HR system she had not:
    `test_a_withdrawn_departure_does_not_tell_what_she_had_done`)."""
    await announced_twice(h)
    assert (await run_tick(h.runtime, INVITE_AT))["invites sent"] == 1
    h.clock.set(INVITE_AT + timedelta(hours=1))
    await h.post(departure("departure.cancelled", id_="hr-a"))
    assert await h.statuses_of("hr-b") == []
    report = await run_tick(h.runtime, INVITE_AT + timedelta(hours=1))
    assert (report["cancellation notices sent"], report["invites sent"]) == (1, 0)
    texts = [s.text for s in h.channel.to("anna@example.com")]
    assert len(texts) == 2 and "no longer needed" in texts[1]


async def test_the_other_departure_keeps_its_own_decision(h: Harness) -> None:
    """Re-scheduled by the same rules: one awaiting approval still waits, one approved while
    the first had the interview is now invited, one of a kind invited by hand is not."""
    await announced_twice(h, "contract_end")
    await h.post(
        departure(id_="hr-c", kind="dismissal", last_day="2026-12-21"),
        at=NOW - timedelta(seconds=1),
    )
    await h.post(departure("departure.cancelled", id_="hr-a"))
    assert await h.statuses_of("hr-b") == []
    assert [p.departure_id for p in await departures.pending_approvals(h.runtime)] == ["hr-b"]
    assert await h.statuses_of("hr-c") == []
    result = await departures.decide(h.runtime, "hr-b", True, None)
    assert result.status == "scheduled"
    assert await h.statuses_of("hr-b") == ["scheduled"]


async def test_an_approved_duplicate_is_invited_once_the_first_is_cancelled(h: Harness) -> None:
    await announced_twice(h, "contract_end")
    result = await departures.decide(h.runtime, "hr-b", True, None)
    assert result.message == (
        "Approved, but not invited: the employee has or had an exit interview for another "
        "departure (one at a time, and one in 365 days); how it went is not shared."
    )
    await h.post(departure("departure.cancelled", id_="hr-a"))
    assert await h.statuses_of("hr-b") == ["scheduled"]


async def test_the_other_departures_last_day_has_passed(h: Harness) -> None:
    await announced_twice(h, last_day="2026-12-04")
    h.clock.set(utc(2026, 12, 7, 9))
    await h.post(departure("departure.cancelled", id_="hr-a"))
    assert await h.statuses_of("hr-b") == []  # the web fallback's to offer, not the chat's
    assert await h.count(Job, Job.kind == "invite", Job.status == "due") == 0


async def test_two_departures_of_one_person_cancelled_at_once_both_succeed(h: Harness) -> None:
    """Each of Anna's two departures has an interview to withdraw: hr-a's invite went to
    Bob's address, HR corrected it to Anna's (the readdress job has yet to run) after hr-b
    was scheduled for her. Both are cancelled by two requests arriving together. Each
    cancellation locks its own departure and then, to offer the interview to the other
    departure, the other one: on PostgreSQL the two deadlocked and one webhook got a 503.
    Now both answer 202, in one order or the other, and nothing is left to invite."""
    pairs = 5  # without one lock order, nearly every pair deadlocked
    for n in range(pairs):
        _, first = await h.post(departure(id_=f"hr-a{n}", email=f"bob{n}@example.com"))
        assert first["status"] == "scheduled"
    assert (await run_tick(h.runtime, INVITE_AT))["invites sent"] == pairs
    h.clock.set(INVITE_AT + timedelta(hours=1))
    for n in range(pairs):
        anna = f"anna{n}@example.com"
        _, other = await h.post(departure(id_=f"hr-b{n}", email=anna))
        assert (other["status"], other["interview"]) == ("scheduled", "scheduled")
        _, corrected = await h.post(departure("departure.updated", id_=f"hr-a{n}", email=anna))
        assert (corrected["status"], corrected["interview"]) == ("scheduled", "sent")
    h.clock.set(INVITE_AT + timedelta(hours=1, minutes=1))
    for n in range(pairs):
        answers = await asyncio.gather(
            h.post(departure("departure.cancelled", id_=f"hr-a{n}")),
            h.post(departure("departure.cancelled", id_=f"hr-b{n}")),
        )
        assert answers == [
            (202, {"status": "cancelled", "departure_id": f"hr-a{n}"}),
            (202, {"status": "cancelled", "departure_id": f"hr-b{n}"}),
        ]
    for n in range(pairs):
        assert await h.statuses_of(f"hr-a{n}") == ["cancelled"]
        assert await h.statuses_of(f"hr-b{n}") == ["cancelled"]
    assert await h.count(Departure, Departure.status != "cancelled") == 0
    report = await run_tick(h.runtime, INVITE_AT + timedelta(hours=1, minutes=1))
    assert (report["cancellation notices sent"], report["invites sent"]) == (pairs, 0)
    assert await h.count(Job, Job.status == "due", Job.interview_id.is_not(None)) == 0


@pytest.mark.parametrize("ending", ["completed", "declined"])
async def test_an_interview_held_or_declined_is_not_offered_again(h: Harness, ending: str) -> None:
    """A completed interview still counts for 365 days; a declined one was the person's
    answer. Cancelling its departure afterwards invites nobody."""
    await announced_twice(h)
    await end_interview(h, ending)
    assert await h.statuses_of("hr-a") == [ending]
    _, answer = await h.post(departure("departure.cancelled", id_="hr-a"))
    assert answer["status"] == "cancelled"
    assert await h.statuses_of("hr-a") == [ending]
    assert await h.statuses_of("hr-b") == []
    assert await h.count(Job, Job.kind == "invite", Job.status == "due") == 0


async def test_inviting_a_rehired_person_by_hand_leaves_the_old_departure_alone(
    h: Harness,
) -> None:
    """Anna left in December after her exit interview, came back, and leaves again. The
    admin's invite reused the old departure (it said the interview had taken place), and its
    last working day rewritten. Now a new departure is made, and the one-interview-per-365-days
    rule is why it is not invited yet (without saying she took part); after that year it is."""
    await h.post(departure())
    await end_interview(h, "completed")
    h.clock.set(utc(2027, 6, 1, 9))
    outcome = await departures.invite_by_hand(
        h.runtime, "anna@example.com", datetime(2027, 6, 30).date(), kind="resignation"
    )
    assert (outcome.status, outcome.reason_code) == ("not_invited", "interview_elsewhere")
    manual_id = outcome.departure_id or ""
    assert manual_id.startswith("manual-")
    old = await h.one(Departure, Departure.external_id == "hr-4711")
    assert (str(old.last_working_day), old.decision, old.decided_by) == (
        "2026-12-18",
        "auto",
        None,
    )
    assert await h.statuses_of("hr-4711") == ["completed"]
    assert await h.statuses_of(manual_id) == []

    h.clock.set(utc(2028, 1, 10, 9))  # more than a year after the interview (11 Dec 2026)
    later = await departures.invite_by_hand(
        h.runtime, "anna@example.com", datetime(2028, 1, 31).date()
    )
    assert (later.status, later.departure_id) == ("scheduled", manual_id)  # open: reused
    assert await h.statuses_of(manual_id) == ["scheduled"]
    assert await h.count(Departure) == 2


async def test_inviting_by_hand_after_a_decline_invites_no_more(h: Harness) -> None:
    """Still the same leaving (its last day ahead): the decline stands, no new departure or
    interview is made, and the admin's last day is taken as for an invite not answered yet
    (leaving it alone only after a decline, or a completion, told the admin so)."""
    await h.post(departure())
    await end_interview(h, "declined")
    outcome = await departures.invite_by_hand(
        h.runtime, "anna@example.com", datetime(2026, 12, 23).date(), kind="other"
    )
    assert outcome.to_json() == sent_until("2026-12-23")
    stored = await h.one(Departure)
    assert (str(stored.last_working_day), stored.kind, stored.decision) == (
        "2026-12-23",
        "other",
        "manual",
    )
    assert await h.statuses_of("hr-4711") == ["declined"]
    assert await h.count(Interview) == 1


# ---------------------------------------------------------------------- never what one person chose

INVITED_BEFORE = {
    "status": "not_invited",
    "departure_id": "hr-4711",
    "reason": "an exit interview was already offered for this departure; how it went is not shared",
    "reason_code": "invited_before",
    "interview": "closed",
}


def sent_until(day: str, **more: object) -> dict[str, object]:
    """The answer about Anna's departure once her invite went out, while it is open."""
    return {
        "status": "scheduled",
        "departure_id": "hr-4711",
        "invite_at": "2026-12-11T09:00:00Z",
        "expires_at": f"{day}T22:59:59.999999Z",  # the end of that day in Amsterdam
        "timezone": "Europe/Amsterdam",
        "interview": "sent",
        **more,
    }


async def act(h: Harness, doing: str) -> None:
    """The invite goes out (Fri 11 Dec); an hour later Anna does nothing, starts, or ends it
    (`end_interview`)."""
    if doing in ("ignored", "started"):
        assert (await run_tick(h.runtime, INVITE_AT))["invites sent"] == 1
        h.clock.set(INVITE_AT + timedelta(hours=1))
        if doing == "started":
            await say(h, "", 1, choice="start")
            await say(h, COMPLETING[0], 2)
    else:
        await end_interview(h, doing)


DOINGS = {  # what Anna did → her interview's status
    "ignored": "invited",
    "started": "in_progress",
    "declined": "declined",
    "completed": "completed",
    "stopped": "stopped",
    "deleted": "deleted",
}


@pytest.mark.parametrize("doing", list(DOINGS))
async def test_the_answers_never_tell_what_she_did_with_the_invite(h: Harness, doing: str) -> None:
    """HR staff read the webhook's answer (and an HR admin's invite's) about one named
    person. Once she had declined, taken part, stopped or deleted her answers, a changed
    last working day was answered "not invited, already offered, closed"; had she done
    nothing (or started), "scheduled, sent" with the new end. The answers, HR's `status` and
    the moment it turns "closed" now follow the dates and the clock only: the same for all."""
    await h.post(departure())
    await act(h, doing)
    assert await h.statuses_of("hr-4711") == [DOINGS[doing]]
    _, answer = await h.post(departure("departure.updated", last_day="2026-12-21"))
    assert answer == sent_until("2026-12-21")
    outcome = await departures.invite_by_hand(
        h.runtime, "anna@example.com", datetime(2026, 12, 22).date()
    )
    assert outcome.to_json() == sent_until("2026-12-22")
    older = {**departure("departure.updated"), "occurred_at": "2026-11-30T12:00:00Z"}
    _, stale = await h.post(older)
    expected = sent_until("2026-12-22", stale=True, detail=STALE_DETAIL)
    del expected["timezone"]  # a stale event's answer looks up no zone
    assert stale == expected

    async def counts() -> tuple[int, int, int]:
        found = await hr_commands.pipeline_counts(h.runtime)
        return found["to_send"], found["sent"], found["closed"]

    assert await counts() == (0, 1, 0)
    h.clock.set(utc(2026, 12, 22, 22, 59, 59))
    await run_tick(h.runtime)
    assert await counts() == (0, 1, 0)
    h.clock.set(utc(2026, 12, 22, 23))  # the end of her (new) last day
    await run_tick(h.runtime)
    assert await counts() == (0, 0, 1)
    _, answer = await h.post(departure("departure.updated", last_day="2027-01-29"))
    assert answer == INVITED_BEFORE  # closed for good: a later last day reopens nothing
    assert await counts() == (0, 0, 1)
    # one invite, and nothing for HR admins (no web link to forward after the last day)
    assert len([s for s in h.channel.to("anna@example.com") if s.key.startswith("invite:")]) == 1
    assert h.channel.to("hr@example.com") == []
    assert await h.count(Job, Job.kind == "invite", Job.status == "due") == 0


@pytest.mark.parametrize("doing", list(DOINGS))
async def test_a_withdrawn_departure_does_not_tell_what_she_had_done(
    h: Harness, doing: str
) -> None:
    """Anna under two departure ids; the HR system withdraws the one whose invite went out.
    An interview under way was cancelled and freed her: her other departure was invited at
    once (and the withdrawn one, sent again, invited her again), while one she had declined
    or taken part in freed nobody. Whether a second invite went out told the HR system what
    she had done. Now the withdrawal closes it for HR at once and frees nobody, whatever she
    did; sent again, the departure reads the same for all."""
    await announced_twice(h)
    await act(h, doing)
    assert await h.statuses_of("hr-a") == [DOINGS[doing]]
    h.clock.set(INVITE_AT + timedelta(hours=2))
    _, answer = await h.post(departure("departure.cancelled", id_="hr-a"))
    assert answer == {"status": "cancelled", "departure_id": "hr-a"}
    counts = await hr_commands.pipeline_counts(h.runtime)
    assert (counts["to_send"], counts["sent"], counts["closed"]) == (0, 0, 1)
    assert await h.statuses_of("hr-b") == []
    _, other = await h.post(departure("departure.updated", id_="hr-b", last_day="2026-12-21"))
    assert (other["status"], other["reason_code"]) == ("not_invited", "interview_elsewhere")
    h.clock.set(INVITE_AT + timedelta(hours=3))
    _, again = await h.post(departure("departure.updated", id_="hr-a", last_day="2026-12-22"))
    assert again == {**INVITED_BEFORE, "departure_id": "hr-a"}
    for day in (14, 15, 16):
        await run_tick(h.runtime, utc(2026, 12, day, 9))
    invites = [s for s in h.channel.to("anna@example.com") if s.key.startswith("invite:")]
    assert len(invites) == 1
    assert await h.count(Job, Job.kind == "invite", Job.status == "due") == 0
    counts = await hr_commands.pipeline_counts(h.runtime)
    assert (counts["to_send"], counts["sent"], counts["closed"]) == (0, 0, 1)


@pytest.mark.parametrize(
    ("typed", "status"),
    [([], "invited"), (["start"], "in_progress"), (["start", "pause"], "paused")],
)
async def test_the_answers_never_tell_whether_the_interview_was_started(
    h: Harness, typed: list[str], status: str
) -> None:
    """Invited, started or paused: the answer's `interview` said "invited", "in_progress"
    or "paused"; now "sent" for all three (the invite went out and it is not closed)."""
    await h.post(departure())
    assert (await run_tick(h.runtime, INVITE_AT))["invites sent"] == 1
    h.clock.set(INVITE_AT + timedelta(hours=1))
    for n, text in enumerate(typed, start=1):
        await say(h, text, n)
    assert await h.statuses_of("hr-4711") == [status]
    _, answer = await h.post(departure("departure.updated", last_day="2026-12-21"))
    assert answer == {
        "status": "scheduled",
        "departure_id": "hr-4711",
        "invite_at": "2026-12-11T09:00:00Z",
        "expires_at": "2026-12-21T22:59:59.999999Z",
        "timezone": "Europe/Amsterdam",
        "interview": "sent",
    }
    outcome = await departures.invite_by_hand(
        h.runtime, "anna@example.com", datetime(2026, 12, 22).date()
    )
    assert (outcome.status, outcome.interview) == ("scheduled", "sent")


@pytest.mark.parametrize("first", ["invited", "completed", "declined", "stopped", "deleted"])
async def test_a_second_departure_does_not_tell_whether_the_first_was_held(
    h: Harness, first: str
) -> None:
    """Anna under a second departure id while her first interview is out, or after she took
    part in it, declined it, stopped it or deleted her answers: the answer said "already has
    an interview for another departure" or "completed an exit interview in the last 365
    days", and after a decline the second record invited her again. Now one answer for all,
    and nobody is asked twice."""
    await h.post(departure(id_="hr-a"), at=NOW - timedelta(seconds=1))
    if first != "invited":
        await end_interview(h, first)
    else:
        assert (await run_tick(h.runtime, INVITE_AT))["invites sent"] == 1
    assert await h.statuses_of("hr-a") == [first]
    _, answer = await h.post(departure(id_="hr-b", last_day="2026-12-21"))
    assert answer == {
        "status": "not_invited",
        "departure_id": "hr-b",
        "reason": "the employee has or had an exit interview for another departure (one at a "
        "time, and one in 365 days); how it went is not shared",
        "reason_code": "interview_elsewhere",
    }
    assert await h.statuses_of("hr-b") == []


async def test_an_ignored_invite_that_expired_is_not_sent_again_for_a_second_record(
    h: Harness,
) -> None:
    """Anna never answered the invite of her first departure record, nor the web link offered
    after her last day; it expired. A second record within the year does not invite her
    again (and says what it says after any other ending)."""
    await h.post(departure(id_="hr-a"), at=NOW - timedelta(seconds=1))
    assert (await run_tick(h.runtime, INVITE_AT))["invites sent"] == 1
    for day in (19, 20, 21, 31):
        await run_tick(h.runtime, utc(2026, 12, day, 12))
    await run_tick(h.runtime, utc(2027, 1, 8, 12))  # past the link's 14 days
    assert await h.statuses_of("hr-a") == ["expired"]
    h.clock.set(utc(2027, 1, 8, 12))
    _, answer = await h.post(departure(id_="hr-b", last_day="2027-02-26"))
    assert (answer["status"], answer["reason_code"]) == ("not_invited", "interview_elsewhere")
    assert await h.statuses_of("hr-b") == []


STALE_DETAIL = "a newer event for this departure was applied before; nothing changed"
LATER_AFTER_EXPIRY = utc(2027, 1, 8, 12)  # past the last day and the web link's 14 days


async def let_it_expire(h: Harness) -> None:
    """The last working day passes, then the web link offered after it runs out."""
    for day in (19, 20, 21, 31):
        await run_tick(h.runtime, utc(2026, 12, day, 12))
    await run_tick(h.runtime, LATER_AFTER_EXPIRY)
    h.clock.set(LATER_AFTER_EXPIRY)


@pytest.mark.parametrize(
    ("ending", "typed"),
    [
        ("declined", None),
        ("completed", None),
        ("ignored", []),  # never answered the invite
        ("left unfinished", [("", "start"), (COMPLETING[0], None)]),  # then silence
    ],
)
async def test_a_later_last_day_never_invites_again_however_the_invite_was_answered(
    h: Harness, ending: str, typed: list[tuple[str, str | None]] | None
) -> None:
    """Anna's invite went out and her last day passed; then the HR system moves the last
    working day later (a `departure.updated`), or an HR admin invites her by hand for it. A
    declined or completed interview said `invited_before`, but an invite she ignored or left
    unfinished had expired, and the same departure invited her again: whether a second
    invite went out told the HR system that she had not declined or taken part. Now one
    invite per departure however it was answered, and the same answer for all."""
    await h.post(departure())
    if typed is None:
        await end_interview(h, ending)
    else:
        assert (await run_tick(h.runtime, INVITE_AT))["invites sent"] == 1
        h.clock.set(INVITE_AT + timedelta(hours=1))
        for n, (text, choice) in enumerate(typed, start=1):
            await say(h, text, n, choice)
    await let_it_expire(h)
    ended = await h.statuses_of("hr-4711")
    assert ended == [ending if typed is None else "expired"]
    # an event older than the one applied is answered with where the departure stands
    older = {**departure("departure.updated"), "occurred_at": "2026-11-30T11:59:00Z"}
    _, stale = await h.post(older)
    assert stale == {**INVITED_BEFORE, "stale": True, "detail": STALE_DETAIL}
    _, answer = await h.post(departure("departure.updated", last_day="2027-02-26"))
    assert answer == INVITED_BEFORE
    outcome = await departures.invite_by_hand(
        h.runtime, "anna@example.com", datetime(2027, 2, 26).date()
    )
    assert outcome.to_json() == INVITED_BEFORE
    assert await h.statuses_of("hr-4711") == ended
    assert await h.count(Job, Job.kind == "invite", Job.status == "due") == 0
    sent = len(h.channel.to("anna@example.com"))
    await run_tick(h.runtime, utc(2027, 2, 19, 9))  # when a new invite would have gone out
    assert len(h.channel.to("anna@example.com")) == sent
    # HR's `status`: one closed interview, nothing to send, whatever she did
    counts = await hr_commands.pipeline_counts(h.runtime)
    assert (counts["to_send"], counts["sent"], counts["closed"]) == (0, 0, 1)


# ---------------------------------------------------------------------- re-classified after the invite


@pytest.mark.parametrize("kind", ["contract_end", "dismissal"])
@pytest.mark.parametrize("started", [False, True])
async def test_reclassified_after_the_invite_it_stands_and_the_answer_is_the_same_either_way(
    h: Harness, kind: str, started: bool
) -> None:
    """The HR system makes it a contract end or a dismissal after the invite went out: the
    answer said "not_invited" / "awaiting_approval" while the interview went on; then an
    unstarted invite was withdrawn and a started one went on, which told the HR system
    whether the employee had started. Now the invite stands either way, nobody asks HR, and
    the answer is the same."""
    await h.post(departure())
    await run_tick(h.runtime, INVITE_AT)
    h.clock.set(INVITE_AT + timedelta(hours=1))
    if started:
        await say(h, "", 1, choice="start")
        await say(h, COMPLETING[0], 2)
    _, answer = await h.post(departure("departure.updated", kind=kind, last_day="2026-12-21"))
    assert answer == {
        "status": "scheduled",
        "departure_id": "hr-4711",
        "reason": "the invite had already gone out when the departure changed: it stands "
        "(cancel the departure to withdraw it)",
        "reason_code": "under_way",
        "invite_at": "2026-12-11T09:00:00Z",
        "expires_at": "2026-12-21T22:59:59.999999Z",  # follows the new last day
        "timezone": "Europe/Amsterdam",
        "interview": "sent",
    }
    assert await h.statuses_of("hr-4711") == ["in_progress" if started else "invited"]
    assert await departures.pending_approvals(h.runtime) == []
    report = await run_tick(h.runtime, INVITE_AT + timedelta(hours=1))
    assert (report["cancellation notices sent"], report["approval requests sent"]) == (0, 0)
    stored = await h.count(AnswerRow)
    if started:
        await say(h, COMPLETING[1], 3)  # it takes the next answer
        assert await h.count(AnswerRow) == stored + 1
    else:
        await say(h, "", 1, choice="start")  # the invite's Start still starts it
        assert await h.statuses_of("hr-4711") == ["in_progress"]


@pytest.mark.parametrize("doing", list(DOINGS))
async def test_reclassified_after_the_invite_it_reads_the_same_whatever_she_did(
    h: Harness, doing: str
) -> None:
    """Made a contract end after the invite went out: an invite not answered yet stood
    (`under_way`), but after a decline, a completion, a stop or a deletion the departure
    went back to waiting for approval: the answer said `awaiting_approval` and the HR admins
    were asked to approve an interview for her, which told them that she had answered."""
    await h.post(departure())
    await act(h, doing)
    _, answer = await h.post(
        departure("departure.updated", kind="contract_end", last_day="2026-12-21")
    )
    assert answer == sent_until(
        "2026-12-21",
        reason="the invite had already gone out when the departure changed: it stands "
        "(cancel the departure to withdraw it)",
        reason_code="under_way",
    )
    assert await departures.pending_approvals(h.runtime) == []
    report = await run_tick(h.runtime, INVITE_AT + timedelta(hours=2))
    assert report["approval requests sent"] == 0
    assert h.channel.to("hr@example.com") == []


async def test_a_reclassified_departure_not_invited_yet_follows_the_new_policy(
    h: Harness,
) -> None:
    """Before the invite goes out, a change of kind still applies the new kind's policy."""
    await h.post(departure())
    _, answer = await h.post(departure("departure.updated", kind="contract_end"))
    assert answer["status"] == "awaiting_approval"
    assert await h.statuses_of("hr-4711") == ["cancelled"]  # the unsent invite is dropped
    assert (await run_tick(h.runtime, INVITE_AT))["invites sent"] == 0


# ---------------------------------------------------------------------- the command line


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = main(list(argv))
    finally:  # `main` installs its own root handler: give pytest's back
        root.handlers[:] = handlers
        root.setLevel(level)
    return code, out.getvalue(), err.getvalue()


async def test_a_late_departure_of_someone_with_an_interview_is_told_so_everywhere(
    h: Harness,
) -> None:
    """Anna's interview for hr-a is scheduled; the HR system then sends hr-b, its last day
    already passed (within the web fallback's 14 days). The webhook answered `web_link` ("a
    private web link will be offered instead"), HR's `start` for that day said so too, and
    `exitbot invite` that the next tick makes an interview by web link, while the fallback,
    one interview per person, never makes one. All three now say why not (her other
    interview), and the tick makes nothing."""
    await h.post(departure(id_="hr-a"), at=NOW - timedelta(seconds=2))
    status, answer = await h.post(departure(id_="hr-b", last_day="2026-11-27"))
    elsewhere = departures.REASONS["interview_elsewhere"]
    assert (status, answer) == (
        202,
        {
            "status": "not_invited",
            "departure_id": "hr-b",
            "reason": elsewhere,
            "reason_code": "interview_elsewhere",
        },
    )

    async def resolve(token: str) -> str | None:
        return token

    for lang, said in (
        ("en", "Not invited: this person has already been invited to an exit interview."),
        ("nl", "Niet uitgenodigd: deze persoon is al uitgenodigd voor een exitgesprek."),
    ):
        reply = await hr_commands.run(
            h.runtime,
            "start anna@example.com 2026-11-27",
            caller_email="hr@example.com",
            resolve_person=resolve,
            language=lang,
        )
        [message] = reply.messages
        assert message.text.startswith(said), message.text
        assert "link" not in message.text
    by_hand = await departures.invite_by_hand(
        h.runtime, "anna@example.com", datetime(2026, 11, 27).date()
    )
    assert (by_hand.status, by_hand.reason_code) == ("not_invited", "interview_elsewhere")

    h.clock.set(NOW + timedelta(minutes=1))
    report = await run_tick(h.runtime)
    assert report["web links for HR"] == report["web links emailed"] == 0
    assert await h.statuses_of("hr-a") == ["scheduled"]
    assert await h.statuses_of("hr-b") == []


async def test_approvals_and_invite_commands(
    fast_sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(fast_sqlite_url)
    monkeypatch.setenv("EXITBOT_DATABASE_URL", fast_sqlite_url)
    monkeypatch.setenv("EXITBOT_ENCRYPTION_KEY", settings.encryption_key or "")
    runtime = Runtime.open(settings)
    document = departure(kind="contract_end", last_day="2099-06-30", department="Sales")
    event = parse_departure_event(json.dumps(document).encode())
    await departures.apply_event(runtime, event, webhook_id="msg_cli", event_at=datetime.now(UTC))
    await runtime.close()

    code, out, _ = await _in_thread(run_cli, "approvals")
    assert code == 0
    assert "1 departure(s) awaiting approval" in out
    assert "hr-4711  contract end  last day 2099-06-30  Anna de Vries (Sales)" in out
    code, out, _ = await _in_thread(run_cli, "approvals", "--approve", "hr-4711")
    assert (code, out.startswith("Approved: the invite for hr-4711 goes out")) == (0, True)
    code, out, _ = await _in_thread(run_cli, "approvals")
    assert "No departures are awaiting approval." in out
    code, _, _ = await _in_thread(run_cli, "approvals", "--skip", "hr-4711")
    assert code == 1

    code, out, _ = await _in_thread(
        run_cli, "invite", "bob@example.com", "--last-day", "2099-06-30", "--kind", "dismissal"
    )
    assert (code, out.startswith("Scheduled: the invite goes out")) == (0, True)
    code, _, err = await _in_thread(
        run_cli, "invite", "carol@example.com", "--last-day", "2020-01-31"
    )
    assert (code, err.strip().splitlines()[-1]) == (1, "Not invited: last working day has passed.")
    code, _, err = await _in_thread(run_cli, "invite", "zebra.bad@", "--last-day", "2099-06-30")
    assert (code, err.strip().splitlines()[-1]) == (1, "Not invited: not a valid email address.")
    runtime = Runtime.open(settings)
    try:
        async with runtime.db.sessions() as session:
            emails = set((await session.scalars(select(Employee.email))).all())
    finally:
        await runtime.close()
    assert emails == {"anna@example.com", "bob@example.com", "carol@example.com"}


async def test_invite_command_after_the_last_day_says_what_it_made_and_what_follows(
    fast_sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`exitbot invite` for a last working day that passed (within the fallback's 14 days)
    printed "Not invited: … a private web link will be offered instead" and exited 1, while
    the departure was stored and the tick then made an interview by web link. It says that,
    and what to do next, and exits 0; the tick and `exitbot links` do what it says."""
    settings = settings_for(fast_sqlite_url)
    monkeypatch.setenv("EXITBOT_DATABASE_URL", fast_sqlite_url)
    monkeypatch.setenv("EXITBOT_ENCRYPTION_KEY", settings.encryption_key or "")
    await Runtime.open(settings).close()  # the server's database
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    code, out, err = await _in_thread(
        run_cli, "invite", "dana@example.com", "--last-day", yesterday
    )
    assert code == 0, err
    [departure_id] = [w.rstrip(",") for w in out.split() if w.startswith("manual-")]
    assert out.startswith(
        f"Recorded departure {departure_id}, without a chat invite: its last working day, "
        f"{yesterday}, has passed. The server's next tick (within a minute; or run `exitbot "
        "tick`) makes an interview to hold by private web link."
    )
    assert "`exitbot links` lists it: forward it to the person privately." in out
    assert "Not invited" not in out + err

    code, out, _ = await _in_thread(run_cli, "tick")
    assert code == 0 and "web links for HR: 1" in out
    code, out, _ = await _in_thread(run_cli, "links")
    assert code == 0 and "dana@example.com" in out and "/i/" in out


async def test_approving_after_the_last_day_says_what_follows(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`exitbot approvals --approve` (on the real clock) for a contract end whose last day
    passed while it waited printed "Approved, but not invited: … a private web link will be
    offered instead", without when or where, while the tick makes the interview by web link.
    It says what `exitbot invite` says for such a day; the tick and `exitbot links` do it."""
    settings = settings_for(database_url)
    monkeypatch.setenv("EXITBOT_DATABASE_URL", database_url)
    monkeypatch.setenv("EXITBOT_ENCRYPTION_KEY", settings.encryption_key or "")
    last_day = (datetime.now(UTC) - timedelta(days=3)).date().isoformat()
    runtime = Runtime.open(settings)
    try:
        document = departure(kind="contract_end", last_day=last_day, email="fay@example.com")
        event = parse_departure_event(json.dumps(document).encode())
        outcome = await departures.apply_event(
            runtime, event, webhook_id="msg_late", event_at=datetime.now(UTC)
        )
    finally:
        await runtime.close()
    assert outcome.status == "awaiting_approval"

    code, out, err = await _in_thread(run_cli, "approvals", "--approve", "hr-4711")
    assert code == 0, err
    assert "Not invited" not in out + err
    # the log said "departure N: not_invited by an HR admin" for an approval a link follows
    assert (
        ": approved by an HR admin; no chat invite (the last working day has "
        "passed): an interview by web link follows" in err
    )
    assert "fay@example.com" not in err
    assert out.strip() == (
        f"Approved departure hr-4711, without a chat invite: its last working day, {last_day}, "
        "has passed. The server's next tick (within a minute; or run `exitbot tick`) makes an "
        "interview to hold by private web link. The link is emailed to the person's personal "
        "address when one is known and EXITBOT_SMTP_URL is set; otherwise HR admins get it in "
        "chat, and `exitbot links` lists it: forward it to the person privately."
    )

    code, out, _ = await _in_thread(run_cli, "tick")
    assert code == 0 and "web links for HR: 1" in out
    code, out, _ = await _in_thread(run_cli, "links")
    assert code == 0 and "fay@example.com" in out and "/i/" in out


async def test_invite_command_on_a_rehired_person_says_why_not(
    fast_sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`exitbot invite` (on the real clock) for someone whose exit interview was held three
    months ago, for a departure long past: it says the one-interview rule is why (not that
    she took part), and it leaves the old departure as it was (it used to move its last day)."""
    key, held_last_day = await _anna_held_her_interview(fast_sqlite_url)
    monkeypatch.setenv("EXITBOT_DATABASE_URL", fast_sqlite_url)
    monkeypatch.setenv("EXITBOT_ENCRYPTION_KEY", key or "")
    last_day = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    code, _, err = await _in_thread(run_cli, "invite", "anna@example.com", "--last-day", last_day)
    assert (code, err.strip().splitlines()[-1]) == (
        1,
        "Not invited: the employee has or had an exit interview for another departure (one at "
        "a time, and one in 365 days); how it went is not shared.",
    )
    runtime = Runtime.open(settings_for(fast_sqlite_url, encryption_key=key))
    try:
        async with runtime.db.sessions() as session:
            days = dict(
                (
                    await session.execute(select(Departure.external_id, Departure.last_working_day))
                ).all()
            )
    finally:
        await runtime.close()
    assert days.pop("hr-4711") == held_last_day
    assert [str(day) for day in days.values()] == [last_day]  # the new, manual departure


async def test_invite_command_after_the_last_day_for_someone_with_an_interview_makes_none(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`exitbot invite` (on the real clock) for yesterday, for someone whose exit interview
    was held three months ago: it printed "Recorded departure …: the server's next tick makes
    an interview to hold by private web link" and exited 0, but one person gets one interview
    in 365 days and the tick made none. It says it made none, and why, and exits 1 as for a
    last day ahead (a script learns that no interview follows); the tick makes no link."""
    key, _ = await _anna_held_her_interview(database_url)
    monkeypatch.setenv("EXITBOT_DATABASE_URL", database_url)
    monkeypatch.setenv("EXITBOT_ENCRYPTION_KEY", key or "")
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    code, out, err = await _in_thread(
        run_cli, "invite", "anna@example.com", "--last-day", yesterday
    )
    assert (code, out, err.strip().splitlines()[-1]) == (
        1,
        "",
        "Not invited: the employee has or had an exit interview for another departure (one at "
        "a time, and one in 365 days); how it went is not shared.",
    )
    code, out, _ = await _in_thread(run_cli, "tick")
    assert code == 0 and "web links" not in out
    code, out, _ = await _in_thread(run_cli, "links")
    assert (code, out.strip()) == (0, "No fallback web links are waiting to be forwarded.")


async def test_invite_command_moving_an_unsent_invite_past_the_last_day_gives_the_link(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`exitbot invite` for Erik with his last day a month ahead schedules his invite; HR
    learns the day was yesterday and runs it again. The invite, not sent yet, is withdrawn
    and the command says the next tick makes an interview by web link; the tick made none,
    as the withdrawn invite counted as the departure's interview. Now it does what was said."""
    settings = settings_for(database_url)
    monkeypatch.setenv("EXITBOT_DATABASE_URL", database_url)
    monkeypatch.setenv("EXITBOT_ENCRYPTION_KEY", settings.encryption_key or "")
    ahead = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    code, out, err = await _in_thread(run_cli, "invite", "erik@example.com", "--last-day", ahead)
    assert (code, out.startswith("Scheduled: the invite goes out")) == (0, True), err
    code, out, err = await _in_thread(
        run_cli, "invite", "erik@example.com", "--last-day", yesterday
    )
    assert (code, out.startswith("Recorded departure manual-")) == (0, True), err
    assert "makes an interview to hold by private web link" in out

    code, out, _ = await _in_thread(run_cli, "tick")
    assert code == 0 and "web links for HR: 1" in out
    code, out, _ = await _in_thread(run_cli, "links")
    assert code == 0 and "erik@example.com" in out and "/i/" in out


async def test_invite_command_after_the_invite_went_out_says_what_follows(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`exitbot invite` (real clock) for Anna, whose chat invite went out: a later last day
    answered "Already under way: …; the interview's end moved to the new last day." and a
    day that has passed "Not invited: an exit interview was already offered …", without the
    day stored or what follows. Both now say it (a link after the last day by email only,
    never to HR), in words that are the same whatever she did with the invite."""
    now = datetime.now(UTC).replace(microsecond=0)
    last_day = (now + timedelta(days=12)).date()
    async with harness(database_url, now, **NL) as h:
        _, answer = await h.post(departure(last_day=last_day.isoformat()))
        await run_tick(h.runtime, datetime.fromisoformat(answer["invite_at"]))
        key = h.runtime.settings.encryption_key
    monkeypatch.setenv("EXITBOT_DATABASE_URL", database_url)
    monkeypatch.setenv("EXITBOT_ENCRYPTION_KEY", key or "")
    link = (
        "After a chat invite, a private web link after the last day goes to the person by "
        "email only, when the HR system gave their personal address and EXITBOT_SMTP_URL is "
        "set: never to HR admins, and `exitbot links` does not list it."
    )
    later = (last_day + timedelta(days=1)).isoformat()
    code, out, err = await _in_thread(run_cli, "invite", "anna@example.com", "--last-day", later)
    assert (code, out.strip()) == (
        0,
        "Already under way: the invite has gone out (departure hr-4711); the interview's end "
        f"moved to the new last day, {later}. {link}",
    ), err
    yesterday = (now - timedelta(days=1)).date().isoformat()
    code, out, err = await _in_thread(
        run_cli, "invite", "anna@example.com", "--last-day", yesterday
    )
    assert (code, err.strip().splitlines()[-1]) == (
        1,
        f"Not invited again: departure hr-4711's last day is now {yesterday}. Its invite had "
        "already gone out and its time to answer is over: HR's `status` counts it as closed. "
        f"{link} How it went is not shared.",
    )


async def _anna_held_her_interview(database_url: str) -> tuple[str | None, date]:
    """Anna's exit interview, held three months ago (real clock) for a departure whose last
    day is long past: the database's encryption key, and that last day."""
    then = datetime.now(UTC).replace(microsecond=0) - timedelta(days=90)
    last_day = (then + timedelta(days=14)).date()
    async with harness(database_url, then, **NL) as h:
        _, answer = await h.post(departure(last_day=last_day.isoformat()))
        invite_at = datetime.fromisoformat(answer["invite_at"])
        await run_tick(h.runtime, invite_at)
        h.clock.set(invite_at + timedelta(hours=1))
        await say(h, "", 1, choice="start")
        for n, text in enumerate(COMPLETING, start=2):
            await say(h, text, n)
        assert await h.statuses_of("hr-4711") == ["completed"]
        return h.runtime.settings.encryption_key, last_day


async def _in_thread(fn: object, *args: str) -> tuple[int, str, str]:
    """The CLI runs its own event loop (asyncio.run): call it outside this test's loop."""
    import asyncio

    assert callable(fn)
    return await asyncio.to_thread(fn, *args)


async def test_approvals_prompt_on_a_terminal(
    fast_sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(fast_sqlite_url)
    monkeypatch.setenv("EXITBOT_DATABASE_URL", fast_sqlite_url)
    monkeypatch.setenv("EXITBOT_ENCRYPTION_KEY", settings.encryption_key or "")
    runtime = Runtime.open(settings)
    for n in range(3):
        document = departure(id_=f"hr-{n}", kind="contract_end", last_day=f"2099-06-1{n}")
        event = parse_departure_event(json.dumps(document).encode())
        await departures.apply_event(runtime, event, webhook_id=f"m{n}", event_at=datetime.now(UTC))
    await runtime.close()

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    answers = iter(["a", "s", ""])
    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr("builtins.input", lambda prompt: next(answers, ""))
    code, out, _ = await _in_thread(run_cli, "approvals")
    assert code == 0
    assert "Approved: the invite for hr-0 goes out" in out
    assert "Skipped: no interview for departure hr-1." in out
    code, out, _ = await _in_thread(run_cli, "approvals")
    assert "1 departure(s) awaiting approval" in out and "hr-2" in out


async def test_approvals_prompt_decides_what_it_listed_or_nothing(
    fast_sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The terminal prompt waits for a person: the HR system made the listed contract end a
    dismissal (which needs approval too) meanwhile. The 'a' typed was about a contract end:
    it decides nothing and says so; listed again, the dismissal is decided."""
    import asyncio

    policy = {**DEFAULT_POLICY, "dismissal": "approval"}
    settings = settings_for(fast_sqlite_url, policy=policy)
    monkeypatch.setenv("EXITBOT_DATABASE_URL", fast_sqlite_url)
    monkeypatch.setenv("EXITBOT_ENCRYPTION_KEY", settings.encryption_key or "")
    monkeypatch.setenv("EXITBOT_POLICY_DISMISSAL", "approval")

    async def post(kind: str, type_: str, webhook_id: str) -> None:
        runtime = Runtime.open(settings)
        try:
            document = departure(type_, kind=kind, last_day="2099-06-30")
            event = parse_departure_event(json.dumps(document).encode())
            await departures.apply_event(
                runtime, event, webhook_id=webhook_id, event_at=datetime.now(UTC)
            )
        finally:
            await runtime.close()

    await post("contract_end", "departure.created", "m1")

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    def typed_after_a_change(prompt: str) -> str:
        asyncio.run(post("dismissal", "departure.updated", "m2"))  # while the prompt waits
        return "a"

    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr("builtins.input", typed_after_a_change)
    code, out, _ = await _in_thread(run_cli, "approvals")
    assert code == 0
    assert "hr-4711  contract end  last day 2099-06-30" in out
    assert (
        "The request for departure hr-4711 was replaced by a newer one (the departure changed "
        "since); nothing was decided." in out
    )
    monkeypatch.setattr("builtins.input", lambda prompt: "a")
    code, out, _ = await _in_thread(run_cli, "approvals")
    assert "hr-4711  dismissal  last day 2099-06-30" in out
    assert "Approved: the invite for hr-4711 goes out" in out


async def test_invite_command_for_someone_under_way_does_not_say_how_far(
    fast_sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`exitbot invite` for someone whose invite is out printed "the interview is
    in_progress" (or invited, paused): now only that the invite has gone out."""
    then = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    last_day = (then + timedelta(days=14)).date()
    async with harness(fast_sqlite_url, then, **NL) as h:
        _, answer = await h.post(departure(last_day=last_day.isoformat()))
        invite_at = datetime.fromisoformat(answer["invite_at"])
        await run_tick(h.runtime, invite_at)
        h.clock.set(invite_at + timedelta(hours=1))
        await say(h, "", 1, choice="start")
        assert await h.statuses_of("hr-4711") == ["in_progress"]
        key = h.runtime.settings.encryption_key
    monkeypatch.setenv("EXITBOT_DATABASE_URL", fast_sqlite_url)
    monkeypatch.setenv("EXITBOT_ENCRYPTION_KEY", key or "")
    later = (last_day + timedelta(days=3)).isoformat()
    code, out, _ = await _in_thread(run_cli, "invite", "anna@example.com", "--last-day", later)
    assert (code, out.strip().splitlines()[-1].split(". ")[0]) == (
        0,
        "Already under way: the invite has gone out (departure hr-4711); the interview's end "
        f"moved to the new last day, {later}",  # then what follows the last day, for anyone
    )
