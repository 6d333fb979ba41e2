"""One interview answered in Slack and on its web link (`bot.places`): an answer is only
taken in a place that shows the question it would answer. A message from the other place
(Slack after the page moved on, a page left open while Slack moved on) gets what is asked
now, shown there, and nothing is stored for it."""

from __future__ import annotations

import uuid
from html import unescape
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.models import AnswerRow, Interview
from tests.slack.harness import ANNA_ID, SlackHarness, buttons, find_button
from tests.slack.test_interview import DETAILED, DETAILED_NL, invite
from tests.web.conftest import csrf_of, link_to

OTHER = "Better tools and a clearer budget for training would have helped a lot"
MANAGER = "How would you rate the relationship with your manager"
RECOMMEND = "recommend us as an employer"


class Page:
    """Anna's interview page (`/i/<token>`) on a harness's server, over HTTP."""

    def __init__(self, server: TestServer, token: str) -> None:
        self.url = str(server.make_url(f"/i/{token}"))
        self.origin = str(server.make_url("/")).rstrip("/")
        self.csrf = ""

    async def open(self) -> str:
        """GET the page; its text (unescaped)."""
        async with aiohttp.ClientSession() as session, session.get(self.url) as response:
            assert response.status == 200
            html = unescape(await response.text())
        self.csrf = csrf_of(html)
        return html

    async def say(self, text: str = "", **extra: str) -> dict[str, Any]:
        """What chat.js sends (the JSON API); the answer."""
        body = {"id": uuid.uuid4().hex, "text": text, **extra}
        headers = {"X-CSRF-Token": self.csrf, "Origin": self.origin}
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{self.url}/messages", json=body, headers=headers) as response,
        ):
            assert response.status == 200, await response.text()
            data: dict[str, Any] = await response.json()
            return data

    async def submit(self, text: str) -> str:
        """The form without JavaScript, as the page was rendered; the page that comes back."""
        form = {"csrf": self.csrf, "id": uuid.uuid4().hex, "text": text}
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.url, data=form, headers={"Origin": self.origin}) as response,
        ):
            assert response.status == 200
            return unescape(await response.text())


async def answers(slack: SlackHarness) -> list[tuple[str, str]]:
    """(question, message key) of every answer row, in the order stored."""
    async with slack.runtime.db.sessions() as session:
        rows = await session.execute(
            select(AnswerRow.question_id, AnswerRow.message_key).order_by(AnswerRow.id)
        )
        return [(question, key) for question, key in rows]


async def page_for(slack: SlackHarness) -> Page:
    interview = await slack.interview()
    return Page(slack.server, await link_to(slack.runtime, interview.id))


async def started_in_slack(slack: SlackHarness) -> str:
    """Anna is invited in Slack, starts and answers the main reason there; the DM's id."""
    dm = slack.fake.dm_channel_id(ANNA_ID)
    await invite(slack)
    await slack.dm(ANNA_ID, "start")
    await slack.dm(ANNA_ID, "Career growth")
    assert "value most" in slack.messages(dm)[-1]["text"]
    return dm


def slack_keys(rows: list[tuple[str, str]]) -> list[str]:
    return [question for question, key in rows if key.startswith("slack:")]


