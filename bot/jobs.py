"""Due work as rows in `jobs`, claimed atomically by whichever process ticks first.

A job is identified by its idempotency key (`invite:42`, `expire:42`, `digest:2026-11`, ...):
creating it twice creates it once, and the key travels with every message the job sends, so
a job redone after a crash (its lease ran out) does not message anyone twice.

Claiming: PostgreSQL locks candidate rows with `FOR UPDATE SKIP LOCKED`; SQLite has no row
locks but runs every write transaction under `BEGIN IMMEDIATE`, so the conditional
`UPDATE ... WHERE id IN (SELECT ...) RETURNING` is atomic across processes sharing the file.
A claim carries a lease; a claimed job whose lease ran out is claimable again.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.models import Job, SentMessage

if TYPE_CHECKING:
    from adapters.base import Channel
    from bot.metrics import Metrics
    from bot.runtime import Runtime
    from conversations import OutMessage

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 5
CLAIM_BATCH = 20


def worker_id() -> str:
    """A name for this process in `jobs.claimed_by` (host, pid and a random suffix)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


async def release(db: Database, worker: str) -> int:
    """Hand back every job this worker still holds (graceful shutdown): due again at once."""
    async with db.transaction() as session:
        result = await session.execute(
            update(Job)
            .where(Job.status == "claimed", Job.claimed_by == worker)
            .values(status="due", claimed_by=None, lease_until=None)
        )
    released = int(getattr(result, "rowcount", 0) or 0)
    if released:
        log.info("released %d claimed job(s) on shutdown", released)
    return released


