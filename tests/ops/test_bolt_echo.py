"""The load benchmark's reference, the bare Bolt echo app (bench/load/bolt_echo.py), through
the real Bolt app with signed requests against the fake Slack Web API: it echoes each DM,
and its Web API client keeps one connection the way ExitBot's does, unless asked not to."""

from __future__ import annotations

import json

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bench.load.bolt_echo import build
from tests.fakes.slack_api import FakeSlackAPI, dm_event, signed_headers

SECRET = "echo-signing-secret"


async def echo_turns(session_kind: str, texts: list[str]) -> FakeSlackAPI:
    """POST each text as a signed DM, one after the other, each after the previous echo."""
    fake = FakeSlackAPI()
    await fake.start()
    server = TestServer(build(fake.base_url, SECRET, "xoxb-echo", session=session_kind))
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            for n, text in enumerate(texts, start=1):
                body = json.dumps(dm_event("U1", text, "D1", f"Ev{n}", f"1700000000.{n:06d}"))
                async with http.post(
                    server.make_url("/slack/events"),
                    data=body,
                    headers=signed_headers(SECRET, body),
                ) as response:
                    assert response.status == 200
                await fake.wait_for("chat.postMessage", count=n)
    finally:
        await server.close()
        await fake.stop()
    return fake


async def test_the_reference_echoes_over_one_kept_connection_like_exitbot() -> None:
    texts = ["start", "Career growth", "4", "Maybe"]
    fake = await echo_turns("shared", texts)
    posts = fake.calls_to("chat.postMessage")
    assert [(c.args["channel"], c.args["text"]) for c in posts] == [("D1", t) for t in texts]
    peers = {c.peer for c in fake.calls}  # auth.test and every post
    assert None not in peers
    assert len(peers) == 1, peers


async def test_per_call_sessions_open_a_connection_for_every_web_api_call() -> None:
    """slack_sdk's default, and the reference of runs 1-30: kept for comparing with them."""
    fake = await echo_turns("per-call", ["start", "Career growth", "4"])
    assert len(fake.calls_to("chat.postMessage")) == 3
    assert len({c.peer for c in fake.calls}) == len(fake.calls) == 4  # auth.test + 3 posts


def test_an_unknown_session_kind_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="'pooled'"):
        build("http://127.0.0.1:9/api/", SECRET, "xoxb-echo", session="pooled")
