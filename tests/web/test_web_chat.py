"""The interview page over HTTP: the invite, answers by JSON and by plain form, refusals."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from html import unescape

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from adapters.web import CSP
from bot import links
from bot.models import AnswerRow, Interview
from bot.runtime import Runtime
from bot.web_plugin import WEB_DESK
from tests.web.conftest import api_post, csrf_of, link_to, new_interview, origin_of


def assert_security_headers(response: object) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    assert headers["Content-Security-Policy"] == CSP
    assert "default-src 'self'" in CSP and "'unsafe-inline'" not in CSP
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Frame-Options"] == "DENY"


async def open_page(client: TestClient, token: str) -> str:
    response = await client.get(f"/i/{token}")
    assert response.status == 200
    assert_security_headers(response)
    assert response.headers["Cache-Control"] == "no-store"
    return await response.text()


async def test_a_fallback_link_opens_with_the_invite_in_the_interview_language(
    runtime: Runtime, client: TestClient
) -> None:
    interview_id = await new_interview(runtime, language="nl")
    token = await link_to(runtime, interview_id)
    html = await open_page(client, token)
    assert '<html lang="nl">' in html
    assert "Je exitgesprek" in html and "Hoi! Ik ben ExitBot" in html
    assert 'aria-live="polite"' in html and '<label for="text"' in html
    assert 'value="start"' in html and 'value="decline"' in html
    assert "<script>" not in html and "style=" not in html  # the CSP allows neither
    async with runtime.db.sessions() as session:
        interview = await session.get(Interview, interview_id)
    assert interview is not None
    assert (interview.status, interview.channel) == ("invited", "web")
    # Reloading shows the same invite and changes nothing.
    assert "Hoi! Ik ben ExitBot" in await open_page(client, token)


async def test_answers_by_json_run_the_interview(runtime: Runtime, client: TestClient) -> None:
    token = await link_to(runtime, await new_interview(runtime))
    csrf = csrf_of(await open_page(client, token))
    response = await api_post(client, token, csrf, text="Start", choice="start")
    assert response.status == 200
    assert_security_headers(response)
    data = await response.json()
    assert data["open"] is True and data["lang"] == "en"
    question = data["messages"][-1]
    assert question["kind"] == "question" and question["choices"]
    assert {"value", "label"} <= set(question["choices"][0])
    pick = question["choices"][0]
    response = await api_post(
        client, token, csrf, text=pick["label"], choice=pick["value"], message_id="m0000002"
    )
    assert response.status == 200
    first_reply = (await response.json())["messages"]
    async with runtime.db.sessions() as session:
        stored = await session.scalar(select(func.count()).select_from(AnswerRow))
    assert stored == 1
    # A retry of the same message (same id) is recognised: no second answer, the page is told
    # where the interview stands.
    again = await api_post(
        client, token, csrf, text=pick["label"], choice=pick["value"], message_id="m0000002"
    )
    assert again.status == 200
    retried = (await again.json())["messages"]
    # what is asked now, as the first reply said it; not "welcome back" (nobody went away)
    [asked] = retried
    assert asked["question_id"] == first_reply[-1]["question_id"] == "valued_most"
    assert first_reply[-1]["text"].endswith(asked["text"])  # the reply said "Thanks…" first
    assert not any("welcome back" in m["text"].lower() for m in retried)
    async with runtime.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(AnswerRow)) == 1


async def test_the_page_works_without_javascript(runtime: Runtime, client: TestClient) -> None:
    token = await link_to(runtime, await new_interview(runtime))
    html = await open_page(client, token)
    form = {"csrf": csrf_of(html), "id": "form0001", "text": "", "choice": "start"}
    response = await client.post(f"/i/{token}", data=form, headers={"Origin": origin_of(client)})
    assert response.status == 200
    html = await response.text()
    assert 'class="msg msg-you"' in html and "Start" in html  # the click, echoed
    assert "msg-question" in html
    form = {"csrf": csrf_of(html), "id": "form0002", "text": "skip"}
    response = await client.post(f"/i/{token}", data=form, headers={"Origin": origin_of(client)})
    assert response.status == 200 and "msg-question" in await response.text()


def buttons_origin(html: str) -> dict[str, str]:
    """The hidden fields saying whose buttons a page shows."""
    return dict(re.findall(r'name="(choice_on|choice_for)" value="([^"]*)"', html))


async def stored_answers(runtime: Runtime) -> list[tuple[str, str | None]]:
    async with runtime.db.sessions() as session:
        rows = await session.execute(
            select(AnswerRow.question_id, AnswerRow.value).order_by(AnswerRow.id)
        )
        return [(q, v) for q, v in rows]


async def test_a_second_tabs_old_button_changes_that_answer(
    runtime: Runtime, client: TestClient
) -> None:
    """Two tabs on one link (or the back button): the page still showing the first question's
    buttons posts one after that question was answered in the other. As on Slack and Teams,
    that changes the first answer; it must not become the answer to the question asked now."""
    token = await link_to(runtime, await new_interview(runtime))
    html = await open_page(client, token)
    assert buttons_origin(html) == {"choice_on": "intro", "choice_for": ""}
    post = {"headers": {"Origin": origin_of(client)}}
    form = {"csrf": csrf_of(html), "id": "form0001", "text": "", "choice": "start"}
    old_tab = await (await client.post(f"/i/{token}", data=form, **post)).text()  # type: ignore[arg-type]
    assert buttons_origin(old_tab) == {"choice_on": "question", "choice_for": "main_reason"}
    values = re.findall(r'name="choice" value="([a-z_]+)"', old_tab)
    assert "career_growth" in values and "pay_benefits" in values, values
    # the other tab answers, by JSON as chat.js does: now asking a free-text question
    csrf = csrf_of(old_tab)
    data = await (
        await api_post(client, token, csrf, text="Career growth", choice="career_growth",
                       extra={"choice_on": "question", "choice_for": "main_reason"})
    ).json()  # fmt: skip
    assert data["messages"][-1]["question_id"] == "valued_most"
    assert data["messages"][-1]["choices"] == []
    assert await stored_answers(runtime) == [("main_reason", "career_growth")]
    # the old tab's button: the no-JavaScript form with its hidden fields
    form = {"csrf": csrf, "id": "form0003", "text": "", "choice": "pay_benefits",
            **buttons_origin(old_tab)}  # fmt: skip
    after = unescape(await (await client.post(f"/i/{token}", data=form, **post)).text())  # type: ignore[arg-type]
    echoed = re.findall(r'msg-you.*?class="bubble">(.*?)</div>', after, re.S)
    assert echoed == ["Pay and benefits"]  # the old question's label, not "pay_benefits"
    changed = after.index("I've changed your earlier answer to “Pay and benefits”")
    assert after.index("What did you value most about working here?", changed)  # asked again
    assert await stored_answers(runtime) == [("main_reason", "pay_benefits")]
    # the same by JSON (a second tab with chat.js)
    data = await (
        await api_post(client, token, csrf, text="Career growth", choice="career_growth",
                       message_id="m0000004",
                       extra={"choice_on": "question", "choice_for": "main_reason"})
    ).json()  # fmt: skip
    texts = [m["text"] for m in data["messages"]]
    assert any("I've changed your earlier answer" in t for t in texts), texts
    assert data["messages"][-1]["question_id"] == "valued_most"
    assert await stored_answers(runtime) == [("main_reason", "career_growth")]


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "http://127.0.0.1.evil.example"},
        {"Origin": "null", "Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ],
)
async def test_a_cross_site_post_is_refused(
    runtime: Runtime, client: TestClient, headers: dict[str, str]
) -> None:
    token = await link_to(runtime, await new_interview(runtime))
    csrf = csrf_of(await open_page(client, token))
    response = await api_post(
        client, token, csrf, text="Start", origin=headers.get("Origin"), headers=headers
    )
    assert response.status == 403
    form = {"csrf": csrf, "id": "form0001", "text": "Start"}
    response = await client.post(f"/i/{token}", data=form, headers=headers)
    assert response.status == 403
    html = await response.text()
    assert "This request was blocked" in html and "Traceback" not in html
    async with runtime.db.sessions() as session:
        interview = (await session.scalars(select(Interview))).one()
    assert interview.status == "invited"  # nothing was answered


async def test_posts_need_this_pages_csrf_token(runtime: Runtime, client: TestClient) -> None:
    token = await link_to(runtime, await new_interview(runtime))
    other = await link_to(runtime, await new_interview(runtime, email="bob@example.com"))
    own = csrf_of(await open_page(client, token))
    foreign = csrf_of(await open_page(client, other))
    assert (await api_post(client, token, foreign, text="Start")).status == 403
    assert (await api_post(client, token, "", text="Start")).status == 403
    plain = await client.post(
        f"/i/{token}/messages",
        data='{"id": "m0000001", "text": "Start"}',
        headers={"Content-Type": "text/plain", "X-CSRF-Token": own},
    )
    assert plain.status == 415  # a cross-site form can only send text/plain or form types
    no_header = await client.post(f"/i/{token}/messages", json={"id": "m0000001", "text": "Start"})
    assert no_header.status == 403
    assert (await api_post(client, token, own, text="Start")).status == 200


async def test_unknown_tokens_get_a_friendly_404(client: TestClient) -> None:
    for path in (f"/i/{links.new_token()}", "/i/short", "/i/%3Cscript%3E"):
        response = await client.get(path)
        assert response.status == 404
        assert_security_headers(response)
        html = unescape(await response.text())
        assert "This link doesn't work" in html and "Deze link werkt niet" in html
        assert "Traceback" not in html and "<script>" not in html
    response = await api_post(client, links.new_token(), "x" * 64, text="hi")
    assert response.status == 404 and (await response.json()) == {"error": "unknown"}


async def test_expired_and_closed_links_get_a_friendly_410(
    runtime: Runtime, client: TestClient
) -> None:
    expiring = await link_to(runtime, await new_interview(runtime, expires_in=timedelta(hours=1)))
    closed_id = await new_interview(runtime, email="bob@example.com", language="nl")
    closed = await link_to(runtime, closed_id)
    async with runtime.db.transaction() as session:
        interview = await session.get(Interview, closed_id)
        assert interview is not None
        interview.status = "completed"
    runtime.clock.advance(timedelta(hours=2))  # type: ignore[attr-defined]
    response = await client.get(f"/i/{expiring}")
    assert response.status == 410
    assert "This link is no longer active" in await response.text()
    response = await client.get(f"/i/{closed}")
    assert response.status == 410
    html = await response.text()
    assert 'lang="nl"' in html and "Deze link is niet meer actief" in html
    response = await api_post(client, closed, "0" * 64, text="hallo")
    assert response.status == 410 and (await response.json()) == {"error": "expired"}


async def test_a_failure_shows_a_friendly_page_not_a_traceback(
    runtime: Runtime, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = await link_to(runtime, await new_interview(runtime))
    assert client.app is not None
    desk = client.app[WEB_DESK]

    async def broken(interview_id: int) -> None:
        raise RuntimeError("boom: secret internals")

    monkeypatch.setattr(desk, "view", broken)
    response = await client.get(f"/i/{token}")
    assert response.status == 500
    html = await response.text()
    assert "Something went wrong" in html and "boom" not in html and "Traceback" not in html


async def test_logs_show_neither_tokens_nor_answers(
    runtime: Runtime, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    token = await link_to(runtime, await new_interview(runtime, email="anna@example.com"))
    csrf = csrf_of(await open_page(client, token))
    await api_post(client, token, csrf, text="Start", choice="start")
    secret = "My manager Jan never listened to anything I said about the workload"
    await api_post(client, token, csrf, text=secret, message_id="m0000002")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert token not in logged and "anna@example.com" not in logged
    assert "never listened" not in logged


async def test_static_files_are_served_with_the_same_headers(client: TestClient) -> None:
    for name, kind in (("chat.js", "javascript"), ("chat.css", "css"), ("icon.svg", "svg")):
        response = await client.get(f"/static/web/{name}")
        assert response.status == 200 and kind in response.headers["Content-Type"]
        assert_security_headers(response)
    js = await (await client.get("/static/web/chat.js")).text()
    assert "innerHTML" not in js  # messages are inserted as text, never as markup
    assert not re.search(r"https?://", js)


async def test_an_unreadable_body_is_a_400_not_a_failure(
    runtime: Runtime, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Bad bytes in a form, or a Content-Encoding the body does not have: the sender's
    mistake, answered 400 (a page or a JSON code), with no error logged and nothing stored."""
    caplog.set_level(logging.INFO)
    token = await link_to(runtime, await new_interview(runtime))
    csrf = csrf_of(await open_page(client, token))
    form = {"Content-Type": "application/x-www-form-urlencoded", "Origin": origin_of(client)}
    response = await client.post(f"/i/{token}", data=b"\xff\xfe", headers=form)
    assert response.status == 400
    assert "That could not be read" in await response.text()
    response = await client.post(
        f"/i/{token}/messages",
        data=b'{"id": "m0000001", "text": "Start"}',
        headers={
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",  # it is not
            "X-CSRF-Token": csrf,
            "Origin": origin_of(client),
            "Connection": "close",  # the server drops a connection whose body it cannot read
        },
    )
    assert (response.status, await response.json()) == (400, {"error": "unreadable_body"})
    response = await client.post(
        f"/i/{token}/messages",
        data=b'{"id": "m0000001", "text": "\xff"}',
        headers={**form, "Content-Type": "application/json", "X-CSRF-Token": csrf},
    )
    assert (response.status, await response.json()) == (400, {"error": "unreadable_body"})
    response = await client.post("/playground/interviews", data=b"\xff", headers=form)
    assert response.status == 400
    # (aiohttp's server itself logs the content-encoding it could not undo, at its level)
    ours = [r for r in caplog.records if not r.name.startswith("aiohttp")]
    assert not [r for r in ours if r.levelno >= logging.ERROR]
    assert "web request refused: unreadable body" in [r.getMessage() for r in ours]
    async with runtime.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(AnswerRow)) == 0


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"id": "m0000001", "choice": "ZEBRA choice!"}, "bad_choice"),
        ({"id": "m0000001", "choice": 5}, "bad_choice"),
        ({"id": "m0000001", "choice": "start", "choice_on": "button"}, "bad_choice_on"),
        ({"id": "m0000001", "choice": "start", "choice_on": 3}, "bad_choice_on"),
        ({"id": "m0000001", "choice": "start", "choice_for": "Main Reason!"}, "bad_choice_for"),
        ({"id": "m0000001", "choice": "start", "choice_for": "q" * 33}, "bad_choice_for"),
        (
            {
                "id": "m0000001",
                "choice": "start",
                "choice_on": "question",
                "choice_for": "Main Reason!",
            },
            "bad_choice_for",
        ),
        ({"id": "m0000001", "text": 5}, "bad_text"),
        ({"id": "m0000001", "text": ["a"]}, "bad_text"),
        ({"id": "m0000001", "text": "  "}, "empty"),
    ],
)
async def test_the_api_names_what_is_wrong_with_an_answer(
    runtime: Runtime, client: TestClient, body: dict[str, object], code: str
) -> None:
    token = await link_to(runtime, await new_interview(runtime))
    csrf = csrf_of(await open_page(client, token))
    response = await client.post(
        f"/i/{token}/messages",
        json=body,
        headers={"X-CSRF-Token": csrf, "Origin": origin_of(client)},
    )
    assert (response.status, await response.json()) == (400, {"error": code})


