"""The same interview behaviour in every channel: terminal, Teams, Slack and the web chat.

Each scenario runs once per channel (the `driver` fixture); drivers type and click like an
employee and return the bot's messages as the employee reads them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.models import AnswerRow
from bot.tick import run_tick
from tests.channels.drivers import Driver, answers_stored, interview_status

DETAILED = "I really enjoyed the projects with customers and the freedom to organise my own days"


def joined(texts: list[str]) -> str:
    return "\n".join(texts)


async def started(driver: Driver) -> None:
    texts = await driver.begin()
    assert "main reason you're leaving" in joined(texts)
    assert await interview_status(driver.runtime) == "in_progress"


async def test_whole_interview_typed(driver: Driver) -> None:
    await started(driver)
    steps = [
        ("Pay and benefits", "What did you value most"),
        (DETAILED, "What could have been better in your role?"),
        (DETAILED, "relationship with your manager"),
        ("4", "recommend us as an employer"),
        ("8", "working here again"),
        ("maybe", "suggestions for improvement"),
        (DETAILED, "anything else you'd like to share"),
    ]
    for answer, next_question in steps:
        assert next_question in joined(await driver.say(answer)), answer
    summary = joined(await driver.say("no"))
    assert "Here's what I heard" in summary
    assert "Main reason: Pay and benefits" in summary
    assert "Is this right?" in summary
    outro = joined(await driver.say("yes"))
    assert "thank" in outro.lower()
    assert await interview_status(driver.runtime) == "completed"
    assert await answers_stored(driver.runtime) >= 7


async def test_a_vague_answer_is_probed(driver: Driver) -> None:
    await started(driver)
    await driver.say("Pay and benefits")
    probe = joined(await driver.say("ok"))
    assert probe and "What could have been better" not in probe  # a follow-up, not onwards
    assert "?" in probe
    assert "What could have been better in your role?" in joined(await driver.say(DETAILED))


async def test_skip(driver: Driver) -> None:
    await started(driver)
    reply = joined(await driver.say("skip"))
    assert "skip" in reply.lower()
    assert "What did you value most" in reply
    assert await answers_stored(driver.runtime) == 0


async def test_back_changes_the_previous_answer(driver: Driver) -> None:
    await started(driver)
    await driver.say("Pay and benefits")
    again = joined(await driver.say("back"))
    assert "question again" in again and "main reason you're leaving" in again
    assert "What did you value most" in joined(await driver.say("Pay and benefits"))


async def stored_values(driver: Driver) -> dict[str, str | None]:
    async with driver.runtime.db.sessions() as session:
        rows = await session.execute(select(AnswerRow.question_id, AnswerRow.value))
        return {question_id: value for question_id, value in rows}


async def test_an_earlier_questions_button_changes_that_answer(driver: Driver) -> None:
    """Slack and Teams (and a second tab of the web chat) keep the first question's buttons
    on screen after a typed answer; one clicked during the next (free-text) question changes
    the first answer, and is not stored as the answer to the question asked now."""
    if driver.name == "terminal":
        pytest.skip("the terminal shows no buttons to click later")
    await started(driver)
    await driver.say("Pay and benefits")
    reply = joined(await driver.click("manager"))  # on the first question's message
    assert "changed your earlier answer to “My manager”" in reply
    assert "What did you value most" in reply  # asked again: still unanswered
    assert await stored_values(driver) == {"main_reason": "manager"}
    assert "What could have been better" in joined(await driver.say(DETAILED))


async def at_suggestions(driver: Driver) -> Any:
    """Typed up to the suggestions question ("would you work here again?" answered by typing,
    so its buttons stay); the driver, which can click old messages (Slack, Teams, web)."""
    if driver.name == "terminal":
        pytest.skip("the terminal shows no buttons to click later")
    await started(driver)
    for typed in ("Pay and benefits", DETAILED, DETAILED, "4", "8"):
        await driver.say(typed)
    assert "suggestions for improvement" in joined(await driver.say("yes"))
    return driver


async def test_an_old_yes_button_does_not_confirm_deleting_everything(driver: Driver) -> None:
    clicking = await at_suggestions(driver)
    before = await answers_stored(driver.runtime)
    assert "delete all your answers" in joined(await driver.say("delete my answers"))
    reply = joined(await clicking.click_on("working here again", "yes"))  # not the confirmation
    assert "delete all your answers" in reply  # asked again
    assert await interview_status(driver.runtime) != "deleted"
    assert await answers_stored(driver.runtime) == before
    if driver.name != "web":  # the page has no message to update
        assert "✔" not in clicking.clicked_now and "✓" not in clicking.clicked_now


async def test_an_old_summary_button_does_not_answer_a_reopened_question(driver: Driver) -> None:
    clicking = await at_suggestions(driver)
    await driver.say(DETAILED)
    assert "Is this right?" in joined(await driver.say("no"))
    await driver.say("change")  # typed: the summary keeps its buttons
    assert "What did you value most" in joined(await driver.say("2"))
    reply = joined(await clicking.click_on("Is this right?", "confirm"))
    assert "What did you value most" in reply and "thank" not in reply.lower()
    assert await interview_status(driver.runtime) == "in_progress"
    assert "Here's what I heard" in joined(await driver.say(DETAILED))  # back to the summary


async def test_a_click_that_changes_nothing_shows_no_answer(driver: Driver) -> None:
    """'back' at the recommend question reopens the one before; recommend's buttons stay on
    screen, and a click there is no answer yet: stored nowhere, and not shown as one."""
    if driver.name == "terminal":
        pytest.skip("the terminal shows no buttons to click later")
    clicking: Any = driver
    await started(driver)
    for typed in ("Pay and benefits", DETAILED, DETAILED, "4", "back"):
        await driver.say(typed)
    reply = joined(await clicking.click_on("recommend us", "9"))
    assert "relationship with your manager" in reply
    assert "recommend" not in await stored_values(driver)
    if driver.name == "web":
        return  # no message to update: the page shows a click as the employee's own words
    assert "recommend us" in clicking.clicked_now  # the message stays, without its buttons
    assert "9" not in clicking.clicked_now.split("recommend us")[-1].split('"')[0]
    assert "✔" not in clicking.clicked_now and "✓" not in clicking.clicked_now


async def test_stop(driver: Driver) -> None:
    await started(driver)
    await driver.say("Pay and benefits")
    assert "stop here" in joined(await driver.say("stop"))
    assert await interview_status(driver.runtime) == "stopped"
    after = joined(await driver.say("hello?"))
    assert "This conversation has ended" in after


async def test_delete_my_answers(driver: Driver) -> None:
    await started(driver)
    await driver.say("Pay and benefits")
    assert await answers_stored(driver.runtime) == 1
    ask = joined(await driver.say("delete my answers"))
    assert "delete all your answers" in ask
    done = joined(await driver.click("yes"))
    assert "deleted all your answers" in done
    assert await interview_status(driver.runtime) == "deleted"
    assert await answers_stored(driver.runtime) == 0


async def test_summary_confirmed_by_a_click_completes(driver: Driver) -> None:
    await started(driver)
    assert "What did you value most" in joined(await driver.click("pay_benefits"))
    for _ in range(6):
        await driver.say("skip")
    summary = joined(await driver.say("skip"))
    assert "Main reason: Pay and benefits" in summary and "Is this right?" in summary
    assert await interview_status(driver.runtime) == "in_progress"
    outro = joined(await driver.click("confirm"))
    assert "thank" in outro.lower()
    assert await interview_status(driver.runtime) == "completed"


async def test_a_hello_days_later_is_greeted_not_stored(driver: Driver) -> None:
    """Silent for days (in chat the idle reminder says "just send me a message"): the
    employee's "hi" was stored as the answer to the open question."""
    await started(driver)
    await driver.say("Pay and benefits")
    driver.runtime.clock.advance(timedelta(days=3))  # type: ignore[attr-defined]
    await run_tick(driver.runtime)
    back = joined(await driver.say("Hi, sorry for the late reply!"))
    assert "Welcome back" in back and back.endswith("What did you value most about working here?")
    assert await answers_stored(driver.runtime) == 1
    assert "What could have been better" in joined(await driver.say(DETAILED))
    assert await answers_stored(driver.runtime) == 2


async def test_a_bare_continue_is_an_answer_at_once_and_a_hello_days_later(
    driver: Driver,
) -> None:
    """ "continue" typed to the question just asked was welcomed back and thrown away, in
    every channel; now it is the answer. Days later (no "pause" typed) it is someone coming
    back: welcomed, asked again, nothing stored."""
    await started(driver)
    await driver.say("Pay and benefits")
    probe = "What made that valuable for you?"  # a short answer is probed
    answered = joined(await driver.say("continue"))
    assert "Welcome back" not in answered and answered.endswith(probe)
    assert await answers_stored(driver.runtime) == 2
    driver.runtime.clock.advance(timedelta(days=3))  # type: ignore[attr-defined]
    await run_tick(driver.runtime)
    back = joined(await driver.say("Continue"))
    assert "Welcome back" in back and back.endswith(probe)  # asked again
    assert await answers_stored(driver.runtime) == 2
