"""Old buttons through the real adapters (Teams, Slack and the web chat's API): re-asks carrying the invite's and the
summary's buttons, an old confirmation while choosing what to change, and a Teams card posted
before cards said their kind."""

from __future__ import annotations

from typing import Any

import pytest

from tests.channels.drivers import Driver, interview_status, invite_anna
from tests.channels.test_conversation_contract import DETAILED, joined


async def test_start_on_the_invite_reask_starts(driver: Driver) -> None:
    if driver.name == "terminal":
        pytest.skip("no buttons")
    d: Any = driver  # Slack / Teams drivers: click_on, harness
    if driver.name == "web":
        await d.open_invite()  # the page is the invite
    else:
        if driver.name == "teams":
            assert await d.harness.post(d.harness.install()) == 201
        await invite_anna(driver.runtime)
        d._new()
    reask = joined(await driver.say("what is this about?"))
    assert "start now, later, or not at all" in reask
    reply = joined(await d.click_on("start now, later", "start"))
    assert "main reason you're leaving" in reply, reply
    assert await interview_status(driver.runtime) == "in_progress"


async def test_yes_on_the_summary_reask_completes(driver: Driver) -> None:
    if driver.name == "terminal":
        pytest.skip("no buttons")
    d: Any = driver  # Slack / Teams drivers: click_on, harness
    await driver.begin()
    for typed in ("Pay and benefits", DETAILED, DETAILED, "4", "8", "yes", DETAILED, "no"):
        await driver.say(typed)
    reask = joined(await driver.say("hmm"))
    assert "Is the summary right" in reask
    reply = joined(await d.click_on("Is the summary right", "confirm"))
    assert "thank" in reply.lower(), reply
    assert await interview_status(driver.runtime) == "completed"


async def test_old_delete_confirmation_yes_while_choosing_what_to_change(driver: Driver) -> None:
    """'delete', typed 'no' (the confirmation keeps its buttons), later 'change': clicking the
    old 'Yes, delete them' changes nothing, and must not be shown as answered."""
    if driver.name == "terminal":
        pytest.skip("no buttons")
    d: Any = driver  # Slack / Teams drivers: click_on, harness
    await driver.begin()
    await driver.say("Pay and benefits")
    await driver.say("delete my answers")
    await driver.say("no")
    for typed in (DETAILED, DETAILED, "4", "8", "yes", DETAILED, "no"):
        await driver.say(typed)
    assert "Which answer" in joined(await driver.say("change"))
    await d.click_on("delete all your answers", "yes")
    assert await interview_status(driver.runtime) == "in_progress"
    if driver.name != "web":  # the page has no message to update
        assert "✔" not in d.clicked_now and "✓" not in d.clicked_now, d.clicked_now


async def test_a_legacy_teams_invite_card_does_not_answer_a_text_question(driver: Driver) -> None:
    """A card posted before af20443: its data has question_id null and no exitbot_kind."""
    if driver.name != "teams":
        pytest.skip("Teams cards only")
    from sqlalchemy import select

    from bot.models import AnswerRow

    d: Any = driver  # Slack / Teams drivers: click_on, harness
    await driver.begin()
    await driver.say("Pay and benefits")  # now asking valued_most (free text)
    intro = next(m for m in d.posted if "later" in m.choices)
    chosen = next(a for a in intro.card["actions"] if a["data"].get("exitbot_choice") == "later")
    data = {k: v for k, v in chosen["data"].items() if k != "exitbot_kind"}
    assert data["question_id"] is None
    activity = d.harness.connector.message_activity(None, value=data, locale="en-GB")
    activity["replyToId"] = intro.call.response["id"]
    assert await d.harness.post(activity) == 201
    async with driver.runtime.db.sessions() as session:
        rows = dict((await session.execute(select(AnswerRow.question_id, AnswerRow.value))).all())
    assert "valued_most" not in rows, rows
