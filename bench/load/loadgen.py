"""Load generator: simulated employees answering exit interviews through signed Slack events.

Run from the repository root (about 6-8 minutes for all four targets):

    PYTHONPATH=. /tmp/venv/bin/python bench/load/loadgen.py \
        --pg-url postgresql://postgres@127.0.0.1:5432/postgres --json /tmp/load.json

What happens (all on 127.0.0.1, every wait bounded, every child process stopped at the end):

* A fake Slack Web API runs inside this process (`--fake lean`, the default: a minimal
  aiohttp handler; `--fake full` reuses `tests.fakes.slack_api.FakeSlackAPI`, which records
  every call). Each `chat.postMessage` is counted per DM channel and wakes the employee
  waiting for it, so a turn's latency runs from just before the signed event is POSTed to
  the moment the bot's reply reaches the fake API.
* Targets, each started as subprocesses on free loopback ports, one after the other:
  `bolt`  bare slack-bolt echo app (bench/load/bolt_echo.py): the reference, its Web API
          client keeping one aiohttp session as ExitBot's does (`--bolt-session`);
  `sqlite` one `exitbot serve` on a fresh SQLite file;
  `pg1`   one `exitbot serve` on a fresh scratch PostgreSQL database;
  `pg3`   three `exitbot serve` processes on one fresh scratch database, requests spread
          round-robin (per request, so an interview moves between replicas).
  ExitBot runs through bench/load/serve.py, i.e. `exitbot serve` with Slack's client-side
  pacing off (`--pacing on` keeps it: see that file).
* ExitBot needs open interviews: a pool of employees is created up front through the signed
  departure webhook (kind resignation, `EXITBOT_INVITE_LEAD_DAYS=0`, last working day =
  today in an `Etc/GMT±N` zone where it is now a weekday between 10:05 and 16:15, so
  `plan_invite` says "asap" and the 1-second tick sends the invite at once). The run waits
  until every pool employee got the invite DM. Each employee then types "start" and nine
  answers (choices and scales by typing labels / numbers, free text for open questions,
  "Yes, that's right" to confirm the summary): 10 turns, the interview is completed. A
  slot whose interview is done takes the next unused employee from the pool; the pool is
  sized so it does not run out (if it does, the window is cut there and the row says so).
* A turn is complete when the *first* `chat.postMessage` of its reply arrives ("start"
  yields two messages, the intro and the first question; every other turn one). The
  employee sends the next answer only after the *whole* reply arrived (a real person waits).
* Two loads per target, both with `--employees` (200) employees:
  saturated: everyone answers back to back; completed turns/s over `--window` seconds
             after `--warmup` seconds;
  steady:    each employee answers every employees/rate seconds (±10 % jitter, random
             phase), so `--steady-rate` (50) turns/s are offered; p50/p99 over the window.
  Interviews in progress carry over from saturated to steady.

Prints a table (and writes `--json`): turns/s, p50, p99, errors, CPU use, and the ratios to
the bare Bolt app measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import math
import os
import platform
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

import aiohttp
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.crypto import Cipher  # noqa: E402
from bot.departure_events import sign  # noqa: E402
from tests.fakes.slack_api import FakeSlackAPI, dm_event  # noqa: E402

SIGNING_SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-bench-token"
WEBHOOK_SECRET = (
    "whsec_" + __import__("base64").b64encode(b"load-benchmark-webhook-secret-0").decode()
)

# (text the employee types, chat.postMessage calls the reply makes) for the built-in form.
INTERVIEW: list[tuple[str, int]] = [
    ("start", 2),  # "Great, thank you! ..." + the first question
    ("Career growth", 1),  # main_reason (choice, by label; no follow-up for this value)
    ("The people in my team and the freedom to organise my own work, honestly the best part", 1),
    ("Clearer goals and more support from the product team during the launches last year", 1),
    ("4", 1),  # manager_relationship, scale 1-5
    ("8", 1),  # recommend, scale 0-10
    ("Maybe", 1),  # come_back (choice, by label)
    ("Publish salary bands and make the promotion criteria visible for everyone here", 1),
    ("No, I think I have said everything, thanks", 1),  # anything_else -> the summary
    ("Yes, that's right", 1),  # confirm the summary -> outro, interview completed
]
OUTRO_PREFIX = "Thank you so much"
ECHO_TEXTS = [text for text, _ in INTERVIEW]  # the echo app gets the same words, 1 reply each

TURN_TIMEOUT = 30.0  # seconds an employee waits for a reply before counting an error


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# ---------------------------------------------------------------------- replies per channel


class Inbox:
    """Counts chat.postMessage calls per channel and wakes whoever waits for the n-th one."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.waiters: dict[str, list[tuple[int, asyncio.Future[tuple[float, str]]]]] = {}
        self.total = 0

    def post(self, channel: str, text: str) -> None:
        arrived = time.perf_counter()
        count = self.counts.get(channel, 0) + 1
        self.counts[channel] = count
        self.total += 1
        waiting = self.waiters.get(channel)
        if not waiting:
            return
        still = []
        for target, future in waiting:
            if count >= target:
                if not future.done():
                    future.set_result((arrived, text))
            else:
                still.append((target, future))
        if still:
            self.waiters[channel] = still
        else:
            del self.waiters[channel]

    def count(self, channel: str) -> int:
        return self.counts.get(channel, 0)

    def wait(self, channel: str, target: int) -> asyncio.Future[tuple[float, str]]:
        future: asyncio.Future[tuple[float, str]] = asyncio.get_running_loop().create_future()
        if self.counts.get(channel, 0) >= target:
            future.set_result((time.perf_counter(), ""))
        else:
            self.waiters.setdefault(channel, []).append((target, future))
        return future

    def reset(self) -> None:
        for waiting in self.waiters.values():
            for _, future in waiting:
                future.cancel()
        self.waiters.clear()


# ---------------------------------------------------------------------- fake Slack Web API