async def test_after_stop_the_link_still_takes_delete_my_answers(
    runtime: Runtime, client: TestClient
) -> None:
    """The closing message offers "delete my answers": on a web link that must work too,
    as in a chat DM, until the link expires or retention purges the answers."""
    interview_id = await new_interview(runtime)
    token = await link_to(runtime, interview_id)
    csrf = csrf_of(await open_page(client, token))
    await api_post(client, token, csrf, text="Start", choice="start")
    first = (await (await api_post(client, token, csrf, text="Career growth", message_id="m2"
                                     + "0" * 6)).json())["messages"]  # fmt: skip
    assert first
    stopped = await (await api_post(client, token, csrf, text="stop", message_id="m3000000")).json()
    assert "delete my answers" in " ".join(m["text"] for m in stopped["messages"])
    assert stopped["open"] is True  # it says to type that: the page keeps its text box
    async with runtime.db.sessions() as session:
        assert (await session.get(Interview, interview_id)).status == "stopped"  # type: ignore[union-attr]
        assert await session.scalar(select(func.count()).select_from(AnswerRow)) == 1

    page = unescape(await open_page(client, token))  # the link still opens...
    assert "This conversation has ended" in page and 'name="text"' in page
    ask = await (await api_post(client, token, csrf, text="delete my answers",
                                message_id="m4000000")).json()  # fmt: skip
    confirm = ask["messages"][-1]
    assert confirm["choices"], confirm
    assert ask["open"] is True  # its buttons are shown
    yes = confirm["choices"][0]
    done = await api_post(client, token, csrf, text=yes["label"], choice=yes["value"],
                          message_id="m5000000")  # fmt: skip
    assert done.status == 200
    assert (await done.json())["open"] is False  # nothing left to say: the page ends
    async with runtime.db.sessions() as session:
        assert (await session.get(Interview, interview_id)).status == "deleted"  # type: ignore[union-attr]
        assert await session.scalar(select(func.count()).select_from(AnswerRow)) == 0
    assert (await client.get(f"/i/{token}")).status == 410  # ...and closes once deleted


