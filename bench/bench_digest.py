"""Benchmark: build the HR digest over 100,000 synthetic completed interviews.

Run: python bench/bench_digest.py [facts]
SQLite always (a temporary file); PostgreSQL too when EXITBOT_BENCH_POSTGRES_URL or
EXITBOT_TEST_POSTGRES_URL names a server (a throw-away database is created and dropped).
Target: `build_digest` under 2 s (every figure is a SQL aggregate, no Python loop per fact).
Also timed: freezing a digest for posting (stamping every fact + building over the stamp).
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, select

from bot import digest_post
from bot.config import Settings
from bot.crypto import Cipher
from bot.digest import build_digest
from bot.models import Base, Digest, InterviewFact
from bot.runtime import Runtime
from conversations import THEMES

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEPARTMENTS = ["Sales", "Engineering", "Support", "Finance", "Marketing", "HR", "Legal"]
SOURCES = ["main_reason", "role_improvement", "suggestions", "anything_else", "valued_most"]
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # the December slot (Amsterdam 09:00)


async def populate(rt: Runtime, count: int, seed: int = 7) -> None:
    """Bulk-insert `count` facts (and ~2 themes each) in batches of 5,000."""
    rng = random.Random(seed)
    batch = 5000
    next_id = 1
    for start in range(0, count, batch):
        facts, themes = [], []
        for offset in range(min(batch, count - start)):
            fact_id = next_id + offset
            facts.append(
                {
                    "id": fact_id,
                    "period": f"2026-{rng.randint(1, 11):02d}",
                    "department": rng.choice([*DEPARTMENTS, None]),
                    "departure_kind": "resignation",
                    "main_reason": rng.choice(THEMES),
                    "recommend": rng.choice([None, *range(11)]),
                    "manager_score": rng.choice([None, 1, 2, 3, 4, 5]),
                    "come_back": rng.choice([None, "yes", "maybe", "no"]),
                }
            )
            for source in rng.sample(SOURCES, 2):
                themes.append({"fact_id": fact_id, "source": source, "theme": rng.choice(THEMES)})
        next_id += len(facts)
        async with rt.db.transaction() as session:
            connection = await session.connection()  # Core executemany: one round trip
            await connection.execute(insert(Base.metadata.tables["interview_facts"]), facts)
            await connection.execute(insert(Base.metadata.tables["fact_themes"]), themes)


async def measure(url: str, count: int) -> dict[str, float]:
    settings = Settings(
        database_url=url,
        encryption_key=Cipher.new_key(),
        timezone="Europe/Amsterdam",
        hr_channel=None,
    )
    rt = Runtime.open(settings)
    try:
        started = time.perf_counter()
        await populate(rt, count)
        insert_s = time.perf_counter() - started
        slot = digest_post.due_slot(settings, NOW)
        assert slot is not None
        timings, cpu = [], []
        for _ in range(5):
            async with rt.db.sessions() as session:
                scope, previous = await digest_post._scope(session, slot, None)
                started, cpu_started = time.perf_counter(), time.process_time()
                data = await build_digest(session, settings, scope, previous)
                timings.append(time.perf_counter() - started)
                cpu.append(time.process_time() - cpu_started)
        assert data.count == count, data.count
        # The posting path: claim the slot, stamp all facts, build over the stamp.
        async with rt.db.transaction() as session:
            row = Digest(slot=slot.id, status="pending", created_at=NOW, posted_at=NOW)
            session.add(row)
            await session.flush()
            started = time.perf_counter()
            claim = await digest_post._freeze(session, row, slot, rt, NOW)
            freeze_s = time.perf_counter() - started
        assert claim is not None
        async with rt.db.sessions() as session:
            stamped = await session.scalar(
                select(InterviewFact.id).where(InterviewFact.digest_id.is_(None)).limit(1)
            )
        assert stamped is None
        return {
            "insert_s": insert_s,
            "build_median_s": statistics.median(timings),
            "build_max_s": max(timings),
            "build_cpu_s": statistics.median(cpu),
            "freeze_s": freeze_s,
        }
    finally:
        await rt.close()


def postgres_url() -> str | None:
    return os.environ.get("EXITBOT_BENCH_POSTGRES_URL") or os.environ.get(
        "EXITBOT_TEST_POSTGRES_URL"
    )


async def main(count: int) -> None:
    print(f"digest over {count:,} synthetic completed interviews (target: build < 2 s)")
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        results = {"sqlite": await measure(f"sqlite:///{Path(tmp) / 'bench.db'}", count)}
    base = postgres_url()
    if base:
        from tests.support import pg

        os.environ.setdefault(pg.ENV, base)
        url = pg.create_database("exitbot_bench")
        try:
            results["postgresql"] = await measure(url, count)
        finally:
            pg.drop_database(url)
    else:
        print("postgresql: skipped (set EXITBOT_BENCH_POSTGRES_URL or EXITBOT_TEST_POSTGRES_URL)")
    for backend, r in results.items():
        verdict = "OK" if r["build_max_s"] < 2 else "SLOW"
        print(
            f"{backend:>10}: build_digest median {r['build_median_s']:.3f} s, "
            f"max {r['build_max_s']:.3f} s [{verdict}] (this process's CPU "
            f"{r['build_cpu_s']:.3f} s); freeze (stamp + build) "
            f"{r['freeze_s']:.3f} s; bulk insert {r['insert_s']:.1f} s"
        )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000))
