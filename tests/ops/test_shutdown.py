"""Graceful shutdown: SIGTERM stops taking work, hands back claimed jobs, exits within 10 s."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from bot import jobs
from bot.config import Settings
from bot.crypto import Cipher
from bot.models import Job
from bot.runtime import Runtime


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_sigterm_exits_cleanly_within_ten_seconds(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXITBOT_")}
    env.update(
        EXITBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'serve.db'}",
        EXITBOT_ENCRYPTION_KEY=Cipher.new_key(),
        EXITBOT_TICK_SECONDS="1",
    )
    with subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert proc.poll() is None, "exitbot serve died during start-up"
                assert time.monotonic() < deadline, "exitbot serve did not come up"
                time.sleep(0.2)
        time.sleep(1.5)  # let the scheduler tick at least once
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=15)
        elapsed = time.monotonic() - started
        stderr = proc.stderr.read() if proc.stderr else ""
    assert code == 0, stderr
    assert elapsed < 10
    assert "Traceback" not in stderr
    assert "shutting down: no new requests" in stderr and "stopped" in stderr


async def test_release_hands_back_only_this_workers_claims(database_url: str) -> None:
    rt = Runtime.open(Settings(database_url=database_url, encryption_key=Cipher.new_key()))
    now = datetime(2026, 12, 1, 9, tzinfo=UTC)
    try:
        async with rt.db.transaction() as session:
            for n in range(4):
                session.add(
                    Job(
                        kind="test",
                        due_at=now,
                        status="due",
                        idempotency_key=f"k{n}",
                        attempts=0,
                        created_at=now,
                    )
                )
        mine = await jobs.claim(rt.db, "me", now, limit=2, kinds=["test"])
        theirs = await jobs.claim(rt.db, "them", now, limit=2, kinds=["test"])
        assert len(mine) == len(theirs) == 2
        assert await jobs.release(rt.db, "me") == 2
        async with rt.db.sessions() as session:
            rows = (await session.scalars(select(Job).order_by(Job.id))).all()
        by_key = {r.idempotency_key: r for r in rows}
        for job in mine:
            assert by_key[job.key].status == "due"
            assert by_key[job.key].claimed_by is None
        for job in theirs:
            assert by_key[job.key].claimed_by == "them"
        # handed back work is claimable again at once, long before the lease would expire
        again = await jobs.claim(rt.db, "next", now + timedelta(seconds=1), kinds=["test"])
        assert {j.key for j in again} == {j.key for j in mine}
    finally:
        await rt.close()