@dataclass(slots=True)
class User:
    id: str
    email: str
    tz: str

    @property
    def channel(self) -> str:
        return "D" + self.id[1:]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "team_id": "T1",
            "name": self.id.lower(),
            "deleted": False,
            "real_name": f"Employee {self.id}",
            "tz": self.tz,
            "locale": "en-US",
            "is_bot": False,
            "profile": {"email": self.email, "real_name": f"Employee {self.id}"},
        }


class LeanFake:
    """Just enough of Slack's Web API for the benchmark, as cheap per call as aiohttp allows:
    auth.test, users.lookupByEmail, users.info, conversations.open, chat.postMessage."""

    AUTH = {
        "ok": True,
        "url": "https://fake.slack.com/",
        "team": "Fake Team",
        "user": "exitbot",
        "team_id": "T1",
        "user_id": "UBOT",
        "bot_id": "BBOT",
        "is_enterprise_install": False,
    }

    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox
        self.users: dict[str, User] = {}
        self.by_email: dict[str, User] = {}
        self.calls: Counter[str] = Counter()
        self._ts = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0

    def add_user(self, user: User) -> None:
        self.users[user.id] = user
        self.by_email[user.email] = user

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    async def start(self) -> None:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._api)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _args(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            raw = await request.read()
            if raw and request.content_type == "application/json":
                args.update(json.loads(raw))
            elif raw:
                args.update(urllib.parse.parse_qsl(raw.decode()))
        return args

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        self.calls[method] += 1
        args = await self._args(request)
        if method == "chat.postMessage":
            channel = str(args.get("channel", ""))
            self.inbox.post(channel, str(args.get("text", "")))
            ts = f"1700000000.{next(self._ts):06d}"
            return web.json_response({"ok": True, "channel": channel, "ts": ts})
        if method == "auth.test":
            return web.json_response(self.AUTH)
        if method == "users.lookupByEmail":
            user = self.by_email.get(str(args.get("email", "")).lower())
            if user is None:
                return web.json_response({"ok": False, "error": "users_not_found"})
            return web.json_response({"ok": True, "user": user.to_json()})
        if method == "users.info":
            user = self.users.get(str(args.get("user", "")))
            if user is None:
                return web.json_response({"ok": False, "error": "user_not_found"})
            return web.json_response({"ok": True, "user": user.to_json()})
        if method == "conversations.open":
            users = str(args.get("users", "")).split(",")
            return web.json_response({"ok": True, "channel": {"id": "D" + users[0][1:]}})
        return web.json_response({"ok": True})


class FullFake:
    """`tests.fakes.FakeSlackAPI` (records every call), with chat.postMessage hooked."""

    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox
        self.fake = FakeSlackAPI()
        self._ts = itertools.count(1)
        self.fake.set_handler("chat.postMessage", self._post)

    def _post(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        self.inbox.post(channel, str(args.get("text", "")))
        return {"channel": channel, "ts": f"1700000000.{next(self._ts):06d}"}

    def add_user(self, user: User) -> None:
        self.fake.add_user(user.id, user.email, f"Employee {user.id}", tz=user.tz, locale="en-US")

    @property
    def calls(self) -> Counter[str]:
        return Counter(call.method for call in self.fake.calls)

    @property
    def base_url(self) -> str:
        return self.fake.base_url

    async def start(self) -> None:
        await self.fake.start()

    async def stop(self) -> None:
        await self.fake.stop()


# ---------------------------------------------------------------------- CPU accounting

_TICK = os.sysconf("SC_CLK_TCK")


def machine_cpu() -> tuple[float, float, float]:
    """(busy, steal, total) CPU seconds of the whole machine since boot, from /proc/stat
    (busy includes steal: time the hypervisor gave to someone else)."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:9]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / _TICK, values[7] / _TICK, sum(values) / _TICK


def process_cpu(pid: int) -> float:
    """utime + stime of one process (children not included), seconds; 0 when gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def postgres_cpu() -> float:
    """CPU seconds used so far by the PostgreSQL server: every live `postgres` process plus
    the children the postmaster has reaped (backends of closed connections). The server is
    shared: anyone else's queries count too, so read it on a quiet machine."""
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/comm") as f:
                if f.read().strip() != "postgres":
                    continue
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
        if fields[1] == "1" or not _is_postgres(int(fields[1])):  # the postmaster
            total += int(fields[13]) + int(fields[14])  # cutime, cstime: reaped backends
    return total / _TICK


def _is_postgres(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip() == "postgres"
    except OSError:
        return False


# ---------------------------------------------------------------------- targets


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def working_zone(now: datetime) -> tuple[str, date]:
    """A fixed-offset zone where it is now a weekday between 10:05 and 16:15 (closest to
    13:00), and today's date there: with lead 0 the invite is then due at once."""
    best: tuple[int, str, date] | None = None
    for name in available_timezones():
        if not name.startswith("Etc/GMT") or name in ("Etc/GMT0", "Etc/GMT-0", "Etc/GMT+0"):
            continue
        local = now.astimezone(ZoneInfo(name))
        minutes = local.hour * 60 + local.minute
        if local.weekday() < 5 and 10 * 60 + 5 <= minutes <= 16 * 60 + 15:
            score = abs(minutes - 13 * 60)
            if best is None or score < best[0]:
                best = (score, name, local.date())
    if best is None:
        raise SystemExit(
            "no time zone is inside working hours on a weekday at this moment (Saturday ~04:30 "
            "to Sunday ~20:05 UTC) and no rehearsal clock was set (see `rehearsal_shift`)"
        )
    return best[1], best[2]


def rehearsal_shift(now: datetime) -> timedelta:
    """0 when some zone is in working hours on a weekday now. Otherwise (a weekend) how far
    back the latest moment lies when one was at about 13:00: ExitBot then runs with
    `exitbot serve --as-of` that moment (its rehearsal clock; the clock keeps running) and
    the departures are dated by it. Turns, signatures and latencies are the same; only what
    ExitBot believes the date is differs."""
    with contextlib.suppress(SystemExit):
        working_zone(now)
        return timedelta(0)
    back = timedelta(0)
    while back < timedelta(days=4):
        back += timedelta(minutes=15)
        with contextlib.suppress(SystemExit):
            zone, _ = working_zone(now - back)
            local = (now - back).astimezone(ZoneInfo(zone))
            if abs(local.hour * 60 + local.minute - 13 * 60) <= 15:
                return -back
    raise SystemExit("no weekday working hours in the last four days (?)")


SHIFT = timedelta(0)  # set by main(): the rehearsal clock's offset (`rehearsal_shift`)


def bench_now() -> datetime:
    """Now, as the ExitBot targets believe it to be (`SHIFT`)."""
    return datetime.now(UTC) + SHIFT


@dataclass
class Target:
    name: str
    kind: str  # "bolt" | "exitbot"
    replicas: int = 1
    database: str | None = None  # "sqlite" | "postgresql"
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)
    db_url: str | None = None
    db_name: str | None = None  # the scratch PostgreSQL database
    _rr: itertools.cycle[str] | None = None

    @property
    def label(self) -> str:
        if self.kind == "bolt":
            return "bare Bolt echo" + (f" ×{self.replicas}" if self.replicas > 1 else "")
        return f"ExitBot {self.database} ×{self.replicas}"

    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.ports]

    def next_url(self) -> str:
        if self._rr is None:
            self._rr = itertools.cycle(self.urls())
        return next(self._rr)

    def cpu(self) -> float:
        return sum(process_cpu(p.pid) for p in self.procs)


class Stack:
    """Starts and stops the target processes and the scratch databases."""

    def __init__(self, args: argparse.Namespace, api_url: str, workdir: Path) -> None:
        self.args = args
        self.api_url = api_url
        self.workdir = workdir
        self.pg_databases: list[str] = []

    def _spawn(self, target: Target, argv: list[str], env: dict[str, str]) -> None:
        port = free_port()
        index = len(target.procs)
        log_path = self.workdir / f"{target.name}-{index}.log"
        argv = [*argv, "--port", str(port)]
        with open(log_path, "wb") as out:
            proc = subprocess.Popen(
                argv, env=env, cwd=self.workdir, stdout=out, stderr=subprocess.STDOUT
            )
        target.procs.append(proc)
        target.ports.append(port)
        target.logs.append(log_path)

    def start(self, target: Target) -> None:
        python = sys.executable
        here = Path(__file__).resolve().parent
        env = {k: v for k, v in os.environ.items() if not k.startswith(("EXITBOT_", "SLACK_"))}
        env["PYTHONPATH"] = str(ROOT)
        if target.kind == "bolt":
            argv = [python, str(here / "bolt_echo.py"), "--api-url", self.api_url]
            argv += ["--session", self.args.bolt_session]
            for _ in range(target.replicas):
                self._spawn(target, [*argv, "--signing-secret", SIGNING_SECRET], env)
            return
        if target.database == "sqlite":
            target.db_url = f"sqlite:///{self.workdir / f'{target.name}.db'}"
        else:
            target.db_url = self._scratch_postgres()
            target.db_name = self.pg_databases[-1]
        env.update(
            {
                "EXITBOT_DATABASE_URL": target.db_url,
                "EXITBOT_ENCRYPTION_KEY": Cipher.new_key(),
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "EXITBOT_SLACK_API_URL": self.api_url,
                "EXITBOT_INVITE_LEAD_DAYS": "0",
                "EXITBOT_TICK_SECONDS": "1",
                "EXITBOT_WEBHOOK_SECRET": WEBHOOK_SECRET,
                "EXITBOT_HOST": "127.0.0.1",
            }
        )
        script = (
            str(Path(self.args.serve_script).resolve())
            if self.args.serve_script
            else str(here / "serve.py")
        )
        serve = [python, script, "--pacing", self.args.pacing]
        for _ in range(target.replicas):
            rehearsal = ["--as-of", bench_now().isoformat(timespec="seconds")] if SHIFT else []
            self._spawn(target, [*serve, *rehearsal], env)

    def _scratch_postgres(self) -> str:
        import psycopg
        from sqlalchemy.engine import make_url

        base = make_url(self.args.pg_url)
        name = f"exitbot_load_{uuid.uuid4().hex[:8]}"
        admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.pg_databases.append(name)
        return base.set(drivername="postgresql", database=name).render_as_string(
            hide_password=False
        )

    async def wait_ready(self, target: Target, session: aiohttp.ClientSession) -> None:
        deadline = time.monotonic() + 60
        pending = set(target.urls())
        while pending:
            for proc, path in zip(target.procs, target.logs, strict=True):
                if proc.poll() is not None:
                    tail = path.read_text(errors="replace")[-3000:]
                    raise RuntimeError(f"{target.name} exited ({proc.returncode}):\n{tail}")
            for url in list(pending):
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with session.get(url + "/healthz") as response:
                        if response.status == 200:
                            pending.discard(url)
            if time.monotonic() > deadline:
                raise RuntimeError(f"{target.name} not healthy after 60 s")
            await asyncio.sleep(0.1)

    def stop(self, target: Target) -> None:
        for proc in target.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in target.procs:
            try:
                proc.wait(timeout=12)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)

    def drop_databases(self) -> None:
        if not self.pg_databases:
            return
        import psycopg
        from sqlalchemy.engine import make_url

        admin = make_url(self.args.pg_url).set(drivername="postgresql")
        with psycopg.connect(
            admin.render_as_string(hide_password=False), autocommit=True, connect_timeout=5
        ) as conn:
            for name in self.pg_databases:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.pg_databases.clear()


