"""One tick: periodic work, then every due job (claimed atomically), then the inbox.

The scheduler in `exitbot serve` runs this every `EXITBOT_TICK_SECONDS`; `exitbot tick`
runs it once. Any number of processes may tick at the same time on one database.

Feature modules plug in through `registry()`: each contributor adds job handlers by kind
(`registry.handlers["digest"] = ...`), periodic functions that `ensure_job` their next
run (`registry.periodic["digest"] = ...`), or hooks (`registry.on_unreachable`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import and_, delete

from bot import invites
from bot.db import StorageUnavailable
from bot.departures import WEBHOOK_ID_DAYS
from bot.jobs import (
    ClaimedJob,
    TickContext,
    TickRegistry,
    TickReport,
    claim,
    ensure_job,
    finish,
    worker_id,
)
from bot.metrics import Metrics
from bot.models import Job, SentMessage, WebhookEvent
from bot.runtime import Runtime

log = logging.getLogger(__name__)

MAX_JOBS_PER_TICK = 2000
# Finished jobs of these kinds are forgotten after 30 days; other modules' keys stay.
PURGEABLE_KINDS = (
    "invite",
    "remind_invite",
    "remind_idle",
    "expire",
    "close",
    "readdress",
    "purge_webhooks",
)

Contributor = Callable[[TickRegistry], None]


def contributors() -> list[Contributor]:
    """Modules that add job handlers, periodic work and hooks; add yours here."""
    from bot import approval_requests, digest_post, fallback, privacy, readdress

    return [
        invites.register,
        approval_requests.register,
        readdress.register,
        fallback.register,
        digest_post.register,
        privacy.register,
        _register_housekeeping,
    ]


def registry() -> TickRegistry:
    built = TickRegistry()
    for contribute in contributors():
        contribute(built)
    return built


async def run_tick(
    runtime: Runtime,
    now: datetime | None = None,
    *,
    registry_: TickRegistry | None = None,
    metrics: Metrics | None = None,
    worker: str | None = None,
    max_jobs: int = MAX_JOBS_PER_TICK,
    periodic: bool = True,
) -> TickReport:
    """Run all work due at `now` (default: the runtime's clock) once; returns what it did.
    `periodic=False` skips the registry's periodic functions (their own jobs still run):
    `exitbot serve` runs those once a minute however short its tick (`bot.scheduler`)."""
    ctx = TickContext(
        runtime=runtime,
        now=now or runtime.clock.now(),
        worker=worker or worker_id(),
        report=TickReport(),
        registry=registry_ or registry(),
        metrics=metrics,
    )
    for name, ensure in ctx.registry.periodic.items() if periodic else ():
        try:
            await ensure(ctx)
        except StorageUnavailable:
            raise
        except Exception:
            log.exception("periodic %s failed", name)
            _count_error(ctx, f"periodic:{name}")
    kinds = list(ctx.registry.handlers)
    lease = timedelta(seconds=runtime.settings.job_lease_seconds)
    while ctx.report.jobs_run < max_jobs:
        batch = await claim(runtime.db, ctx.worker, ctx.now, kinds=kinds, lease=lease)
        if not batch:
            break
        for job in batch:
            await _run_job(ctx, job)
    retry_after = timedelta(seconds=runtime.settings.inbox_retry_seconds)
    ctx.report.add("inbox messages redone", await runtime.service.process_pending(retry_after))
    return ctx.report


async def _run_job(ctx: TickContext, job: ClaimedJob) -> None:
    ctx.report.jobs_run += 1
    handler = ctx.registry.handlers[job.kind]
    try:
        again_at = await handler(ctx, job)
    except StorageUnavailable:
        raise  # the lease runs out and another tick picks the job up
    except Exception as exc:
        log.exception("job %s (%s) failed", job.id, job.kind)
        status = await finish(ctx.runtime.db, job, ctx.worker, ctx.now, error=exc)
        if status == "failed":
            ctx.report.add("jobs failed")
        _count_error(ctx, f"job:{job.kind}")
        return
    await finish(ctx.runtime.db, job, ctx.worker, ctx.now, again_at=again_at)


def _count_error(ctx: TickContext, where: str) -> None:
    if ctx.metrics is not None:
        ctx.metrics.errors.labels(where).inc()


# ---------------------------------------------------------------------- housekeeping


def _register_housekeeping(built: TickRegistry) -> None:
    built.handlers["purge_webhooks"] = purge_webhooks
    built.periodic["purge_webhooks"] = _ensure_daily_purge


async def ensure_daily(ctx: TickContext, kind: str) -> None:
    """Create today's job of `kind` once (keyed by the date), due now."""
    day = ctx.now.date().isoformat()
    async with ctx.runtime.db.transaction() as session:
        await ensure_job(session, kind=kind, key=f"{kind}:{day}", due_at=ctx.now, now=ctx.now)


async def _ensure_daily_purge(ctx: TickContext) -> None:
    await ensure_daily(ctx, "purge_webhooks")


async def purge_webhooks(ctx: TickContext, job: ClaimedJob) -> datetime | None:
    """Forget webhook ids, finished jobs and delivery keys older than 30 days."""
    cutoff = ctx.now - timedelta(days=WEBHOOK_ID_DAYS)
    async with ctx.runtime.db.transaction() as session:
        purged = await session.execute(
            delete(WebhookEvent).where(WebhookEvent.received_at < cutoff)
        )
        await session.execute(
            delete(Job).where(
                and_(
                    Job.kind.in_(PURGEABLE_KINDS),
                    Job.status.in_(("done", "cancelled", "failed")),
                    Job.done_at < cutoff,
                    Job.id != job.id,
                )
            )
        )
        await session.execute(delete(SentMessage).where(SentMessage.sent_at < cutoff))
    ctx.report.add("webhook ids purged", int(getattr(purged, "rowcount", 0) or 0))
    return None
