"""Shared plumbing for the fake platform servers: an aiohttp app on 127.0.0.1:<ephemeral>.

Both fakes run *in the test's event loop* (no thread). That is fine for every SDK call that
is async all the way down (slack_sdk's AsyncWebClient uses aiohttp; botframework's async
ConnectorClient runs ``requests`` in a thread-pool executor). It would dead-lock for SDK calls
that are synchronous and block the loop (see bot_connector.py: TeamsInfo.get_team_details /
get_team_channels / meeting calls use the *sync* TeamsConnectorClient).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

from aiohttp import web

T = TypeVar("T")


class LocalServer:
    """Runs an ``aiohttp.web.Application`` on 127.0.0.1 with an OS-assigned port."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        if self.port is None:
            raise RuntimeError("server not started")
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        if self._runner is not None:
            return
        runner = web.AppRunner(self.app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        # the bound socket of the (only) site
        sockets = [s for s in site._server.sockets]  # type: ignore[union-attr]
        self.port = sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self):
        await self.start()
        return self

    async def __aexit__(self, *exc):
        await self.stop()


async def serve_app(app: web.Application) -> LocalServer:
    """Start ``app`` on 127.0.0.1:<ephemeral>; ``await server.stop()`` when done."""
    server = LocalServer(app)
    await server.start()
    return server


async def poll_until(
    predicate: Callable[[], T | None],
    timeout: float,  # noqa: ASYNC109 (part of the test API)
    describe: Callable[[], str],
) -> T:
    """Await until ``predicate()`` returns something truthy; AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s: {describe()}")
        await asyncio.sleep(0.01)