# ---------------------------------------------------------------------- employees and turns


@dataclass
class Employee:
    user: User
    step: int = 0


@dataclass
class TurnRecord:
    sent: float  # just before the signed event was POSTed (perf_counter)
    first: float  # the first chat.postMessage of the reply reached the fake API
    acked: float  # the HTTP response (Bolt's ack) came back; Slack wants it within 3 s
    step: int = 0  # which turn of the script (0: "start")

    @property
    def latency(self) -> float:
        return self.first - self.sent


@dataclass
class PhaseResult:
    target: str
    label: str
    load: str
    window: float
    turns: int
    rate: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    completed_interviews: int
    bad_outros: int
    machine_busy_pct: float  # of all CPUs together (100 % = every core busy)
    steal_pct: float  # of all CPUs: taken by the hypervisor
    other_cpu_pct: float  # of one core: run here but not by load generator, target, postgres
    loadgen_cpu_pct: float  # of one core
    target_cpu_pct: float
    postgres_cpu_pct: float
    target_cpu_ms_per_turn: float  # target processes' CPU time / completed turns
    ack_p50_ms: float
    ack_p99_ms: float
    acks_over_3s: int  # Slack would have retried these events
    exhausted: bool = False
    offered: float | None = None
    reference: int | None = None  # index of the bare Bolt phase run just before this one
    # ExitBot: [turns, p50 ms, p99 ms] for each turn of the script (0: "start"), to see which
    # kind of turn makes the tail
    by_step: list[list[float]] | None = None
    # ExitBot: turns per transaction over the window, all replicas together (from each
    # replica's /metrics, `exitbot_turn_batch_size`)
    turns_per_batch: float | None = None


