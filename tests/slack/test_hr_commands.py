"""`/exitbot` for HR admins, approvals by button, and the channel-neutral command module."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot import hr_commands
from bot.db import StorageUnavailable
from bot.models import AccessLog, Departure
from tests.digest.support import Persona, interview
from tests.slack.harness import ADMIN, ADMIN_ID, ANNA, ANNA_ID, SlackHarness, buttons
from tests.slack.test_interview import complete_by_typing, invite


async def command(slack: SlackHarness, user: str, text: str) -> dict:
    """Run `/exitbot text` as `user`; the private reply that came through response_url."""
    before = len(slack.responses())
    assert await slack.command(user, text) == 200
    await slack.until(lambda: len(slack.responses()) > before, "the command's reply")
    reply = slack.responses()[-1]
    assert reply["response_type"] == "ephemeral"
    return reply


def departure_payload(departure_id: str, kind: str, email: str, name: str) -> dict:
    return {
        "type": "departure.created",
        "departure": {
            "id": departure_id,
            "kind": kind,
            "last_working_day": "2026-12-18",
            "employee": {"email": email, "name": name, "department": "Sales"},
        },
    }


async def decision_of(slack: SlackHarness, departure_id: str) -> str:
    async with slack.runtime.db.sessions() as session:
        row = await session.scalar(select(Departure).where(Departure.external_id == departure_id))
    assert row is not None
    return row.decision


async def test_anyone_but_an_hr_admin_is_refused(slack):
    await invite(slack)
    for text in ("status", "start <@UHR0001> 2026-12-18", "approvals", "digest preview", ""):
        reply = await command(slack, ANNA_ID, text)
        assert reply["text"] == "Sorry, these commands are only for HR admins."
    assert len(slack.messages(slack.fake.dm_channel_id(ADMIN_ID))) == 0


async def test_someone_slack_does_not_know_is_refused(slack):
    reply = await command(slack, "U0STRANGER", "status")
    assert "only for HR admins" in reply["text"]


@pytest.mark.parametrize(
    "person", [f"<@{ANNA_ID}|anna>", f"<@{ANNA_ID}>", f"<mailto:{ANNA}|{ANNA}>", ANNA]
)
async def test_an_admin_starts_an_interview(slack, person):
    reply = await command(slack, ADMIN_ID, f"start {person} 2026-12-18")
    assert reply["text"].startswith("Scheduled: the invite goes out Fri 11 Dec 2026 10:00")
    [departure_id] = [w.rstrip(").") for w in reply["text"].split() if w.startswith("manual-")]
    assert await decision_of(slack, departure_id) == "manual"

    report = await slack.tick((await slack.interview()).invite_at)
    assert report["invites sent"] == 1
    [intro] = slack.messages(slack.fake.dm_channel_id(ANNA_ID))
    assert [b["value"] for _, b in buttons(intro)] == ["start", "later", "decline"]


async def test_start_explains_what_it_needs(slack):
    assert "Usage: start" in (await command(slack, ADMIN_ID, "start"))["text"]
    reply = await command(slack, ADMIN_ID, "start <@U1001> next-friday")
    assert "couldn't read the last working day" in reply["text"]
    reply = await command(slack, ADMIN_ID, "start @anna 2026-12-18")  # escaping off
    assert "couldn't find an email address" in reply["text"]


async def test_status_shows_counts_and_never_answers(slack):
    await invite(slack)
    await slack.dm(ANNA_ID, "start")
    await slack.dm(ANNA_ID, "Secret answer about my manager xyzzy")
    await slack.post_webhook(departure_payload("hr-1", "contract_end", "c@example.com", "Cas"))
    reply = await command(slack, ADMIN_ID, "status")
    assert "xyzzy" not in str(reply)
    assert status_lines(reply) == [
        "Awaiting approval: 1",
        "Invite to be sent: 0",
        "Invite sent, not closed yet: 1",
        "Closed: 0",
        "Could not be reached in chat: 0",
    ]
    assert reply["blocks"][0]["type"] == "header"


def status_lines(reply: dict) -> list[str]:
    """The count lines of a `status` reply, as the admin reads them."""
    return [
        line.lstrip("• ")
        for line in reply["text"].splitlines()
        if line.endswith(tuple("0123456789"))
    ]


WHAT_THEY_CHOSE = ("declin", "complet", "stopp", "delet", "took part", "in progress", "started")


# What Anna did with her invite (`test_status_does_not_tell_what_one_person_chose`)
DOINGS = {
    "ignored": (),
    "declined": ("no thanks",),
    "stopped": ("start", "stop"),
    "deleted": ("start", "delete my answers", "yes"),
    "stopped, then deleted": ("start", "my manager", "stop", "delete my answers", "yes"),
    "completed": "the whole interview",
}
OPEN = [
    "Awaiting approval: 0",
    "Invite to be sent: 0",
    "Invite sent, not closed yet: 1",
    "Closed: 0",
    "Could not be reached in chat: 0",
]
CLOSED = [
    "Awaiting approval: 0",
    "Invite to be sent: 0",
    "Invite sent, not closed yet: 0",
    "Closed: 1",
    "Could not be reached in chat: 0",
]
END_OF_HER_LAST_DAY = datetime(2026, 12, 18, 23, 0, tzinfo=UTC)  # midnight in Amsterdam


@pytest.mark.parametrize("doing", list(DOINGS))
async def test_status_does_not_tell_what_one_person_chose(make_slack, database_url, doing):
    """Asked before and after one named person's invite, separate 'Declined', 'Completed',
    'Stopped' or 'Deleted' rows would show what that person chose, and so did the moment
    her interview turned 'Closed': at once when she declined, took part, stopped or deleted
    her answers, only at the end of her last working day when she did nothing. Now it is
    'sent' until the end of her last working day, whatever she did, and 'Closed' from then
    on. How many took part is the digest's (k people)."""
    slack = await make_slack(database_url=database_url)
    await invite(slack)
    assert status_lines(await command(slack, ADMIN_ID, "status")) == OPEN
    typed = DOINGS[doing]
    if typed == "the whole interview":
        await complete_by_typing(slack, ANNA_ID)
    else:
        for text in typed:
            await slack.dm(ANNA_ID, text)
    expected = {"ignored": "invited", "declined": "declined", "completed": "completed"}
    assert (await slack.interview()).status == expected.get(doing, doing.split()[-1])
    reply = await command(slack, ADMIN_ID, "status")
    assert status_lines(reply) == OPEN
    counted = " ".join(status_lines(reply)).lower()
    assert not any(word in counted for word in WHAT_THEY_CHOSE)

    await slack.tick(END_OF_HER_LAST_DAY - timedelta(seconds=1))
    assert status_lines(await command(slack, ADMIN_ID, "status")) == OPEN
    await slack.tick(END_OF_HER_LAST_DAY)
    assert status_lines(await command(slack, ADMIN_ID, "status")) == CLOSED
    # no web link after the last day for HR to forward either (it went only to those who
    # had not finished): nothing more reached the admin than the status replies
    assert slack.messages(slack.fake.dm_channel_id(ADMIN_ID)) == []