async def test_slack_after_the_web_page_moved_on_shows_the_question_in_slack(
    make_slack: Any, database_url: str
) -> None:
    slack = await make_slack(database_url=database_url)
    dm = await started_in_slack(slack)
    page = await page_for(slack)
    assert "What did you value most" in await page.open()  # where Slack stands
    reply = await page.say(DETAILED)  # valued_most, answered on the page
    assert reply["messages"][-1]["question_id"] == "role_improvement"  # Slack never saw it
    posted = len(slack.messages(dm))

    await slack.dm(ANNA_ID, OTHER)  # meant for what Slack last asked (valued_most)

    assert [q for q, _ in await answers(slack)] == ["main_reason", "valued_most"]
    note, again = slack.messages(dm)[posted:]
    assert "went on on the web page" in note["text"] and "carry on here in Slack" in note["text"]
    assert "could have been better in your role" in again["text"]
    interview = await slack.interview()
    assert (interview.channel, interview.status) == ("slack", "in_progress")

    # Now Slack shows it: what is typed there is its answer
    await slack.dm(ANNA_ID, OTHER)
    assert slack_keys(await answers(slack)) == ["main_reason", "role_improvement"]
    assert MANAGER in slack.messages(dm)[-1]["text"]

    # The page, reloaded, moves on again; Slack's question shown again with its buttons
    assert MANAGER in await page.open()
    reply = await page.say("4")
    assert reply["messages"][-1]["question_id"] == "recommend"
    posted = len(slack.messages(dm))
    await slack.dm(ANNA_ID, "10")  # a valid answer to recommend, which Slack never showed
    assert "recommend" not in [q for q, _ in await answers(slack)]
    note, again = slack.messages(dm)[posted:]
    assert "went on on the web page" in note["text"]
    assert RECOMMEND in again["text"]
    assert [b["value"] for _, b in buttons(again)] == [str(n) for n in range(11)]
    block, _ = find_button(again, "8")
    assert block["block_id"].startswith("exitbot:q:recommend")
    await slack.answer_by_click(ANNA_ID, again, "8")
    assert slack_keys(await answers(slack))[-1] == "recommend"
    assert "working here again" in slack.messages(dm)[-1]["text"]
    assert not any("went on" in str(m["text"]) for m in slack.messages(dm)[posted + 2 :])


async def test_commands_work_from_the_place_that_is_behind(
    make_slack: Any, database_url: str
) -> None:
    """help, "delete my answers" mean the same whatever is asked: taken from Slack while
    the page is ahead (help shows, in Slack, the question the page asks)."""
    slack = await make_slack(database_url=database_url)
    dm = await started_in_slack(slack)
    page = await page_for(slack)
    await page.open()
    await page.say(DETAILED)  # the page moves on to role_improvement

    await slack.dm(ANNA_ID, "help")
    assert "skip this question" in slack.messages(dm)[-2]["text"]
    assert "could have been better in your role" in slack.messages(dm)[-1]["text"]
    assert not any("went on" in str(m["text"]) for m in slack.messages(dm))

    await page.say(DETAILED)  # the page moves on again (manager_relationship)
    await slack.dm(ANNA_ID, "delete my answers")
    assert "delete all your answers" in slack.messages(dm)[-1]["text"]
    await slack.dm(ANNA_ID, "yes")
    assert await answers(slack) == []
    assert (await slack.interview()).status == "deleted"