def write_timeline(
    folder: Path, label: str, load: str, w0: float, records: list[TurnRecord]
) -> None:
    """One CSV line per turn of the window, in the order sent: when (s after the window
    opened), latency and ack (ms), which turn of the script; to see *when* the tail happens."""
    folder.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^a-z0-9]+", "-", f"{label} {load}".lower()).strip("-")
    lines = ["sent_s,latency_ms,ack_ms,step,monotonic"]  # monotonic: the system's clock
    for r in sorted(records, key=lambda r: r.sent):
        lines.append(
            f"{r.sent - w0:.4f},{r.latency * 1000:.2f},{(r.acked - r.sent) * 1000:.2f},{r.step},"
            f"{r.sent:.6f}"
        )
    (folder / f"{name}.csv").write_text("\n".join(lines) + "\n")


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


class Driver:
    def __init__(
        self,
        args: argparse.Namespace,
        target: Target,
        inbox: Inbox,
        session: aiohttp.ClientSession,
    ) -> None:
        self.args = args
        self.target = target
        self.inbox = inbox
        self.session = session
        self.secret = SIGNING_SECRET.encode()
        self.pool: list[User] = []
        self.slots: list[Employee | None] = [None] * args.employees
        self.event_ids = itertools.count(1)
        self.run_id = uuid.uuid4().hex[:6].upper()

    # -- sending ---------------------------------------------------------------

    def _signed(self, user: User, text: str) -> tuple[bytes, dict[str, str]]:
        event_id = f"Ev{self.run_id}{next(self.event_ids):08d}"
        body = json.dumps(
            dm_event(user.id, text, user.channel, event_id, f"{time.time():.6f}")
        ).encode()
        stamp = str(int(time.time()))
        digest = hmac.new(self.secret, b"v0:" + stamp.encode() + b":" + body, hashlib.sha256)
        headers = {
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": "v0=" + digest.hexdigest(),
        }
        return body, headers

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, float]:
        async with self.session.post(url + "/slack/events", data=body, headers=headers) as r:
            await r.read()
            return r.status, time.perf_counter()

    async def turn(self, user: User, text: str, expected: int) -> tuple[TurnRecord | None, str]:
        """Send one answer; wait for the whole reply. (record, text of the first reply)."""
        channel = user.channel
        base = self.inbox.count(channel)
        first = self.inbox.wait(channel, base + 1)
        last = self.inbox.wait(channel, base + expected) if expected > 1 else first
        body, headers = self._signed(user, text)
        url = self.target.next_url()
        sent = time.perf_counter()
        post = asyncio.create_task(self._post(url, body, headers))
        try:
            arrived, reply = await asyncio.wait_for(asyncio.shield(first), TURN_TIMEOUT)
            await asyncio.wait_for(asyncio.shield(last), TURN_TIMEOUT)
            status, acked = await asyncio.wait_for(post, TURN_TIMEOUT)
        except (TimeoutError, aiohttp.ClientError, OSError):
            post.cancel()
            first.cancel()
            last.cancel()
            return None, ""
        if status != 200:
            return None, ""
        return TurnRecord(sent, arrived, acked), reply

    # -- ExitBot set-up ----------------------------------------------------------

    async def create_pool(self, fake: LeanFake | FullFake, size: int, prefix: str) -> None:
        """`size` departures through the signed webhook; wait for every invite DM."""
        zone, last_day = working_zone(bench_now())
        users = [
            User(f"U{prefix}{n:06d}", f"emp-{prefix}-{n}@bench.example.com", zone)
            for n in range(size)
        ]
        for user in users:
            fake.add_user(user)
        log(f"  creating {size} departures (zone {zone}, last working day {last_day})")
        started = time.monotonic()
        gate = asyncio.Semaphore(16)
        urls = self.target.urls()

        async def depart(n: int, user: User) -> None:
            payload = {
                "type": "departure.created",
                "departure": {
                    "id": f"load-{user.id}",
                    "kind": "resignation",
                    "last_working_day": last_day.isoformat(),
                    "employee": {
                        "email": user.email,
                        "name": f"Employee {n}",
                        "timezone": zone,
                        "language": "en",
                    },
                },
            }
            body = json.dumps(payload).encode()
            for attempt in range(5):
                headers = sign(WEBHOOK_SECRET, f"msg_{uuid.uuid4().hex}", int(time.time()), body)
                headers["Content-Type"] = "application/json"
                async with (
                    gate,
                    self.session.post(
                        urls[n % len(urls)] + "/webhooks/departures", data=body, headers=headers
                    ) as response,
                ):
                    await response.read()
                    if response.status == 202:
                        return
                await asyncio.sleep(0.2 * (attempt + 1))
            raise RuntimeError(f"departure webhook kept failing ({response.status})")

        await asyncio.gather(*(depart(n, user) for n, user in enumerate(users)))
        log(
            f"  {size} departures accepted in {time.monotonic() - started:.1f} s; waiting for invites"
        )
        deadline = time.monotonic() + self.args.invite_timeout
        shown = time.monotonic()
        while True:
            invited = sum(1 for user in users if self.inbox.count(user.channel) >= 1)
            if invited >= size:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"only {invited}/{size} invites after {self.args.invite_timeout} s"
                )
            if time.monotonic() - shown > 10:
                log(f"  {invited}/{size} invites")
                shown = time.monotonic()
            await asyncio.sleep(0.2)
        log(f"  {size} invites received after {time.monotonic() - started:.1f} s")
        self.pool = users

    # -- phases ------------------------------------------------------------------

    async def phase(self, load: str) -> PhaseResult:
        args = self.args
        exitbot = self.target.kind == "exitbot"
        script = INTERVIEW if exitbot else [(text, 1) for text in ECHO_TEXTS]
        records: list[TurnRecord] = []
        errors = 0
        completed = 0
        bad_outros = 0
        exhausted_at: list[float] = []
        stop = asyncio.Event()
        start = time.perf_counter()
        w0, w1 = start + args.warmup, start + args.warmup + args.window
        steady = load == "steady"
        period = args.employees / args.steady_rate

        async def slot(index: int) -> None:
            nonlocal errors, completed, bad_outros
            rng = random.Random(index)
            next_send = start + rng.uniform(0, period)
            while not stop.is_set():
                employee = self.slots[index]
                if employee is None:
                    if exitbot:
                        if not self.pool:
                            exhausted_at.append(time.perf_counter())
                            return
                        employee = Employee(self.pool.pop())
                    else:
                        employee = Employee(User(f"UE{index:06d}", "", "UTC"))
                    self.slots[index] = employee
                if steady:
                    delay = next_send - time.perf_counter()
                    if delay > 0:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(stop.wait(), delay)
                        if stop.is_set():
                            return
                    next_send = max(next_send, time.perf_counter()) + period * rng.uniform(0.9, 1.1)
                text, expected = script[employee.step]
                record, reply = await self.turn(employee.user, text, expected)
                if record is None:
                    errors += 1
                    self.slots[index] = None  # state unknown: move on to a fresh employee
                    continue
                record.step = employee.step
                records.append(record)
                employee.step += 1
                if employee.step == len(script):
                    if exitbot:
                        completed += 1
                        bad_outros += not reply.startswith(OUTRO_PREFIX)
                        self.slots[index] = None
                    else:
                        employee.step = 0

        cpu_marks: dict[str, float] = {}

        def snapshot(suffix: str) -> None:
            """CPU counters at a window edge: `busy`, ... at the start, `busy1`, ... at the end."""
            busy, steal, total = machine_cpu()
            counters = {
                "busy": busy,
                "steal": steal,
                "total": total,
                "lg": time.process_time(),
                "tg": self.target.cpu(),
                "pg": postgres_cpu() if self.target.db_name else 0.0,
            }
            cpu_marks.update({name + suffix: value for name, value in counters.items()})

        batch_marks: list[tuple[float, float]] = []  # (turns, batches) at each window edge

        async def mark_window() -> None:
            await asyncio.sleep(max(0.0, w0 - time.perf_counter()))
            snapshot("")
            if exitbot:
                batch_marks.append(await self.batch_counts())
            await asyncio.sleep(max(0.0, w1 - time.perf_counter()))
            snapshot("1")
            if exitbot:
                batch_marks.append(await self.batch_counts())
            stop.set()

        tasks = [asyncio.create_task(slot(i)) for i in range(args.employees)]
        marker = asyncio.create_task(mark_window())
        await marker
        done, pending = await asyncio.wait(tasks, timeout=TURN_TIMEOUT * 3 + 5)
        for task in pending:
            task.cancel()
        for task in done:
            if task.exception() is not None:
                raise task.exception()  # type: ignore[misc]

        end = w1
        exhausted = bool(exhausted_at) and min(exhausted_at) < w1
        if exhausted:
            end = max(w0 + 1.0, min(exhausted_at))
        if steady:
            in_window = [r for r in records if w0 <= r.sent < end]
        else:
            in_window = [r for r in records if w0 <= r.first < end]
        done_in_window = sum(1 for r in records if w0 <= r.first < end)
        latencies = sorted(r.latency * 1000 for r in in_window)
        acks = sorted((r.acked - r.sent) * 1000 for r in in_window)
        if args.timeline:
            write_timeline(args.timeline, self.target.label, load, w0, in_window)
        span = end - w0
        wall = w1 - w0
        cpus = os.cpu_count() or 1
        elapsed = max(1e-9, cpu_marks["total1"] - cpu_marks["total"])
        busy_pct = 100 * (cpu_marks["busy1"] - cpu_marks["busy"]) / elapsed
        steal_pct = 100 * (cpu_marks["steal1"] - cpu_marks["steal"]) / elapsed
        ours = sum(cpu_marks[k + "1"] - cpu_marks[k] for k in ("lg", "tg", "pg"))
        return PhaseResult(
            target=self.target.name,
            label=self.target.label,
            load=load,
            window=round(span, 2),
            turns=done_in_window,
            rate=done_in_window / span,
            p50_ms=percentile(latencies, 0.50),
            p99_ms=percentile(latencies, 0.99),
            max_ms=latencies[-1] if latencies else float("nan"),
            errors=errors,
            completed_interviews=completed,
            bad_outros=bad_outros,
            machine_busy_pct=busy_pct,
            steal_pct=steal_pct,
            other_cpu_pct=max(0.0, (busy_pct - steal_pct) * cpus - 100 * ours / wall),
            loadgen_cpu_pct=100 * (cpu_marks["lg1"] - cpu_marks["lg"]) / wall,
            target_cpu_pct=100 * (cpu_marks["tg1"] - cpu_marks["tg"]) / wall,
            postgres_cpu_pct=100 * (cpu_marks["pg1"] - cpu_marks["pg"]) / wall,
            target_cpu_ms_per_turn=1000
            * (cpu_marks["tg1"] - cpu_marks["tg"])
            / max(1, sum(1 for r in records if w0 <= r.first < w1)),
            ack_p50_ms=percentile(acks, 0.50),
            ack_p99_ms=percentile(acks, 0.99),
            acks_over_3s=sum(1 for a in acks if a > 3000),
            exhausted=exhausted,
            offered=args.steady_rate if steady else None,
            by_step=by_step(in_window, len(script)) if exitbot else None,
            turns_per_batch=per_batch(batch_marks),
        )

    async def batch_counts(self) -> tuple[float, float]:
        """Turns and transactions stored so far by all of the target's replicas."""
        turns = batches = 0.0
        for url in self.target.urls():
            async with self.session.get(url + "/metrics") as response:
                text = await response.text()
            for family in text_string_to_metric_families(text):
                for sample in family.samples:
                    if sample.name == "exitbot_turn_batch_size_sum":
                        turns += sample.value
                    elif sample.name == "exitbot_turn_batch_size_count":
                        batches += sample.value
        return turns, batches


