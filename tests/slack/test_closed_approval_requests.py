"""An approval request HR admins have in Slack says so as soon as it no longer asks: replaced
by a newer request, decided by another admin (in chat or elsewhere), cancelled, no longer
waiting, erased. Until now it kept its buttons until someone clicked them. Through the
signed webhook, the tick and the real Bolt app against the fake Slack API, on SQLite and
PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

from bot import departures
from bot.config import DEFAULT_POLICY
from tests.slack.harness import ADMIN, ADMIN_ID, SlackHarness, buttons
from tests.slack.test_approval_changes import (
    DUTCH_ADMIN_ID,
    changed,
    clicked,
    note,
    stored,
    two_admins,
)
from tests.slack.test_hr_commands import command, departure_payload

DIRK = departure_payload("hr-9", "contract_end", "d@example.com", "Dirk")
REQUEST_EN = (
    "Approval needed: Dirk (Sales) is leaving (contract end, last working day 2026-12-18, "
    "departure hr-9). Before inviting them"
)
REQUEST_NL = (
    "Goedkeuring nodig: Dirk (Sales) vertrekt (einde contract, laatste werkdag 2026-12-18, "
    "vertrek hr-9). Check eerst"
)


def shown(message: dict[str, Any]) -> tuple[str, str | None, list[str]]:
    """What an admin sees of a request: its text, the note under it, its buttons' values."""
    text = "\n".join(
        block["text"]["text"] for block in message["blocks"] if block["type"] == "section"
    )
    notes = [
        element["text"]
        for block in message["blocks"]
        if block["type"] == "context"
        for element in block["elements"]
    ]
    return text, (notes[-1] if notes else None), [b["value"] for _, b in buttons(message)]


async def asked(slack: SlackHarness) -> tuple[str, str]:
    """Dirk's contract end waits for approval; both admins got the request. Their DMs."""
    english, dutch = slack.fake.dm_channel_id(ADMIN_ID), slack.fake.dm_channel_id(DUTCH_ADMIN_ID)
    assert (await slack.post_webhook(DIRK))[1]["status"] == "awaiting_approval"
    assert (await slack.tick())["approval requests sent"] == 1
    assert [shown(m)[2] for m in slack.messages(english) + slack.messages(dutch)] == [
        ["approve#1:hr-9", "skip#1:hr-9"]
    ] * 2
    slack.clock.advance(timedelta(minutes=5))
    return english, dutch


async def test_a_request_replaced_by_a_newer_one_says_so_when_the_newer_one_goes_out(
    fake, make_slack, database_url
):
    """The contract end became a dismissal that needs approval too. The tick that sends each
    admin the new request changes the old one: the same text, no buttons, and a note in the
    admin's own language that a newer request replaced it. Before, it kept its buttons (two
    open requests for one person) until someone clicked one."""
    slack = await two_admins(
        fake, make_slack, database_url, policy={**DEFAULT_POLICY, "dismissal": "approval"}
    )
    english, dutch = await asked(slack)
    await slack.post_webhook(changed(DIRK, "dismissal"))
    assert (await slack.tick())["approval requests sent"] == 1

    [old_en, new_en], [old_nl, new_nl] = slack.messages(english), slack.messages(dutch)
    text, under, choices = shown(old_en)
    assert text.startswith(REQUEST_EN) and choices == []
    assert under == (
        "Replaced by a newer request: the departure changed since this one was sent. Nothing "
        "was decided here; use the newest request, or `approvals` to see what is waiting."
    )
    assert not old_en["text"].endswith("Skip")  # the plain-text fallback lists no choices
    text, under, choices = shown(old_nl)
    assert text.startswith(REQUEST_NL) and choices == []
    assert under is not None and under.startswith(
        "Vervangen door een nieuwer verzoek: het vertrek is gewijzigd sinds dit verzoek werd "
        "verstuurd. Hier is niets besloten"
    )
    assert shown(new_en)[0].startswith("Approval needed: Dirk (Sales) is leaving (dismissal, ")
    assert shown(new_en)[2] == shown(new_nl)[2] == ["approve#2:hr-9", "skip#2:hr-9"]

    updates = len(fake.calls_to("chat.update"))
    await slack.tick()
    assert len(fake.calls_to("chat.update")) == updates  # changed once
    assert await stored(slack, "hr-9") == ("awaiting_approval", None, [])


