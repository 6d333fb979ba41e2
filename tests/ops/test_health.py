"""/healthz follows the database: 503 while PostgreSQL is unreachable, 200 once it is back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.config import Settings
from bot.crypto import Cipher
from bot.runtime import Runtime
from tests.support import pg
from tests.support.tcpproxy import proxied_postgres


@pytest.fixture
async def client(sqlite_url: str) -> AsyncIterator[TestClient]:
    rt = Runtime.open(Settings(database_url=sqlite_url, encryption_key=Cipher.new_key()))
    async with TestClient(TestServer(create_app(rt), host="127.0.0.1")) as c:
        yield c


async def test_healthz_and_metrics(client: TestClient) -> None:
    health = await client.get("/healthz")
    assert health.status == 200 and (await health.json())["status"] == "ok"
    metrics = await client.get("/metrics")
    assert metrics.status == 200
    body = await metrics.text()
    assert "exitbot_turn_seconds" in body and "exitbot_webhooks" in body
    assert metrics.headers["Content-Type"].startswith("text/plain")


@pytest.mark.postgres
async def test_healthz_follows_a_postgres_outage_without_restart() -> None:
    if pg.admin_url() is None:
        pytest.skip(f"needs {pg.ENV}")
    async with proxied_postgres() as (proxy, url):
        settings = Settings(database_url=url, encryption_key=Cipher.new_key())
        rt = await asyncio.to_thread(Runtime.open, settings)  # migrations go through the proxy
        async with TestClient(TestServer(create_app(rt), host="127.0.0.1")) as c:
            assert (await c.get("/healthz")).status == 200
            await proxy.stop()
            down = await c.get("/healthz")
            assert down.status == 503
            assert (await down.json())["database"] == "unreachable"
            await proxy.start()  # same port: the database is back
            assert (await c.get("/healthz")).status == 200