@pytest.mark.parametrize("typed", [(), ("later",), ("start",), ("start", "my manager", "pause")])
async def test_status_does_not_tell_whether_one_person_started(slack, typed):
    """An interview someone started (or paused) counts as 'sent', as one not answered yet."""
    await invite(slack)
    for text in typed:
        await slack.dm(ANNA_ID, text)
    reply = await command(slack, ADMIN_ID, "status")
    assert "Invite sent, not closed yet: 1" in status_lines(reply)
    counted = " ".join(status_lines(reply)).lower()
    assert not any(word in counted for word in WHAT_THEY_CHOSE)


async def test_start_for_someone_invited_does_not_tell_whether_they_started(slack):
    """`start` again while the invite is out moves the interview's end; its answer says the
    invite has gone out, not whether that person started or paused their interview."""
    await invite(slack)
    await slack.dm(ANNA_ID, "start")
    assert (await slack.interview()).status == "in_progress"
    reply = await command(slack, ADMIN_ID, f"start <@{ANNA_ID}> 2026-12-21")
    assert reply["text"].startswith("Already under way: the invite has gone out (departure ")
    assert "progress" not in reply["text"] and "invited" not in reply["text"]


async def test_approvals_with_buttons_in_the_command_reply(slack):
    await slack.post_webhook(departure_payload("hr-7", "contract_end", "b@example.com", "Bea"))
    await slack.post_webhook(departure_payload("hr-8", "contract_end", "c@example.com", "Cas"))
    reply = await command(slack, ADMIN_ID, "approvals")
    assert (
        "Bea (Sales): contract end, last working day 2026-12-18 (departure hr-7)" in (reply["text"])
    )
    values = [b["value"] for _, b in buttons(reply)]
    assert values == ["approve#1:hr-7", "skip#1:hr-7", "approve#1:hr-8", "skip#1:hr-8"]

    await slack.click(ADMIN_ID, reply, "approve#1:hr-7", channel="D0COMMAND", ephemeral=True)
    await slack.until(lambda: len(slack.responses()) == 2, "the decision")
    assert await decision_of(slack, "hr-7") == "approved"
    after = slack.responses()[-1]
    assert after["replace_original"] is True
    assert after["text"].startswith("✔ Approve: Approved: the invite for hr-7 goes out")
    assert [b["value"] for _, b in buttons(after)] == ["approve#1:hr-8", "skip#1:hr-8"]


async def test_approval_request_by_dm_and_the_decision_updates_it(slack):
    await slack.post_webhook(departure_payload("hr-9", "contract_end", "d@example.com", "Dirk"))
    report = await slack.tick()
    assert report["approval requests sent"] == 1
    admin_dm = slack.fake.dm_channel_id(ADMIN_ID)
    [request] = slack.messages(admin_dm)
    assert "Approval needed: Dirk (Sales)" in request["text"]

    # someone else clicking does nothing but explain
    await slack.click(ANNA_ID, request, "approve#1:hr-9", channel=admin_dm)
    await slack.until(lambda: len(slack.responses()) == 1, "the refusal")
    assert "only for HR admins" in slack.responses()[0]["text"]
    assert await decision_of(slack, "hr-9") == "awaiting_approval"

    await slack.click(ADMIN_ID, request, "skip#1:hr-9", channel=admin_dm)
    await slack.until(lambda: slack.fake.calls_to("chat.update"), "the update")
    assert await decision_of(slack, "hr-9") == "skipped"
    [updated] = slack.messages(admin_dm)
    assert not buttons(updated)
    assert updated["blocks"][-1]["elements"][0]["text"].startswith("✔ Skip: Skipped")


