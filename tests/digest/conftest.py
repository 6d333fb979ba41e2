from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.clock import FrozenClock
from bot.runtime import Runtime
from tests.digest.support import NOV, ReportChannel, settings_for


@pytest.fixture
async def rt(sqlite_url: str) -> AsyncIterator[Runtime]:
    """A runtime on SQLite with a recording Slack double as the HR channel's platform."""
    runtime = Runtime.open(
        settings_for(sqlite_url),
        clock=FrozenClock(NOV),
        channels={"slack": ReportChannel(), "console": ReportChannel("console")},
    )
    try:
        yield runtime
    finally:
        await runtime.close()


@pytest.fixture
async def rt_any(database_url: str) -> AsyncIterator[Runtime]:
    """The same on every backend (SQLite, and PostgreSQL when configured)."""
    runtime = Runtime.open(
        settings_for(database_url),
        clock=FrozenClock(NOV),
        channels={"slack": ReportChannel(), "console": ReportChannel("console")},
    )
    try:
        yield runtime
    finally:
        await runtime.close()