def per_batch(marks: list[tuple[float, float]]) -> float | None:
    """Turns per transaction between the first and the last (turns, batches) mark."""
    if len(marks) < 2 or marks[-1][1] <= marks[0][1]:
        return None
    return (marks[-1][0] - marks[0][0]) / (marks[-1][1] - marks[0][1])


def by_step(records: list[TurnRecord], steps: int) -> list[list[float]]:
    """[turns, p50 ms, p99 ms] of the records of each step of the script."""
    rows: list[list[float]] = []
    for step in range(steps):
        ms = sorted(r.latency * 1000 for r in records if r.step == step)
        rows.append([len(ms), percentile(ms, 0.50), percentile(ms, 0.99)])
    return rows


def steps_line(r: PhaseResult) -> str:
    """ExitBot's p50/p99 by turn of the interview (start, the answers, the confirmation)."""
    names = ["start", *(str(n) for n in range(1, len(INTERVIEW) - 1)), "confirm"]
    parts = [
        f"{name} {p50:.1f}/{p99:.1f}"
        for name, (count, p50, p99) in zip(names, r.by_step or [], strict=False)
        if count
    ]
    return "p50/p99 ms by turn: " + ", ".join(parts)


# ---------------------------------------------------------------------- the run


def pool_size(args: argparse.Namespace, bolt_rate: float | None) -> int:
    if args.pool:
        return int(args.pool)
    turns = len(INTERVIEW)
    # ExitBot is expected to stay under 0.8x the Bolt rate measured first (it does about
    # 0.5x of the reference with one kept session, 0.9x of the per-call one; Bolt's own rate
    # moves by a quarter between measurements minutes apart; 400 turns/s when Bolt was not
    # measured); each invite costs some set-up, so the pool is not made larger than that
    # needs. If a faster build empties it, the window is cut where it ran out and the row
    # says so: pass --pool or --expect-rate.
    factor = 0.8 if args.bolt_session == "shared" else 1.1
    expected = args.expect_rate or (factor * bolt_rate if bolt_rate else 400.0)
    span = args.warmup + args.window + 3  # the slots stop a little after the window
    saturated = expected * span / turns
    steady = args.steady_rate * span / turns
    return int(args.employees + math.ceil(1.15 * (saturated + steady)) + 20)


