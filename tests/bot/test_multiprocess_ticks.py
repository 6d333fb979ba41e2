"""Two OS processes tick the same database at the same time: 200 due invites, each sent
exactly once (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: BEGIN IMMEDIATE on one file)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.clock import FrozenClock
from bot.crypto import Cipher
from bot.models import Departure, Employee, Interview, Job, SentMessage
from bot.runtime import Runtime
from tests.support import pg
from tests.support.departures import settings_for

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
INVITES = 200
NOW = datetime(2026, 12, 7, 9, tzinfo=UTC)  # a Monday, 09:00 UTC

WORKER = """
import asyncio, json, sys, time
from datetime import datetime
from pathlib import Path

from adapters.base import Opened
from bot.clock import FrozenClock
from bot.config import Settings
from bot.runtime import Runtime
from bot.tick import run_tick


class FileChannel:
    '''A fake platform that appends every delivery to this process's own file.'''

    name = "slack"

    def __init__(self, path):
        self.path = path

    async def open_conversation(self, email):
        return Opened(user_id="U-" + email, conversation_id="D-" + email)

    async def send(self, conversation_id, messages, *, key):
        await asyncio.sleep(0.001)  # a platform round trip
        with open(self.path, "a") as out:
            out.write(key + " " + conversation_id + "\\n")

    async def post_report(self, target, report):
        pass


async def main(url, key, now, out, ready, go):
    settings = Settings(database_url=url, encryption_key=key, fallback_after_last_day=False)
    runtime = Runtime.open(
        settings,
        clock=FrozenClock(datetime.fromisoformat(now)),
        channels={"slack": FileChannel(out)},
        upgrade=False,
    )
    Path(ready).touch()
    while not Path(go).exists():
        time.sleep(0.01)
    started = time.monotonic()
    sent, idle = 0, 0
    while idle < 2:
        report = await run_tick(runtime)
        sent += report["invites sent"]
        idle = idle + 1 if report.jobs_run == 0 else 0
    await runtime.close()
    print(json.dumps({"invites sent": sent, "seconds": time.monotonic() - started}))


asyncio.run(main(*sys.argv[1:]))
"""


async def seed(url: str, key: str) -> None:
    """200 scheduled interviews whose invites are due, written in one transaction."""
    runtime = Runtime.open(
        settings_for(url, encryption_key=key, fallback_after_last_day=False),
        clock=FrozenClock(NOW),
    )
    due = NOW - timedelta(minutes=1)
    expires = datetime(2026, 12, 18, 23, 59, tzinfo=UTC)
    try:
        async with runtime.db.transaction() as session:
            employees = [
                Employee(email=f"leaver{n}@example.com", created_at=due, updated_at=due)
                for n in range(INVITES)
            ]
            session.add_all(employees)
            await session.flush()
            leaving = [
                Departure(
                    external_id=f"hr-{n}",
                    employee_id=e.id,
                    kind="resignation",
                    last_working_day=date(2026, 12, 18),
                    status="active",
                    decision="auto",
                    event_at=due,
                    created_at=due,
                    updated_at=due,
                )
                for n, e in enumerate(employees)
            ]
            session.add_all(leaving)
            await session.flush()
            interviews = []
            for e, d in zip(employees, leaving, strict=True):
                interview = runtime.service.new_interview(
                    employee_id=e.id, language="en", now=due, departure_id=d.id, status="scheduled"
                )
                interview.invite_at, interview.expires_at = due, expires
                interviews.append(interview)
            session.add_all(interviews)
            await session.flush()
            session.add_all(
                Job(
                    kind="invite",
                    interview_id=i.id,
                    due_at=due,
                    status="due",
                    idempotency_key=f"invite:{i.id}",
                    attempts=0,
                    created_at=due,
                )
                for i in interviews
            )
    finally:
        await runtime.close()


async def two_processes_tick(url: str, tmp_path: Path) -> None:
    key = Cipher.new_key()
    await seed(url, key)
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(  # noqa: ASYNC220  (started once; waited for in a thread below)
            [
                sys.executable,
                str(script),
                url,
                key,
                NOW.isoformat(),
                str(tmp_path / f"sent-{n}.txt"),
                str(tmp_path / f"ready-{n}"),
                str(go),
            ],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(2)
    ]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready-{n}").exists() for n in range(2)):
        assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
        assert time.monotonic() < deadline, "workers did not start"
        await asyncio.sleep(0.02)
    go.touch()  # both start ticking at the same moment
    outputs = [await asyncio.to_thread(p.communicate, timeout=90) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    print("worker output:", [out.strip().splitlines()[-1] for out, _ in outputs])

    per_process = [
        (tmp_path / f"sent-{n}.txt").read_text().splitlines()
        if (tmp_path / f"sent-{n}.txt").exists()
        else []
        for n in range(2)
    ]
    keys = Counter(line.split()[0] for lines in per_process for line in lines)
    assert len(keys) == INVITES  # every invite went out...
    assert set(keys.values()) == {1}  # ...exactly once
    reported = [json.loads(out.strip().splitlines()[-1])["invites sent"] for out, _ in outputs]
    assert reported == [len(lines) for lines in per_process]
    assert all(reported), f"both processes should have sent some: {reported}"

    runtime = Runtime.open(settings_for(url, encryption_key=key), upgrade=False)
    try:
        async with runtime.db.sessions() as session:
            statuses = dict(
                (
                    await session.execute(
                        select(Interview.status, func.count()).group_by(Interview.status)
                    )
                ).all()
            )
            delivered = await session.scalar(select(func.count()).select_from(SentMessage))
    finally:
        await runtime.close()
    assert statuses == {"invited": INVITES}
    assert delivered == INVITES


async def test_two_processes_on_one_sqlite_file(tmp_path: Path) -> None:
    await two_processes_tick(f"sqlite:///{tmp_path / 'shared.db'}", tmp_path)


@pytest.mark.postgres
async def test_two_processes_on_one_postgres_database(tmp_path: Path) -> None:
    if pg.admin_url() is None:
        pytest.skip(f"PostgreSQL tests need {pg.ENV} (.ci/run sets it)")
    url = pg.create_database()
    try:
        await two_processes_tick(url, tmp_path)
    finally:
        pg.drop_database(url)
