"""The scheduler plugin: APScheduler in the running loop, one in-memory tick job, stopped on
cleanup. (The tick's work itself is tested on a frozen clock, never by waiting.)"""

from __future__ import annotations

import asyncio
import inspect
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from apscheduler.jobstores.memory import MemoryJobStore

from bot import scheduler as scheduler_mod
from bot.clock import FrozenClock
from bot.db import StorageUnavailable
from bot.jobs import TickReport
from bot.runtime import Runtime
from bot.scheduler import SCHEDULER
from tests.support.departures import (
    fast_sqlite_url_fixture,  # noqa: F401
    harness,
)


async def test_scheduler_runs_one_tick_job_and_stops(fast_sqlite_url: str) -> None:
    async with harness(fast_sqlite_url, datetime(2026, 12, 1, tzinfo=UTC), tick_seconds=30.0) as h:
        assert h.client.app is not None
        scheduler = h.client.app[SCHEDULER]
        assert scheduler.running
        [job] = scheduler.get_jobs()
        assert (job.id, job.max_instances, job.coalesce) == ("exitbot-tick", 1, True)
        assert job.misfire_grace_time == 60
        assert job.trigger.interval.total_seconds() == 30
        assert all(isinstance(store, MemoryJobStore) for store in scheduler._jobstores.values())
        assert inspect.iscoroutinefunction(job.func)  # awaited in the loop, not in a thread
    assert not scheduler.running


async def test_the_scheduled_job_runs_a_tick(
    fast_sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticked = asyncio.Event()

    async def fake_tick(runtime: Runtime, **kwargs: object) -> TickReport:
        assert kwargs["metrics"] is not None
        ticked.set()
        return TickReport()

    monkeypatch.setattr(scheduler_mod, "run_tick", fake_tick)
    async with harness(fast_sqlite_url, datetime(2026, 12, 1, tzinfo=UTC)) as h:
        assert h.client.app is not None
        scheduler = h.client.app[SCHEDULER]
        scheduler.get_job("exitbot-tick").modify(next_run_time=datetime.now(UTC))
        scheduler.wakeup()
        await asyncio.wait_for(ticked.wait(), timeout=10)  # fires at once: no interval wait


async def test_periodic_work_runs_once_a_minute_however_short_the_tick(
    fast_sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A one-second tick still claims jobs and redoes the inbox every second; the periodic
    functions (their queries) run on the first tick and then once a minute, again at once
    after a tick that failed or when the clock was set back."""
    asked: list[bool] = []
    fail = False

    async def fake_tick(runtime: Runtime, **kwargs: Any) -> TickReport:
        asked.append(kwargs["periodic"])
        assert kwargs["now"] == runtime.clock.now()
        if fail:
            raise StorageUnavailable("down")
        return TickReport()

    monkeypatch.setattr(scheduler_mod, "run_tick", fake_tick)
    start = datetime(2026, 12, 1, 9, tzinfo=UTC)
    async with harness(fast_sqlite_url, start) as h:
        assert h.client.app is not None
        clock = h.runtime.clock
        assert isinstance(clock, FrozenClock)
        ticker = scheduler_mod.Ticker(h.client.app, h.runtime)
        for seconds in (0, 1, 59, 60, 61, 119):
            clock.set(start + timedelta(seconds=seconds))
            await ticker.run()
        assert asked == [True, False, False, True, False, False]
        fail = True
        clock.set(start + timedelta(seconds=120))
        await ticker.run()  # periodic, but the database was away: due again
        fail = False
        clock.set(start + timedelta(seconds=121))
        await ticker.run()
        clock.set(start - timedelta(hours=1))  # set back: not "59 minutes from now"
        await ticker.run()
        assert asked[6:] == [True, True, True]