TARGETS = {
    "bolt": lambda: Target("bolt", "bolt"),
    "sqlite": lambda: Target("sqlite", "exitbot", 1, "sqlite"),
    "pg1": lambda: Target("pg1", "exitbot", 1, "postgresql"),
    "pg3": lambda: Target("pg3", "exitbot", 3, "postgresql"),
    # what three processes of the bare framework do on this machine: may one replica's
    # throughput be beaten by three here at all?
    "bolt3": lambda: Target("bolt3", "bolt", 3),
}


async def run(args: argparse.Namespace) -> list[PhaseResult]:
    inbox = Inbox()
    fake: LeanFake | FullFake = LeanFake(inbox) if args.fake == "lean" else FullFake(inbox)
    await fake.start()
    results: list[PhaseResult] = []
    workdir = Path(tempfile.mkdtemp(prefix="exitbot-load-"))
    stack = Stack(args, fake.base_url, workdir)
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=0)
    timeout = aiohttp.ClientTimeout(total=TURN_TIMEOUT)
    log(f"fake Slack API ({args.fake}) at {fake.base_url}; logs in {workdir}")
    bolt_rate: float | None = None
    # `--reference beside`: the bare Bolt app stays up and is measured again just before
    # each ExitBot phase, so every ratio compares two phases minutes apart at most (this
    # host's speed drifts by tens of per cent within an hour).
    beside = args.reference == "beside" and "bolt" in args.targets
    reference: Driver | None = None
    reference_target = TARGETS["bolt"]() if beside else None
    try:
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            if reference_target is not None:
                log(
                    f"{reference_target.label}: starting (measured again beside each ExitBot phase)"
                )
                stack.start(reference_target)
                await stack.wait_ready(reference_target, session)
                reference = Driver(args, reference_target, inbox, session)
            for index, name in enumerate(args.targets):
                target = reference_target if name == "bolt" and beside else TARGETS[name]()
                assert target is not None
                if target is not reference_target:
                    log(f"{target.label}: starting")
                    stack.start(target)
                try:
                    await stack.wait_ready(target, session)
                    if target is reference_target and reference is not None:
                        driver = reference  # the one kept up beside every ExitBot phase
                    else:
                        driver = Driver(args, target, inbox, session)
                    if target.kind == "exitbot":
                        await driver.create_pool(fake, pool_size(args, bolt_rate), f"{index}")
                    for load in args.loads:
                        before = None
                        if reference is not None and target.kind == "exitbot":
                            beside_label = f"{reference.target.label} (beside {target.label})"
                            log(f"{beside_label}: {load} load")
                            ref = await reference.phase(load)
                            ref.label = beside_label
                            results.append(ref)
                            before = len(results) - 1
                            log("  " + one_line(ref))
                            await asyncio.sleep(args.pause)
                        log(
                            f"{target.label}: {load} load, {args.warmup:g} s warm-up + {args.window:g} s window"
                        )
                        result = await driver.phase(load)
                        result.reference = before
                        results.append(result)
                        if target.kind == "bolt" and load == "saturated" and bolt_rate is None:
                            bolt_rate = result.rate
                        log("  " + one_line(result))
                        if result.by_step:
                            log("  " + steps_line(result))
                        await asyncio.sleep(args.pause)
                    if target.kind == "exitbot":
                        log(f"  pool left unused: {len(driver.pool)} employees")
                finally:
                    if target is not reference_target:
                        stop_and_check(stack, target)
                        inbox.reset()
                log(f"  fake API calls so far: {dict(fake.calls)}")
    finally:
        if reference_target is not None:
            stop_and_check(stack, reference_target)
        await fake.stop()
        stack.drop_databases()
    return results


