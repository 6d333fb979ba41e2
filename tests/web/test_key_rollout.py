"""Two replicas on one database while a new encryption key rolls out: a chat page served by
one is accepted by the other. The web chat's CSRF tokens come from the encryption keys; the
first signs, and every configured key verifies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.clock import FrozenClock
from bot.crypto import Cipher
from bot.runtime import Runtime
from tests.web.conftest import START, api_post, csrf_of, link_to, make_settings, new_interview

OLD, NEW = Cipher.new_key(), Cipher.new_key()


@asynccontextmanager
async def replica(database_url: str, keys: str) -> AsyncIterator[tuple[Runtime, TestClient]]:
    runtime = Runtime.open(
        make_settings(database_url, encryption_key=keys), clock=FrozenClock(START)
    )
    client = TestClient(TestServer(create_app(runtime), host="127.0.0.1"))
    await client.start_server()
    try:
        yield runtime, client
    finally:
        await client.close()


async def test_a_page_from_one_replica_is_accepted_by_another_with_the_keys_reordered(
    fast_sqlite_url: str,
) -> None:
    """Step two of the rollout (README, "Keys"): A still has `old,new`, B already `new,old`.
    Each page carries a token the other replica accepts; with only the first key verifying,
    either side refused the other's pages (403: "This page is out of date")."""
    async with (
        replica(fast_sqlite_url, f"{OLD},{NEW}") as (rt_a, a),
        replica(fast_sqlite_url, f"{NEW},{OLD}") as (_, b),
    ):
        token = await link_to(rt_a, await new_interview(rt_a))
        from_a = csrf_of(await (await a.get(f"/i/{token}")).text())
        response = await api_post(b, token, from_a, text="start", message_id="m0000001")
        assert response.status == 200, await response.text()
        from_b = csrf_of(await (await b.get(f"/i/{token}")).text())
        assert from_b != from_a  # B signs with its first key
        response = await api_post(a, token, from_b, text="skip", message_id="m0000002")
        assert response.status == 200, await response.text()


async def test_a_token_from_an_unrelated_key_is_refused(fast_sqlite_url: str) -> None:
    async with (
        replica(fast_sqlite_url, OLD) as (rt_a, a),
        replica(fast_sqlite_url, Cipher.new_key()) as (_, stranger),
    ):
        token = await link_to(rt_a, await new_interview(rt_a))
        forged = csrf_of(await (await stranger.get(f"/i/{token}")).text())
        response = await api_post(a, token, forged, text="start")
        assert response.status == 403
