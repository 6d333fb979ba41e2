"""An interview started in the terminal continues in the browser, where it stopped."""

from __future__ import annotations

from collections.abc import AsyncIterator
from html import unescape

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from adapters.base import Incoming
from adapters.console import ConsoleChannel
from bot.app import create_app
from bot.clock import FrozenClock
from bot.models import AnswerRow, Interview
from bot.runtime import Runtime
from tests.web.conftest import START, api_post, csrf_of, link_to, make_settings, origin_of

EMAIL = "anna@example.com"


@pytest.fixture
async def served(database_url: str) -> AsyncIterator[tuple[Runtime, TestClient]]:
    import io

    runtime = Runtime.open(
        make_settings(database_url),
        clock=FrozenClock(START),
        channels={"console": ConsoleChannel(io.StringIO())},
    )
    client = TestClient(TestServer(create_app(runtime), host="127.0.0.1"))
    await client.start_server()
    try:
        yield runtime, client
    finally:
        await client.close()


async def test_a_terminal_interview_continues_in_the_browser(
    served: tuple[Runtime, TestClient],
) -> None:
    runtime, client = served
    service = runtime.service
    begun = await service.begin_chat(channel="console", email=EMAIL, conversation_id=EMAIL)
    first = begun.messages[-1]
    assert first.kind == "question" and first.choices
    answered = await service.handle(
        Incoming(
            channel="console",
            user_id=EMAIL,
            conversation_id=EMAIL,
            text=first.choices[0].label,
            message_id="console-1",
        )
    )
    second = answered.messages[-1]
    assert second.kind == "question" and second.question_id != first.question_id
    assert begun.interview_id is not None
    token = await link_to(runtime, begun.interview_id)

    response = await client.get(f"/i/{token}")
    assert response.status == 200
    html = unescape(await response.text())
    question = runtime.questionnaire.get(second.question_id)
    assert question is not None
    assert question.text_in("en", "en") in html  # the current question, not the first again
    assert first.text not in html

    answer = "More room to learn new skills and clearer priorities from management."
    response = await api_post(client, token, csrf_of(html), text=answer)
    assert response.status == 200
    data = await response.json()
    assert data["open"] and data["messages"]
    async with runtime.db.sessions() as session:
        interview = await session.get(Interview, begun.interview_id)
        answers = await session.scalar(
            select(func.count())
            .select_from(AnswerRow)
            .where(AnswerRow.interview_id == begun.interview_id)
        )
    assert interview is not None
    assert (interview.channel, interview.status) == ("web", "in_progress")
    assert answers == 2  # one from the terminal, one from the browser, same interview


async def test_a_button_from_a_page_left_open_is_not_taken_for_a_question_it_never_showed(
    served: tuple[Runtime, TestClient],
) -> None:
    """A page opened on a question, whose form posts a button without saying whose it was
    (a page cached before those hidden fields), after the terminal moved on: looking up the
    button's label must not count as showing the page what is asked now (`bot.places`)."""
    runtime, client = served
    service = runtime.service
    begun = await service.begin_chat(channel="console", email=EMAIL, conversation_id=EMAIL)
    assert begun.interview_id is not None
    detailed = "The people in my team and the freedom to organise my own work"
    for n, text in enumerate(["Career growth", detailed, detailed]):
        await service.handle(Incoming("console", EMAIL, EMAIL, text, f"console-{n}"))
    token = await link_to(runtime, begun.interview_id)
    html = unescape(await (await client.get(f"/i/{token}")).text())
    assert "relationship with your manager" in html
    await service.handle(Incoming("console", EMAIL, EMAIL, "4", "console-3"))  # moves on

    form = {"csrf": csrf_of(html), "id": "form0001", "choice": "4"}  # no choice_on/_for
    response = await client.post(f"/i/{token}", data=form, headers={"Origin": origin_of(client)})

    assert response.status == 200
    page = unescape(await response.text())
    assert "went on in the terminal" in page and "recommend us as an employer" in page
    async with runtime.db.sessions() as session:
        recommend = await session.scalar(
            select(func.count()).select_from(AnswerRow).where(AnswerRow.question_id == "recommend")
        )
    assert recommend == 0