def stop_and_check(stack: Stack, target: Target) -> None:
    """Stop the target's processes; report error lines in their logs."""
    stack.stop(target)
    for path in target.logs:
        errors = [
            line
            for line in path.read_text(errors="replace").splitlines()
            if " ERROR " in line or "Traceback" in line
        ]
        if errors:
            log(f"  {path.name}: {len(errors)} error line(s), e.g. {errors[0][:200]}")


def one_line(r: PhaseResult) -> str:
    cut = f" (pool ran out: window {r.window:.1f} s)" if r.exhausted else ""
    return (
        f"{r.turns} turns, {r.rate:.1f} turns/s, p50 {r.p50_ms:.1f} ms, p99 {r.p99_ms:.1f} ms, "
        f"max {r.max_ms:.0f} ms, ack p50/p99 {r.ack_p50_ms:.1f}/{r.ack_p99_ms:.1f} ms "
        f"({r.acks_over_3s} over 3 s), errors {r.errors}, "
        f"completed interviews {r.completed_interviews}"
        f" (bad outros {r.bad_outros}); CPU: machine {r.machine_busy_pct:.0f}% (steal "
        f"{r.steal_pct:.0f}%), others {r.other_cpu_pct:.0f}%, "
        f"load generator {r.loadgen_cpu_pct:.0f}%, target {r.target_cpu_pct:.0f}% "
        f"({r.target_cpu_ms_per_turn:.1f} ms/turn)"
        + (f", postgres {r.postgres_cpu_pct:.0f}%" if r.postgres_cpu_pct else "")
        + (f"; {r.turns_per_batch:.1f} turns per batch" if r.turns_per_batch else "")
        + cut
    )


def reference_of(results: list[PhaseResult], r: PhaseResult) -> PhaseResult | None:
    """The bare Bolt phase to compare with: the one run just before (`--reference beside`),
    else the first of the same load."""
    if r.reference is not None:
        return results[r.reference]
    return next((b for b in results if b.target == "bolt" and b.load == r.load), None)