async def test_digest_preview_only_for_the_admin(slack):
    reply = await command(slack, ADMIN_ID, "digest preview")
    assert reply["blocks"][0]["type"] == "header"
    assert reply["text"]
    assert slack.fake.calls_to("chat.postMessage") == []  # nothing went to the HR channel
    assert slack.fake.calls_to("files.getUploadURLExternal") == []


async def test_help_and_unknown_commands(slack):
    assert "start @person YYYY-MM-DD" in (await command(slack, ADMIN_ID, "help"))["text"]
    reply = await command(slack, ADMIN_ID, "dance")
    assert reply["text"].startswith("I don't know that command.")


def test_tokens_keep_platform_markup_together():
    assert hr_commands.tokens("start <@U1|Anna de Vries>  2026-12-18 ") == [
        "start",
        "<@U1|Anna de Vries>",
        "2026-12-18",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2026-12-18", date(2026, 12, 18)), ("18-12-2026", date(2026, 12, 18)), ("18/12", None)],
)
def test_parse_day(text, expected):
    assert hr_commands.parse_day(text) == expected


async def test_commands_are_channel_neutral(slack):
    """The Teams adapter calls the same function with its own resolver."""

    async def resolve(token: str) -> str | None:
        return {"@anna": ANNA}.get(token)

    reply = await hr_commands.run(
        slack.runtime, "start @anna 2026-12-18", caller_email=ADMIN, resolve_person=resolve
    )
    assert reply.report is None
    assert reply.messages[0].text.startswith("Scheduled:")
    nl = await hr_commands.run(
        slack.runtime, "status", caller_email=ADMIN, resolve_person=resolve, language="nl"
    )
    assert nl.report is not None and "Uitnodiging nog te versturen: 1" in nl.report.as_text()
    refused = await hr_commands.run(
        slack.runtime, "status", caller_email=None, resolve_person=resolve
    )
    assert refused.report is None and "only for HR admins" in refused.messages[0].text


async def test_digest_preview_never_shows_figures_before_the_digest_is_posted(make_slack):
    """Asked before and after one person's last day, a live preview would give them away by
    difference: it says only whether the next digest will show figures, over the months
    already ended, and no count, figure or quote (quotes on, and enough people: 2k)."""
    slack = await make_slack(digest_quotes=True)
    for n in range(10):
        await interview(slack.runtime, f"leaver{n}@example.com", Persona(reason="wellbeing"))
    december = (await command(slack, ADMIN_ID, "digest preview"))["text"]
    assert "No new exit interviews were completed in this period." in december  # this month
    slack.clock.set(datetime(2027, 1, 5, 10, tzinfo=UTC))
    january = (await command(slack, ADMIN_ID, "digest preview"))["text"]
    assert "At least 5 interviews completed up to 31 December 2026 are in" in january
    assert "Wellbeing" not in january and "Interviews:" not in january
    assert "10 interviews" not in january  # no count either
    await interview(slack.runtime, "one.more@example.com", Persona(reason="manager"))
    assert (await command(slack, ADMIN_ID, "digest preview"))["text"] == january
    async with slack.runtime.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(AccessLog)) == 0  # no quotes


@pytest.mark.parametrize(
    ("typed", "status"),
    [
        ((), "invited"),
        (("no thanks",), "declined"),
        (("start", "stop"), "stopped"),
        (("start", "delete my answers", "yes"), "deleted"),
    ],
)
async def test_starting_again_does_not_tell_hr_how_it_went(slack, typed, status):
    """`start` names one person: its answer says an invite was made, never whether that
    person stopped, deleted their answers, declined or took part (the invite promises HR
    sees nothing that points to one person). It said "Not invited: already invited" once
    they had answered, and "Already under way" while they had not: now the latter for all,
    until the end of their last working day."""
    await invite(slack)
    for text in typed:
        await slack.dm(ANNA_ID, text)
    assert (await slack.interview()).status == status

    reply = await command(slack, ADMIN_ID, f"start <@{ANNA_ID}> 2026-12-18")
    assert reply["text"].startswith("Already under way: the invite has gone out (departure ")
    for word in ("stop", "delet", "declin", "complet", "taken place", "progress"):
        assert word not in reply["text"].lower()
    assert (await slack.interview()).status == status  # and nothing changed