@pytest.mark.parametrize(
    ("value", "answer", "note_nl"),
    [
        (
            "approve#1:hr-9",
            "✔ Approve: Approved: the invite for hr-9 goes out ",
            "Goedgekeurd door een HR-beheerder: hier valt niets meer te beslissen.",
        ),
        (
            "skip#1:hr-9",
            "✔ Skip: Skipped: no interview for departure hr-9.",
            "Overgeslagen door een HR-beheerder: geen gesprek voor dit vertrek.",
        ),
    ],
)
async def test_a_decision_in_chat_closes_the_other_admins_requests_at_once(
    fake, make_slack, database_url, value, answer, note_nl
):
    """One admin approves (or skips) on their request: the other admin's request says so at
    once, in their language, without buttons, before any tick; the clicker's own request
    keeps what the click answered."""
    slack = await two_admins(fake, make_slack, database_url)
    english, dutch = await asked(slack)
    [mine] = slack.messages(english)
    mine = await clicked(slack, ADMIN_ID, mine, value, english)
    assert note(mine).startswith(answer)

    [theirs] = slack.messages(dutch)
    assert shown(theirs)[1:] == (note_nl, [])
    assert shown(theirs)[0].startswith(REQUEST_NL)
    updates = len(fake.calls_to("chat.update"))
    await slack.tick()
    assert len(fake.calls_to("chat.update")) == updates
    [mine] = slack.messages(english)
    assert note(mine).startswith(answer)


async def _cancelled(slack: SlackHarness) -> None:
    answer = await slack.post_webhook({**DIRK, "type": "departure.cancelled"})
    assert answer == (202, {"status": "cancelled", "departure_id": "hr-9"})


async def _resignation(slack: SlackHarness) -> None:
    assert (await slack.post_webhook(changed(DIRK, "resignation")))[1]["status"] == "scheduled"


async def _started_by_hand(slack: SlackHarness) -> None:
    reply = await command(slack, ADMIN_ID, "start d@example.com 2026-12-18")
    assert reply["text"].startswith("Scheduled")


async def _approved_on_the_command_line(slack: SlackHarness) -> None:
    # `exitbot approvals --approve hr-9`, or another replica: nothing of it reaches this one
    result = await departures.decide(slack.runtime, "hr-9", True, None)
    assert result.status == "scheduled"


async def _erased(slack: SlackHarness) -> None:
    assert await slack.runtime.service.forget("d@example.com")  # `exitbot forget`


