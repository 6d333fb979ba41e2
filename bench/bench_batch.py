"""Benchmark: what a batch of turns costs on PostgreSQL, on each side of the wire.

Run: EXITBOT_BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/postgres \
         python bench/bench_batch.py [batch sizes...]     (default: 1 8 48)

For each size K, K interviews answer together, turn after turn, so the turn writer stores
them in batches of about K (the writer's counters say how many it made). Reported per
stored turn: this process's CPU, and the CPU of the PostgreSQL server processes serving
this benchmark's database (read from /proc: the server must run on this machine), split
into user and kernel time. One replica of the load benchmark makes batches of about 47
turns at saturation, each of three about 8 (BENCHMARKS.md): the difference between the
two sizes is what smaller batches cost. A scratch database is created and dropped.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg
from bench_turn import ANSWERS, NullChannel  # this directory: run as a script
from sqlalchemy.engine import make_url

from adapters.base import Incoming
from bot.config import Settings
from bot.crypto import Cipher
from bot.runtime import Runtime

MIN_TURNS = 600  # measured per size at least (the server's CPU is counted in 10 ms ticks)
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Measured:
    size: int
    turns: int
    batches: int
    client_ms: float  # per turn
    server_user_ms: float
    server_kernel_ms: float


def server_cpu(admin: str, database: str) -> dict[int, tuple[float, float]]:
    """(user, kernel) seconds of each server process connected to `database`."""
    with psycopg.connect(admin, autocommit=True) as conn:
        pids = [
            row[0]
            for row in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,)
            )
        ]
    found: dict[int, tuple[float, float]] = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone, or not on this machine
        found[pid] = (int(fields[11]) / TICKS, int(fields[12]) / TICKS)
    return found


async def run(url: str, admin: str, database: str, size: int) -> Measured:
    settings = Settings(database_url=url, encryption_key=Cipher.new_key())
    rt = await asyncio.to_thread(Runtime.open, settings, channels={"console": NullChannel()})
    writer = rt.service.writer
    turns = batches = 0
    client = user = kernel = 0.0
    rounds = max(6, -(-MIN_TURNS // (size * len(ANSWERS))))  # interviews per slot
    try:
        for n in range(rounds + 1):  # the first: warm-up
            people = [f"b{n}-{k}@example.com" for k in range(size)]
            for who in people:
                await rt.service.begin_chat(channel="console", email=who, conversation_id=who)
            await writer.flush()
            before, started, batches_before = (
                server_cpu(admin, database),
                time.process_time(),
                writer.batches,
            )
            for i, answer in enumerate(ANSWERS):
                await asyncio.gather(
                    *(
                        rt.service.handle(Incoming("console", who, who, answer, f"{who}-{i}"))
                        for who in people
                    )
                )
            await writer.flush()
            spent, after = time.process_time() - started, server_cpu(admin, database)
            if n == 0:
                continue  # warm-up: statements compiled, connections opened
            turns += size * len(ANSWERS)
            batches += writer.batches - batches_before
            client += spent
            for pid, (u, k) in after.items():
                u0, k0 = before.get(pid, (0.0, 0.0))
                user += u - u0
                kernel += k - k0
    finally:
        await rt.close()
    per_turn = 1000 / turns
    return Measured(size, turns, batches, client * per_turn, user * per_turn, kernel * per_turn)


def main() -> None:
    sizes = [int(arg) for arg in sys.argv[1:]] or [1, 8, 48]
    pg = os.environ.get("EXITBOT_BENCH_POSTGRES_URL")
    if not pg:
        sys.exit("set EXITBOT_BENCH_POSTGRES_URL (a PostgreSQL server on this machine)")
    admin = make_url(pg).set(drivername="postgresql").render_as_string(hide_password=False)
    for size in sizes:
        name = f"exitbot_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            url = make_url(pg).set(database=name).render_as_string(hide_password=False)
            m = asyncio.run(run(url, admin, name, size))
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        server = m.server_user_ms + m.server_kernel_ms
        print(
            f"batch≈{m.size:<3} turns={m.turns:>5} batches={m.batches:>4} "
            f"(mean {m.turns / max(1, m.batches):5.1f})  client={m.client_ms:5.3f} ms/turn  "
            f"server={server:5.3f} ms/turn (user {m.server_user_ms:5.3f}, "
            f"kernel {m.server_kernel_ms:5.3f})"
        )


if __name__ == "__main__":
    main()
