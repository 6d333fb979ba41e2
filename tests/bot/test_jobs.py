"""The job queue on both backends: idempotent creation, atomic claims, leases, retries,
idempotent delivery, and the tick's registry."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot import jobs, tick
from bot.clock import FrozenClock
from bot.db import Database
from bot.jobs import ClaimedJob, TickContext
from bot.models import Job
from bot.runtime import Runtime
from conversations import OutMessage
from tests.support.departures import (
    RecordingChannel,
    fast_database_url,  # noqa: F401  (overrides the shared, slower `database_url`)
    fast_sqlite_url_fixture,  # noqa: F401
    settings_for,
)

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


@pytest.fixture
async def runtime(database_url: str) -> AsyncIterator[Runtime]:
    rt = Runtime.open(
        settings_for(database_url), clock=FrozenClock(NOW), channels={"slack": RecordingChannel()}
    )
    try:
        yield rt
    finally:
        await rt.close()


async def add(rt: Runtime, key: str, due_at: datetime = NOW, kind: str = "test") -> bool:
    async with rt.db.transaction() as session:
        return await jobs.ensure_job(session, kind=kind, key=key, due_at=due_at, now=NOW)


async def row(rt: Runtime, key: str) -> Job:
    async with rt.db.sessions() as session:
        found = await session.scalar(select(Job).where(Job.idempotency_key == key))
    assert found is not None
    return found


async def test_ensure_job_creates_once_and_set_job_reschedules(runtime: Runtime) -> None:
    assert await add(runtime, "a") is True
    assert await add(runtime, "a", NOW + timedelta(days=1)) is False
    assert (await row(runtime, "a")).due_at == NOW
    [job] = await jobs.claim(runtime.db, "w1", NOW, kinds=["test"])
    await jobs.finish(runtime.db, job, "w1", NOW)
    assert (await row(runtime, "a")).status == "done"
    async with runtime.db.transaction() as session:
        await jobs.set_job(session, kind="test", key="a", due_at=NOW + timedelta(hours=1), now=NOW)
    again = await row(runtime, "a")
    assert (again.status, again.due_at, again.attempts) == ("due", NOW + timedelta(hours=1), 0)


async def test_claim_takes_only_due_jobs_oldest_first(runtime: Runtime) -> None:
    await add(runtime, "later", NOW + timedelta(seconds=1))
    await add(runtime, "second", NOW - timedelta(minutes=1))
    await add(runtime, "first", NOW - timedelta(minutes=2))
    claimed = await jobs.claim(runtime.db, "w1", NOW)
    assert [j.key for j in claimed] == ["first", "second"]
    assert await jobs.claim(runtime.db, "w2", NOW) == []
    stored = await row(runtime, "first")
    assert (stored.status, stored.claimed_by, stored.lease_until, stored.attempts) == (
        "claimed",
        "w1",
        NOW + jobs.LEASE,
        1,
    )


async def test_a_claim_with_nothing_due_does_not_wait_for_the_write_lock(
    fast_sqlite_url: str,
) -> None:
    """Most ticks find nothing due: on SQLite they must not queue for the one write lock
    (held here by another process's transaction), nor hold it while they look."""
    rt = Runtime.open(settings_for(fast_sqlite_url), clock=FrozenClock(NOW), channels={})
    try:
        await add(rt, "tomorrow", NOW + timedelta(days=1))
        path = rt.db.sqlite_path
        assert path is not None
        other = sqlite3.connect(path, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # another writer, mid-transaction
            assert await asyncio.wait_for(jobs.claim(rt.db, "w1", NOW), 2) == []
            other.execute("ROLLBACK")
        finally:
            other.close()
        [job] = await jobs.claim(rt.db, "w1", NOW + timedelta(days=1))  # due: claimed
        assert job.key == "tomorrow"
    finally:
        await rt.close()


async def test_concurrent_claimers_never_share_a_job(database_url: str, runtime: Runtime) -> None:
    for n in range(60):
        await add(runtime, f"k{n}")
    others = [Database(database_url) for _ in range(3)]
    try:
        batches = await asyncio.gather(
            *(
                jobs.claim(db, f"w{i}", NOW, limit=7)
                for i, db in enumerate([runtime.db, *others] * 4)
            )
        )
    finally:
        for db in others:
            await db.dispose()
    keys = [job.key for batch in batches for job in batch]
    assert all(len(batch) <= 7 for batch in batches)
    assert len(keys) == len(set(keys))  # nobody got a job twice
    assert len(keys) == 60


async def test_expired_lease_is_claimable_again_and_the_old_worker_changes_nothing(
    runtime: Runtime,
) -> None:
    await add(runtime, "a")
    [first] = await jobs.claim(runtime.db, "w1", NOW)
    assert await jobs.claim(runtime.db, "w2", NOW + jobs.LEASE - timedelta(seconds=1)) == []
    [second] = await jobs.claim(runtime.db, "w2", NOW + jobs.LEASE + timedelta(seconds=1))
    assert (second.id, second.attempts) == (first.id, 2)
    await jobs.finish(runtime.db, first, "w1", NOW)  # w1 woke up late: ignored
    assert (await row(runtime, "a")).claimed_by == "w2"
    await jobs.finish(runtime.db, second, "w2", NOW)
    assert (await row(runtime, "a")).status == "done"


async def test_failures_back_off_then_fail(runtime: Runtime) -> None:
    await add(runtime, "a")
    moment = NOW
    for attempt in range(1, jobs.MAX_ATTEMPTS + 1):
        [job] = await jobs.claim(runtime.db, "w", moment)
        status = await jobs.finish(runtime.db, job, "w", moment, error=RuntimeError("boom"))
        stored = await row(runtime, "a")
        if attempt < jobs.MAX_ATTEMPTS:
            assert status == "due"
            assert stored.due_at == moment + timedelta(minutes=2**attempt)
            assert stored.last_error == "RuntimeError"
            moment = stored.due_at
        else:
            assert status == "failed"


async def test_send_once_delivers_each_key_once(runtime: Runtime) -> None:
    channel = runtime.service.channels["slack"]
    assert isinstance(channel, RecordingChannel)
    message = [OutMessage(kind="info", text="hello")]
    assert await jobs.send_once(runtime, channel, "D1", message, key="invite:1") is True
    assert await jobs.send_once(runtime, channel, "D1", message, key="invite:1") is False
    assert len(channel.sent) == 1 and channel.sent[0].key == "invite:1"


# ---------------------------------------------------------------------- the registry


async def test_other_modules_add_handlers_and_periodic_work(runtime: Runtime) -> None:
    ran: list[str] = []

    async def digest(ctx: TickContext, job: ClaimedJob) -> datetime | None:
        ran.append(job.key)
        ctx.report.add("digests posted")
        return None

    async def ensure_digest(ctx: TickContext) -> None:
        async with ctx.runtime.db.transaction() as session:
            await jobs.ensure_job(
                session, kind="digest", key="digest:2026-12", due_at=ctx.now, now=ctx.now
            )

    registry = tick.registry()
    registry.handlers["digest"] = digest
    registry.periodic["digest"] = ensure_digest
    first = await tick.run_tick(runtime, registry_=registry)
    second = await tick.run_tick(runtime, NOW + timedelta(minutes=1), registry_=registry)
    assert ran == ["digest:2026-12"]
    assert (first["digests posted"], second["digests posted"]) == (1, 0)
    assert "digests posted: 1" in first.lines()


async def test_a_tick_without_periodic_work_still_runs_due_jobs(runtime: Runtime) -> None:
    ran: list[str] = []

    async def periodic(ctx: TickContext) -> None:
        ran.append("periodic")

    async def handler(ctx: TickContext, job: ClaimedJob) -> datetime | None:
        ran.append(job.key)
        return None

    registry = tick.TickRegistry(handlers={"test": handler}, periodic={"p": periodic})
    await add(runtime, "a")
    await tick.run_tick(runtime, registry_=registry, periodic=False)
    assert ran == ["a"]
    await tick.run_tick(runtime, registry_=registry)
    assert ran == ["a", "periodic"]


async def test_unknown_kinds_wait_and_failures_are_retried(runtime: Runtime) -> None:
    await add(runtime, "mystery", kind="not_registered_here")
    calls = 0

    async def flaky(ctx: TickContext, job: ClaimedJob) -> datetime | None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("platform hiccup")
        return None

    registry = tick.TickRegistry(handlers={"flaky": flaky})
    await add(runtime, "f", kind="flaky")
    await tick.run_tick(runtime, registry_=registry)
    assert (await row(runtime, "f")).status == "due"
    await tick.run_tick(runtime, NOW + timedelta(minutes=3), registry_=registry)
    assert (await row(runtime, "f")).status == "done"
    assert (await row(runtime, "mystery")).status == "due"  # left for whoever handles it


async def test_deferred_job_runs_again_later(runtime: Runtime) -> None:
    async def wait_an_hour(ctx: TickContext, job: ClaimedJob) -> datetime | None:
        return ctx.now + timedelta(hours=1) if ctx.now < NOW + timedelta(hours=1) else None

    registry = tick.TickRegistry(handlers={"test": wait_an_hour})
    await add(runtime, "a")
    await tick.run_tick(runtime, registry_=registry)
    stored = await row(runtime, "a")
    assert (stored.status, stored.due_at) == ("due", NOW + timedelta(hours=1))
    await tick.run_tick(runtime, NOW + timedelta(hours=1), registry_=registry)
    assert (await row(runtime, "a")).status == "done"
