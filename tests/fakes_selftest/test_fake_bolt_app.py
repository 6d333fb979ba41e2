"""A real slack_bolt AsyncApp, served by aiohttp on 127.0.0.1, driven like Slack does and
talking to FakeSlackAPI."""

import asyncio
import json
import time

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes import dm_event, serve_app, signed_headers

pytestmark = pytest.mark.asyncio

SECRET = "test-signing-secret"
FORM = "application/x-www-form-urlencoded"


def build_app(fake):
    # token only on the client: passing token= as well makes Bolt log a warning
    app = AsyncApp(
        signing_secret=SECRET, client=AsyncWebClient(token="xoxb-test", base_url=fake.base_url)
    )

    @app.event("message")
    async def on_message(event, say):
        await say(f"echo: {event['text']}")

    @app.action("answer")
    async def on_answer(ack, body, client, respond):
        await ack()
        await client.chat_update(
            channel=body["channel"]["id"],
            ts=body["container"]["message_ts"],
            text=f"answered {body['actions'][0]['value']}",
            blocks=[],
        )
        await respond("thanks")

    @app.command("/exit")
    async def on_command(ack, command):
        await ack(f"starting for {command['text']}")

    return app


@pytest_asyncio.fixture
async def bolt(fake_slack):
    app = build_app(fake_slack)

    async def endpoint(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    web_app = web.Application()
    web_app.router.add_post("/slack/events", endpoint)
    server = await serve_app(web_app)
    yield f"{server.root_url}/slack/events"
    await server.stop()


async def post(url, body: str, headers):
    async with aiohttp.ClientSession() as s, s.post(url, data=body.encode(), headers=headers) as r:
        return r.status, await r.text()


async def test_signed_dm_event_reaches_listener(bolt, fake_slack):
    body = json.dumps(dm_event("U1", "hallo", "D1", "Ev1", f"{time.time():.6f}"))
    status, _ = await post(bolt, body, signed_headers(SECRET, body))
    assert status == 200
    [call] = await fake_slack.wait_for("chat.postMessage")
    # say() uses the per-request client, which adds team_id as a default param
    assert call.args == {"channel": "D1", "text": "echo: hallo", "team_id": "T1"}
    assert call.token == "xoxb-test"
    # single-workspace AsyncApp calls auth.test lazily, before the listener
    assert fake_slack.calls[0].method == "auth.test"


async def test_bad_signature_is_401(bolt, fake_slack):
    body = json.dumps(dm_event("U1", "hallo", "D1", "Ev2", f"{time.time():.6f}"))
    status, _ = await post(bolt, body, signed_headers("wrong-secret", body))
    assert status == 401
    stale = signed_headers(SECRET, body, timestamp=int(time.time()) - 600)
    status, _ = await post(bolt, body, stale)
    assert status == 401
    assert fake_slack.calls == []


async def test_own_message_ignored(bolt, fake_slack):
    body = json.dumps(dm_event("UBOT", "mine", "D1", "Ev3", f"{time.time():.6f}"))
    status, _ = await post(bolt, body, signed_headers(SECRET, body))
    assert status == 200
    await fake_slack.wait_for("auth.test")
    await asyncio.sleep(0.2)  # give a (wrongly) running listener time to post
    assert fake_slack.calls_to("chat.postMessage") == []


async def test_block_action_and_response_url(bolt, fake_slack):
    body = fake_slack.block_action_payload("U1", "D1", "1700000000.000100", "answer", "good")
    status, _ = await post(bolt, body, signed_headers(SECRET, body, content_type=FORM))
    assert status == 200
    [upd] = await fake_slack.wait_for("chat.update")
    assert upd.args["ts"] == "1700000000.000100" and upd.args["text"] == "answered good"
    [resp] = await fake_slack.wait_for("response_url")
    assert resp.args["text"] == "thanks"


async def test_slash_command_ack_body(bolt, fake_slack):
    body = fake_slack.slash_command_body("U1", "/exit", "anna@example.com")
    status, text = await post(bolt, body, signed_headers(SECRET, body, content_type=FORM))
    assert status == 200
    assert text == "starting for anna@example.com"
