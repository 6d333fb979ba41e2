"""The fallback: people chat cannot reach get their interview by private web link, emailed to
a local SMTP server when configured, else handed to HR admins and `exitbot links`."""

from __future__ import annotations

import email
import logging
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from bot import fallback
from bot.cli import web as links_cli
from bot.models import Departure, Interview, WebLink
from bot.tick import run_tick
from tests.bot.test_departures import COMPLETING
from tests.support.departures import (
    RecordingChannel,
    departure,
    fast_database_url,  # noqa: F401  (overrides the shared, slower `database_url`)
    harness,
)

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # a Monday
INVITE_DAY = datetime(2026, 12, 11, 12, 0, tzinfo=UTC)  # 5 business days before the 18th
AFTER_LAST_DAY = datetime(2026, 12, 19, 0, 30, tzinfo=UTC)
PERSONAL = "anna.devries@example.net"
LINK = re.compile(r"http://127\.0\.0\.1:3978/i/([A-Za-z0-9_-]{43})")


@dataclass
class Inbox:
    """An aiosmtpd handler that keeps every message it is given."""

    messages: list[tuple[list[str], Message]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            (list(envelope.rcpt_tos), email.message_from_bytes(envelope.original_content))
        )
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[str, Inbox]]:
    inbox = Inbox()
    # The server thread logs each connection at INFO, sometimes after the test has ended.
    server_log = logging.getLogger("mail.log")
    level = server_log.level
    server_log.setLevel(logging.WARNING)
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{controller.port}?from=hr@example.com", inbox
    finally:
        controller.stop()
        server_log.setLevel(level)


def subject(message: Message) -> str:
    return str(make_header(decode_header(message["Subject"])))