def table(results: list[PhaseResult]) -> str:
    lines = [
        "| target | load | turns/s | p50 ms | p99 ms | × Bolt turns/s | × Bolt p99 | errors |"
        " CPU: machine / loadgen / target / postgres |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        base = reference_of(results, r) if r.target != "bolt" else None
        saturated = r.load == "saturated"
        ratio_rate = f"{r.rate / base.rate:.2f}" if base and base.rate and saturated else "—"
        ratio_p99 = (
            f"{r.p99_ms / base.p99_ms:.2f}" if base and base.p99_ms and not saturated else "—"
        )
        load = "saturated (200)" if r.load == "saturated" else f"steady ({r.offered:g}/s offered)"
        pg = f"{r.postgres_cpu_pct:.0f}%" if r.postgres_cpu_pct else "—"
        cut = " ⚠ pool ran out" if r.exhausted else ""
        lines.append(
            f"| {r.label} | {load} | {r.rate:.1f}{cut} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | "
            f"{ratio_rate} | {ratio_p99} | {r.errors} | {r.machine_busy_pct:.0f}% / "
            f"{r.loadgen_cpu_pct:.0f}% / {r.target_cpu_pct:.0f}% / {pg} |"
        )
    return "\n".join(lines)


def shown(ratio: float, bound: float) -> str:
    """Two decimals, or four where two would round onto the target (0.4984 is not 0.50)."""
    text = f"{ratio:.2f}"
    return f"{ratio:.4f}" if float(text) == bound else text


def verdict(results: list[PhaseResult]) -> list[str]:
    by = {(r.target, r.load): r for r in results}
    out = []
    for name in ("sqlite", "pg1", "pg3"):
        sat, steady = by.get((name, "saturated")), by.get((name, "steady"))
        bolt_sat = reference_of(results, sat) if sat else None
        bolt_steady = reference_of(results, steady) if steady else None
        if sat and bolt_sat:
            ratio = sat.rate / bolt_sat.rate
            out.append(
                f"{sat.label}: throughput {shown(ratio, 0.5)}× Bolt ({'met' if ratio >= 0.5 else 'NOT met'}, target ≥ 0.5×)"
            )
        if steady and bolt_steady:
            ratio = steady.p99_ms / bolt_steady.p99_ms
            out.append(
                f"{steady.label}: steady p99 {shown(ratio, 2)}× Bolt ({'met' if ratio <= 2 else 'NOT met'}, target ≤ 2×)"
            )
    one, three = by.get(("pg1", "saturated")), by.get(("pg3", "saturated"))
    if one and three:
        ratio = three.rate / one.rate
        line = f"PostgreSQL 3 replicas vs 1: {shown(ratio, 1)}× ({'met' if ratio > 1 else 'NOT met'}, target > 1×)"
        if one.reference is not None and three.reference is not None:
            each = (three.rate / results[three.reference].rate) / (
                one.rate / results[one.reference].rate
            )
            line += f"; {shown(each, 1)}× as ratios to the Bolt run beside each"
        out.append(line)
    bolt1, bolt3 = by.get(("bolt", "saturated")), by.get(("bolt3", "saturated"))
    if bolt1 and bolt3:
        ratio = bolt3.rate / bolt1.rate
        out.append(f"bare Bolt 3 processes vs 1 (for reference, no target): {ratio:.2f}×")
    return out


def cpu_gaps(seconds: float = 3.0, gap: float = 0.001) -> dict[str, float]:
    """How often this vCPU is taken away: a busy loop's gaps over `gap` seconds while
    nothing else runs (the hypervisor's steal, in the sizes a turn meets it). On a quiet
    host a few per second of well under a millisecond; on a busy one dozens of 2-20 ms."""
    gaps: list[float] = []
    end = time.perf_counter() + seconds
    last = time.perf_counter()
    while last < end:
        now = time.perf_counter()
        if now - last > gap:
            gaps.append(now - last)
        last = now
    return {
        "per_s": round(len(gaps) / seconds, 1),
        "lost_pct": round(100 * sum(gaps) / seconds, 2),
        "max_ms": round(1000 * max(gaps, default=0.0), 1),
    }


def machine() -> dict[str, Any]:
    model = "?"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with contextlib.suppress(OSError), open("/proc/meminfo") as f:
        mem = f"{int(f.readline().split()[1]) / 1024 / 1024:.1f} GiB"

    def git(*argv: str) -> str:  # read-only: which code was measured
        try:
            done = subprocess.run(
                ["git", *argv], cwd=ROOT, capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            return "?"
        return done.stdout.strip()

    dirty = [
        line.split(maxsplit=1)[-1]
        for line in git("status", "--porcelain").splitlines()
        if not line.startswith("??")
    ]
    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "modified_files": dirty,
        "nproc": os.cpu_count(),
        "cpu": model,
        "ram": mem,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "aiohttp": aiohttp.__version__,
        "loadavg": os.getloadavg(),
        "cpu_gaps": cpu_gaps(),  # before anything starts
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="ExitBot load benchmark (see the module docstring)"
    )
    parser.add_argument(
        "--targets",
        default="bolt,sqlite,pg1,pg3",
        help="comma-separated: bolt,sqlite,pg1,pg3 (and bolt3: three bare Bolt processes)",
    )
    parser.add_argument(
        "--loads", default="saturated,steady", help="comma-separated: saturated,steady"
    )
    parser.add_argument("--employees", type=int, default=200)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--window", type=float, default=20.0)
    parser.add_argument(
        "--steady-rate", type=float, default=50.0, help="turns/s offered at steady load"
    )
    parser.add_argument("--pause", type=float, default=2.0, help="seconds between phases")
    parser.add_argument(
        "--pool", type=int, default=0, help="departures per ExitBot target (0: auto)"
    )
    parser.add_argument(
        "--expect-rate", type=float, default=0.0, help="for the auto pool: expected turns/s"
    )
    parser.add_argument("--invite-timeout", type=float, default=240.0)
    parser.add_argument("--fake", choices=["lean", "full"], default="lean")
    parser.add_argument(
        "--bolt-session",
        choices=["shared", "per-call"],
        default="shared",
        help="the bare Bolt app's Web API client: one aiohttp session like ExitBot (shared), or"
        " slack_sdk's default of a new session and connection per call (runs 1-30)",
    )
    parser.add_argument("--pacing", choices=["on", "off"], default="off")
    parser.add_argument(
        "--reference",
        choices=["beside", "once"],
        default="beside",
        help="measure the bare Bolt app again just before each ExitBot phase (beside), or"
        " only once at the start (once)",
    )
    parser.add_argument(
        "--serve-script",
        help="run ExitBot through this script instead of bench/load/serve.py (same arguments;"
        " for profiling or trying a patch in a scratch copy)",
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "EXITBOT_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument(
        "--timeline",
        type=Path,
        help="write each phase's turns (when sent, latency, ack, step) as CSV into this folder",
    )
    parser.add_argument(
        "--max-seconds", type=float, default=1200.0, help="abort the whole run after this"
    )
    args = parser.parse_args(argv)
    args.targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    args.loads = [x.strip() for x in args.loads.split(",") if x.strip()]
    unknown = [t for t in args.targets if t not in TARGETS]
    if unknown:
        parser.error(f"unknown targets: {unknown}")

    global SHIFT
    SHIFT = rehearsal_shift(datetime.now(UTC))
    info = machine()
    if SHIFT:
        # a weekend: ExitBot's clock is set back to a weekday (`rehearsal_shift`)
        info["rehearsal_shift_hours"] = round(SHIFT.total_seconds() / 3600, 2)
    log(f"machine: {info}")
    started = datetime.now(UTC)
    results = asyncio.run(asyncio.wait_for(run(args), args.max_seconds))
    info["loadavg_after"] = os.getloadavg()
    info["cpu_gaps_after"] = cpu_gaps()
    print()
    print(table(results))
    print()
    for line in verdict(results):
        print(line)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "started": started.isoformat(timespec="seconds"),
                    "finished": datetime.now(UTC).isoformat(timespec="seconds"),
                    "command": " ".join(sys.argv),
                    "machine": info,
                    "settings": {
                        k: (v if not isinstance(v, Path) else str(v)) for k, v in vars(args).items()
                    },
                    "results": [r.__dict__ for r in results],
                    "verdict": verdict(results),
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