@pytest.mark.parametrize("dutch_admin", [False, True])
@pytest.mark.parametrize(
    ("typed", "status"),
    [
        ((), "invited"),
        (("no thanks",), "declined"),
        (("start", "stop"), "stopped"),
        (("start", "delete my answers", "yes"), "deleted"),
    ],
)
async def test_moving_the_last_day_after_the_invite_says_what_follows(
    fake, make_slack, typed, status, dutch_admin
):
    """`start` that moved the last day of a departure whose chat invite went out answered
    "Already under way: …; the interview's end moved to the new last working day." without
    which day or what follows it, and, for a day that has passed, "Not invited: … already
    been invited", while the new last day was stored and HR's `status` closed it. Both now
    say what is true (the day stored; after a chat invite, a link after the last day goes by
    email only, never to HR), in the same words whatever the person did, in both languages."""
    fake.add_user("UHR0002", "hr.nl@example.com", "Henk Beheer", locale="nl-NL")
    slack = await make_slack(hr_admins=(ADMIN, "hr.nl@example.com"), language="en")
    await invite(slack)  # the invite goes out on 11 December, the last day the 18th
    for text in typed:
        await slack.dm(ANNA_ID, text)
    assert (await slack.interview()).status == status

    async with slack.runtime.db.sessions() as session:
        departure_id = await session.scalar(select(Departure.external_id))
    assert departure_id is not None

    def without_id(text: str) -> str:
        return text.replace(departure_id, "<id>")

    later = await command(slack, ADMIN_ID, f"start <@{ANNA_ID}> 2026-12-22")
    assert without_id(later["text"]) == (
        "Already under way: the invite has gone out (departure <id>); the interview's end "
        "moved to the new last working day, 2026-12-22. After a chat invite, a private web "
        "link after the last working day goes to the person by email only, when the HR "
        "system gave their personal address and email is set up (EXITBOT_SMTP_URL): never to "
        "HR admins, and `exitbot links` does not list it."
    )
    dutch = await command(slack, "UHR0002", f"start <@{ANNA_ID}> 2026-12-21")
    assert without_id(dutch["text"]).startswith(
        "Al onderweg: de uitnodiging is al verstuurd (vertrek <id>); het einde van het "
        "gesprek is verschoven naar de nieuwe laatste werkdag, 2026-12-21. Na een "
        "uitnodiging via chat gaat een persoonlijke weblink na de laatste werkdag alleen per "
        "e-mail naar deze persoon"
    )

    if dutch_admin:  # (a second `start` for a day that has passed finds the period closed)
        past = await command(slack, "UHR0002", f"start <@{ANNA_ID}> 2026-12-10")
        assert without_id(past["text"]).startswith(
            "Vastgelegd: de laatste werkdag van vertrek <id> is nu 2026-12-10. De uitnodiging "
            "was al verstuurd en de tijd om te antwoorden is voorbij: niemand wordt opnieuw "
            "uitgenodigd, en `status` telt het gesprek als afgesloten. Na een uitnodiging via "
            "chat gaat een persoonlijke weblink na de laatste werkdag alleen per e-mail"
        )
    else:
        past = await command(slack, ADMIN_ID, f"start <@{ANNA_ID}> 2026-12-10")
    assert dutch_admin or without_id(past["text"]) == (
        "Recorded: the last working day of departure <id> is now 2026-12-10. Its invite had "
        "already gone out and its time to answer is over: nobody is invited again, and "
        "`status` counts it as closed. After a chat invite, a private web link after the last "
        "working day goes to the person by email only, when the HR system gave their personal "
        "address and email is set up (EXITBOT_SMTP_URL): never to HR admins, and `exitbot "
        "links` does not list it. How it went stays private: it is only counted, anonymously, "
        "in the digest."
    )
    async with slack.runtime.db.sessions() as session:
        stored = await session.scalar(select(Departure.last_working_day))
    assert stored == date(2026, 12, 10)
    for reply in (later, dutch, past):
        for word in ("stop", "delet", "declin", "complet", "taken place", "progress", "gewist"):
            assert word not in reply["text"].lower()
    assert (await slack.interview()).status == status  # and nothing the person did changed


async def test_a_person_who_took_part_is_not_told_apart_by_start(slack):
    """One who completed their departure's interview (recorded, then held in the terminal)
    gets the answer of anyone whose invite went out, whatever they did with it
    (`test_starting_again_does_not_tell_hr_how_it_went`)."""
    await interview(slack.runtime, ANNA)  # a departure, the whole model form in the terminal
    assert (await slack.interview()).status == "completed"
    reply = await command(slack, ADMIN_ID, f"start <@{ANNA_ID}> 2026-12-18")
    assert reply["text"].startswith("Already under way: the invite has gone out")
    assert "complet" not in reply["text"].lower()


