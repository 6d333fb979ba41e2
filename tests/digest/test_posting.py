"""Posting: once per period (also when ticks race), retried after a crash, never doubled."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot import digest_post
from bot.clock import FrozenClock
from bot.digest import DigestData
from bot.models import Digest, Interview, InterviewFact
from bot.runtime import Runtime
from bot.tick import run_tick
from tests.digest.support import DEC_SLOT, JAN_SLOT, ReportChannel, add_facts, reports, settings_for


async def _digests(rt: Runtime) -> list[tuple[str, str]]:
    async with rt.db.sessions() as session:
        return [
            (d.slot, d.status) for d in (await session.scalars(select(Digest).order_by(Digest.id)))
        ]


async def test_posted_once_per_period_by_the_tick(rt: Runtime) -> None:
    await add_facts(rt, 6)
    before = await run_tick(rt, DEC_SLOT - timedelta(minutes=1))
    assert before["digests posted"] == 0 and reports(rt).reports == []
    assert (await run_tick(rt, DEC_SLOT))["digests posted"] == 1
    assert (await run_tick(rt, DEC_SLOT + timedelta(minutes=1)))["digests posted"] == 0
    assert (await run_tick(rt, DEC_SLOT + timedelta(days=3)))["digests posted"] == 0
    assert len(reports(rt).reports) == 1
    assert await _digests(rt) == [("2026-11-01T09:00", "empty"), ("2026-12-01T09:00", "posted")]
    # Nothing new by January: nothing is posted, the slot is recorded as empty.
    assert (await run_tick(rt, JAN_SLOT))["digests posted"] == 0
    assert (await _digests(rt))[-1] == ("2027-01-01T09:00", "empty")


@pytest.mark.parametrize(("processes", "delay"), [(2, 0.0), (2, 0.3), (4, 0.0)])
async def test_racing_ticks_post_once(database_url: str, processes: int, delay: float) -> None:
    """Independent runtimes (as separate processes would have) on one database; with a
    slow platform the others tick while the first post is still in flight."""
    settings = settings_for(database_url)
    runtimes = [
        Runtime.open(
            settings, clock=FrozenClock(DEC_SLOT), channels={"slack": ReportChannel(delay=delay)}
        )
        for _ in range(processes)
    ]
    try:
        await add_facts(runtimes[0], 7, department="Sales")
        results = await asyncio.gather(
            *(digest_post.post_due_digest(r, DEC_SLOT) for r in runtimes)
        )
        statuses = sorted(res.status for batch in results for res in batch)
        assert statuses.count("posted") == 1, statuses
        assert sum(len(reports(r).reports) for r in runtimes) == 1
        again = await asyncio.gather(*(digest_post.post_due_digest(r, DEC_SLOT) for r in runtimes))
        assert all(batch == [] for batch in again)
        assert sum(len(reports(r).reports) for r in runtimes) == 1
        assert await _digests(runtimes[0]) == [("2026-12-01T09:00", "posted")]
    finally:
        for r in runtimes:
            await r.close()


async def test_a_failed_post_is_retried_after_the_lease_with_the_same_figures(rt: Runtime) -> None:
    channel = reports(rt)
    channel.fail_times = 1
    await add_facts(rt, 5, reason="workload")
    assert [r.status for r in await digest_post.post_due_digest(rt, DEC_SLOT)] == ["failed"]
    assert await _digests(rt) == [("2026-12-01T09:00", "posting")]
    # Facts are frozen with the digest: a late arrival cannot change what will be posted.
    await add_facts(rt, 1, reason="manager")
    # Within the lease nobody posts (the first attempt might still be running).
    assert await digest_post.post_due_digest(rt, DEC_SLOT + timedelta(minutes=4)) == [
        digest_post.PostResult("2026-12-01T09:00", "busy")
    ]
    later = DEC_SLOT + digest_post.LEASE + timedelta(seconds=1)
    assert [r.status for r in await digest_post.post_due_digest(rt, later)] == ["posted"]
    [(_, report)] = channel.reports
    assert "Interviews: 5" in report.as_text() and "My manager" not in report.as_text()
    assert await digest_post.post_due_digest(rt, later + timedelta(hours=1)) == []
    assert len(channel.reports) == 1


async def test_a_crash_between_post_and_mark_is_retried_once(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process that dies mid-post leaves `posting`: exactly one later tick posts it."""
    await add_facts(rt, 5)
    real_post = digest_post._post

    async def crash(*args: object, **kwargs: object) -> digest_post.PostResult:
        raise SystemExit("process killed")

    monkeypatch.setattr(digest_post, "_post", crash)
    with pytest.raises(SystemExit):
        await digest_post.post_due_digest(rt, DEC_SLOT)
    monkeypatch.setattr(digest_post, "_post", real_post)
    later = DEC_SLOT + digest_post.LEASE + timedelta(minutes=1)
    first, second = await asyncio.gather(
        digest_post.post_due_digest(rt, later), digest_post.post_due_digest(rt, later)
    )
    assert [r.status for r in [*first, *second] if r.status not in ("busy", "done")] == ["posted"]
    assert len(reports(rt).reports) == 1


