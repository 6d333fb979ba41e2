"""The in-process scheduler of `exitbot serve`: APScheduler drives a short tick.

APScheduler only keeps time (an in-memory interval job, never a persistent job store:
sharing one between processes runs jobs twice). The work itself lives in our `jobs`
table and is claimed atomically by `bot.tick.run_tick`, so any number of replicas can tick.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.app import METRICS
from bot.db import StorageUnavailable
from bot.jobs import release, worker_id
from bot.runtime import Runtime
from bot.tick import run_tick

log = logging.getLogger(__name__)

SCHEDULER = web.AppKey("scheduler", AsyncIOScheduler)
SHUTDOWN_WAIT = 5.0  # seconds a running tick may take to finish on shutdown
# The tick's periodic functions (make sure tomorrow's purge and the next digest have their
# job, look for departures past their last day, ...) run at most this often per process:
# a tick of a second (quick invites) would otherwise repeat their queries every second.
PERIODIC_EVERY = timedelta(minutes=1)


class Ticker:
    """Runs one tick at a time and remembers it, so shutdown can let it finish."""

    def __init__(self, app: web.Application, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime
        self.worker = worker_id()
        self.running: asyncio.Task[None] | None = None
        self.periodic_at: datetime | None = None  # when the periodic functions last ran

    def periodic_due(self, now: datetime) -> bool:
        if self.periodic_at is None:
            return True
        return not timedelta(0) <= now - self.periodic_at < PERIODIC_EVERY  # or clock set back

    async def run(self) -> None:
        self.running = asyncio.current_task()
        now = self.runtime.clock.now()
        periodic = self.periodic_due(now)
        try:
            report = await run_tick(
                self.runtime,
                now=now,
                metrics=self.app.get(METRICS),
                worker=self.worker,
                periodic=periodic,
            )
            if periodic:
                self.periodic_at = now  # not after a tick that failed: due again next tick
        except StorageUnavailable:
            log.warning("tick skipped: the database is unavailable")
            return
        except asyncio.CancelledError:
            # Shutdown ran out of patience; claimed jobs are handed back or their leases expire.
            log.info("tick cancelled by shutdown")
            return
        except Exception:
            log.exception("tick failed")
            return
        finally:
            self.running = None
        if report.jobs_run:
            done = ", ".join(line for line in report.lines() if not line.endswith(": 0"))
            log.info("tick: %d job(s); %s", report.jobs_run, done or "nothing to report")


def plugin(app: web.Application, runtime: Runtime) -> None:
    """Start the scheduler inside the running loop; stop it (and wait for a tick) on cleanup."""
    ticker = Ticker(app, runtime)
    seconds = runtime.settings.tick_seconds

    async def start(app: web.Application) -> None:
        scheduler = AsyncIOScheduler(timezone=UTC)
        scheduler.add_job(
            ticker.run,  # a coroutine function, so AsyncIOExecutor awaits it in the loop
            "interval",
            seconds=seconds,
            id="exitbot-tick",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(60, int(seconds * 2)),
        )
        scheduler.start()
        app[SCHEDULER] = scheduler
        log.info("scheduler started: a tick every %g s", seconds)

    async def stop(app: web.Application) -> None:
        scheduler = app.get(SCHEDULER)
        if scheduler is not None and scheduler.running:
            scheduler.shutdown(wait=False)
            await asyncio.sleep(0)  # AsyncIOScheduler shuts down on the loop's next turn
        task = ticker.running
        if task is not None and not task.done():
            try:
                await asyncio.wait_for(asyncio.shield(task), SHUTDOWN_WAIT)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
        try:
            await release(runtime.db, ticker.worker)
        except StorageUnavailable:
            log.warning("could not release claimed jobs: their leases will expire")

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
