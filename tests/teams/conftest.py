"""Fixtures for the Teams tests: a fake Bot Connector and the app served over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest_asyncio

from tests.fakes import FakeBotConnector
from tests.teams.harness import TeamsHarness, open_harness, settings_for


@pytest_asyncio.fixture
async def connector() -> AsyncIterator[FakeBotConnector]:
    fake = FakeBotConnector()
    await fake.start()
    yield fake
    await fake.stop()


Factory = Callable[..., Awaitable[TeamsHarness]]


@pytest_asyncio.fixture
async def make_teams(connector: FakeBotConnector, sqlite_url: str) -> AsyncIterator[Factory]:
    """`await make_teams(database_url=..., **settings)`: the app with Teams on, served."""
    opened: list[TeamsHarness] = []

    async def make(database_url: str | None = None, **changes: Any) -> TeamsHarness:
        harness = await open_harness(connector, settings_for(database_url or sqlite_url, **changes))
        opened.append(harness)
        return harness

    yield make
    for harness in opened:
        await harness.server.close()


@pytest_asyncio.fixture
async def teams(make_teams: Factory) -> TeamsHarness:
    return await make_teams()
