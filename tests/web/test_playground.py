"""The playground: only without a chat platform; a demo interview; the digest preview."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from html import unescape

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot import playground
from bot.app import create_app
from bot.clock import FrozenClock
from bot.config import Settings
from bot.models import Employee, Interview
from bot.runtime import Runtime
from bot.web_plugin import playground_enabled
from tests.web.conftest import START, csrf_of, make_settings, origin_of


def words(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


@pytest.fixture
async def platform_client(fast_sqlite_url: str) -> AsyncIterator[TestClient]:
    settings = make_settings(fast_sqlite_url, teams_enabled=True)  # anonymous local Teams
    runtime = Runtime.open(settings, clock=FrozenClock(START))
    client = TestClient(TestServer(create_app(runtime), host="127.0.0.1"))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


def test_only_without_a_chat_platform_unless_forced() -> None:
    bare = make_settings("sqlite://")
    slack = bare.with_(slack_bot_token="xoxb-test", slack_signing_secret="secret")
    teams = bare.with_(teams_enabled=True)
    assert playground_enabled(bare)
    assert not playground_enabled(slack) and not playground_enabled(teams)
    assert playground_enabled(slack.with_(playground="on"))
    assert not playground_enabled(bare.with_(playground="off"))
    assert Settings.from_env({"EXITBOT_PLAYGROUND": "on"}, None).playground == "on"


async def test_a_production_setup_has_no_playground(platform_client: TestClient) -> None:
    assert (await platform_client.get("/playground")).status == 404
    assert (await platform_client.post("/playground/interviews")).status in (404, 405)


async def test_the_servers_address_opens_the_playground(client: TestClient) -> None:
    response = await client.get("/", allow_redirects=False)
    assert response.status == 302 and response.headers["Location"] == "/playground"


async def test_with_a_platform_the_servers_address_lists_what_it_answers(
    platform_client: TestClient,
) -> None:
    response = await platform_client.get("/")
    assert response.status == 200 and response.content_type == "text/plain"
    listed = {line.split()[0] for line in (await response.text()).splitlines() if line[:3] == "  /"}
    assert listed == {"/api/messages", "/webhooks/departures"}  # not the probes


async def test_the_playground_starts_a_demo_interview(runtime: Runtime, client: TestClient) -> None:
    response = await client.get("/playground")
    assert response.status == 200
    assert response.headers["X-Frame-Options"] == "DENY"
    html = unescape(await response.text())
    assert "Try an interview as a departing employee" in html
    assert "Preview the HR digest" in html and "at least 3" in html
    form = {"csrf": csrf_of(html), "lang": "nl"}
    response = await client.post(
        "/playground/interviews",
        data=form,
        headers={"Origin": origin_of(client)},
        allow_redirects=False,
    )
    assert response.status == 303
    location = response.headers["Location"]
    assert location.startswith("/i/")
    page = unescape(await (await client.get(location)).text())
    assert '<html lang="nl">' in page
    assert "Hoi! Ik ben ExitBot" in page and "msg-question" in page  # the intro, then Q1
    async with runtime.db.sessions() as session:
        employee = (await session.scalars(select(Employee))).one()
        interview = (await session.scalars(select(Interview))).one()
    assert employee.email.endswith("@playground.invalid")
    assert (interview.status, interview.language) == ("in_progress", "nl")


async def test_playground_forms_refuse_cross_site_posts(client: TestClient) -> None:
    html = await (await client.get("/playground")).text()
    response = await client.post(
        "/playground/interviews",
        data={"csrf": csrf_of(html), "lang": "en"},
        headers={"Origin": "https://evil.example"},
        allow_redirects=False,
    )
    assert response.status == 403
    response = await client.post(
        "/playground/demo-data", data={"csrf": "0" * 64}, allow_redirects=False
    )
    assert response.status == 403


async def test_demo_interviews_fill_the_digest_preview(
    runtime: Runtime, client: TestClient
) -> None:
    before = unescape(await (await client.get("/playground")).text())
    assert "0 completed demo interview(s)" in words(before)
    response = await client.post(
        "/playground/demo-data",
        data={"csrf": csrf_of(before)},
        headers={"Origin": origin_of(client)},
        allow_redirects=False,
    )
    assert response.status == 303 and response.headers["Location"] == "/playground#digest"
    after = words(unescape(await (await client.get("/playground")).text()))
    assert "3 completed demo interview(s) this period" in after
    report = await playground.preview_digest(runtime)
    assert report is not None
    assert report.title in after
    for section in report.sections:
        assert section.heading in after