async def test_a_dutch_admin_gets_dutch_answers(fake, make_slack):
    """The caller's Slack language wins over EXITBOT_LANGUAGE (en) for every reply: the
    digest preview, when the invite goes out, and the departure kind in approvals."""
    fake.add_user("UHR0002", "hr.nl@example.com", "Henk Beheer", locale="nl-NL")
    slack = await make_slack(hr_admins=(ADMIN, "hr.nl@example.com"), language="en")
    await interview(slack.runtime, "bob@example.com")

    started = await command(slack, "UHR0002", f"start <@{ANNA_ID}> 2026-12-18")
    assert started["text"].startswith("Ingepland: de uitnodiging gaat vr 11 dec 2026 10:00 ")

    await slack.post_webhook(departure_payload("hr-7", "contract_end", "b@example.com", "Bea"))
    approvals = await command(slack, "UHR0002", "approvals")
    assert "Bea (Sales): einde contract, laatste werkdag 2026-12-18" in approvals["text"]

    slack.clock.set(datetime(2027, 1, 5, 10, tzinfo=UTC))  # Bob's December interview settled
    preview = await command(slack, "UHR0002", "digest preview")
    assert preview["blocks"][0]["text"]["text"].startswith("Exitgesprekken: overzicht t/m")
    assert "Nog minder dan 5 gesprekken; cijfers verschijnen zodra er 5 zijn." in preview["text"]
    english = await command(slack, ADMIN_ID, "digest preview")  # en-GB: as before
    assert "Fewer than 5 interviews are in so far; figures appear once 5 are." in english["text"]


async def test_why_not_invited_is_worded_in_the_admins_own_language(fake, make_slack):
    """A Dutch admin read "Niet uitgenodigd: last working day has passed": the departures'
    English sentence inside a Dutch one. Now the reason is worded from its code in each
    admin's language, for `start` and for an Approve click."""
    fake.add_user("UHR0002", "hr.nl@example.com", "Henk Beheer", locale="nl-NL")
    slack = await make_slack(hr_admins=(ADMIN, "hr.nl@example.com"), language="en")
    dutch = await command(slack, "UHR0002", f"start <@{ANNA_ID}> 2020-01-31")
    assert dutch["text"] == "Niet uitgenodigd: de laatste werkdag is al voorbij."
    english = await command(slack, ADMIN_ID, f"start <@{ANNA_ID}> 2020-01-31")
    assert english["text"] == "Not invited: the last working day has passed."

    await slack.post_webhook(departure_payload("hr-9", "contract_end", "d@example.com", "Dirk"))
    slack.clock.set(datetime(2026, 12, 21, 9, tzinfo=UTC))  # Dirk's last day has passed
    reply = await command(slack, "UHR0002", "goedkeuringen")
    await slack.click("UHR0002", reply, "approve#1:hr-9", channel="D0COMMAND", ephemeral=True)
    await slack.until(lambda: len(slack.responses()) == 4, "the decision")
    assert slack.responses()[-1]["text"].startswith(  # what follows: as `start` says it
        "✔ Goedkeuren: Goedgekeurd (vertrek hr-9), zonder uitnodiging via chat: de laatste "
        "werkdag, 2026-12-18, is al voorbij. Binnen een minuut maakt ExitBot een gesprek dat "
        "via een persoonlijke weblink wordt gehouden."
    )
    assert await decision_of(slack, "hr-9") == "approved"


async def test_start_after_the_last_day_says_where_the_web_link_will_appear(fake, make_slack):
    """`start` for a last day that has passed said "Not invited: …; a private web link will
    be offered instead", without where HR finds it, while the tick makes an interview by web
    link and, with no personal address to email, sends HR admins the link in chat. It says
    what was recorded, when the interview is made, and where the link goes, as `exitbot
    invite` does, in each admin's language."""
    fake.add_user("UHR0002", "hr.nl@example.com", "Henk Beheer", locale="nl-NL")
    slack = await make_slack(hr_admins=(ADMIN, "hr.nl@example.com"), language="en")
    english = (await command(slack, ADMIN_ID, f"start <@{ANNA_ID}> 2026-11-27"))["text"]
    [departure_id] = [w.strip("(),") for w in english.split() if w.startswith("manual-")]
    assert english == (
        f"Recorded (departure {departure_id}), without a chat invite: the last working day, "
        "2026-11-27, has passed. Within a minute, ExitBot makes an interview to hold by "
        "private web link. The link is emailed to the person's personal address when the HR "
        "system gave one and email is set up (EXITBOT_SMTP_URL); otherwise every HR admin "
        "gets it from ExitBot in a direct message, and `exitbot links` on the server lists "
        "it: forward it to the person privately."
    )
    dutch = (await command(slack, "UHR0002", f"start <@{ANNA_ID}> 2026-11-27"))["text"]
    assert dutch == (
        f"Vastgelegd (vertrek {departure_id}), zonder uitnodiging via chat: de laatste "
        "werkdag, 2026-11-27, is al voorbij. Binnen een minuut maakt ExitBot een gesprek dat "
        "via een persoonlijke weblink wordt gehouden. De link gaat per e-mail naar het "
        "privéadres van deze persoon als het HR-systeem dat heeft doorgegeven en e-mail is "
        "ingesteld (EXITBOT_SMTP_URL); anders krijgt elke HR-beheerder hem van ExitBot in een "
        "direct bericht, en `exitbot links` op de server toont hem: stuur hem zelf "
        "vertrouwelijk door."
    )

    assert (await slack.tick())["web links for HR"] == 1  # as it said
    [note] = slack.messages(slack.fake.dm_channel_id(ADMIN_ID))
    assert note["text"].startswith(
        f"Exit interview by web link for an employee (departure {departure_id})"
    )
    [note] = slack.messages(slack.fake.dm_channel_id("UHR0002"))
    assert note["text"].startswith(
        f"Exitgesprek via een weblink voor een medewerker (vertrek {departure_id})"
    )

    slack.clock.set(datetime(2026, 12, 1, 17, 30, tzinfo=UTC))  # 18:30 in Amsterdam
    today = (await command(slack, ADMIN_ID, "start bea@example.com 2026-12-01"))["text"]
    assert "has passed. Once that day is over, ExitBot makes an interview" in today
    today = (await command(slack, "UHR0002", "start bea@example.com 2026-12-01"))["text"]
    assert "is al voorbij. Zodra die dag voorbij is, maakt ExitBot een gesprek" in today


