from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.clock import FrozenClock
from bot.runtime import Runtime
from tests.digest.support import NOV, ReportChannel, settings_for


def open_runtime(database_url: str) -> Runtime:
    """A runtime with a recording Slack double as the HR channel's platform, in November."""
    return Runtime.open(
        settings_for(database_url),
        clock=FrozenClock(NOV),
        channels={"slack": ReportChannel(), "console": ReportChannel("console")},
    )


@pytest.fixture
async def rt(sqlite_url: str) -> AsyncIterator[Runtime]:
    """On SQLite."""
    runtime = open_runtime(sqlite_url)
    try:
        yield runtime
    finally:
        await runtime.close()


@pytest.fixture
async def rt_any(database_url: str) -> AsyncIterator[Runtime]:
    """The same on every backend (SQLite, and PostgreSQL when configured)."""
    runtime = open_runtime(database_url)
    try:
        yield runtime
    finally:
        await runtime.close()
