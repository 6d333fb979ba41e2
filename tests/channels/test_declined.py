"""'No thanks', then a change of mind, in every channel: an explicit start (typed, or a Start
button) starts the declined interview until it would have expired; an "ok" acknowledging the
goodbye, or a start after the expiry, gets the closed answer it always got."""

from __future__ import annotations

from html import unescape
from typing import Any

import pytest
from sqlalchemy import func, select, update

from bot.clock import FrozenClock
from bot.models import Interview
from tests.channels.drivers import Driver, interview_status, invite_anna, invite_in_chat
from tests.channels.test_conversation_contract import joined

NOT_OPEN = "no interview open for you"


async def invited(driver: Driver) -> None:
    """Anna has the invite in front of her, on the driver's channel."""
    d: Any = driver
    if driver.name == "web":
        await d.open_invite()
        return
    if driver.name == "terminal":
        await invite_in_chat(driver.runtime)
        assert "voluntary" in joined(await d.begin())  # `exitbot chat` shows the invite
        return
    if driver.name == "teams":
        assert await d.harness.post(d.harness.install()) == 201
    await invite_anna(driver.runtime)
    d._new()


async def declined(driver: Driver) -> None:
    await invited(driver)
    assert "all the best" in joined(await driver.say("no thanks"))
    assert await interview_status(driver.runtime) == "declined"


async def interviews(driver: Driver) -> int:
    async with driver.runtime.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Interview)) or 0)


async def test_start_after_declining_starts_the_interview(driver: Driver) -> None:
    await declined(driver)
    assert NOT_OPEN in joined(await driver.say("ok"))  # acknowledging the goodbye
    assert await interview_status(driver.runtime) == "declined"
    reply = joined(await driver.say("start"))
    assert "main reason you're leaving" in reply, reply
    assert await interview_status(driver.runtime) == "in_progress"
    assert "What did you value most" in joined(await driver.say("Pay and benefits"))
    assert await interviews(driver) == 1  # the same interview, counted once


async def test_the_closed_answer_speaks_the_declined_interviews_language(driver: Driver) -> None:
    """Anna said no thanks to an interview held in Dutch: her "ok" afterwards is answered in
    Dutch, whatever her platform's locale (en-GB in Slack and Teams, none in the terminal);
    it was answered in the locale's or the default language, English."""
    await declined(driver)
    async with driver.runtime.db.transaction() as session:
        await session.execute(update(Interview).values(language="nl"))
    reply = joined(await driver.say("ok"))
    assert "Er staat op dit moment geen gesprek voor je klaar" in reply, reply
    assert await interview_status(driver.runtime) == "declined"


async def test_the_start_button_after_declining_starts_the_interview(driver: Driver) -> None:
    if driver.name == "terminal":
        pytest.skip("no buttons")
    d: Any = driver
    await declined(driver)
    if driver.name == "web":  # a second tab still showing the invite
        reply = joined(await d._post({"text": "Start", "choice": "start", "choice_on": "intro"}))
    else:
        reply = joined(await d.click_on("", "start"))  # the invite's own Start
    assert "main reason you're leaving" in reply, reply
    assert await interview_status(driver.runtime) == "in_progress"


async def test_after_its_expiry_a_start_gets_the_closed_answer(driver: Driver) -> None:
    d: Any = driver
    await declined(driver)
    async with driver.runtime.db.sessions() as session:
        expires_at = await session.scalar(select(Interview.expires_at))
    assert expires_at is not None and isinstance(driver.runtime.clock, FrozenClock)
    driver.runtime.clock.set(expires_at)
    if driver.name == "web":  # the link has closed, as for any interview that expired
        from tests.web.conftest import origin_of

        response = await d.client.post(
            f"/i/{d.token}/messages",
            json={"id": "m1234567", "text": "start"},
            headers={"X-CSRF-Token": d.csrf, "Origin": origin_of(d.client)},
        )
        assert (response.status, await response.json()) == (410, {"error": "expired"})
    else:
        assert NOT_OPEN in joined(await driver.say("start"))
    assert await interview_status(driver.runtime) == "declined"


async def test_opened_again_after_declining_it_offers_to_start(driver: Driver) -> None:
    """`exitbot chat --as` run again, or the web link opened again: the Start is offered;
    nothing starts (and no second interview is made) until they start it."""
    if driver.name in ("slack", "teams"):
        pytest.skip("a chat DM is never opened again: it stays open")
    d: Any = driver
    await declined(driver)
    if driver.name == "terminal":
        offer = joined(await d.begin())
    else:
        page = await d.client.get(f"/i/{d.token}")
        assert page.status == 200
        offer = unescape(await page.text())
        assert 'value="start"' in offer  # its button
        assert 'class="ended" hidden' in offer  # and its text box: the page is open
    assert "If you've changed your mind, you can still take part" in offer
    assert await interview_status(driver.runtime) == "declined"
    assert "main reason you're leaving" in joined(await driver.say("start"))
    assert await interview_status(driver.runtime) == "in_progress"
    assert await interviews(driver) == 1