async def test_the_usage_shows_the_optional_kind_of_start(fake, make_slack):
    """`start` takes a kind after the last day, but neither the usage (`help`) nor the
    answer to `start` alone said so. Both show it, with the kinds by the names `start` takes,
    in each admin's language."""
    fake.add_user("UHR0002", "hr.nl@example.com", "Henk Beheer", locale="nl-NL")
    slack = await make_slack(hr_admins=(ADMIN, "hr.nl@example.com"), language="en")
    english = "resignation, contract end, dismissal, retirement or other"
    dutch = "ontslag op eigen verzoek, einde contract, ontslag, pensioen of anders"
    assert (await command(slack, ADMIN_ID, "help"))["text"].splitlines()[1] == (
        "• start @person YYYY-MM-DD [kind]: start an exit interview (the last working day, "
        f"optionally followed by the kind of departure: {english})"
    )
    assert (await command(slack, ADMIN_ID, "start"))["text"] == (
        "Usage: start @person YYYY-MM-DD [kind] (the last working day, optionally followed by "
        f"the kind of departure: {english})."
    )
    assert (await command(slack, "UHR0002", "hulp"))["text"].splitlines()[1] == (
        "• start @persoon JJJJ-MM-DD [soort]: start een exitgesprek (de laatste werkdag, "
        f"eventueel gevolgd door het soort vertrek: {dutch})"
    )
    assert (await command(slack, "UHR0002", "start <@U1001>"))["text"] == (
        "Gebruik: start @persoon JJJJ-MM-DD [soort] (de laatste werkdag, eventueel gevolgd "
        f"door het soort vertrek: {dutch})."
    )
    for name in (english + ", " + dutch).replace(" or ", ", ").replace(" of ", ", ").split(", "):
        assert hr_commands.kind_named(name) is not None, name  # each one listed is taken


async def test_start_with_a_kind_it_does_not_know_says_so(slack):
    reply = await command(slack, ADMIN_ID, f"start <@{ANNA_ID}> 2026-12-18 contract-ending")
    assert reply["text"] == (
        "I don't know the departure kind 'contract-ending': use resignation, contract_end, "
        "dismissal, retirement, other."
    )
    async with slack.runtime.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Departure)) == 0

    reply = await command(slack, ADMIN_ID, f"start <@{ANNA_ID}> 2026-12-18 Contract-End")
    assert reply["text"].startswith("Scheduled:")
    async with slack.runtime.db.sessions() as session:
        assert await session.scalar(select(Departure.kind)) == "contract_end"


async def test_start_takes_the_kind_names_a_dutch_admin_reads(fake, make_slack):
    """Dutch approval requests name kinds in Dutch ("ontslag", "einde contract"), but `start`
    refused them and listed only the English ids. It takes the Dutch names (several words
    too) from any admin, and a Dutch admin's refusal lists them."""
    fake.add_user("UHR0002", "hr.nl@example.com", "Henk Beheer", locale="nl-NL")
    slack = await make_slack(hr_admins=(ADMIN, "hr.nl@example.com"), language="en")

    async def kind_after(user: str, words: str) -> str:
        reply = await command(slack, user, f"start <@{ANNA_ID}> 2026-12-18 {words}")
        assert reply["text"].startswith(("Ingepland:", "Scheduled:")), reply["text"]
        async with slack.runtime.db.sessions() as session:
            return str(await session.scalar(select(Departure.kind)))

    assert await kind_after("UHR0002", "ontslag") == "dismissal"
    assert await kind_after("UHR0002", "Einde contract") == "contract_end"
    assert await kind_after("UHR0002", "ontslag op eigen verzoek") == "resignation"
    assert await kind_after("UHR0002", "contract_end") == "contract_end"  # the id still works
    assert await kind_after(ADMIN_ID, "pensioen") == "retirement"

    refused = await command(slack, "UHR0002", f"start <@{ANNA_ID}> 2026-12-18 ontslagen")
    assert refused["text"] == (
        "Het soort vertrek 'ontslagen' ken ik niet: gebruik ontslag op eigen verzoek, einde "
        "contract, ontslag, pensioen, anders."
    )
    words = await command(slack, ADMIN_ID, f"start <@{ANNA_ID}> 2026-12-18 ontslag op")
    assert words["text"].startswith("I don't know the departure kind 'ontslag op': use resig")
    async with slack.runtime.db.sessions() as session:
        assert await session.scalar(select(Departure.kind)) == "retirement"  # unchanged


