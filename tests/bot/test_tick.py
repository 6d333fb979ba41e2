"""The tick at moved clocks: invites, reminders, expiry, cancellation, declines,
unreachable employees, missing channels, rescheduling and purging."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import conversations as conv
from adapters.base import Incoming, Opened, Unreachable
from bot import departures, hr_commands, tick
from bot.jobs import TickContext, TickReport
from bot.models import AnswerRow, Interview, InterviewFact, Job, PlatformIdentity, WebhookEvent
from tests.support.departures import (
    Harness,
    RecordingChannel,
    departure,
    fast_database_url,  # noqa: F401  (overrides the shared, slower `database_url`)
    fast_sqlite_url_fixture,  # noqa: F401
    harness,
)

# The web-link fallback (bot.fallback) keeps interviews open past the last day by default;
# these tests are about the chat schedule itself.
NL: dict[str, Any] = {
    "timezone": "Europe/Amsterdam",
    "holidays": "NL",
    "fallback_after_last_day": False,
}
NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)  # Monday; last day Fri 18 Dec 2026
INVITE_AT = datetime(2026, 12, 11, 9, tzinfo=UTC)  # Fri 11 Dec, 10:00 CET
EMAIL = "anna@example.com"


def utc(*args: int) -> datetime:
    return datetime(*args).replace(tzinfo=UTC)  # type: ignore[arg-type]


@pytest.fixture
async def h(database_url: str) -> AsyncIterator[Harness]:
    async with harness(database_url, NOW, **NL) as built:
        yield built


async def tick_at(
    h: Harness, moment: datetime, registry: tick.TickRegistry | None = None
) -> TickReport:
    h.clock.set(moment)
    return await tick.run_tick(h.runtime, registry_=registry, metrics=h.metrics)


async def say(h: Harness, text: str, n: int, choice: str | None = None) -> None:
    await h.runtime.service.handle(
        Incoming(
            channel="slack",
            user_id=f"U-{EMAIL}",
            conversation_id=f"D-{EMAIL}",
            text=text,
            message_id=f"m{n}",
            choice=choice,
        )
    )


async def interview(h: Harness) -> Interview:
    return await h.one(Interview)


async def invited(h: Harness) -> None:
    await h.post(departure())
    report = await tick_at(h, INVITE_AT)
    assert report["invites sent"] == 1


def bot_texts(h: Harness) -> list[str]:
    return [s.text for s in h.channel.to(EMAIL)]


# ---------------------------------------------------------------------- the whole path


async def test_invite_reminders_and_expiry(h: Harness) -> None:
    await h.post(departure())
    assert (await tick_at(h, INVITE_AT - timedelta(seconds=1)))["invites sent"] == 0
    report = await tick_at(h, INVITE_AT)
    assert report["invites sent"] == 1
    [invite] = h.channel.to(EMAIL)
    assert invite.key.startswith("invite:")
    assert [c.value for c in invite.messages[-1].choices] == ["start", "later", "decline"]
    assert "voluntary" in invite.text and "at least 5 people" in invite.text
    row = await interview(h)
    assert (row.status, row.invited_at, row.channel) == ("invited", INVITE_AT, "slack")
    identity = await h.one(PlatformIdentity)
    assert (identity.user_id, identity.conversation_id) == (f"U-{EMAIL}", f"D-{EMAIL}")
    assert (await tick_at(h, INVITE_AT + timedelta(minutes=1)))["invites sent"] == 0
    assert h.metrics.invites.labels("slack")._value.get() == 1

    # Unanswered for 2 business days (Fri → Tue, 10:00 CET): one reminder, with the buttons.
    remind_at = utc(2026, 12, 15, 9)
    assert (await tick_at(h, remind_at - timedelta(seconds=1)))["reminders sent"] == 0
    assert (await tick_at(h, remind_at))["reminders sent"] == 1
    reminder = h.channel.to(EMAIL)[-1]
    assert "gentle reminder" in reminder.text
    assert [c.value for c in reminder.messages[0].choices] == ["start", "later", "decline"]
    assert (await tick_at(h, utc(2026, 12, 16, 9)))["reminders sent"] == 0

    # Started, then idle for one business day: one nudge.
    h.clock.set(utc(2026, 12, 16, 9, 30))
    await say(h, "", 1, choice="start")
    await say(h, "Career growth", 2)
    assert (await interview(h)).status == "in_progress"
    assert (await tick_at(h, utc(2026, 12, 17, 9)))["reminders sent"] == 0
    assert (await tick_at(h, utc(2026, 12, 17, 9, 30)))["reminders sent"] == 1
    assert "pick up where we left off" in bot_texts(h)[-1]
    assert (await tick_at(h, utc(2026, 12, 18, 12)))["reminders sent"] == 0

    # End of the last working day (Fri 23:59 CET): expired, with a polite close.
    assert (await tick_at(h, utc(2026, 12, 18, 22, 59)))["interviews expired"] == 0
    report = await tick_at(h, utc(2026, 12, 18, 23, 0))
    assert report["interviews expired"] == 1
    assert (await interview(h)).status == "expired"
    assert "last working day has passed" in bot_texts(h)[-1]
    assert await h.count(Job, Job.status == "due", Job.kind != "purge_webhooks") == 0
    assert report.lines()[:3] == ["invites sent: 0", "reminders sent: 0", "interviews expired: 1"]


async def test_unanswered_invite_expires_without_a_message(h: Harness) -> None:
    await invited(h)
    await tick_at(h, utc(2026, 12, 15, 9))  # the reminder
    sent = len(h.channel.sent)
    assert (await tick_at(h, utc(2026, 12, 19, 8)))["interviews expired"] == 1
    assert (await interview(h)).status == "expired"
    assert len(h.channel.sent) == sent


async def test_invite_reminder_respects_dst(fast_sqlite_url: str) -> None:
    async with harness(fast_sqlite_url, utc(2026, 3, 20, 12), **NL) as h:
        _, answer = await h.post(departure(last_day="2026-04-02"))
        assert answer["invite_at"] == "2026-03-26T09:00:00Z"  # Thu 10:00 CET (winter)
        await tick_at(h, utc(2026, 3, 26, 9))
        job = await h.one(Job, Job.kind == "remind_invite")
        assert job.due_at == utc(2026, 3, 30, 8)  # Mon 10:00 CEST (summer), 2 business days


# ---------------------------------------------------------------------- cancel, decline


async def test_cancel_mid_interview_deletes_answers_and_closes_politely(h: Harness) -> None:
    await invited(h)
    h.clock.set(INVITE_AT + timedelta(hours=1))
    await say(h, "", 1, choice="start")
    await say(h, "Career growth", 2)
    await say(h, "The people, and the freedom to experiment with new ideas.", 3)
    assert await h.count(AnswerRow) >= 2
    status, answer = await h.post(departure("departure.cancelled"))
    assert (status, answer["status"]) == (202, "cancelled")
    row = await interview(h)
    assert (row.status, row.state_enc) == ("cancelled", None)
    assert await h.count(AnswerRow) == 0
    report = await tick_at(h, INVITE_AT + timedelta(hours=2))
    assert report["cancellation notices sent"] == 1
    assert "no longer needed" in bot_texts(h)[-1]
    later = await tick_at(h, utc(2026, 12, 21, 12))
    assert (later["reminders sent"], later["interviews expired"]) == (0, 0)


async def test_cancel_before_the_invite_sends_nothing(h: Harness) -> None:
    await h.post(departure(), at=NOW - timedelta(seconds=1))
    await h.post(departure("departure.cancelled"))
    report = await tick_at(h, INVITE_AT)
    assert (report["invites sent"], report["cancellation notices sent"]) == (0, 0)
    assert h.channel.sent == []


async def test_starting_cancels_the_invite_reminder(h: Harness) -> None:
    await invited(h)
    h.clock.set(INVITE_AT + timedelta(hours=1))
    await say(h, "", 1, choice="start")
    assert (await interview(h)).status == "in_progress"
    assert (await h.one(Job, Job.kind == "remind_invite")).status == "cancelled"


async def test_declined_is_never_asked_again(h: Harness) -> None:
    await invited(h)
    h.clock.set(INVITE_AT + timedelta(hours=1))
    await say(h, "No thanks", 1)
    assert (await interview(h)).status == "declined"
    _, answer = await h.post(departure("departure.updated", last_day="2027-01-29"))
    # never "declined": HR staff read this about a named person; as for an invite not
    # answered yet, it is under way until the end of the (new) last day
    assert (answer["status"], answer.get("reason_code"), answer["interview"]) == (
        "scheduled",
        None,
        "sent",
    )
    manual = await departures.invite_by_hand(h.runtime, EMAIL, datetime(2027, 1, 29).date())
    assert (manual.status, manual.interview) == ("scheduled", "sent")
    sent = len(h.channel.sent)
    for day in (14, 15, 16, 17, 18):
        report = await tick_at(h, utc(2026, 12, day, 10))
        assert (report["invites sent"], report["reminders sent"]) == (0, 0)
    assert len(h.channel.sent) == sent
    assert await h.count(Interview) == 1


def end_of(day: int) -> datetime:
    """When the last working day (in December 2026) ends in Amsterdam: the expiry."""
    return utc(2026, 12, day, 23) - timedelta(microseconds=1)


async def declined(h: Harness) -> None:
    await invited(h)
    h.clock.set(INVITE_AT + timedelta(hours=1))
    await say(h, "No thanks", 1)
    assert (await interview(h)).status == "declined"


async def test_started_after_declining_it_is_reminded_and_expires_like_any(h: Harness) -> None:
    await declined(h)
    assert (await tick_at(h, utc(2026, 12, 15, 9)))["reminders sent"] == 0  # no invite reminder
    h.clock.set(utc(2026, 12, 15, 10))
    await say(h, "start", 2)
    row = await interview(h)
    assert (row.status, row.started_at) == ("in_progress", utc(2026, 12, 15, 10))
    assert "main reason" in bot_texts(h)[-1]
    expire = await h.one(Job, Job.kind == "expire")
    assert (expire.status, expire.due_at) == ("due", end_of(18))
    assert (await h.one(Job, Job.kind == "remind_idle")).status == "due"
    assert (await h.one(Job, Job.kind == "remind_invite")).status == "cancelled"
    assert (await tick_at(h, utc(2026, 12, 15, 11)))["reminders sent"] == 0  # not idle yet
    # Idle a business day: one nudge; then the end of the last working day closes it.
    assert (await tick_at(h, utc(2026, 12, 16, 9, 59)))["reminders sent"] == 0
    assert (await tick_at(h, utc(2026, 12, 16, 10)))["reminders sent"] == 1
    assert "pick up where we left off" in bot_texts(h)[-1]
    assert (await tick_at(h, utc(2026, 12, 17, 10)))["reminders sent"] == 0
    assert (await tick_at(h, utc(2026, 12, 18, 23)))["interviews expired"] == 1
    assert (await interview(h)).status == "expired"
    assert "last working day has passed" in bot_texts(h)[-1]


async def test_started_after_declining_the_hr_system_and_hr_see_nothing_move(
    h: Harness,
) -> None:
    """Declining closed the interview for HR at once, and starting after all opened it
    again: both told HR what she did. It is under way for them until her last day ends."""
    await invited(h)
    h.clock.set(INVITE_AT + timedelta(hours=1))
    await say(h, "", 1, choice="decline")
    counts = await hr_commands.pipeline_counts(h.runtime)
    assert (counts["closed"], counts["sent"]) == (0, 1)
    await say(h, "", 2, choice="start")  # the invite's own Start, clicked after all
    counts = await hr_commands.pipeline_counts(h.runtime)
    assert (counts["closed"], counts["sent"]) == (0, 1)
    _, answer = await h.post(departure("departure.updated", last_day="2026-12-22"))
    assert (answer["status"], answer["interview"]) == ("scheduled", "sent")
    assert answer["expires_at"] == "2026-12-22T22:59:59.999999Z"
    assert (await h.one(Job, Job.kind == "expire")).due_at == end_of(22)


async def test_started_after_declining_and_completed_counts_once(h: Harness) -> None:
    await declined(h)
    await say(h, "start", 2)
    for n in range(3, 11):
        await say(h, "skip", n)
    assert "Is this right?" in bot_texts(h)[-1]
    await say(h, "yes", 11)
    row = await interview(h)
    assert (row.status, row.invited_at) == ("completed", INVITE_AT)  # one invite, completed
    assert await h.count(Interview) == 1
    assert await h.count(InterviewFact) == 1


async def test_the_time_to_start_after_declining_follows_the_last_day(h: Harness) -> None:
    await declined(h)
    _, answer = await h.post(departure("departure.updated", last_day="2026-12-22"))
    assert (answer["status"], answer["interview"]) == ("scheduled", "sent")  # as for any
    assert await h.count(Job, Job.kind == "invite", Job.status == "due") == 0  # not again
    assert (await interview(h)).expires_at == end_of(22)
    h.clock.set(utc(2026, 12, 21, 10))  # past the first last day, before the new one
    await say(h, "start", 2)
    assert (await interview(h)).status == "in_progress"
    assert (await h.one(Job, Job.kind == "expire")).due_at == end_of(22)


async def test_after_its_expiry_a_declined_interview_does_not_start(h: Harness) -> None:
    await declined(h)
    h.clock.set(utc(2026, 12, 18, 23))
    await say(h, "start", 2)
    assert (await interview(h)).status == "declined"
    assert "no interview open for you" in bot_texts(h)[-1]
    assert await h.count(Job, Job.status == "due", Job.interview_id.is_not(None)) == 0


async def test_a_declined_interview_of_a_withdrawn_departure_does_not_start(h: Harness) -> None:
    await declined(h)
    await h.post(departure("departure.cancelled"))
    await say(h, "start", 2)
    assert (await interview(h)).status == "declined"
    assert "no interview open for you" in bot_texts(h)[-1]
    assert await h.count(Job, Job.status == "due", Job.interview_id.is_not(None)) == 0


# ---------------------------------------------------------------------- reaching people


async def test_unreachable_employee_tells_hr_and_runs_hooks(h: Harness) -> None:
    h.channel.unreachable.add(EMAIL)
    seen: list[tuple[int, str]] = []

    async def fallback(ctx: TickContext, interview_id: int, reason: str) -> None:
        seen.append((interview_id, reason))

    registry = tick.registry()
    registry.on_unreachable.append(fallback)
    await h.post(departure())
    report = await tick_at(h, INVITE_AT, registry)
    assert (report["invites sent"], report["unreachable"]) == (0, 1)
    row = await interview(h)
    assert (row.status, row.note) == ("unreachable", "slack: user_disabled")
    assert seen == [(row.id, "slack: user_disabled")]
    [notice] = [s for s in h.channel.to("hr@example.com") if "could not deliver" in s.text]
    assert "Anna de Vries" in notice.text
    assert h.metrics.unreachable._value.get() == 1
    later = await tick_at(h, utc(2026, 12, 15, 10), registry)
    assert (later["invites sent"], later["unreachable"]) == (0, 0)  # no retry loop


async def test_second_channel_is_tried(fast_sqlite_url: str) -> None:
    slack = RecordingChannel("slack", unreachable={EMAIL})
    teams = RecordingChannel("teams")
    async with harness(fast_sqlite_url, NOW, channels=[teams, slack], **NL) as h:
        await h.post(departure())
        assert (await tick_at(h, INVITE_AT))["invites sent"] == 1
    assert slack.opened == [] and len(teams.to(EMAIL)) == 1


class RefusingChannel(RecordingChannel):
    """A platform that refuses the unreachable addresses with a reason of its own."""

    def __init__(self, name: str, reason: str, **kw: Any) -> None:
        super().__init__(name, **kw)
        self.reason = reason

    async def open_conversation(self, email: str) -> Opened:
        if email in self.unreachable:
            raise Unreachable(self.reason)
        return await super().open_conversation(email)


async def test_each_platforms_reason_is_worded_and_an_unknown_one_stays_readable(
    fast_sqlite_url: str,
) -> None:
    """Slack and Teams both refused Anna: the Dutch-speaking admin reads both reasons in
    Dutch; one no wording knows is given as the platform said it, after its name."""
    slack = RefusingChannel("slack", "account_inactive", unreachable={EMAIL}, language="nl")
    teams = RefusingChannel("teams", "tenant_policy_blocks_bots", unreachable={EMAIL})
    async with harness(fast_sqlite_url, NOW, channels=[slack, teams], **NL) as h:
        await h.post(departure())
        assert (await tick_at(h, INVITE_AT))["unreachable"] == 1
        row = await interview(h)
    assert row.note == "slack: account_inactive; teams: tenant_policy_blocks_bots"
    [told] = [s.text for s in slack.to("hr@example.com") if "exitgesprek van" in s.text]
    assert told == (
        "Ik kon de uitnodiging voor het exitgesprek van Anna de Vries (vertrek hr-4711) niet "
        "afleveren: het Slack-account van deze persoon is gedeactiveerd; Teams meldde: tenant "
        "policy blocks bots. Via chat probeer ik het niet opnieuw."
    )


async def test_no_chat_channel_leaves_it_scheduled(fast_sqlite_url: str) -> None:
    seen: list[int] = []

    async def link(ctx: TickContext, interview_id: int, reason: str) -> None:
        seen.append(interview_id)

    registry = tick.registry()
    registry.on_no_channel.append(link)
    async with harness(fast_sqlite_url, NOW, channels=[], **NL) as h:
        await h.post(departure())
        report = await tick_at(h, INVITE_AT, registry)
        assert (report["invites sent"], report["no chat channel"]) == (0, 1)
        row = await interview(h)
        assert (row.status, row.note) == ("scheduled", "no chat channel configured")
        assert seen == [row.id]
        assert "no chat channel: 1" in report.lines()


async def test_platform_language_is_used_when_the_departure_has_none(fast_sqlite_url: str) -> None:
    channel = RecordingChannel(language="nl-NL", timezone="Europe/Amsterdam")
    async with harness(
        fast_sqlite_url, NOW, channels=[channel], fallback_after_last_day=False
    ) as h:
        await h.post(departure())
        await h.post(departure(id_="hr-2", email="bob@example.com", language="en"))
        await tick_at(h, INVITE_AT + timedelta(hours=1))
        identity = await h.one(PlatformIdentity, PlatformIdentity.user_id == f"U-{EMAIL}")
        assert (identity.locale, identity.timezone) == ("nl-NL", "Europe/Amsterdam")
        # The zone the platform reported now sets the expiry: end of Friday in Amsterdam.
        anna = await h.one(Interview, Interview.departure_id == 1)
        assert (anna.language, anna.expires_at) == ("nl", utc(2026, 12, 18, 22, 59, 59, 999999))
    questionnaire = conv.load_builtin()
    assert channel.to(EMAIL)[0].text == conv.invite(questionnaire, "nl").messages[0].text
    assert (
        channel.to("bob@example.com")[0].text == conv.invite(questionnaire, "en").messages[0].text
    )


# ---------------------------------------------------------------------- rescheduling


async def test_update_reschedules_invite_and_expiry(h: Harness) -> None:
    await h.post(departure(), at=NOW - timedelta(seconds=10))
    await h.post(
        departure("departure.updated", last_day="2026-12-23"), at=NOW - timedelta(seconds=5)
    )
    job = await h.one(Job, Job.kind == "invite")
    assert job.due_at == utc(2026, 12, 16, 9)
    report = await tick_at(h, utc(2026, 12, 16, 9))
    assert report["invites sent"] == 1
    h.clock.set(utc(2026, 12, 16, 10))
    _, answer = await h.post(departure("departure.updated", last_day="2026-12-30"))
    assert (answer["status"], answer["interview"]) == ("scheduled", "sent")
    assert answer["expires_at"] == "2026-12-30T22:59:59.999999Z"
    expire = await h.one(Job, Job.kind == "expire")
    assert expire.due_at == utc(2026, 12, 30, 22, 59, 59, 999999)
    assert (await tick_at(h, utc(2026, 12, 24, 0)))["interviews expired"] == 0
    assert (await tick_at(h, utc(2026, 12, 31, 0)))["interviews expired"] == 1


async def test_webhook_ids_are_purged_after_thirty_days(h: Harness) -> None:
    h.clock.set(NOW - timedelta(days=31))
    await h.post(departure(), msg_id="msg_old")
    h.clock.set(NOW - timedelta(days=8))
    await h.post(departure("departure.updated"), msg_id="msg_recent")
    report = await tick_at(h, NOW)
    assert report["webhook ids purged"] == 1
    assert await h.count(WebhookEvent) == 1
    _, answer = await h.post(departure("departure.updated"), msg_id="msg_recent")
    assert answer["status"] == "duplicate"  # kept: younger than 30 days
    again = await tick_at(h, NOW + timedelta(hours=1))
    assert again["webhook ids purged"] == 0  # the purge runs once a day


def test_report_lines() -> None:
    report = TickReport()
    report.add("invites sent", 3)
    report.add("digests posted")
    assert report.lines()[0] == "invites sent: 3"
    assert report.lines()[-1] == "digests posted: 1"


async def test_logs_hold_no_email_or_answer_text(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    h.channel.unreachable.add("bob@example.com")
    await h.post(departure(id_="hr-2", email="bob@example.com"))
    await invited(h)
    h.clock.set(INVITE_AT + timedelta(hours=1))
    await say(h, "", 1, choice="start")
    await say(h, "Career growth", 2)
    await say(h, "Mijn leidinggevende gaf nooit feedback", 3)
    await h.post(departure("departure.cancelled"))
    await tick_at(h, INVITE_AT + timedelta(hours=2))
    ours = [r for r in caplog.records if r.name.startswith(("bot", "adapters"))]
    assert ours  # the flow did log
    logged = "\n".join(r.getMessage() for r in ours)
    assert "@example.com" not in logged
    assert "leidinggevende" not in logged and "Anna" not in logged