async def test_a_page_left_open_while_slack_moved_on_shows_where_it_is(
    make_slack: Any, database_url: str
) -> None:
    """The form of a page opened on an earlier question, sent after Slack answered it: not
    an answer to the question Slack asks now; the page that comes back shows that one."""
    slack = await make_slack(database_url=database_url)
    dm = await started_in_slack(slack)
    page = await page_for(slack)
    assert "What did you value most" in await page.open()
    # Opening the page takes nothing away from Slack: it still shows that question too
    await slack.dm(ANNA_ID, DETAILED)
    assert slack_keys(await answers(slack)) == ["main_reason", "valued_most"]
    assert "could have been better in your role" in slack.messages(dm)[-1]["text"]

    html = await page.submit(OTHER)  # the page still asks what Slack asked before

    assert [q for q, _ in await answers(slack)] == ["main_reason", "valued_most"]
    assert "went on in Slack" in html and "carry on here on the web page" in html
    assert "could have been better in your role" in html
    async with slack.runtime.db.sessions() as session:
        interview = await session.scalar(select(Interview))
    assert interview is not None and interview.channel == "web"

    # The page now shows it: its answer is taken
    page.csrf = csrf_of(html)
    reply = await page.say(OTHER)
    assert reply["messages"][-1]["question_id"] == "manager_relationship"
    assert [q for q, k in await answers(slack) if k.startswith("web:")] == ["role_improvement"]

    # Slack, behind, is shown that question (buttons and all) and answers it there
    await slack.dm(ANNA_ID, "4")  # meant for role_improvement, which Slack asked last
    assert "manager_relationship" not in [q for q, _ in await answers(slack)]
    assert "went on on the web page" in slack.messages(dm)[-2]["text"]
    assert [b["value"] for _, b in buttons(slack.messages(dm)[-1])] == ["1", "2", "3", "4", "5"]
    await slack.dm(ANNA_ID, "4")
    assert slack_keys(await answers(slack))[-1] == "manager_relationship"
    assert RECOMMEND in slack.messages(dm)[-1]["text"]

    # The page (chat.js) still asks manager_relationship: its "2" is not taken for
    # recommend; it is shown recommend, with its choices
    reply = await page.say("2")
    assert "recommend" not in [q for q, _ in await answers(slack)]
    texts = [m["text"] for m in reply["messages"]]
    assert "went on in Slack" in texts[0] and RECOMMEND in texts[-1]
    assert [c["value"] for c in reply["messages"][-1]["choices"]] == [str(n) for n in range(11)]
    assert reply["open"]
    reply = await page.say("", choice="8", choice_on="question", choice_for="recommend")
    assert "working here again" in reply["messages"][-1]["text"]
    async with slack.runtime.db.sessions() as session:
        query = select(AnswerRow.question_id, AnswerRow.value).order_by(AnswerRow.id)
        rows = (await session.execute(query)).all()
    assert [v for q, v in rows if q in ("manager_relationship", "recommend")] == ["4", "8"]


async def test_moving_once_and_staying_costs_one_notice_at_most(
    make_slack: Any, database_url: str
) -> None:
    """Someone who moves to the web page and stays there (and back to Slack, and stays)
    answers as ever: one notice at most, when a message came from the place behind."""
    slack = await make_slack(database_url=database_url)
    dm = await started_in_slack(slack)
    page = await page_for(slack)
    await page.open()
    for reply in [await page.say(DETAILED), await page.say(DETAILED), await page.say("4")]:
        assert not any("went on" in m["text"] for m in reply["messages"])
    assert RECOMMEND in reply["messages"][-1]["text"]
    # back in Slack for good: one notice, then answers
    await slack.dm(ANNA_ID, "8")
    await slack.dm(ANNA_ID, "8")
    await slack.dm(ANNA_ID, "Yes")
    said = [str(m["text"]) for m in slack.messages(dm)]
    assert sum("went on" in text for text in said) == 1
    assert [q for q, _ in await answers(slack)] == [
        "main_reason",
        "valued_most",
        "role_improvement",
        "manager_relationship",
        "recommend",
        "come_back",
    ]


async def test_a_dutch_interview_says_so_in_dutch(make_slack: Any, database_url: str) -> None:
    slack = await make_slack(database_url=database_url)
    user, email = "U2002", "piet@example.com"
    slack.fake.add_user(user, email, "Piet Jansen", locale="nl-NL")
    dm = slack.fake.dm_channel_id(user)
    await invite(slack, email)
    await slack.dm(user, "start")
    await slack.dm(user, "Doorgroeimogelijkheden")
    page = await page_for(slack)
    assert "Wat heb je het meest gewaardeerd" in await page.open()
    await page.say(DETAILED_NL)  # the page moves on

    await slack.dm(user, DETAILED_NL)
    note, again = slack.messages(dm)[-2:]
    assert note["text"].startswith("Dit gesprek is intussen op de webpagina verdergegaan")
    assert "Je kunt hier in Slack verder" in note["text"]
    assert again["text"].startswith("Wat had beter gekund in je rol")

    await slack.dm(user, DETAILED_NL)  # Slack moves on; the page is behind
    reply = await page.say(DETAILED_NL)
    said = reply["messages"][0]["text"]
    assert said.startswith("Dit gesprek is intussen in Slack verdergegaan")
    assert "Je kunt hier op de webpagina verder" in said
    assert [q for q, _ in await answers(slack)] == [
        "main_reason",
        "valued_most",
        "role_improvement",
    ]