async def test_without_an_hr_channel_the_digest_stays_pending(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(sqlite_url, hr_channel=None)
    rt = Runtime.open(settings, clock=FrozenClock(DEC_SLOT), channels={"slack": ReportChannel()})
    try:
        await add_facts(rt, 5)
        assert [r.status for r in await digest_post.post_due_digest(rt, DEC_SLOT)] == ["pending"]
        assert "no HR channel" in caplog.text
        assert await digest_post.post_due_digest(rt, DEC_SLOT + timedelta(hours=1)) == []
        async with rt.db.sessions() as session:
            assert (await session.scalars(select(InterviewFact.digest_id))).all() == [None] * 5
    finally:
        await rt.close()
    # Configured later (a restart with EXITBOT_HR_CHANNEL): the pending slot is posted.
    rt = Runtime.open(
        settings_for(sqlite_url, key=settings.encryption_key), channels={"slack": ReportChannel()}
    )
    try:
        assert [
            r.status for r in await digest_post.post_due_digest(rt, DEC_SLOT + timedelta(days=1))
        ] == ["posted"]
        assert len(reports(rt).reports) == 1
    finally:
        await rt.close()


async def test_a_new_install_announces_no_digest_for_a_period_before_it_ran(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A database created on 28 November finds the 1 November slot (for October) due: it is
    recorded as empty, not as a digest waiting for an HR channel; December's slot, the first
    over time ExitBot ran, still waits for the channel when there is something to report."""
    settings = settings_for(database_url, hr_channel=None)
    installed = datetime(2026, 11, 28, 10, tzinfo=UTC)
    rt = Runtime.open(settings, clock=FrozenClock(installed), channels={"slack": ReportChannel()})
    try:
        report = await run_tick(rt, installed)
        assert report["digests waiting for an HR channel"] == 0
        assert "no HR channel" not in caplog.text
        assert await _digests(rt) == [("2026-11-01T09:00", "empty")]
        assert (await run_tick(rt, installed + timedelta(hours=1)))[
            "digests waiting for an HR channel"
        ] == 0
        await add_facts(rt, 2)  # November's
        assert [r.status for r in await digest_post.post_due_digest(rt, DEC_SLOT)] == ["pending"]
        assert "no HR channel" in caplog.text
        assert await _digests(rt) == [
            ("2026-11-01T09:00", "empty"),
            ("2026-12-01T09:00", "pending"),
        ]
    finally:
        await rt.close()


async def test_a_first_slot_with_something_to_report_still_waits_for_the_hr_channel(
    sqlite_url: str,
) -> None:
    """Facts of the slot's own period mean ExitBot ran then: its first slot is a real one."""
    settings = settings_for(sqlite_url, hr_channel=None)
    installed = datetime(2026, 11, 28, 10, tzinfo=UTC)
    rt = Runtime.open(settings, clock=FrozenClock(installed), channels={"slack": ReportChannel()})
    try:
        await add_facts(rt, 1, period="2026-10")
        assert [r.status for r in await digest_post.post_due_digest(rt, installed)] == ["pending"]
    finally:
        await rt.close()


async def test_change_against_the_previous_digest(rt: Runtime) -> None:
    await add_facts(rt, 5, reason="pay_benefits", recommend=10)
    await digest_post.post_due_digest(rt, DEC_SLOT)
    await add_facts(rt, 3, period="2026-12", reason="pay_benefits", recommend=0)
    await add_facts(rt, 2, period="2026-12", reason="manager", recommend=0)
    await digest_post.post_due_digest(rt, JAN_SLOT)
    text = reports(rt).reports[-1][1].as_text()
    assert "Pay and benefits: 3 (60%) (▼ 40 pts)" in text
    assert "My manager: 2 (40%) (▲ 40 pts)" in text
    assert "Would recommend us (eNPS): -100 (▼ 200), 5 answers" in text
    async with rt.db.sessions() as session:
        stored = (await session.scalars(select(Digest.figures).order_by(Digest.id))).all()
    assert [DigestData.from_json(f).count for f in stored if f] == [5, 5]


async def test_exitbot_digest_now_records_the_publication(rt: Runtime) -> None:
    await add_facts(rt, 5, period="2026-11")
    result = await digest_post.post_digest_now(rt)
    assert result.status == "posted" and result.slot.startswith("manual:")
    # The scheduled slot then finds nothing new.
    assert [r.status for r in await digest_post.post_due_digest(rt, DEC_SLOT)] == ["empty"]
    assert len(reports(rt).reports) == 1


async def test_published_facts_are_never_rewritten(rt: Runtime) -> None:
    from bot import facts
    from tests.digest.support import interview

    interview_id = await interview(rt, "anna@example.com")
    await add_facts(rt, 4)
    await digest_post.post_due_digest(rt, DEC_SLOT)
    async with rt.db.transaction() as session:
        row = await session.get(Interview, interview_id)
        assert row is not None
        again = await facts.record(session, row, rt.settings, JAN_SLOT)
    assert again.digest_id is not None and again.period == "2026-11"


async def test_a_fact_confirmed_while_the_digest_counts_never_goes_out_unstamped(
    rt_any: Runtime,
) -> None:
    """PostgreSQL (READ COMMITTED): another replica confirms the k-th interview between the
    digest's count (k-1: nothing stamped) and what it then built over everything unpublished
    (k: figures). Those figures went out with no fact stamped as published, so the next digest
    counted them again plus its newcomers: two digests apart, one person's answers."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    rt = rt_any
    if rt.db.is_sqlite:
        pytest.skip("SQLite: the digest's transaction holds the write lock meanwhile")
    k = rt.settings.min_group_size
    await add_facts(rt, k - 1)
    other = rt.db.sync_engine()  # another process's connection
    confirmed: list[str] = []

    def another_replica_confirms(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        if confirmed or "count(" not in statement or "interview_facts" not in statement:
            return
        confirmed.append(statement)
        with Session(other) as session:
            session.add(
                InterviewFact(period="2026-11", main_reason="pay_benefits", recommend=8,
                              manager_score=3, come_back="maybe")
            )  # fmt: skip
            session.commit()

    event.listen(rt.db.engine.sync_engine, "after_cursor_execute", another_replica_confirms)
    try:
        results = await digest_post.post_due_digest(rt, DEC_SLOT)
    finally:
        event.remove(rt.db.engine.sync_engine, "after_cursor_execute", another_replica_confirms)
        other.dispose()
    assert confirmed, "the digest never counted"
    assert [r.status for r in results] == ["waiting"]  # as counted: k-1 waiting
    async with rt.db.sessions() as session:
        stamps = list(await session.scalars(select(InterviewFact.digest_id)))
    assert stamps == [None] * k  # all k roll over to the next digest, published together
