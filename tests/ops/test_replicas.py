"""Three `exitbot serve` replicas on one PostgreSQL database, driven like Slack drives them.

100 departures arrive through the signed webhook (spread over the replicas), the replicas'
ticks send the invites, and 100 employees answer their interviews through signed Slack
events sent round-robin to the replicas. Midway one replica is killed with SIGKILL: requests
it was handling are redelivered to the others (as Slack retries), its claimed jobs and
unfinished inbox rows are taken over once their leases run out. Then the replicas are
stopped with SIGTERM and restarted on the 1st of the next month: the monthly digest goes out.

Checked: every invite once, every answer once, every interview complete, one digest.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.config import Settings
from bot.crypto import Cipher
from bot.db import Database
from bot.departure_events import sign
from bot.models import AnswerRow, Digest, Interview
from tests.fakes.slack_api import FakeSlackAPI, dm_event, signed_headers
from tests.support import pg

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

EMPLOYEES = 100
REPLICAS = 3
SIGNING_SECRET = "replica-test-signing-secret"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"replica-test-webhook-secret-32-bytes!!").decode()
PHASE_ONE = datetime(2026, 11, 18, 11, 0, tzinfo=UTC)  # a Wednesday, working hours
DIGEST_DAY = datetime(2026, 12, 1, 9, 0, 2, tzinfo=UTC)  # just after the default cron slot
ANSWERS = [
    "start",
    "Career growth",
    "The people in my team and the freedom to organise my own work",
    "Clearer goals and more support from the product team during launches",
    "4",
    "9",
    "Yes",
    "Better onboarding and a transparent salary structure for everyone",
    "no",
    "yes",
]
# Bot messages each answer brings: "start" gets a welcome and the first question.
REPLIES = [2, 1, 1, 1, 1, 1, 1, 1, 1, 1]
INVITE_START = "Hi! I'm ExitBot. Now that you're moving on"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Replica:
    def __init__(self, n: int, env: dict[str, str], logs: Path) -> None:
        self.n = n
        self.env = env
        self.logs = logs
        self.port = free_port()
        self.proc: asyncio.subprocess.Process | None = None
        self.url = f"http://127.0.0.1:{self.port}"

    async def start(self, as_of: datetime) -> None:
        log = (self.logs / f"replica{self.n}.log").open("a")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "serve", "--port", str(self.port),
            "--as-of", as_of.isoformat(),
            env=self.env, stdout=log, stderr=log, cwd=self.logs,
        )  # fmt: skip
        log.close()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def wait_healthy(self, session: aiohttp.ClientSession) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.alive, (self.logs / f"replica{self.n}.log").read_text()[-3000:]
            try:
                async with session.get(f"{self.url}/healthz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
        raise AssertionError(f"replica {self.n} never became healthy")

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        return await asyncio.wait_for(self.proc.wait(), 15)


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlackAPI]:
    fake = FakeSlackAPI()
    await fake.start()
    for n in range(EMPLOYEES):
        fake.add_user(f"U{n:04d}", f"leaver{n}@example.com", f"Leaver {n}")
    fake.add_channel("CHR", "hr-insights")
    try:
        yield fake
    finally:
        await fake.stop()


def bot_posts(fake: FakeSlackAPI, channel: str) -> list[str]:
    return [
        str(call.args.get("text", ""))
        for call in fake.calls_to("chat.postMessage")
        if call.args.get("channel") == channel and call.status == 200
    ]


class Employee:
    def __init__(self, n: int, fake: FakeSlackAPI, replicas: list[Replica]) -> None:
        self.user = f"U{n:04d}"
        self.channel = fake.dm_channel_id(self.user)
        self.fake = fake
        self.replicas = replicas
        self.n = n

    async def answer_all(self, session: aiohttp.ClientSession) -> None:
        for turn, (text, replies) in enumerate(zip(ANSWERS, REPLIES, strict=True)):
            expected = len(bot_posts(self.fake, self.channel)) + replies
            event_id = f"Ev{self.n:04d}x{turn:02d}"
            body = json.dumps(
                dm_event(self.user, text, self.channel, event_id, f"{time.time():.6f}")
            )
            await deliver(session, self.replicas, body, start=self.n + turn)
            deadline = time.monotonic() + 120
            while len(bot_posts(self.fake, self.channel)) < expected:
                assert time.monotonic() < deadline, f"{self.user}: no reply to turn {turn}"
                await asyncio.sleep(0.05)


async def deliver(
    session: aiohttp.ClientSession, replicas: list[Replica], body: str, start: int
) -> None:
    """POST like Slack: on failure, retry the same event on the next replica."""
    for attempt in range(2 * len(replicas)):
        replica = replicas[(start + attempt) % len(replicas)]
        if not replica.alive:
            continue
        headers = signed_headers(SIGNING_SECRET, body)
        if attempt:
            headers |= {"X-Slack-Retry-Num": str(attempt), "X-Slack-Retry-Reason": "http_error"}
        try:
            async with session.post(f"{replica.url}/slack/events", data=body, headers=headers) as r:
                if r.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.2)
    raise AssertionError("no replica accepted the event")


async def post_departure(session: aiohttp.ClientSession, replica: Replica, n: int) -> None:
    payload = {
        "type": "departure.created",
        "departure": {
            "id": f"hr-{n}",
            "kind": "resignation",
            "last_working_day": "2026-11-27",
            "employee": {"email": f"leaver{n}@example.com", "name": f"Leaver {n}",
                         "department": "Sales" if n % 2 else "Support", "language": "en"},
        },
    }  # fmt: skip
    body = json.dumps(payload).encode()
    # Signed with the real time, as the HR system does, whatever time the rehearsal shows
    headers = sign(WEBHOOK_SECRET, f"msg_{uuid.uuid4().hex}", int(time.time()), body)
    headers["Content-Type"] = "application/json"
    async with session.post(f"{replica.url}/webhooks/departures", data=body, headers=headers) as r:
        answer = await r.json()
        assert r.status == 202, answer
        assert answer["status"] == "scheduled", answer


async def test_three_replicas_one_database(slack: FakeSlackAPI, tmp_path: Path) -> None:
    if pg.admin_url() is None:
        pytest.skip(f"needs {pg.ENV}")
    url = pg.create_database()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EXITBOT_", "SLACK_"))}
    env.update(
        EXITBOT_DATABASE_URL=url,
        EXITBOT_ENCRYPTION_KEY=Cipher.new_key(),
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        EXITBOT_SLACK_API_URL=slack.base_url,
        EXITBOT_WEBHOOK_SECRET=WEBHOOK_SECRET,
        EXITBOT_TICK_SECONDS="1",
        EXITBOT_INVITE_LEAD_DAYS="10",  # the lead moment has passed: invite right away
        EXITBOT_JOB_LEASE_SECONDS="10",
        EXITBOT_INBOX_RETRY_SECONDS="15",
        EXITBOT_HR_CHANNEL="slack:CHR",
    )
    replicas = [Replica(n, env, tmp_path) for n in range(REPLICAS)]
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as session:
            await asyncio.gather(*(r.start(PHASE_ONE) for r in replicas))
            await asyncio.gather(*(r.wait_healthy(session) for r in replicas))

            await asyncio.gather(
                *(post_departure(session, replicas[n % REPLICAS], n) for n in range(EMPLOYEES))
            )  # fmt: skip
            employees = [Employee(n, slack, replicas) for n in range(EMPLOYEES)]
            deadline = time.monotonic() + 90
            while sum(bool(bot_posts(slack, e.channel)) for e in employees) < EMPLOYEES:
                assert time.monotonic() < deadline, "not every invite went out"
                await asyncio.sleep(0.2)

            async def kill_one_midway() -> None:
                while sum(len(bot_posts(slack, e.channel)) for e in employees) < 4 * EMPLOYEES:
                    await asyncio.sleep(0.05)
                await replicas[2].stop(signal.SIGKILL)

            await asyncio.gather(kill_one_midway(), *(e.answer_all(session) for e in employees))

            # Phase two: stop the survivors gracefully, restart all on the 1st of next month.
            for replica in replicas[:2]:
                assert await replica.stop() == 0
            await asyncio.gather(*(r.start(DIGEST_DAY) for r in replicas))
            await asyncio.gather(*(r.wait_healthy(session) for r in replicas))
            deadline = time.monotonic() + 30
            while not bot_posts(slack, "CHR"):
                assert time.monotonic() < deadline, "the digest was not posted"
                await asyncio.sleep(0.2)
            await asyncio.sleep(3)  # several more ticks on every replica: still one digest

        for employee in employees:
            posts = bot_posts(slack, employee.channel)
            invites = [p for p in posts if p.startswith(INVITE_START)]
            assert len(invites) == 1, (employee.user, posts[:3])
        counts = {len(bot_posts(slack, e.channel)) for e in employees}
        for e in employees:  # diagnostics for a failure below
            posts = bot_posts(slack, e.channel)
            if len(posts) != 1 + sum(REPLIES):
                print(e.user, [p[:50] for p in posts])
        assert counts == {1 + sum(REPLIES)}, f"conversations got doubled or lost messages: {counts}"
        assert len(bot_posts(slack, "CHR")) == 1

        db = Database(url)
        try:
            async with db.sessions() as s:
                statuses = (await s.execute(
                    select(Interview.status, func.count()).group_by(Interview.status)
                )).all()  # fmt: skip
                answers = (await s.execute(
                    select(AnswerRow.interview_id, AnswerRow.question_id, AnswerRow.seq,
                           func.count()).group_by(AnswerRow.interview_id, AnswerRow.question_id,
                                                  AnswerRow.seq)
                )).all()  # fmt: skip
                digests = (await s.scalars(select(Digest.status))).all()
        finally:
            await db.dispose()
        assert dict(statuses) == {"completed": EMPLOYEES}
        assert all(row[3] == 1 for row in answers), "an answer was stored twice"
        assert len(answers) == EMPLOYEES * 8  # eight questions answered per interview
        assert digests.count("posted") == 1
        # every batch the lean path failed on was redone the ORM way: only the log tells
        logs = "".join((tmp_path / f"replica{n}.log").read_text() for n in range(REPLICAS))
        assert "the lean path failed" not in logs
    finally:
        for replica in replicas:
            if replica.alive:
                await replica.stop(signal.SIGKILL)
        pg.drop_database(url)


def test_settings_used_here_are_valid() -> None:
    """The knobs this scenario relies on are real settings (a typo would silently test less)."""
    s = Settings.from_env(
        {"EXITBOT_JOB_LEASE_SECONDS": "10", "EXITBOT_INBOX_RETRY_SECONDS": "15",
         "EXITBOT_TICK_SECONDS": "1"},
        None,
    )  # fmt: skip
    assert (s.job_lease_seconds, s.inbox_retry_seconds, s.tick_seconds) == (10, 15, 1.0)
