"""Benchmark: the cost of one stored interview turn (engine + encryption + one transaction).

Run: python bench/bench_turn.py [interviews]   (PostgreSQL too when EXITBOT_BENCH_POSTGRES_URL
is set, e.g. postgresql://postgres@127.0.0.1:5432/postgres: a scratch database is created).
Target: p99 < 5 ms per stored turn on SQLite. Results are recorded in BENCHMARKS.md.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from adapters.base import Incoming, Opened, Report, Unreachable
from bot.config import Settings
from bot.crypto import Cipher
from bot.runtime import Runtime
from conversations import OutMessage

ANSWERS = [
    "Career growth",
    "ok",
    "The people in my team and the freedom to organise my own work, honestly the best part",
    "Clearer goals and more support from the product team during the launches last year",
    "4",
    "8",
    "Maybe",
    "Publish salary bands and make the promotion criteria visible for everyone here",
    "no",
    "yes",
]


class NullChannel:
    name = "console"

    async def open_conversation(self, email: str) -> Opened:
        raise Unreachable("bench")

    async def send(self, conversation_id: str, messages: Sequence[OutMessage], *, key: str) -> None:
        return None

    async def post_report(self, target: str, report: Report) -> None:
        return None


async def run(url: str, interviews: int) -> tuple[list[float], float]:
    """Each measured turn's wall time, and the process's CPU time per measured turn."""
    settings = Settings(database_url=url, encryption_key=Cipher.new_key())
    rt = await asyncio.to_thread(Runtime.open, settings, channels={"console": NullChannel()})
    timings: list[float] = []
    cpu = 0.0
    try:
        # Warm-up, not measured: SQLAlchemy compiles each statement once per process.
        for n in range(-2, 0):
            email = f"warm{n}@example.com"
            await rt.service.begin_chat(channel="console", email=email, conversation_id=email)
            for i, answer in enumerate(ANSWERS):
                await rt.service.handle(Incoming("console", email, email, answer, f"{n}-{i}"))
        for n in range(interviews):
            email = f"bench{n}@example.com"
            await rt.service.begin_chat(channel="console", email=email, conversation_id=email)
            for i, answer in enumerate(ANSWERS):
                incoming = Incoming("console", email, email, answer, f"{n}-{i}")
                started, started_cpu = time.perf_counter(), time.process_time()
                await rt.service.handle(incoming)
                timings.append(time.perf_counter() - started)
                cpu += time.process_time() - started_cpu
    finally:
        await rt.close()
    return timings, cpu / max(1, len(timings))


def report(name: str, measured: tuple[list[float], float]) -> None:
    timings, cpu = measured
    ms = sorted(t * 1000 for t in timings)
    p = lambda q: ms[min(len(ms) - 1, int(q * len(ms)))]  # noqa: E731
    print(
        f"{name:<12} turns={len(ms):>5}  mean={statistics.fmean(ms):6.2f} ms  "
        f"p50={p(0.50):6.2f} ms  p99={p(0.99):6.2f} ms  max={ms[-1]:6.2f} ms  cpu={cpu * 1000:5.2f} ms/turn"
    )


def main() -> None:
    interviews = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        report("sqlite", asyncio.run(run(url, interviews)))
    pg = os.environ.get("EXITBOT_BENCH_POSTGRES_URL")
    if pg:
        name = f"exitbot_bench_{uuid.uuid4().hex[:8]}"
        admin = make_url(pg).set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            url = make_url(pg).set(database=name).render_as_string(hide_password=False)
            report("postgresql", asyncio.run(run(url, interviews)))
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
