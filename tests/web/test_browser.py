"""A whole interview in headless Chromium: the playground, clicks and typing, to the end.

Drives Debian's Chromium through Playwright for Python (`executable_path`; never
`playwright install`). Screenshots land in test-artifacts/ for a human to look at.
"""

from __future__ import annotations

import functools
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import select

from bot.app import create_app
from bot.models import AnswerRow, Interview
from bot.runtime import Runtime
from tests.web.conftest import make_settings

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("EXITBOT_TEST_CHROMIUM") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ANSWERS = [
    "I really valued my colleagues: always willing to help, and the team lunches on Fridays.",
    "Clearer priorities and fewer last-minute changes would have let me finish my projects.",
    "Regular one-to-one talks about my development, and a real plan for growing into a "
    "senior role.",
    "Thank you for the good years; I learned a lot here and would recommend the team.",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def phone_screenshot(page: Any) -> None:
    """The page on a phone, scrolled to the answer buttons and the text box."""
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.locator("#reply").scroll_into_view_if_needed()
    await page.screenshot(path=str(ARTIFACTS / "web-chat-phone.png"), animations="disabled")
    await page.set_viewport_size({"width": 1000, "height": 900})


@pytest.fixture
async def server(fast_sqlite_url: str) -> AsyncIterator[tuple[str, Runtime]]:
    port = free_port()
    settings = make_settings(fast_sqlite_url, public_url=f"http://127.0.0.1:{port}")
    runtime = Runtime.open(settings)
    runner = web.AppRunner(create_app(runtime))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield f"http://127.0.0.1:{port}", runtime
    finally:
        await runner.cleanup()


async def test_a_whole_interview_in_the_browser(server: tuple[str, Runtime]) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(
            f"no Chromium at {CHROMIUM}: install Debian's chromium package "
            "or set EXITBOT_TEST_CHROMIUM"
        )
    playwright_api = pytest.importorskip("playwright.async_api")
    base, runtime = server
    ARTIFACTS.mkdir(exist_ok=True)
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1000, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            await page.goto(f"{base}/playground")
            assert await page.title() == "Playground · ExitBot"
            await page.get_by_label("English").check()
            await page.get_by_role("button", name="Start a demo interview").click()
            await page.wait_for_url(f"{base}/i/**")
            assert await page.get_attribute("html", "lang") == "en"
            await page.locator("#log .msg-question").first.wait_for()
            assert await page.locator("#log").get_attribute("aria-live") == "polite"

            typed = clicked = 0
            phone_shot = False
            for step in range(40):
                if await page.locator("#ended").is_visible():
                    break
                bot_messages = await page.locator("#log li.msg-bot").count()
                buttons = page.locator("#choice-row button")
                values = [await b.get_attribute("value") for b in await buttons.all()]
                if "confirm" in values:
                    await page.locator('#choice-row button[value="confirm"]').click()
                    clicked += 1
                elif values:
                    if step >= 3 and not phone_shot:
                        await phone_screenshot(page)
                        phone_shot = True
                    # Alternate: a click, or the keyboard (focus a button, press Enter).
                    button = buttons.nth(min(1, len(values) - 1))
                    if step % 2:
                        await button.focus()
                        await page.keyboard.press("Enter")
                    else:
                        await button.click()
                    clicked += 1
                else:
                    box = page.get_by_label("Your answer")
                    await box.click()
                    await page.keyboard.type(ANSWERS[typed % len(ANSWERS)])
                    await page.keyboard.press("Enter")
                    typed += 1
                await page.wait_for_function(
                    """n => document.querySelectorAll('#log li.msg-bot').length > n
                       && document.getElementById('reply').getAttribute('aria-busy') !== 'true'""",
                    arg=bot_messages,
                )
            assert await page.locator("#ended").is_visible()
            assert typed >= 2 and clicked >= 3 and phone_shot
            outro = await page.locator("#log li.msg-outro").inner_text()
            assert "Thank you" in outro
            assert errors == []
            await page.screenshot(
                path=str(ARTIFACTS / "web-chat-interview.png"),
                full_page=True,
                animations="disabled",
            )

            await page.goto(f"{base}/playground")
            await page.screenshot(path=str(ARTIFACTS / "web-playground.png"), full_page=True)
        finally:
            await browser.close()
    async with runtime.db.sessions() as session:
        interview = (await session.scalars(select(Interview))).one()
    assert interview.status == "completed"


async def _answered(page: Any, act: Any) -> None:
    """Do `act` on the page and wait for the bot's reply (chat.js)."""
    before = await page.locator("#log li.msg-bot").count()
    await act()
    await page.wait_for_function(
        """n => document.querySelectorAll('#log li.msg-bot').length > n
           && document.getElementById('reply').getAttribute('aria-busy') !== 'true'""",
        arg=before,
    )


async def test_an_old_tabs_button_changes_that_answer_in_the_browser(
    server: tuple[str, Runtime],
) -> None:
    """Two tabs on one link. The first answers by chat.js up to the manager scale, whose
    buttons chat.js shows; the second, opened then, answers it. The first tab's button,
    clicked after, changes that answer: chat.js says whose buttons it showed."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    playwright_api = pytest.importorskip("playwright.async_api")
    base, runtime = server
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            tabs = await browser.new_context()  # one browser, two tabs
            first = await tabs.new_page()
            errors: list[str] = []
            first.on("pageerror", lambda exc: errors.append(str(exc)))
            await first.goto(f"{base}/playground")
            await first.get_by_label("English").check()
            await first.get_by_role("button", name="Start a demo interview").click()
            await first.wait_for_url(f"{base}/i/**")
            assert await first.input_value("#choice-for") == "main_reason"  # from the server
            button = first.locator('#choice-row button[value="career_growth"]')
            await _answered(first, button.click)
            assert await first.input_value("#choice-for") == ""  # chat.js: free text now
            for typed in ANSWERS[:2]:
                box = first.get_by_label("Your answer")
                await box.fill(typed)
                await _answered(first, functools.partial(box.press, "Enter"))
            assert await first.input_value("#choice-for") == "manager_relationship"  # chat.js

            second = await tabs.new_page()
            await second.goto(first.url)
            await _answered(second, second.locator('#choice-row button[value="4"]').click)
            assert await second.input_value("#choice-for") != "manager_relationship"

            await _answered(first, first.locator('#choice-row button[value="2"]').click)
            log_text = await first.locator("#log").inner_text()
            assert "I've changed your earlier answer to “2 (Poor)”" in log_text, log_text
            assert errors == []
        finally:
            await browser.close()
    async with runtime.db.sessions() as session:
        rows = (await session.execute(select(AnswerRow.question_id, AnswerRow.value))).all()
    assert ("manager_relationship", "2") in [tuple(r) for r in rows]
    assert [r[0] for r in rows].count("manager_relationship") == 1


async def test_a_refused_message_is_told_as_refused_not_as_a_connection_problem(
    server: tuple[str, Runtime],
) -> None:
    """A 400 from the server (here a click whose hidden origin field was tampered with)
    said "Check your connection": chat.js now says the message could not be taken, keeps
    the page usable, and takes nothing."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    playwright_api = pytest.importorskip("playwright.async_api")
    base, runtime = server
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            await page.goto(f"{base}/playground")
            await page.get_by_label("English").check()
            await page.get_by_role("button", name="Start a demo interview").click()
            await page.wait_for_url(f"{base}/i/**")
            hint = await page.locator("#hint").inner_text()
            assert "delete my answers" in hint
            await page.eval_on_selector("#choice-on", "e => { e.value = 'bogus'; }")
            await page.locator('#choice-row button[value="career_growth"]').click()
            status = page.locator("#status")
            await page.wait_for_function(
                "() => document.getElementById('status').className.includes('error')"
            )
            said = await status.inner_text()
            assert said.startswith("This message could not be taken"), said
            assert "connection" not in said
            assert await page.locator("#reply").get_attribute("aria-busy") != "true"
        finally:
            await browser.close()
    async with runtime.db.sessions() as session:
        assert (await session.scalars(select(AnswerRow))).all() == []  # nothing was taken
