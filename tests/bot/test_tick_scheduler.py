"""The scheduler plugin: APScheduler in the running loop, one in-memory tick job, stopped on
cleanup. (The tick's work itself is tested on a frozen clock, never by waiting.)"""

from __future__ import annotations

import asyncio
import inspect
from datetime import UTC, datetime

import pytest
from apscheduler.jobstores.memory import MemoryJobStore

from bot import scheduler as scheduler_mod
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