async def test_a_long_paste_is_cut_with_a_notice_as_in_chat(
    runtime: Runtime, client: TestClient
) -> None:
    """The page cut answers at 4,000 characters before the engine saw them (the answer box
    and the server alike), so a long paste lost its end in silence; Slack and Teams say
    "I've saved the first 4000 characters". Now the page says it too, by JSON and by form."""
    token = await link_to(runtime, await new_interview(runtime))
    html = await open_page(client, token)
    maxlength = int(re.search(r'<textarea[^>]* maxlength="(\d+)"', html).group(1))  # type: ignore[union-attr]
    assert maxlength > 4000  # a longer paste reaches the server, which says it cut it
    csrf = csrf_of(html)
    await api_post(client, token, csrf, text="Start", choice="start")
    await api_post(client, token, csrf, text="Career growth", message_id="m0000002")
    pasted = "Ik heb veel geleerd van de klantprojecten en collega's. " * 100  # 5,600 chars
    reply = await (await api_post(client, token, csrf, text=pasted, message_id="m0000003")).json()
    assert "first 4000 characters" in reply["messages"][0]["text"]
    form = {"csrf": csrf, "id": "form0004", "text": "é " * 2500 + "x" * 1000}
    response = await client.post(f"/i/{token}", data=form, headers={"Origin": origin_of(client)})
    assert response.status == 200
    assert "first 4000 characters" in unescape(await response.text())
    async with runtime.db.sessions() as session:
        kept = (await session.scalars(select(AnswerRow).order_by(AnswerRow.id))).all()
    texts = [runtime.cipher.decrypt(a.text_enc) for a in kept if a.text_enc]
    assert len(texts[1]) == len(texts[2]) == 4000


async def test_a_full_box_of_three_byte_characters_is_taken_without_javascript(
    runtime: Runtime, client: TestClient
) -> None:
    """A form post percent-encodes each character: a full box of Chinese (9 bytes each) was
    refused as too large (413) instead of being taken and cut like any long answer."""
    token = await link_to(runtime, await new_interview(runtime))
    html = await open_page(client, token)
    maxlength = int(re.search(r'<textarea[^>]* maxlength="(\d+)"', html).group(1))  # type: ignore[union-attr]
    csrf = csrf_of(html)
    await api_post(client, token, csrf, text="Start", choice="start")
    await api_post(client, token, csrf, text="Career growth", message_id="m0000002")
    form = {"csrf": csrf, "id": "form0003", "text": "谢" * maxlength}
    response = await client.post(f"/i/{token}", data=form, headers={"Origin": origin_of(client)})
    assert response.status == 200, response.status
    assert "first 4000 characters" in unescape(await response.text())
    async with runtime.db.sessions() as session:
        kept = (await session.scalars(select(AnswerRow).order_by(AnswerRow.id))).all()
    assert runtime.cipher.decrypt(kept[-1].text_enc) == "谢" * 4000
