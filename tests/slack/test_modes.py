"""HTTP mode, Socket Mode, or no Slack at all: the wiring follows the settings."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.app import create_app
from bot.metrics import Metrics
from bot.runtime import Runtime
from bot.slack_plugin import SLACK
from tests.fakes import dm_event, serve_app
from tests.slack.harness import ANNA_ID, SIGNING_SECRET, TOKEN, settings_for
from tests.slack.test_interview import invite


async def status_of(method: str, url: str) -> int:
    async with aiohttp.ClientSession() as session, session.request(method, url) as response:
        return response.status


async def test_http_mode_answers_slacks_url_verification(slack):
    assert slack.slack.socket_mode is False
    assert "slack" in slack.runtime.service.channels
    body = json.dumps(
        {"token": "t", "challenge": "3eZbrw1aBm2rZgRNFdxV", "type": "url_verification"}
    )
    status, text = await slack.post(body)
    assert status == 200 and "3eZbrw1aBm2rZgRNFdxV" in text


async def test_the_web_api_base_url_comes_from_the_settings(slack, fake):
    client = slack.slack.channel.client
    assert client.base_url == fake.base_url and client.base_url.endswith("/api/")
    assert client.token == TOKEN
    handlers = {type(h).__name__ for h in client.retry_handlers or []}
    assert handlers == {
        "AsyncConnectionErrorRetryHandler",
        "AsyncRateLimitErrorRetryHandler",
        "AsyncServerErrorRetryHandler",
    }


async def test_without_slack_settings_there_is_no_slack(fake, sqlite_url):
    settings = settings_for(sqlite_url, fake, slack_bot_token=None)
    runtime = Runtime.open(settings)
    app = create_app(runtime, metrics_=Metrics())
    assert SLACK not in app and "slack" not in runtime.service.channels
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        assert await status_of("POST", str(server.make_url("/slack/events"))) in (404, 405)
    finally:
        await server.close()


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        (
            {"slack_signing_secret": None},
            "SLACK_BOT_TOKEN is set, but neither SLACK_SIGNING_SECRET",
        ),
        ({"slack_bot_token": None}, "SLACK_SIGNING_SECRET is set, but SLACK_BOT_TOKEN is not"),
    ],
)
async def test_half_a_slack_configuration_is_said_not_ignored(
    fake, sqlite_url, caplog: pytest.LogCaptureFixture, changes: dict[str, None], says: str
) -> None:
    runtime = Runtime.open(settings_for(sqlite_url, fake, **changes))
    try:
        app = create_app(runtime, metrics_=Metrics())
        assert SLACK not in app
        warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any(m.startswith("Slack is off: " + says) for m in warned), warned
        assert not any(TOKEN in m or SIGNING_SECRET in m for m in warned)  # never the values
    finally:
        await runtime.close()


async def test_socket_mode_end_to_end(fake, sqlite_url):
    """SLACK_APP_TOKEN: no /slack/events; the app connects out over a WebSocket and the same
    listeners answer a DM delivered through it (acknowledged by envelope id)."""
    acks: list[dict[str, object]] = []
    acked = asyncio.Event()
    envelope = {
        "envelope_id": "env-1",
        "type": "events_api",
        "accepts_response_payload": False,
        "retry_attempt": 0,
        "retry_reason": "",
        "payload": dm_event("U7007", "hello?", "D7007", "EvSocket1", f"{time.time():.6f}"),
    }

    async def link(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"type": "hello", "num_connections": 1})
        await ws.send_json(envelope)
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                acks.append(json.loads(message.data))
                acked.set()
        return ws

    socket_app = web.Application()
    socket_app.router.add_get("/link", link)
    socket_server = await serve_app(socket_app)
    opened: list[str | None] = []

    def connections_open(args: dict[str, object]) -> dict[str, object]:
        opened.append("yes")
        return {"url": f"ws://127.0.0.1:{socket_server.port}/link"}

    fake.set_handler("apps.connections.open", connections_open)
    fake.add_user("U7007", "someone@example.com", "Someone", locale="en-US")
    settings = settings_for(
        sqlite_url, fake, slack_signing_secret=None, slack_app_token="xapp-1-test"
    )
    runtime = Runtime.open(settings)
    app = create_app(runtime, metrics_=Metrics())
    assert app[SLACK].socket_mode
    assert not [r for r in app.router.routes() if r.resource.canonical == "/slack/events"]
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        [reply] = await fake.wait_for("chat.postMessage")
        assert reply.args["channel"] == "D7007"
        assert "no interview open for you" in reply.args["text"]
        await asyncio.wait_for(acked.wait(), 5)
        assert acks[0]["envelope_id"] == "env-1"
        assert opened == ["yes"]
        assert fake.calls_to("apps.connections.open")[0].token == "xapp-1-test"
    finally:
        await server.close()
        await socket_server.stop()
    assert app[SLACK].socket is None  # closed on cleanup


async def test_socket_mode_does_not_hold_up_start_up(fake, sqlite_url):
    """Slack unreachable (bad app token): the rest of the server still starts."""
    fake.set_handler("apps.connections.open", lambda args: {"ok": False, "error": "invalid_auth"})
    settings = settings_for(
        sqlite_url, fake, slack_signing_secret=SIGNING_SECRET, slack_app_token="xapp-bad"
    )
    app = create_app(Runtime.open(settings), metrics_=Metrics())
    server = TestServer(app, host="127.0.0.1")
    await asyncio.wait_for(server.start_server(), 5)
    try:
        assert await status_of("GET", str(server.make_url("/healthz"))) == 200
    finally:
        await server.close()


async def test_the_server_keeps_one_http_session_for_the_slack_client(slack):
    """slack_sdk opens and closes an aiohttp session per call unless it is given one."""
    client = slack.slack.channel.client
    session = client.session
    assert session is not None and not session.closed  # opened when the server started
    await invite(slack)
    await slack.dm(ANNA_ID, "start")
    assert slack.fake.calls_to("chat.postMessage")  # the reply went out through it
    assert client.session is session and not session.closed


async def test_no_warning_about_the_token_bolt_finds_in_the_environment(
    fake, sqlite_url, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bolt reads SLACK_BOT_TOKEN itself and warns that ExitBot's client (made with that
    same token) wins: a warning on every start with nothing to act on."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    runtime = Runtime.open(settings_for(sqlite_url, fake))
    try:
        app = create_app(runtime, metrics_=Metrics())
        assert SLACK in app
        warned = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert not [m for m in warned if "will be unused" in m], warned
    finally:
        await runtime.close()