def insert_ignoring_conflicts(session: AsyncSession, model: type[Any]) -> Any:
    """`INSERT ... ON CONFLICT DO NOTHING` in the session's dialect."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


# ---------------------------------------------------------------------- creating and changing


async def ensure_job(
    session: AsyncSession,
    *,
    kind: str,
    key: str,
    due_at: datetime,
    now: datetime,
    interview_id: int | None = None,
    payload: dict[str, object] | None = None,
) -> bool:
    """Create a due job unless one with this key exists (in any status); True when created."""
    stmt = (
        insert_ignoring_conflicts(session, Job)
        .values(
            kind=kind,
            idempotency_key=key,
            interview_id=interview_id,
            due_at=due_at,
            status="due",
            attempts=0,
            payload=payload,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(Job.id)
    )
    return (await session.execute(stmt)).scalar() is not None


async def set_job(
    session: AsyncSession,
    *,
    kind: str,
    key: str,
    due_at: datetime,
    now: datetime,
    interview_id: int | None = None,
    payload: dict[str, object] | None = None,
) -> None:
    """Make the job with this key due at `due_at`: create it, or reschedule it (again)."""
    if await ensure_job(
        session,
        kind=kind,
        key=key,
        due_at=due_at,
        now=now,
        interview_id=interview_id,
        payload=payload,
    ):
        return
    await session.execute(
        update(Job)
        .where(Job.idempotency_key == key)
        .values(
            due_at=due_at,
            status="due",
            claimed_by=None,
            lease_until=None,
            attempts=0,
            done_at=None,
            last_error=None,
        )
        .execution_options(synchronize_session=False)
    )


async def cancel_jobs(
    session: AsyncSession,
    interview_id: int,
    now: datetime,
    kinds: Sequence[str] | None = None,
) -> int:
    """Cancel the interview's jobs that are still waiting; returns how many."""
    condition = and_(Job.interview_id == interview_id, Job.status == "due")
    if kinds is not None:
        condition = and_(condition, Job.kind.in_(kinds))
    result = await session.execute(
        update(Job)
        .where(condition)
        .values(status="cancelled", done_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


# ---------------------------------------------------------------------- claiming and finishing


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    """A snapshot of one claimed row; handlers get this, never the ORM object."""

    id: int
    kind: str
    key: str
    interview_id: int | None
    due_at: datetime
    attempts: int
    payload: dict[str, object]


async def claim(
    db: Database,
    worker: str,
    now: datetime,
    *,
    limit: int = CLAIM_BATCH,
    kinds: Sequence[str] | None = None,
    lease: timedelta = LEASE,
) -> list[ClaimedJob]:
    """Claim up to `limit` due jobs (oldest first) for `worker`; nobody else gets them."""
    claimable = or_(
        and_(Job.status == "due", Job.due_at <= now),
        and_(Job.status == "claimed", Job.lease_until < now),
    )
    if kinds is not None:
        claimable = and_(claimable, Job.kind.in_(kinds))
    candidates = select(Job.id).where(claimable).order_by(Job.due_at, Job.id).limit(limit)
    values = {
        "status": "claimed",
        "claimed_by": worker,
        "lease_until": now + lease,
        "attempts": Job.attempts + 1,
    }
    returned = (
        Job.id,
        Job.kind,
        Job.idempotency_key,
        Job.interview_id,
        Job.due_at,
        Job.attempts,
        Job.payload,
    )
    # Most ticks find nothing due. A plain read says so without a write transaction: on
    # SQLite that would hold the database's one write lock (and the turn writer waiting for
    # it) over several statements; on PostgreSQL it is a round trip less.
    async with db.sessions() as session:
        if await session.scalar(select(Job.id).where(claimable).limit(1)) is None:
            return []
    async with db.transaction() as session:
        if db.is_sqlite:
            # One conditional statement; BEGIN IMMEDIATE already excludes other writers.
            target = Job.id.in_(candidates.scalar_subquery())
        else:
            # Lock first, then update exactly those rows. (A locking subquery inside the
            # UPDATE may be re-run by the planner and claim more than `limit` rows.)
            ids = (await session.scalars(candidates.with_for_update(skip_locked=True))).all()
            if not ids:
                return []
            target = Job.id.in_(ids)
        rows = (
            await session.execute(
                update(Job)
                .where(target, claimable)
                .values(**values)
                .returning(*returned)
                .execution_options(synchronize_session=False)
            )
        ).all()
    jobs = [
        ClaimedJob(
            id=row.id,
            kind=row.kind,
            key=row.idempotency_key,
            interview_id=row.interview_id,
            due_at=row.due_at,
            attempts=row.attempts,
            payload=dict(row.payload or {}),
        )
        for row in rows
    ]
    return sorted(jobs, key=lambda job: (job.due_at, job.id))


async def finish(
    db: Database,
    job: ClaimedJob,
    worker: str,
    now: datetime,
    *,
    again_at: datetime | None = None,
    error: BaseException | None = None,
) -> str:
    """Record how a claimed job ended: done, deferred to `again_at`, or failed (retried with
    backoff until `MAX_ATTEMPTS`). A worker whose lease was taken over changes nothing."""
    values: dict[str, object] = {"claimed_by": None, "lease_until": None}
    if error is not None:
        if job.attempts >= MAX_ATTEMPTS:
            status = "failed"
            values.update(done_at=now)
        else:
            status = "due"
            values.update(due_at=now + timedelta(minutes=2 ** min(job.attempts, 6)))
        values.update(last_error=type(error).__name__[:300])
    elif again_at is not None:
        status = "due"
        values.update(due_at=again_at, attempts=0)
    else:
        status = "done"
        values.update(done_at=now)
    values["status"] = status
    async with db.transaction() as session:
        await session.execute(
            update(Job)
            .where(Job.id == job.id, Job.status == "claimed", Job.claimed_by == worker)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    return status


# ---------------------------------------------------------------------- idempotent delivery


async def was_sent(db: Database, key: str) -> bool:
    async with db.sessions() as session:
        return await session.get(SentMessage, key) is not None


async def send_once(
    runtime: Runtime,
    channel: Channel,
    conversation_id: str,
    messages: Sequence[OutMessage],
    *,
    key: str,
    fresh: bool = False,
) -> bool:
    """Send unless a message with this idempotency key was delivered before; True when sent.

    `fresh`: the caller knows (under a lock) that nothing went out for this key yet.
    """
    if not messages or (not fresh and await was_sent(runtime.db, key)):
        return False
    await channel.send(conversation_id, messages, key=key)
    await _mark_sent(runtime, key)
    return True


async def send_tracked_once(
    runtime: Runtime, channel: Channel, conversation_id: str, message: OutMessage, *, key: str
) -> str | None:
    """`send_once` for one message, returning the platform's id for it to change it later,
    on a channel with the optional `send_tracked` (`adapters.base.Channel`); None when it
    was sent before, or the channel cannot tell."""
    if await was_sent(runtime.db, key):
        return None
    send_tracked = getattr(channel, "send_tracked", None)
    message_id: str | None = None
    if send_tracked is None:
        await channel.send(conversation_id, [message], key=key)
    else:
        message_id = await send_tracked(conversation_id, message, key=key)
    await _mark_sent(runtime, key)
    return message_id or None


async def _mark_sent(runtime: Runtime, key: str) -> None:
    async with runtime.db.transaction() as session:
        await session.execute(
            insert_ignoring_conflicts(session, SentMessage)
            .values(key=key, sent_at=runtime.clock.now())
            .on_conflict_do_nothing(index_elements=["key"])
        )


# ---------------------------------------------------------------------- the tick's vocabulary


# Lines `exitbot tick` always prints, in this order; other modules add their own labels.
BASE_COUNTS = (
    "invites sent",
    "reminders sent",
    "interviews expired",
    "cancellation notices sent",
    "approval requests sent",
    "unreachable",
    "no chat channel",
    "webhook ids purged",
    "inbox messages redone",
    "jobs failed",
)


@dataclass(slots=True)
class TickReport:
    """What one tick did, as counts by a human-readable label."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(BASE_COUNTS, 0))
    jobs_run: int = 0

    def add(self, label: str, n: int = 1) -> None:
        self.counts[label] = self.counts.get(label, 0) + n

    def __getitem__(self, label: str) -> int:
        return self.counts.get(label, 0)

    def lines(self) -> list[str]:
        return [f"{label}: {count}" for label, count in self.counts.items()]


@dataclass(slots=True)
class TickContext:
    """Passed to every job handler, periodic function and hook during one tick."""

    runtime: Runtime
    now: datetime
    worker: str
    report: TickReport
    registry: TickRegistry
    metrics: Metrics | None = None


JobHandler = Callable[[TickContext, ClaimedJob], Awaitable[datetime | None]]
"""Runs one claimed job; returns None when done, or a moment to run it again (deferred)."""

Periodic = Callable[[TickContext], Awaitable[None]]
"""Runs at the start of every tick, e.g. to `ensure_job` the next digest or purge."""

InterviewHook = Callable[[TickContext, int, str], Awaitable[None]]
"""Called with (context, interview id, reason), e.g. to offer a web-chat link instead."""


@dataclass(slots=True)
class TickRegistry:
    """Job handlers by kind, periodic functions by name, and hooks; see `bot.tick.registry`."""

    handlers: dict[str, JobHandler] = field(default_factory=dict)
    periodic: dict[str, Periodic] = field(default_factory=dict)
    # An interview no chat platform could reach (status "unreachable", HR admins told).
    on_unreachable: list[InterviewHook] = field(default_factory=list)
    # An invite came due while no chat channel is configured (interview stays "scheduled").
    on_no_channel: list[InterviewHook] = field(default_factory=list)