def body(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(message.get_content_charset() or "utf-8")


async def test_an_unreachable_employee_gets_the_link_by_email(
    fast_sqlite_url: str, smtp: tuple[str, Inbox], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    url, inbox = smtp
    slack = RecordingChannel("slack", unreachable={"anna@example.com"})
    async with harness(fast_sqlite_url, NOW, channels=[slack], smtp_url=url) as h:
        status, _ = await h.post(departure(language="nl", personal_email=PERSONAL))
        assert status == 202
        h.clock.set(INVITE_DAY)
        report = await run_tick(h.runtime)
        assert report["unreachable"] == 1 and report["web links emailed"] == 1

        assert len(inbox.messages) == 1
        recipients, message = inbox.messages[0]
        assert recipients == [PERSONAL]
        assert subject(message) == "Je exitgesprek: een persoonlijke link"
        text = body(message)
        assert text.startswith("Hoi Anna,") and "minstens 5 mensen" in text
        token = LINK.search(text)
        assert token is not None

        response = await h.client.get(f"/i/{token.group(1)}")
        assert response.status == 200
        assert "Hoi! Ik ben ExitBot" in await response.text()
        link = await h.one(WebLink)
        assert link.emailed_at == INVITE_DAY
        interview = await h.one(Interview)
        assert interview.expires_at >= INVITE_DAY + timedelta(days=14)
        # HR admins heard that chat failed (the invites module), but got no link to forward.
        assert not any("/i/" in sent.text for sent in slack.to("hr@example.com"))

        again = await run_tick(h.runtime)  # a later tick changes nothing
        assert again["web links emailed"] == 0 and len(inbox.messages) == 1
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert PERSONAL not in logged and token.group(1) not in logged


async def test_without_smtp_hr_admins_get_the_link_to_forward(fast_sqlite_url: str) -> None:
    slack = RecordingChannel("slack", unreachable={"anna@example.com"})
    async with harness(fast_sqlite_url, NOW, channels=[slack]) as h:
        await h.post(departure(personal_email=PERSONAL))
        h.clock.set(INVITE_DAY)
        report = await run_tick(h.runtime)
        assert report["web links for HR"] == 1
        told = [s.text for s in slack.to("hr@example.com") if "/i/" in s.text]
        assert len(told) == 1 and "Anna de Vries" in told[0]
        token = LINK.search(told[0])
        assert token is not None
        assert (await h.client.get(f"/i/{token.group(1)}")).status == 200

        rows = await links_cli.collect(h.runtime)
        assert [r.who for r in rows] == ["Anna de Vries <anna@example.com>"]
        fresh = rows[0].url
        assert fresh is not None and token.group(1) not in fresh
        assert (await h.client.get(fresh.replace("http://127.0.0.1:3978", ""))).status == 200


async def test_exitbot_links_prints_what_hr_forwards(
    fast_sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    slack = RecordingChannel("slack", unreachable={"anna@example.com"})
    async with harness(fast_sqlite_url, NOW, channels=[slack]) as h:
        await h.post(departure())
        h.clock.set(INVITE_DAY)
        await run_tick(h.runtime)
        rows = await links_cli.collect(h.runtime)
        links_cli.print_rows(rows, h.runtime.settings)
    out = capsys.readouterr().out
    assert "Anna de Vries <anna@example.com>" in out and LINK.search(out)
    assert "valid until 2026-12-25" in out


async def test_invites_that_get_no_link_never_hold_back_the_others(
    database_url: str, smtp: tuple[str, Inbox]
) -> None:
    """More interviews still open after their last day, whose chat invite went out and whose
    link could not be emailed (no personal address), than the fallback takes per tick, and
    one late departure announced last: that one still gets its web interview at once."""
    url, inbox = smtp
    async with harness(database_url, AFTER_LAST_DAY, smtp_url=url) as h:
        invited = INVITE_DAY
        async with h.runtime.db.transaction() as session:
            for n in range(fallback.BATCH + 5):
                employee = await h.runtime.service.upsert_employee(
                    session, email=f"person{n}@example.com", now=invited
                )
                row = Departure(
                    external_id=f"hr-{n}",
                    employee_id=employee.id,
                    kind="resignation",
                    last_working_day=datetime(2026, 12, 18).date(),
                    status="active",
                    decision="auto",
                    created_at=invited,
                    updated_at=invited,
                )
                session.add(row)
                await session.flush()
                interview = h.runtime.service.new_interview(
                    employee_id=employee.id,
                    language="en",
                    now=invited,
                    departure_id=row.id,
                    status="invited",
                )
                interview.invited_at = invited
                interview.expires_at = interview.shown_until = AFTER_LAST_DAY
                session.add(interview)
        status, late = await h.post(
            departure(id_="hr-late", last_day="2026-12-17", personal_email=PERSONAL)
        )
        assert (status, late["status"]) == (202, "not_invited")
        report = await run_tick(h.runtime)
        assert report["web links emailed"] == 1
        assert [to for to, _ in inbox.messages] == [[PERSONAL]]
        assert await h.count(WebLink) == 1


# What Anna does with her invite in chat, and her interview's status after it
DOINGS: dict[str, tuple[list[tuple[str, str | None]], str]] = {
    "ignored": ([], "invited"),
    "started": ([("", "start"), ("Career growth", None)], "in_progress"),
    "declined": ([("", "decline")], "declined"),
    "stopped": ([("", "start"), ("stop", None)], "stopped"),
    "deleted": ([("", "start"), ("delete my answers", None), ("yes", None)], "deleted"),
    "completed": ([("", "start"), *((text, None) for text in COMPLETING)], "completed"),
}


@pytest.mark.parametrize("doing", ["ignored", "started"])
async def test_after_the_last_day_hr_gets_no_link_for_an_invite_that_went_out(
    fast_sqlite_url: str, doing: str
) -> None:
    """The link after the last day went to HR admins, to forward, for an interview still
    open in chat, and `exitbot links` listed it: that told HR, of one named person, that she
    had not finished, declined or stopped. Without a way to email it to her it is not made:
    her interview ends with her last day, as it would have had she answered."""
    slack = RecordingChannel("slack")
    async with harness(fast_sqlite_url, NOW, channels=[slack]) as h:
        await h.post(departure(personal_email=PERSONAL))  # no EXITBOT_SMTP_URL
        h.clock.set(INVITE_DAY)
        await run_tick(h.runtime)
        typed, status = DOINGS[doing]
        for n, (text, choice) in enumerate(typed):
            await h.says("anna@example.com", text, f"m{n}", choice)
        assert (await h.one(Interview)).status == status
        h.clock.set(AFTER_LAST_DAY)
        report = await run_tick(h.runtime)
        assert (report["web links for HR"], report["interviews expired"]) == (0, 1)
        assert slack.to("hr@example.com") == []
        assert await links_cli.collect(h.runtime, include_emailed=True) == []
        assert await h.count(WebLink) == 0


@pytest.mark.parametrize("doing", list(DOINGS))
async def test_exitbot_links_reads_the_same_whatever_she_did(
    database_url: str, capsys: pytest.CaptureFixture[str], doing: str
) -> None:
    """An HR admin made a link for Anna's interview while her invite was out (`exitbot links
    --interview`). Her line left `exitbot links` the moment she declined, took part, stopped
    or deleted her answers, and `--interview` then refused her ("not open"): both told HR,
    by name, what she did. Now her line, and a new link, read the same whatever she did,
    until the end of her last working day; then none, for all."""
    async with harness(database_url, NOW) as h:
        await h.post(departure())
        h.clock.set(INVITE_DAY)
        await run_tick(h.runtime)
        interview_id = (await h.one(Interview)).id
        assert await links_cli.issue_one(h.runtime, interview_id) == 0
        capsys.readouterr()
        typed, status = DOINGS[doing]
        for n, (text, choice) in enumerate(typed):
            await h.says("anna@example.com", text, f"m{n}", choice)
        assert (await h.one(Interview)).status == status

        def listed() -> list[str]:
            out = capsys.readouterr().out.splitlines()
            return [line for line in out if "/i/" not in line]  # a new link each time

        links_cli.print_rows(await links_cli.collect(h.runtime), h.runtime.settings)
        assert listed() == [
            "Fallback web links: forward each one privately to the person named.",
            "These links are new; links given out earlier keep working until the interview ends.",
            "",
            f"interview {interview_id} · Anna de Vries <anna@example.com> · en · sent",
            "  valid until 2026-12-18",
        ]
        assert await links_cli.issue_one(h.runtime, interview_id) == 0
        assert listed() == ["valid until 2026-12-18 23:59 UTC"]

        h.clock.set(datetime(2026, 12, 19, 0, 0, tzinfo=UTC))  # her last day has ended
        links_cli.print_rows(await links_cli.collect(h.runtime), h.runtime.settings)
        assert listed() == ["No fallback web links are waiting to be forwarded."]
        assert await links_cli.issue_one(h.runtime, interview_id) == 1
        assert listed() == [f"Interview {interview_id} is not open, so it cannot get a link."]


async def test_after_the_last_day_an_open_interview_moves_to_the_web(
    fast_sqlite_url: str, smtp: tuple[str, Inbox]
) -> None:
    url, inbox = smtp
    async with harness(fast_sqlite_url, NOW, smtp_url=url) as h:
        await h.post(departure(personal_email=PERSONAL))
        h.clock.set(INVITE_DAY)
        await run_tick(h.runtime)
        assert (await h.one(Interview)).status == "invited"  # in chat, never answered
        h.clock.set(AFTER_LAST_DAY)
        report = await run_tick(h.runtime)
        assert report["web links emailed"] == 1 and report["interviews expired"] == 0
        interview = await h.one(Interview)
        assert interview.status == "invited"
        assert interview.expires_at == AFTER_LAST_DAY + timedelta(days=14)
        _, message = inbox.messages[0]
        assert subject(message) == "Your exit interview: a private link"
        token = LINK.search(body(message))
        assert token is not None
        assert (await h.client.get(f"/i/{token.group(1)}")).status == 200
        # hers alone: made only because she had not finished in chat, never listed for HR
        assert await links_cli.collect(h.runtime, include_emailed=True) == []

        h.clock.set(AFTER_LAST_DAY + timedelta(days=15))
        report = await run_tick(h.runtime)
        assert report["interviews expired"] == 1
        assert (await h.client.get(f"/i/{token.group(1)}")).status == 410


async def test_a_departure_announced_after_the_last_day_gets_a_web_interview(
    fast_sqlite_url: str, smtp: tuple[str, Inbox]
) -> None:
    url, inbox = smtp
    async with harness(fast_sqlite_url, NOW, smtp_url=url) as h:
        status, answer = await h.post(departure(last_day="2026-11-27", personal_email=PERSONAL))
        assert (status, answer["status"]) == (202, "not_invited")
        report = await run_tick(h.runtime)
        assert report["web links emailed"] == 1
        interview = await h.one(Interview)
        assert interview.status == "scheduled"
        assert inbox.messages[0][0] == [PERSONAL]


async def test_a_last_day_moved_into_the_past_before_the_invite_went_out_gets_the_link(
    database_url: str, smtp: tuple[str, Inbox]
) -> None:
    """The HR system corrects the last day to last week while the invite is still to be
    sent: the invite is withdrawn and the answer says `web_link`. The withdrawn invite
    counted as the departure's interview, so the fallback made none and no link came."""
    url, inbox = smtp
    async with harness(database_url, NOW, smtp_url=url) as h:
        status, answer = await h.post(departure(personal_email=PERSONAL))
        assert (status, answer["status"]) == (202, "scheduled")
        h.clock.set(NOW + timedelta(seconds=1))
        status, answer = await h.post(
            departure("departure.updated", last_day="2026-11-27", personal_email=PERSONAL)
        )
        assert (status, answer["reason_code"]) == (202, "web_link")
        report = await run_tick(h.runtime)
        assert report["web links emailed"] == 1
        assert [to for to, _ in inbox.messages] == [[PERSONAL]]
        async with h.runtime.db.sessions() as session:
            statuses = await session.scalars(select(Interview.status).order_by(Interview.id))
            assert statuses.all() == ["cancelled", "scheduled"]  # the invite, the web one


async def test_a_late_departure_of_someone_with_an_interview_gets_no_second_one(
    fast_sqlite_url: str, smtp: tuple[str, Inbox]
) -> None:
    """One person, one interview (counted once by digests), also through the web fallback."""
    url, inbox = smtp
    async with harness(fast_sqlite_url, NOW, smtp_url=url) as h:
        status, first = await h.post(departure(id_="hr-1", last_day="2026-12-18"))
        assert (status, first["status"]) == (202, "scheduled")
        status, late = await h.post(
            departure(id_="hr-2", last_day="2026-11-27", personal_email=PERSONAL)
        )
        assert (status, late["status"]) == (202, "not_invited")
        report = await run_tick(h.runtime)
        assert report["web links emailed"] == 0 and inbox.messages == []
        assert await h.count(Interview) == 1


async def test_late_departures_skipped_as_second_interviews_never_hold_back_the_others(
    database_url: str, smtp: tuple[str, Inbox]
) -> None:
    """More skipped departures (second ones of people with an interview) than the fallback
    takes per tick, and one late departure of someone new, announced last: that one still
    gets its web interview on the next tick."""
    url, inbox = smtp
    skipped = fallback.BATCH + 5
    async with harness(database_url, NOW, smtp_url=url) as h:
        for n in range(skipped):
            email = f"person{n}@example.com"
            status, first = await h.post(departure(id_=f"hr-{n}", email=email))
            assert (status, first["status"]) == (202, "scheduled")
            status, late = await h.post(
                departure(id_=f"hr-{n}-again", last_day="2026-11-27", email=email)
            )
            assert (status, late["status"]) == (202, "not_invited")
        status, newcomer = await h.post(
            departure(id_="hr-new", last_day="2026-11-27", personal_email=PERSONAL)
        )
        assert (status, newcomer["status"]) == (202, "not_invited")
        report = await run_tick(h.runtime)
        assert report["web links emailed"] == 1
        assert [to for to, _ in inbox.messages] == [[PERSONAL]]
        assert await h.count(Interview) == skipped + 1  # one per person


async def test_the_after_last_day_fallback_can_be_switched_off(
    fast_sqlite_url: str, smtp: tuple[str, Inbox]
) -> None:
    url, inbox = smtp
    async with harness(fast_sqlite_url, NOW, smtp_url=url, fallback_after_last_day=False) as h:
        await h.post(departure(last_day="2026-11-27", personal_email=PERSONAL))
        await run_tick(h.runtime)
        assert await h.count(Interview) == 0 and inbox.messages == []
        async with h.runtime.db.sessions() as session:
            assert (await session.scalars(select(WebLink))).all() == []


async def test_the_link_is_offered_even_when_the_expiry_comes_first(
    fast_sqlite_url: str, smtp: tuple[str, Inbox]
) -> None:
    """Under `exitbot serve` the periodic fallback runs at most once a minute, the ticks every
    30 s; the interview's expire job is due at the same moment (the end of the last day,
    grace 0). When a tick ran it before the fallback, the interview expired and no link was
    ever made: the leaver who had not answered in chat never got the promised web link."""
    from aiohttp import web

    from bot.models import Interview, WebLink
    from bot.scheduler import Ticker
    from bot.tick import run_tick
    from tests.support.departures import departure, harness

    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    end_of_last_day = datetime(2026, 12, 19, 0, 0, tzinfo=UTC)  # 2026-12-18 (UTC company)
    async with harness(fast_sqlite_url, now, smtp_url=smtp[0]) as h:
        await h.post(departure(personal_email="anna.private@example.net"))
        h.clock.set(datetime(2026, 12, 11, 12, 0, tzinfo=UTC))
        await run_tick(h.runtime)
        assert (await h.one(Interview)).status == "invited"
        ticker = Ticker(web.Application(), h.runtime)  # what `exitbot serve` runs
        h.clock.set(end_of_last_day - timedelta(seconds=15))
        await ticker.run()  # the periodic work runs here: nothing due yet
        h.clock.set(end_of_last_day + timedelta(seconds=15))
        await ticker.run()  # 30 s later: periodic work skipped, the expire job due
        interview = await h.one(Interview)
        assert interview.status == "invited"  # still open, now on the web
        assert await h.count(WebLink) == 1
        assert interview.expires_at is not None and interview.expires_at > h.clock.now()


# ---------------------------------------------------------------------- later events


async def a_late_departures_link(h: Any, inbox: Inbox) -> str:
    """A departure announced after its last day; the tick makes its web interview and emails
    the link. Returns the link's path."""
    status, answer = await h.post(departure(last_day="2026-11-27", personal_email=PERSONAL))
    assert (status, answer["reason_code"]) == (202, "web_link")
    assert (await run_tick(h.runtime))["web links emailed"] == 1
    token = LINK.search(body(inbox.messages[0][1]))
    assert token is not None
    return f"/i/{token.group(1)}"


# later event's last day -> the web interview's expiry afterwards (None: as the link said)
LATER_EVENTS = {
    "the same past last day, another department": ("2026-11-27", None),
    "a last day moved later, still past": ("2026-11-28", None),
    "a last day moved into the future": (
        "2027-01-29",
        datetime(2027, 1, 29, 23, 59, 59, 999999, tzinfo=UTC),  # the end of that day
    ),
}


@pytest.mark.parametrize("opened", [False, True], ids=["unopened", "opened"])
@pytest.mark.parametrize("case", list(LATER_EVENTS))
async def test_a_later_update_leaves_the_web_interview_and_its_link_alone(
    database_url: str, smtp: tuple[str, Inbox], case: str, opened: bool
) -> None:
    """A late departure's interview is held by private web link. A later `departure.updated`
    (HR corrects the department, re-sends it, moves the last day) withdrew that interview
    when it was not opened yet, or expired it on the next tick when it was: the emailed link
    died (and an unopened one was replaced by a second link in a second email). Now the link
    keeps working until the date it was sent with; a last day moved into the future keeps it
    open until then, and no chat invite makes a second interview. The answer does not tell
    whether the person opened the link."""
    url, inbox = smtp
    last_day, until = LATER_EVENTS[case]
    slack = RecordingChannel("slack")
    async with harness(database_url, NOW, channels=[slack], smtp_url=url) as h:
        path = await a_late_departures_link(h, inbox)
        promised = (await h.one(Interview)).expires_at
        assert promised == NOW + timedelta(days=fallback.FALLBACK_DAYS)
        if opened:
            assert (await h.client.get(path)).status == 200
        h.clock.set(NOW + timedelta(hours=1))
        update = departure(
            "departure.updated", last_day=last_day, personal_email=PERSONAL, department="Sales"
        )
        status, answer = await h.post(update)
        assert status == 202
        assert (answer["status"], answer["interview"]) == ("scheduled", "sent")
        assert "invite_at" not in answer
        expected = until or promised
        assert answer["expires_at"] == expected.isoformat().replace("+00:00", "Z")

        for moment in (NOW + timedelta(hours=2), datetime(2027, 1, 22, 12, tzinfo=UTC)):
            h.clock.set(moment)
            report = await run_tick(h.runtime)
            open_ = moment < expected  # past its date, the link ends as it said it would
            assert (report["invites sent"], report["interviews expired"]) == (0, int(not open_))
            assert (await h.client.get(path)).status == (200 if open_ else 410), moment
        interview = await h.one(Interview)  # the one interview, never a second
        assert interview.expires_at == expected
        assert len(inbox.messages) == 1 and slack.to("anna@example.com") == []


async def test_a_later_update_keeps_a_chat_interview_moved_to_the_web_open(
    database_url: str, smtp: tuple[str, Inbox]
) -> None:
    """The chat invite went unanswered until the last day passed; the tick emailed a web
    link valid for 14 days. HR re-sends the departure: the interview stays open as the link
    said, instead of expiring on the next tick."""
    url, inbox = smtp
    async with harness(database_url, NOW, smtp_url=url) as h:
        await h.post(departure(personal_email=PERSONAL))
        h.clock.set(INVITE_DAY)
        await run_tick(h.runtime)
        h.clock.set(AFTER_LAST_DAY)
        assert (await run_tick(h.runtime))["web links emailed"] == 1
        token = LINK.search(body(inbox.messages[0][1]))
        assert token is not None
        h.clock.set(AFTER_LAST_DAY + timedelta(hours=1))
        _, answer = await h.post(departure("departure.updated", personal_email=PERSONAL))
        # what anyone whose chat invite went out is told after the last day, whatever they did
        # (only someone who had not finished gets a link: telling it apart would say so)
        assert (answer["status"], answer["interview"]) == ("not_invited", "closed")
        h.clock.set(AFTER_LAST_DAY + timedelta(days=2))
        assert (await run_tick(h.runtime))["interviews expired"] == 0
        assert (await h.client.get(f"/i/{token.group(1)}")).status == 200
        assert (await h.one(Interview)).expires_at == AFTER_LAST_DAY + timedelta(days=14)
