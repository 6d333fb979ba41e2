"""Fixtures for the Slack tests: a fake Slack Web API and the app served over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest_asyncio

from tests.fakes import FakeSlackAPI
from tests.slack.harness import (
    ADMIN,
    ADMIN_ID,
    ANNA,
    ANNA_ID,
    SlackHarness,
    open_harness,
    settings_for,
)


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeSlackAPI]:
    api = FakeSlackAPI()
    api.add_user(ADMIN_ID, ADMIN, "Hanna Admin", locale="en-GB")
    api.add_user(ANNA_ID, ANNA, "Anna de Vries", locale="en-GB", tz="Europe/Amsterdam")
    await api.start()
    yield api
    await api.stop()


Factory = Callable[..., Awaitable[SlackHarness]]


@pytest_asyncio.fixture
async def make_slack(fake: FakeSlackAPI, sqlite_url: str) -> AsyncIterator[Factory]:
    """`await make_slack(database_url=..., **settings)`: the app with Slack on, served."""
    opened: list[SlackHarness] = []

    async def make(database_url: str | None = None, **changes: Any) -> SlackHarness:
        harness = await open_harness(
            fake, settings_for(database_url or sqlite_url, fake, **changes)
        )
        opened.append(harness)
        return harness

    yield make
    for harness in opened:
        await harness.server.close()


@pytest_asyncio.fixture
async def slack(make_slack: Factory) -> SlackHarness:
    return await make_slack()