@asynccontextmanager
async def _storage_down() -> AsyncIterator[None]:
    raise StorageUnavailable("database unreachable")
    yield  # pragma: no cover


async def test_clicks_and_failures_are_answered_in_the_clickers_language(
    fake, make_slack, monkeypatch
):
    """EXITBOT_LANGUAGE is English; whoever clicks or types in Dutch Slack is answered in
    Dutch: the refusal, an unknown button, the decision, and what the adapter says itself
    when the application fails."""
    fake.add_user("UNL0001", "piet@example.com", "Piet Collega", locale="nl-NL")
    fake.add_user("UHR0002", "hr.nl@example.com", "Henk Beheer", locale="nl-NL")
    slack = await make_slack(hr_admins=(ADMIN, "hr.nl@example.com"), language="en")
    await slack.post_webhook(departure_payload("hr-9", "contract_end", "d@example.com", "Dirk"))
    assert (await slack.tick())["approval requests sent"] == 1
    admin_dm = slack.fake.dm_channel_id(ADMIN_ID)
    [request] = slack.messages(admin_dm)  # to the English admin

    def answered(n: int) -> str:
        return slack.responses()[n - 1]["text"]

    await slack.click("UNL0001", request, "approve#1:hr-9", channel=admin_dm)
    await slack.until(lambda: len(slack.responses()) == 1, "the refusal")
    assert answered(1) == "Sorry, deze opdrachten zijn alleen voor HR-beheerders."

    unknown = json.loads(json.dumps(request).replace('"skip#1:hr-9"', '"skip:"'))
    await slack.click("UHR0002", unknown, "skip:", channel=admin_dm)
    await slack.until(lambda: len(slack.responses()) == 2, "the unknown button")
    assert answered(2).startswith("Die knop ken ik niet.")

    with monkeypatch.context() as patch:
        patch.setattr(slack.runtime.db, "transaction", _storage_down)
        patch.setattr(slack.runtime.db, "sessions", _storage_down)
        await slack.click("UHR0002", request, "approve#1:hr-9", channel=admin_dm)
        await slack.until(lambda: len(slack.responses()) == 3, "the failed decision")
        assert answered(3) == "Sorry, dat lukte niet. Probeer het over een minuut nog eens."
        failed = await command(slack, "UHR0002", "status")
        assert failed["text"] == "Sorry, dat lukte niet. Probeer het nog eens."
        english = await command(slack, ADMIN_ID, "status")
        assert english["text"] == "Sorry, that did not work. Try again."
    assert await decision_of(slack, "hr-9") == "awaiting_approval"

    await slack.click("UHR0002", request, "approve#1:hr-9", channel=admin_dm)
    await slack.until(lambda: slack.fake.calls_to("chat.update"), "the decision")
    assert await decision_of(slack, "hr-9") == "approved"
    [updated] = slack.messages(admin_dm)
    note = updated["blocks"][-1]["elements"][0]["text"]
    assert "Goedgekeurd: de uitnodiging voor hr-9 gaat " in note


async def test_a_dutch_admin_sees_and_can_type_the_dutch_command_words(fake, make_slack):
    """The Dutch usage listed `approvals` and `digest preview`: it shows `goedkeuringen` and
    `overzicht`, and both work (the digest is "het HR-overzicht" in every Dutch text)."""
    fake.add_user("UHR0002", "hr.nl@example.com", "Henk Beheer", locale="nl-NL")
    slack = await make_slack(hr_admins=(ADMIN, "hr.nl@example.com"), language="en")
    await interview(slack.runtime, "bob@example.com")

    usage = (await command(slack, "UHR0002", "hulp"))["text"]
    assert "• goedkeuringen: vertrekken die op je goedkeuring wachten" in usage
    assert "• overzicht: of het volgende HR-overzicht cijfers toont" in usage
    assert "approvals" not in usage and "digest" not in usage

    slack.clock.set(datetime(2027, 1, 5, 10, tzinfo=UTC))  # Bob's December interview settled
    for typed in ("overzicht", "Overzicht voorbeeld", "digest preview"):
        preview = await command(slack, "UHR0002", typed)
        assert preview["blocks"][0]["text"]["text"].startswith("Exitgesprekken: overzicht t/m")
        assert "Nog minder dan 5 gesprekken" in preview["text"]
    assert slack.fake.calls_to("chat.postMessage") == []  # nothing went to the HR channel

    await slack.post_webhook(departure_payload("hr-7", "contract_end", "b@example.com", "Bea"))
    approvals = await command(slack, "UHR0002", "goedkeuringen")
    assert "Bea (Sales): einde contract" in approvals["text"]
    english = await command(slack, ADMIN_ID, "help")
    assert "• approvals:" in english["text"] and "• digest preview:" in english["text"]


