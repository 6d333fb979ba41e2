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
from tests.web.conftest import START, api_post, csrf_of, link_to, make_settings

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
