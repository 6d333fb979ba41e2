"""HR admins in a personal chat with the bot: the same commands as in Slack."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.config import DEFAULT_POLICY
from bot.models import Departure
from tests.teams.harness import ADMIN, TeamsHarness

CONTRACT_END = {
    "type": "departure.created",
    "departure": {
        "id": "hr-77",
        "kind": "contract_end",
        "last_working_day": "2026-12-18",
        "employee": {"email": "bo@example.com", "name": "Bo Bakker"},
    },
}


async def admin_chat(teams: TeamsHarness) -> None:
    teams.connector.add_member("29:hr", ADMIN, "Hetty HR")
    status = await teams.post(
        teams.connector.installation_update_activity(
            user_id="29:hr", user_name="Hetty HR", conversation_id="a:hr"
        )
    )
    assert status == 201


def typed(teams: TeamsHarness, text: str, **kw: Any) -> dict[str, Any]:
    kw.setdefault("user_id", "29:hr")
    kw.setdefault("conversation_id", "a:hr")
    kw.setdefault("locale", "en-US")
    return teams.connector.message_activity(text, **kw)


async def test_status_is_a_report_card_for_admins(teams: TeamsHarness) -> None:
    await admin_chat(teams)
    assert await teams.post(typed(teams, "status")) == 201
    [report] = teams.new_messages()
    assert report.call.conversation_id == "a:hr"
    assert report.card is not None
    assert report.text.startswith("ExitBot pipeline")
    facts = next(e for e in report.card["body"] if e["type"] == "FactSet")["facts"]
    assert {"title": "Invite to be sent", "value": "0"} in facts


async def test_a_dutch_admin_types_overzicht_for_the_digest_preview(teams: TeamsHarness) -> None:
    await admin_chat(teams)
    assert await teams.post(typed(teams, "overzicht", locale="nl-NL")) == 201
    [report] = teams.new_messages()
    assert report.call.conversation_id == "a:hr"
    assert report.text.startswith("Exitgesprekken: overzicht t/m")
    assert "Er zijn in deze periode geen nieuwe exitgesprekken afgerond." in report.text


async def test_start_by_mention_schedules_an_interview(teams: TeamsHarness) -> None:
    await admin_chat(teams)
    assert await teams.post(teams.install(user_id="29:anna", conversation_id="a:anna")) == 201
    message = typed(teams, "start <at>Anna de Vries</at> 2026-12-18")
    message["entities"].append(
        {
            "type": "mention",
            "text": "<at>Anna de Vries</at>",
            "mentioned": {"id": "29:anna", "name": "Anna de Vries"},
        }
    )
    assert await teams.post(message) == 201
    [reply] = teams.new_messages()
    assert reply.text.startswith("Scheduled: the invite goes out")


async def test_approvals_and_a_card_click_decide(teams: TeamsHarness) -> None:
    await admin_chat(teams)
    status, outcome = await teams.post_webhook(CONTRACT_END)
    assert (status, outcome["status"]) == (202, "awaiting_approval")
    assert await teams.post(typed(teams, "approvals")) == 201
    [card] = teams.new_messages()
    assert card.choices == ["approve#1:hr-77", "skip#1:hr-77"]
    submit = card.card["actions"][0] if card.card else {}
    click = typed(teams, None, value=submit["data"])
    click["replyToId"] = card.call.response["id"]
    assert await teams.post(click) == 201
    [reply] = teams.new_messages()
    assert reply.text.startswith("Approved: the invite for hr-77 goes out")
    [update] = teams.updates()
    assert update.activity_id == card.call.response["id"]
    shown = update.body["attachments"][0]["content"]
    assert "actions" not in shown and shown["body"][-1]["text"].startswith("✓ Approved")
    async with teams.runtime.db.sessions() as session:
        departure = await session.scalar(select(Departure))
    assert departure is not None
    assert (departure.decision, departure.decided_by) == ("approved", ADMIN)
    assert await teams.post(click) == 201  # a redelivered click decides nothing again
    assert teams.new_messages() == [] and len(teams.updates()) == 1


async def test_a_dutch_admin_decides_in_dutch(teams: TeamsHarness) -> None:
    """EXITBOT_LANGUAGE is English; an admin whose Teams speaks Dutch reads the decision in
    Dutch, on the card as in the reply."""
    await admin_chat(teams)
    await teams.post_webhook(CONTRACT_END)
    assert await teams.post(typed(teams, "goedkeuringen", locale="nl-NL")) == 201
    [card] = teams.new_messages()
    submit = card.card["actions"][0] if card.card else {}
    click = typed(teams, None, value=submit["data"], locale="nl-NL")
    click["replyToId"] = card.call.response["id"]
    assert await teams.post(click) == 201
    [reply] = teams.new_messages()
    assert reply.text.startswith("Goedgekeurd: de uitnodiging voor hr-77 gaat ")
    [update] = teams.updates()
    shown = update.body["attachments"][0]["content"]
    assert shown["body"][-1]["text"].startswith("✓ Goedgekeurd")


async def test_a_card_listed_before_a_change_of_kind_decides_nothing(
    make_teams: Any, database_url: str
) -> None:
    """The contract end listed on a card became a dismissal that needs approval too: the
    card's Approve says it was replaced (in the clicker's language) and decides nothing; a
    fresh listing names the dismissal and its card decides."""
    teams = await make_teams(
        database_url=database_url, policy={**DEFAULT_POLICY, "dismissal": "approval"}
    )
    await admin_chat(teams)
    await teams.post_webhook(CONTRACT_END)
    assert await teams.post(typed(teams, "goedkeuringen", locale="nl-NL")) == 201
    [old] = teams.new_messages()
    assert "einde contract" in old.text
    teams.clock.advance(timedelta(minutes=5))
    dismissal = {**CONTRACT_END, "type": "departure.updated"}
    dismissal["departure"] = {**CONTRACT_END["departure"], "kind": "dismissal"}
    status, outcome = await teams.post_webhook(dismissal)
    assert (status, outcome["status"]) == (202, "awaiting_approval")

    submit = old.card["actions"][0] if old.card else {}
    click = typed(teams, None, value=submit["data"], locale="nl-NL")
    click["replyToId"] = old.call.response["id"]
    assert await teams.post(click) == 201
    [reply] = teams.new_messages()
    assert reply.text.startswith("Dit verzoek voor vertrek hr-77 is vervangen door een nieuwer")
    [update] = teams.updates()
    shown = update.body["attachments"][0]["content"]
    assert "actions" not in shown and "vervangen" in shown["body"][-1]["text"]
    async with teams.runtime.db.sessions() as session:
        departure = await session.scalar(select(Departure))
    assert departure is not None
    assert (departure.kind, departure.decision) == ("dismissal", "awaiting_approval")

    assert await teams.post(typed(teams, "approvals")) == 201
    [fresh] = teams.new_messages()
    assert "dismissal" in fresh.text
    assert fresh.choices == ["approve#2:hr-77", "skip#2:hr-77"]
    submit = fresh.card["actions"][0] if fresh.card else {}
    click = typed(teams, None, value=submit["data"])
    click["replyToId"] = fresh.call.response["id"]
    assert await teams.post(click) == 201
    [reply] = teams.new_messages()
    assert reply.text.startswith("Approved: the invite for hr-77 goes out")


async def test_others_get_a_polite_refusal(teams: TeamsHarness) -> None:
    assert await teams.post(teams.install()) == 201
    assert await teams.post(teams.connector.message_activity("approvals", locale="en-GB")) == 201
    [reply] = teams.new_messages()
    assert reply.text == "Sorry, these commands are only for HR admins."
    click = teams.connector.message_activity(
        None, value={"exitbot_choice": "skip:hr-77"}, locale="nl-NL"
    )
    assert await teams.post(click) == 201  # in the clicker's language, not EXITBOT_LANGUAGE
    assert teams.new_messages()[0].text == "Sorry, deze opdrachten zijn alleen voor HR-beheerders."
    assert teams.updates() == []  # the buttons stay for an HR admin


async def test_the_invite_answer_start_is_not_a_command(teams: TeamsHarness) -> None:
    assert await teams.post(teams.install()) == 201
    teams.clock.advance(timedelta(minutes=1))
    assert await teams.post(teams.connector.message_activity("start", locale="en-GB")) == 201
    [reply] = teams.new_messages()
    assert "no interview open for you" in reply.text  # went to the interview service


async def test_commands_in_a_team_channel_are_answered_privately_only(teams: TeamsHarness) -> None:
    """'approvals' typed by an HR admin in a team channel was answered in the channel: the
    names and departments of people whose contract ends, for everyone there to read."""
    from tests.teams.harness import HR_CHANNEL

    await admin_chat(teams)
    _, outcome = await teams.post_webhook(CONTRACT_END)
    assert outcome["status"] == "awaiting_approval"
    teams.new_messages()
    message = typed(teams, "approvals", conversation_id=HR_CHANNEL + ";messageid=1")
    message["conversation"]["conversationType"] = "channel"
    message["conversation"]["isGroup"] = True
    message["channelData"]["channel"] = {"id": HR_CHANNEL}
    message["channelData"]["team"] = {"id": "19:team@thread.tacv2"}
    assert await teams.post(message) == 201
    [reply] = teams.new_messages()
    assert "only work in a 1:1 chat" in reply.text
    assert "Bo Bakker" not in reply.text and reply.card is None


async def test_hr_help_shows_what_a_teams_admin_types(teams: TeamsHarness) -> None:
    """A Teams admin types the person's email (a mention works only for someone who has the
    bot): the usage says `start <email> …`, not Slack's `start @person …`, in both languages."""
    await admin_chat(teams)
    assert await teams.post(typed(teams, "hr help")) == 201
    [help_en] = teams.new_messages()
    assert "• start <email> YYYY-MM-DD [kind]: start an exit interview" in help_en.text
    assert await teams.post(typed(teams, "hr hulp", locale="nl-NL")) == 201
    [help_nl] = teams.new_messages()
    assert "• start <e-mailadres> JJJJ-MM-DD [soort]: start een exitgesprek" in help_nl.text
    assert await teams.post(typed(teams, "hr start")) == 201
    [usage] = teams.new_messages()
    assert usage.text.startswith("Usage: start <email> YYYY-MM-DD [kind] (the last working day")
    assert all("@pers" not in m.text for m in (help_en, help_nl, usage))


async def test_a_kind_of_more_than_one_word_is_part_of_start(teams: TeamsHarness) -> None:
    """The usage lists kinds by name ("contract end", "einde contract", "ontslag op eigen
    verzoek"); typed after `start <email> <day>`, a name of more than one word made the
    message no command at all (an interview answer), unlike Slack's `/exitbot start`."""
    await admin_chat(teams)
    assert await teams.post(typed(teams, "start bo@example.com 2026-12-18 contract end")) == 201
    [reply] = teams.new_messages()
    assert reply.text.startswith("Scheduled: the invite goes out")
    message = typed(teams, "start cas@example.com 2026-12-18 ontslag op eigen verzoek")
    assert await teams.post(message) == 201
    [reply] = teams.new_messages()
    assert reply.text.startswith("Scheduled: the invite goes out")
    async with teams.runtime.db.sessions() as session:
        kinds = (await session.scalars(select(Departure.kind).order_by(Departure.id))).all()
    assert kinds == ["contract_end", "resignation"]
