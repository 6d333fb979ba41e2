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


TOKEN = "metrics-0123456789abcdef"


@pytest.mark.parametrize(
    ("authorization", "status"),
    [
        (None, 401),
        ("Bearer wrong-0123456789abcdef", 401),
        (f"Basic {TOKEN}", 401),
        (f"Bearer {TOKEN}x", 401),
        (f"Bearer {TOKEN[:-1]}", 401),
        (f"Bearer {TOKEN}", 200),
        (f"bearer  {TOKEN} ", 200),
    ],
)
async def test_with_a_token_metrics_need_it_and_probes_do_not(
    sqlite_url: str, authorization: str | None, status: int
) -> None:
    """EXITBOT_METRICS_TOKEN: where Slack or Teams must reach the server, /metrics is on the
    internet too; Prometheus sends the token (`authorization: credentials`). /healthz stays
    open: load balancers and Docker's HEALTHCHECK send no header."""
    settings = Settings(
        database_url=sqlite_url, encryption_key=Cipher.new_key(), metrics_token=TOKEN
    )
    rt = Runtime.open(settings)
    async with TestClient(TestServer(create_app(rt), host="127.0.0.1")) as c:
        headers = {"Authorization": authorization} if authorization else {}
        response = await c.get("/metrics", headers=headers)
        assert response.status == status
        body = await response.text()
        if status == 200:
            assert "exitbot_turn_seconds" in body
        else:
            assert "exitbot_" not in body and "EXITBOT_METRICS_TOKEN" in body
            assert response.headers["WWW-Authenticate"].startswith("Bearer ")
        assert (await c.get("/healthz")).status == 200


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


@pytest.mark.parametrize("sent", [b"\xff\xfe-not-utf-8", TOKEN.encode() + b"\xff"])
async def test_a_token_that_is_not_utf8_is_refused_not_a_crash(
    sqlite_url: str, sent: bytes
) -> None:
    """aiohttp hands undecodable header bytes over as surrogates, which a plain encode()
    refuses: that was a 500 and a traceback in the log per request."""
    settings = Settings(
        database_url=sqlite_url, encryption_key=Cipher.new_key(), metrics_token=TOKEN
    )
    async with TestServer(create_app(Runtime.open(settings)), host="127.0.0.1") as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(
            b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            b"Authorization: Bearer " + sent + b"\r\n\r\n"
        )
        await writer.drain()
        status_line = await reader.readline()
        writer.close()
    assert status_line.split()[1] == b"401", status_line


@pytest.mark.parametrize(
    ("changes", "host", "warned"),
    [
        ({"slack_bot_token": "xoxb-1", "slack_signing_secret": "s"}, "0.0.0.0", True),
        ({"teams_enabled": True}, "10.0.0.5", True),
        ({"slack_bot_token": "xoxb-1", "slack_signing_secret": "s"}, "127.0.0.1", False),
        (
            {"slack_bot_token": "xoxb-1", "slack_signing_secret": "s", "metrics_token": TOKEN},
            "::",
            False,
        ),
        ({}, "0.0.0.0", False),  # no platform, links to 127.0.0.1: nobody outside is expected
        ({"public_url": "https://exitbot.example.com"}, "0.0.0.0", True),  # web links only
        ({"public_url": "http://localhost:3978"}, "0.0.0.0", False),
    ],
)
def test_serve_warns_when_metrics_are_open_where_platforms_reach(
    changes: dict[str, object], host: str, warned: bool
) -> None:
    from bot.cli.serve import open_metrics_warning

    warning = open_metrics_warning(Settings(**changes), host)  # type: ignore[arg-type]
    assert (warning is not None) == warned
    if warning:
        assert "EXITBOT_METRICS_TOKEN" in warning and host in warning