async def test_messages_to_hr_admins_are_in_each_admins_own_language(fake, make_slack):
    """The approval request, and the notes that someone could not be reached and about their
    web link, were written in EXITBOT_LANGUAGE to every admin. Now each admin reads them in
    their Slack language when it is Dutch or English, as HR commands answer them."""
    fake.add_user("UHR0002", "hr.nl@example.com", "Henk Beheer", locale="nl-NL")
    slack = await make_slack(hr_admins=(ADMIN, "hr.nl@example.com"), language="nl")
    await slack.post_webhook(departure_payload("hr-9", "contract_end", "d@example.com", "Dirk"))
    assert (await slack.tick())["approval requests sent"] == 1
    [english] = slack.messages(slack.fake.dm_channel_id(ADMIN_ID))  # en-GB
    [dutch] = slack.messages(slack.fake.dm_channel_id("UHR0002"))  # nl-NL
    assert english["text"].startswith(
        "Approval needed: Dirk (Sales) is leaving (contract end, last working day 2026-12-18"
    )
    assert dutch["text"].startswith(
        "Goedkeuring nodig: Dirk (Sales) vertrekt (einde contract, laatste werkdag 2026-12-18"
    )
    assert [b["text"]["text"] for _, b in buttons(english)] == ["Approve", "Skip"]
    assert [b["text"]["text"] for _, b in buttons(dutch)] == ["Goedkeuren", "Overslaan"]

    # Someone Slack does not know: both admins are told, each in their own language.
    await slack.post_webhook(departure_payload("hr-10", "resignation", "x@example.com", "Xander"))
    report = await slack.tick(datetime(2026, 12, 11, 10, tzinfo=UTC))
    assert report["unreachable"] == 1
    english_notes = [m["text"] for m in slack.messages(slack.fake.dm_channel_id(ADMIN_ID))[1:]]
    dutch_notes = [m["text"] for m in slack.messages(slack.fake.dm_channel_id("UHR0002"))[1:]]
    unreachable, web_link = english_notes
    assert unreachable.startswith("I could not deliver the exit-interview invite for Xander")
    assert web_link.startswith("Exit interview by web link for Xander (departure hr-10)")
    unreachable, web_link = dutch_notes
    assert unreachable.startswith("Ik kon de uitnodiging voor het exitgesprek van Xander")
    assert web_link.startswith("Exitgesprek via een weblink voor Xander (vertrek hr-10)")


SLACK_SAYS = {
    # what Slack answers about Xander → what an English and a Dutch HR admin read
    "users_not_found": (
        "Slack has no account with their email address",
        "Slack heeft geen account met het e-mailadres van deze persoon",
    ),
    "deactivated": (
        "their Slack account is deactivated",
        "het Slack-account van deze persoon is gedeactiveerd",
    ),
    "user_disabled": (
        "their Slack account is deactivated",
        "het Slack-account van deze persoon is gedeactiveerd",
    ),
    "account_inactive": (
        "their Slack account is deactivated",
        "het Slack-account van deze persoon is gedeactiveerd",
    ),
    "not_a_person": (
        "their email address belongs to a bot in Slack, not to a person",
        "het e-mailadres hoort in Slack bij een bot, niet bij een persoon",
    ),
}


@pytest.mark.parametrize("slack_says", list(SLACK_SAYS))
async def test_admins_read_why_slack_could_not_reach_someone_in_their_language(
    fake, make_slack, slack_says: str
) -> None:
    """The note carried Slack's own code ("slack: user_disabled"), in English inside the
    Dutch sentence. Each admin now reads the reason worded in their own language; the code
    stays in the interview's note for operators."""
    fake.add_user("UHR0002", "hr.nl@example.com", "Henk Beheer", locale="nl-NL")
    if slack_says == "deactivated":
        fake.add_user("U4004", "x@example.com", "Xander", deleted=True)
    elif slack_says == "not_a_person":
        fake.add_user("U4004", "x@example.com", "Xander", is_bot=True)
    elif slack_says != "users_not_found":  # Slack knows him, but refuses the DM
        fake.add_user("U4004", "x@example.com", "Xander")
        fake.fail_next("conversations.open", error=slack_says)
    slack = await make_slack(hr_admins=(ADMIN, "hr.nl@example.com"), language="nl")
    await slack.post_webhook(departure_payload("hr-10", "resignation", "x@example.com", "Xander"))
    report = await slack.tick(datetime(2026, 12, 11, 10, tzinfo=UTC))
    assert report["unreachable"] == 1
    assert (await slack.interview()).note == f"slack: {slack_says}"
    [english, _] = [m["text"] for m in slack.messages(slack.fake.dm_channel_id(ADMIN_ID))]
    [dutch, _] = [m["text"] for m in slack.messages(slack.fake.dm_channel_id("UHR0002"))]
    in_english, in_dutch = SLACK_SAYS[slack_says]
    assert english == (
        f"I could not deliver the exit-interview invite for Xander (departure hr-10): "
        f"{in_english}. No further attempts will be made in chat."
    )
    assert dutch == (
        f"Ik kon de uitnodiging voor het exitgesprek van Xander (vertrek hr-10) niet "
        f"afleveren: {in_dutch}. Via chat probeer ik het niet opnieuw."
    )
