"""Posting the digest to the HR channel exactly once per period, from any number of processes.

When: `EXITBOT_DIGEST_CRON` (5 fields, company time zone). The latest fire time at or before
now is the due *slot*; its id ("2026-12-01T09:00") is UNIQUE in `digests.slot`, so a slot is
claimed by exactly one process. A scheduled digest covers every unpublished fact up to the
month before the slot (a slot on 1 December covers November and anything carried over).

How a slot is posted (`digests.status`):
1. *claim + freeze*, one transaction: insert the slot's row (a racing process gets a unique
   violation, or waits on the row lock, and backs off). In the same transaction the cohort's
   facts are stamped with this digest's id and the figures computed over exactly those facts
   are stored in `figures`; status `posting`, `posted_at` = the attempt's start (its lease).
   Fewer than k facts: a `waiting` digest, facts left unstamped (they roll over). None at
   all: status `empty`, nothing is posted. No HR channel: status `pending`, nothing frozen;
   but the first slot a database ever sees, with nothing to report, is `empty` (`_before_start`).
2. *post*, outside any transaction: the report is rendered from the frozen figures.
3. *mark*: status `posted` (only if our lease still holds).

A post that raised, or a process that died between 1 and 3, leaves `posting` with an old
lease; the next tick after `LEASE` takes it over under the row lock and posts the same frozen
figures (never recomputed, so a retry can never reveal anything the first attempt did not).
Two concurrent ticks therefore post once. The one window for a duplicate is a process dying
after the platform accepted the message and before step 3 committed; the duplicate then
shows identical content.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.base import Channel
from bot.config import ConfigError, Settings
from bot.crontab import cron_trigger
from bot.digest import (
    DigestData,
    Scope,
    build_digest,
    count_facts,
    digest_frame,
    previous_figures,
    published_in,
    unpublished,
)
from bot.digest_quotes import select_quotes
from bot.digest_render import render_report
from bot.models import Digest, InterviewFact

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger

    from bot.jobs import TickContext, TickRegistry
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
FROZEN = ("posting", "posted")


# ---------------------------------------------------------------------- slots


@dataclass(frozen=True, slots=True)
class Slot:
    id: str  # "2026-12-01T09:00" (company time), or "manual:…" for `exitbot digest`
    through: str  # the last month covered, "2026-11"
    period_end: date  # its last day, or today for a manual digest
    window_end: datetime  # end of the period as a moment (UTC)


def _digest_trigger(cron: str, zone: ZoneInfo) -> CronTrigger:
    """EXITBOT_DIGEST_CRON as a trigger; a bad expression names the variable."""
    try:
        return cron_trigger(cron, zone)
    except ValueError as exc:
        raise ConfigError(f"EXITBOT_DIGEST_CRON is not a 5-field cron expression: {exc}") from None


def latest_fire(cron: str, zone: ZoneInfo, now: datetime) -> datetime | None:
    """The latest moment at or before `now` that the 5-field `cron` fires (in `zone`)."""
    trigger = _digest_trigger(cron, zone)
    now = now.astimezone(zone)
    for lookback in (
        timedelta(hours=2),
        timedelta(days=2),
        timedelta(days=40),
        timedelta(days=800),
    ):
        fire = trigger.get_next_fire_time(None, now - lookback)
        if fire is None or fire > now:
            continue
        while True:
            later = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
            if later is None or later > now:
                return fire.astimezone(UTC)
            fire = later
    return None


def fires_more_than_monthly(cron: str, zone: ZoneInfo, start: datetime) -> bool:
    """Whether `cron` fires twice within one calendar month (looked at over the year after
    `start`): weekly, daily, "1,15", ..."""
    trigger = _digest_trigger(cron, zone)
    seen: set[tuple[int, int]] = set()
    end = start + timedelta(days=400)
    fire = trigger.get_next_fire_time(None, start.astimezone(zone))
    while fire is not None and fire < end:
        month = (fire.year, fire.month)
        if month in seen:
            return True
        seen.add(month)
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return False


def schedule_warning(settings: Settings, now: datetime) -> str | None:
    """Said at start-up when EXITBOT_DIGEST_CRON fires more often than digests can change:
    a digest covers whole calendar months (a coarse period is a privacy choice)."""
    if not fires_more_than_monthly(settings.digest_cron, settings.zone, now):
        return None
    return (
        f"EXITBOT_DIGEST_CRON {settings.digest_cron!r} fires more than once a month, but "
        "digests cover whole calendar months: only its first firing after a month ends posts "
        "a digest with new figures; its other firings that month post nothing, or the same "
        "note that too few interviews are in"
    )


def next_fire(cron: str, zone: ZoneInfo, now: datetime) -> datetime | None:
    """The next moment after `now` that the 5-field `cron` fires (in `zone`), in UTC."""
    trigger = _digest_trigger(cron, zone)
    fire = trigger.get_next_fire_time(None, now.astimezone(zone) + timedelta(seconds=1))
    return fire.astimezone(UTC) if fire is not None else None


def _month_before(day: date) -> tuple[str, date]:
    last = day.replace(day=1) - timedelta(days=1)
    return last.strftime("%Y-%m"), last


def due_slot(settings: Settings, now: datetime) -> Slot | None:
    """The scheduled slot due at `now` (whether or not it was posted already)."""
    fire = latest_fire(settings.digest_cron, settings.zone, now)
    if fire is None:
        return None
    local = fire.astimezone(settings.zone)
    through, last_day = _month_before(local.date())
    start_of_month = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return Slot(local.strftime("%Y-%m-%dT%H:%M"), through, last_day, start_of_month.astimezone(UTC))


def settled_slot(settings: Settings, now: datetime) -> Slot:
    """Everything unpublished up to the end of last month (company time): HR's `digest
    preview`. It changes when a month ends or a digest is posted, never with one interview
    completed this month, so asking before and after someone's last day tells nothing."""
    local = now.astimezone(settings.zone)
    through, last_day = _month_before(local.date())
    start_of_month = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return Slot(
        f"settled:{local.strftime('%Y-%m')}", through, last_day, start_of_month.astimezone(UTC)
    )


def current_slot(settings: Settings, now: datetime) -> Slot:
    """Everything unpublished up to now: `exitbot digest` and its `--dry-run`."""
    local = now.astimezone(settings.zone)
    return Slot(
        f"manual:{local.strftime('%Y-%m-%dT%H:%M:%S')}",
        local.strftime("%Y-%m"),
        local.date(),
        now.astimezone(UTC),
    )


# ---------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class PostResult:
    slot: str
    # posted | waiting (posted: fewer than k) | empty | pending | busy | done | failed
    status: str


def hr_target(runtime: Runtime) -> tuple[Channel, str] | None:
    """The HR channel's adapter and the id within it, or None when not available."""
    setting = runtime.settings.hr_channel
    if not setting:
        return None
    platform, _, target = setting.partition(":")
    channel = runtime.service.channels.get(platform)
    return (channel, target) if channel is not None and target else None


# ---------------------------------------------------------------------- building a scope


async def _scope(
    session: AsyncSession, slot: Slot, cohort_id: int | None, *, demo: bool = False
) -> tuple[Scope, DigestData | None]:
    previous = None if demo else await previous_figures(session, before_id=cohort_id)
    cohort = (
        published_in(cohort_id) if cohort_id is not None else unpublished(slot.through, demo=demo)
    )
    return (
        Scope(
            cohort=cohort,
            through=slot.through,
            period_end=slot.period_end,
            window_end=slot.window_end,
            window_start=previous.window_end if previous else None,
            demo=demo,
        ),
        previous,
    )


async def preview(
    runtime: Runtime,
    now: datetime | None = None,
    *,
    actor: str = "preview",
    demo: bool = False,
    quotes: bool = True,
    settled: bool = False,
) -> DigestData:
    """The digest as it would be posted now; records nothing (but the access log for quotes).
    `demo`: the same over the playground's demo interviews only, and nothing real.
    `settled`: over what was completed up to the end of last month only (`settled_slot`)."""
    now = now or runtime.clock.now()
    slot = (settled_slot if settled else current_slot)(runtime.settings, now)
    async with runtime.db.sessions() as session:
        scope, previous = await _scope(session, slot, None, demo=demo)
        data = await build_digest(session, runtime.settings, scope, previous)
    if data.kind == "figures" and quotes:
        chosen = await select_quotes(
            runtime.db,
            runtime.cipher,
            runtime.settings,
            scope.cohort,
            seed=secrets.randbits(32),
            actor=actor,
            now=now,
        )
        data = data.with_quotes(chosen)
    return data


# ---------------------------------------------------------------------- claim and freeze


@dataclass(frozen=True, slots=True)
class _Claim:
    digest_id: int
    slot: str
    attempt: datetime
    figures: dict[str, object]


async def _freeze(
    session: AsyncSession, row: Digest, slot: Slot, runtime: Runtime, now: datetime
) -> _Claim | None:
    """Stamp the cohort and store its figures in `row`; None when there is nothing to post."""
    settings = runtime.settings
    waiting = await count_facts(session, unpublished(slot.through))
    if waiting < settings.min_group_size:
        # Said from this count alone: built again over what is unpublished, a fact confirmed
        # meanwhile by another replica (PostgreSQL, READ COMMITTED) made k, and figures went
        # out over facts never stamped, to be counted again next time (a difference of two
        # digests then shows the newcomer's answers).
        scope = Scope(unpublished(slot.through), slot.through, slot.period_end, slot.window_end)
        data = digest_frame(settings, scope, waiting)
    else:
        await session.execute(
            update(InterviewFact)
            .where(unpublished(slot.through))
            .values(digest_id=row.id)
            .execution_options(synchronize_session=False)
        )
        scope, previous = await _scope(session, slot, row.id)
        data = await build_digest(session, settings, scope, previous)
    if data.kind != "figures" and waiting >= settings.min_group_size:
        # Erasures between counting and stamping left fewer than k: release them again.
        await session.execute(
            update(InterviewFact)
            .where(InterviewFact.digest_id == row.id)
            .values(digest_id=None)
            .execution_options(synchronize_session=False)
        )
    figures: dict[str, object] = {**data.to_json(), "quote_seed": secrets.randbits(32)}
    row.figures = figures
    row.posted_at = now
    if data.kind == "empty":
        row.status = "empty"
        return None
    row.status = "posting"
    return _Claim(row.id, slot.id, now, figures)


async def _claim(
    runtime: Runtime, slot: Slot, now: datetime, *, can_post: bool
) -> _Claim | PostResult:
    db = runtime.db
    try:
        async with db.transaction() as session:
            row = Digest(slot=slot.id, status="pending", created_at=now, posted_at=now)
            session.add(row)
            await session.flush()
            # An older slot that never found an HR channel is covered by this one.
            await session.execute(
                update(Digest)
                .where(Digest.status == "pending", Digest.id != row.id)
                .values(status="superseded")
                .execution_options(synchronize_session=False)
            )
            if not can_post:
                if await _before_start(session, row, slot):
                    row.status = "empty"
                    return PostResult(slot.id, "empty")
                log.warning(
                    "digest %s is due but no HR channel is available (EXITBOT_HR_CHANNEL and "
                    "its chat platform); it stays pending",
                    slot.id,
                )
                return PostResult(slot.id, "pending")
            claim = await _freeze(session, row, slot, runtime, now)
            return claim or PostResult(slot.id, "empty")
    except IntegrityError:
        pass  # the slot exists: posted, being posted, or waiting for a channel
    async with db.transaction() as session:
        existing = await session.scalar(
            select(Digest).where(Digest.slot == slot.id).with_for_update()
        )
        if existing is None:
            return PostResult(slot.id, "busy")
        if existing.status == "pending":
            if not can_post:
                return PostResult(slot.id, "pending")
            claim = await _freeze(session, existing, slot, runtime, now)
            return claim or PostResult(slot.id, "empty")
        return _take_over(existing, now) or PostResult(
            slot.id, "busy" if existing.status == "posting" else "done"
        )


async def _before_start(session: AsyncSession, row: Digest, slot: Slot) -> bool:
    """Whether `slot` fired before ExitBot ran: it is the first scheduled slot this database
    ever sees (every tick records the slot due then, so none before means no tick ever ran)
    and nothing is waiting to be reported up to its month. A new install on 28 November
    finds the 1 November slot due (for October): nothing to announce, not a digest waiting
    for an HR channel. Its first digest is the 1 December one, for the days since install."""
    earlier = await session.scalar(
        select(Digest.id).where(Digest.id != row.id, Digest.slot.not_like("manual:%")).limit(1)
    )
    if earlier is not None:
        return False
    return await count_facts(session, unpublished(slot.through)) == 0


def _take_over(row: Digest, now: datetime) -> _Claim | None:
    """Claim a frozen digest whose last attempt's lease ran out (a crash or failed post)."""
    if row.status != "posting" or row.figures is None:
        return None
    if row.posted_at is not None and row.posted_at > now - LEASE:
        return None
    row.posted_at = now
    return _Claim(row.id, row.slot, now, dict(row.figures))


# ---------------------------------------------------------------------- posting


async def _post(
    runtime: Runtime, claim: _Claim, target: tuple[Channel, str], now: datetime
) -> PostResult:
    data = DigestData.from_json(claim.figures)
    if data.kind == "figures":
        seed = claim.figures.get("quote_seed")
        quotes = await select_quotes(
            runtime.db,
            runtime.cipher,
            runtime.settings,
            published_in(claim.digest_id),
            seed=seed if isinstance(seed, int) else 0,
            actor="digest",
            now=now,
        )
        data = data.with_quotes(quotes)
    channel, where = target
    try:
        await channel.post_report(where, render_report(data))
    except Exception as exc:
        log.warning(
            "digest %s: posting failed (%s); retried after the lease",
            claim.slot,
            type(exc).__name__,
        )
        return PostResult(claim.slot, "failed")
    async with runtime.db.transaction() as session:
        row = await session.get(Digest, claim.digest_id, with_for_update=True)
        if row is None or row.status != "posting" or row.posted_at != claim.attempt:
            log.warning(
                "digest %s: lease lost while posting; another process took over", claim.slot
            )
        else:
            row.status = "posted"
            row.posted_at = now
    log.info("digest %s posted (%s)", claim.slot, data.kind)
    return PostResult(claim.slot, "posted" if data.kind == "figures" else "waiting")


async def _retry_stale(
    runtime: Runtime, now: datetime, target: tuple[Channel, str]
) -> list[PostResult]:
    async with runtime.db.sessions() as session:
        ids = (
            await session.scalars(
                select(Digest.id)
                .where(Digest.status == "posting", Digest.posted_at < now - LEASE)
                .order_by(Digest.id)
            )
        ).all()
    results = []
    for digest_id in ids:
        async with runtime.db.transaction() as session:
            row = await session.get(Digest, digest_id, with_for_update=True)
            claim = _take_over(row, now) if row is not None else None
        if claim is not None:
            results.append(await _post(runtime, claim, target, now))
    return results


async def post_due_digest(runtime: Runtime, now: datetime | None = None) -> list[PostResult]:
    """Post the scheduled digest if its slot is due and unposted; retry stale posts first."""
    now = now or runtime.clock.now()
    target = hr_target(runtime)
    results = await _retry_stale(runtime, now, target) if target else []
    slot = due_slot(runtime.settings, now)
    if slot is None:
        return results
    async with runtime.db.sessions() as session:
        status = await session.scalar(select(Digest.status).where(Digest.slot == slot.id))
    if status in ("posted", "empty", "superseded") or (status == "pending" and target is None):
        return results
    claimed = await _claim(runtime, slot, now, can_post=target is not None)
    if isinstance(claimed, PostResult):
        return [*results, claimed]
    assert target is not None
    return [*results, await _post(runtime, claimed, target, now)]


async def post_digest_now(runtime: Runtime, now: datetime | None = None) -> PostResult:
    """`exitbot digest`: build and post the current digest now, recording the publication."""
    now = now or runtime.clock.now()
    target = hr_target(runtime)
    slot = current_slot(runtime.settings, now)
    if target is None:
        return PostResult(slot.id, "pending")
    claimed = await _claim(runtime, slot, now, can_post=True)
    if isinstance(claimed, PostResult):
        return claimed
    return await _post(runtime, claimed, target, now)


# ---------------------------------------------------------------------- the tick


def register(built: TickRegistry) -> None:
    """Tick contributor: every tick checks (cheaply) whether a digest slot is due."""
    built.periodic["digest"] = _tick_digest


async def _tick_digest(ctx: TickContext) -> None:
    for result in await post_due_digest(ctx.runtime, ctx.now):
        if result.status in ("posted", "waiting"):
            ctx.report.add("digests posted")
            if ctx.metrics is not None:
                ctx.metrics.digests.inc()
        elif result.status == "pending":
            ctx.report.add("digests waiting for an HR channel")
        elif result.status == "failed":
            ctx.report.add("digest posts failed")
