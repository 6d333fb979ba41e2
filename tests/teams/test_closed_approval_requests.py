"""An approval request HR admins have in Teams says so as soon as it no longer asks: the
tick's request card is updated in place (replaced by a newer request, decided by another
admin), in each admin's language, without buttons. Through the real CloudAdapter over HTTP
against the fake Bot Connector, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from bot.config import DEFAULT_POLICY
from bot.tick import run_tick
from tests.fakes import ConnectorCall
from tests.teams.harness import ADMIN, BotMessage, TeamsHarness, read_message
from tests.teams.test_admin import CONTRACT_END, typed

ENGLISH_ADMIN = "hr.en@example.com"
DISMISSAL = {
    "type": "departure.updated",
    "departure": {**CONTRACT_END["departure"], "kind": "dismissal"},
}


async def two_admins(make_teams: Any, database_url: str) -> TeamsHarness:
    """A Dutch HR admin (chat a:hr) and an English one (a:hr.en), both with the app."""
    teams: TeamsHarness = await make_teams(
        database_url=database_url,
        hr_admins=(ADMIN, ENGLISH_ADMIN),
        language="en",
        policy={**DEFAULT_POLICY, "dismissal": "approval"},
    )
    for user, email, name, chat, locale in (
        ("29:hr", ADMIN, "Hetty HR", "a:hr", "nl-NL"),
        ("29:hr.en", ENGLISH_ADMIN, "Harry HR", "a:hr.en", "en-GB"),
    ):
        teams.connector.add_member(user, email, name)
        install = teams.connector.installation_update_activity(
            user_id=user, user_name=name, conversation_id=chat
        )
        install["locale"] = locale
        assert await teams.post(install) == 201
    return teams


def requests(teams: TeamsHarness) -> dict[str, BotMessage]:
    """The request cards the tick just sent, by chat."""
    return {m.call.conversation_id or "": m for m in teams.new_messages()}


def update_of(teams: TeamsHarness, card: BotMessage) -> ConnectorCall:
    """The one update of a card (its activity id, in its chat)."""
    [update] = [
        c
        for c in teams.updates()
        if c.activity_id == card.call.response["id"]
        and c.conversation_id == card.call.conversation_id
    ]
    return update


async def asked(teams: TeamsHarness) -> dict[str, BotMessage]:
    status, outcome = await teams.post_webhook(CONTRACT_END)
    assert (status, outcome["status"]) == (202, "awaiting_approval")
    assert (await run_tick(teams.runtime))["approval requests sent"] == 1
    sent = requests(teams)
    assert sorted(sent) == ["a:hr", "a:hr.en"]
    assert sent["a:hr"].choices == ["approve#1:hr-77", "skip#1:hr-77"]
    teams.clock.advance(timedelta(minutes=5))
    return sent


async def test_a_replaced_request_card_says_so_when_the_newer_one_goes_out(
    make_teams: Any, database_url: str
) -> None:
    """The contract end became a dismissal that needs approval too: the tick that sends the
    new request cards updates the old ones: the same text, no buttons, and a note in each
    admin's language. Before, the old cards kept their buttons until clicked."""
    teams = await two_admins(make_teams, database_url)
    old = await asked(teams)
    assert (await teams.post_webhook(DISMISSAL))[1]["status"] == "awaiting_approval"
    assert (await run_tick(teams.runtime))["approval requests sent"] == 1

    new = requests(teams)
    assert new["a:hr"].choices == new["a:hr.en"].choices == ["approve#2:hr-77", "skip#2:hr-77"]
    dutch = read_message(update_of(teams, old["a:hr"]))
    assert dutch.card is not None and "actions" not in dutch.card and dutch.choices == []
    assert dutch.text.startswith("Goedkeuring nodig: Bo Bakker vertrekt (einde contract, ")
    assert dutch.text.splitlines()[-1].startswith("Vervangen door een nieuwer verzoek: ")
    english = read_message(update_of(teams, old["a:hr.en"]))
    assert english.choices == []
    assert english.text.startswith("Approval needed: Bo Bakker is leaving (contract end, ")
    assert english.text.splitlines()[-1].startswith("Replaced by a newer request: ")
    assert len(teams.updates()) == 2
    await run_tick(teams.runtime)
    assert len(teams.updates()) == 2  # updated once


async def test_a_click_on_one_admins_card_updates_the_other_admins_card_at_once(
    make_teams: Any, database_url: str
) -> None:
    teams = await two_admins(make_teams, database_url)
    sent = await asked(teams)
    card = sent["a:hr.en"]
    submit = card.card["actions"][0] if card.card else {}
    click = typed(
        teams,
        None,
        value=submit["data"],
        user_id="29:hr.en",
        conversation_id="a:hr.en",
        locale="en-GB",
    )
    click["replyToId"] = card.call.response["id"]
    assert await teams.post(click) == 201

    [reply] = teams.new_messages()
    assert reply.text.startswith("Approved: the invite for hr-77 goes out")
    mine = read_message(update_of(teams, card))
    assert mine.text.splitlines()[-1].startswith("✓ Approved: the invite for hr-77 goes out")
    theirs = read_message(update_of(teams, sent["a:hr"]))
    assert theirs.choices == []
    assert theirs.text.startswith("Goedkeuring nodig: Bo Bakker vertrekt (einde contract, ")
    assert theirs.text.splitlines()[-1] == (
        "Goedgekeurd door een HR-beheerder: hier valt niets meer te beslissen."
    )
    await run_tick(teams.runtime)
    assert len(teams.updates()) == 2


async def test_a_card_teams_will_not_update_is_logged_and_the_tick_goes_on(
    make_teams: Any, database_url: str, caplog: Any
) -> None:
    teams = await two_admins(make_teams, database_url)
    old = await asked(teams)
    await teams.post_webhook(DISMISSAL)
    teams.connector.fail_next(404, path_contains=old["a:hr"].call.response["id"])
    with caplog.at_level(logging.INFO):
        assert (await run_tick(teams.runtime))["approval requests sent"] == 1
    assert len(requests(teams)) == 2  # the new requests went out
    assert read_message(update_of(teams, old["a:hr.en"])).choices == []
    warnings = [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name == "bot.approval_requests"
    ]
    assert warnings == ["approval request 1 could not be changed on teams: ErrorResponseException"]
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "Bo Bakker" not in logged and "@" not in logged