@pytest.mark.parametrize(
    ("change", "text_en", "note_en", "note_nl"),
    [
        (
            _cancelled,
            REQUEST_EN,
            "Cancelled by the HR system: nothing to decide any more.",
            "Geannuleerd door het HR-systeem: er valt niets meer te beslissen.",
        ),
        (
            _resignation,
            REQUEST_EN,
            "No longer waiting for approval (the departure changed): nothing to decide here.",
            "Wacht niet meer op goedkeuring (het vertrek is gewijzigd): hier valt niets meer "
            "te beslissen.",
        ),
        (
            _started_by_hand,
            REQUEST_EN,
            "No longer waiting for approval (the departure changed): nothing to decide here.",
            "Wacht niet meer op goedkeuring (het vertrek is gewijzigd): hier valt niets meer "
            "te beslissen.",
        ),
        (
            _approved_on_the_command_line,
            REQUEST_EN,
            "Approved by an HR admin: nothing left to decide here.",
            "Goedgekeurd door een HR-beheerder: hier valt niets meer te beslissen.",
        ),
        (
            _erased,  # the name goes from the request too
            "An approval request for a departure that is no longer stored.",
            "Closed: nothing to decide any more.",
            "Gesloten: er valt niets meer te beslissen.",
        ),
    ],
    ids=["cancelled", "resignation", "started", "command line", "erased"],
)
async def test_a_request_settled_elsewhere_says_so_at_the_next_tick(
    fake,
    make_slack,
    database_url,
    change: Callable[[SlackHarness], Awaitable[None]],
    text_en: str,
    note_en: str,
    note_nl: str,
):
    """The HR system cancels the departure or makes it a resignation, an admin starts the
    interview by hand, approves on the command line (or on another replica), or the person
    is erased: the next tick changes each admin's request to say so, in their language."""
    slack = await two_admins(fake, make_slack, database_url)
    english, dutch = await asked(slack)
    await change(slack)
    await slack.tick()
    [request_en], [request_nl] = slack.messages(english), slack.messages(dutch)
    assert shown(request_en)[0].startswith(text_en)
    assert shown(request_en)[1:] == (note_en, [])
    assert shown(request_nl)[1:] == (note_nl, [])
    if change is _erased:
        assert "Dirk" not in str(request_en) + str(request_nl)


async def test_a_request_that_cannot_be_changed_is_logged_and_its_buttons_still_answer(
    fake, make_slack, database_url, caplog
):
    """Slack refuses to change one admin's old request (deleted, say): the tick goes on (the
    new requests go out, the other old one changes), a warning names neither person nor
    address, and the unchanged request's buttons still say it was replaced."""
    slack = await two_admins(
        fake, make_slack, database_url, policy={**DEFAULT_POLICY, "dismissal": "approval"}
    )
    english, dutch = await asked(slack)
    await slack.post_webhook(changed(DIRK, "dismissal"))
    fake.fail_next("chat.update", error="message_not_found")  # the first admin's: English
    with caplog.at_level(logging.INFO):
        report = await slack.tick()
    assert report["approval requests sent"] == 1
    [old_en, _], [old_nl, _] = slack.messages(english), slack.messages(dutch)
    assert shown(old_en)[2] == ["approve#1:hr-9", "skip#1:hr-9"]
    assert shown(old_nl)[2] == []
    warnings = [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name == "bot.approval_requests"
    ]
    assert warnings == ["approval request 1 could not be changed on slack: SlackApiError"]
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "Dirk" not in logged and "@" not in logged

    old_en = await clicked(slack, ADMIN_ID, old_en, "approve#1:hr-9", english)
    assert note(old_en).startswith("✔ Approve: This request for departure hr-9 was replaced")
    assert await stored(slack, "hr-9") == ("awaiting_approval", None, [])


async def test_a_click_decides_even_when_another_admins_request_cannot_be_changed(
    fake, make_slack, database_url, caplog
):
    """The other admin's request cannot be changed (Slack says channel_not_found): the
    click still decides and answers; the failure is logged."""
    slack = await two_admins(fake, make_slack, database_url)
    english, dutch = await asked(slack)
    [mine] = slack.messages(english)
    fake.fail_next("chat.update", error="channel_not_found")  # the Dutch admin's, first
    with caplog.at_level(logging.INFO):
        mine = await clicked(slack, ADMIN_ID, mine, "approve#1:hr-9", english)
    assert note(mine).startswith("✔ Approve: Approved: the invite for hr-9 goes out ")
    assert await stored(slack, "hr-9") == ("approved", ADMIN, ["scheduled"])
    [theirs] = slack.messages(dutch)
    assert shown(theirs)[2] == ["approve#1:hr-9", "skip#1:hr-9"]
    assert [r.getMessage() for r in caplog.records if r.name == "bot.approval_requests"] == [
        "approval request 2 could not be changed on slack: SlackApiError"
    ]
