"""Scratch experiments behind BENCHMARKS.md ("Experiments"): `bench/load/serve.py` with
patches to ExitBot chosen by environment variables. Not product code, not a proposal for how
to write the fixes: monkeypatches that approximate them closely enough to measure.

    EXP_CACHE_KNOWN=1 EXP_NOPING=1 PYTHONPATH=. python bench/load/loadgen.py --targets pg1 \
        --employees 100 --loads steady --steady-rate 20 --pool 150 \
        --serve-script bench/load/experiments.py

EXP_CACHE_KNOWN     cache linked Slack users in memory (no `known_user` read before each ack)
EXP_NOPING          PostgreSQL engine without `pool_pre_ping`
EXP_POOL=N          `Database(pool_size=N)` instead of 5
EXP_SHARED_SESSION  one long-lived aiohttp session for the Slack Web API client
EXP_NOMARK          no "reply sent" transaction after delivery (upper bound of batching it;
                    a crash would then resend replies: measurement only)
EXP_SQLITE_ONE      SQLite with one pooled connection (writers queue in asyncio instead of
                    sleeping in SQLite's busy handler)
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

import bot.db as db  # noqa: E402

_create_engine = db.create_async_engine


def _engine(url: Any, **kw: Any) -> Any:
    if os.environ.get("EXP_NOPING"):
        kw.pop("pool_pre_ping", None)
    if os.environ.get("EXP_SQLITE_ONE") and str(url).startswith("sqlite"):
        kw["pool_size"], kw["max_overflow"] = 1, 0
    return _create_engine(url, **kw)


db.create_async_engine = _engine

if os.environ.get("EXP_POOL"):
    _init = db.Database.__init__

    def _database(self: db.Database, url: str, *, pool_size: int = 5) -> None:
        _init(self, url, pool_size=int(os.environ["EXP_POOL"]))

    db.Database.__init__ = _database  # type: ignore[method-assign,assignment]

if os.environ.get("EXP_CACHE_KNOWN"):
    import bot.slack_plugin as slack_plugin

    _known_user = slack_plugin.SlackStore.known_user
    _cache: dict[str, Any] = {}

    async def _cached(self: slack_plugin.SlackStore, user_id: str) -> Any:
        hit = _cache.get(user_id)
        if hit is not None:
            return hit
        found = await _known_user(self, user_id)
        if found is not None and found.linked:
            _cache[user_id] = found
        return found

    slack_plugin.SlackStore.known_user = _cached  # type: ignore[method-assign]

if os.environ.get("EXP_SHARED_SESSION"):
    import aiohttp
    from aiohttp import web

    import bot.slack_plugin as slack_plugin

    _plugin = slack_plugin.plugin

    def _with_session(app: web.Application, runtime: Any) -> None:
        _plugin(app, runtime)
        if slack_plugin.SLACK not in app:
            return

        async def open_session(app: web.Application) -> None:
            app[slack_plugin.SLACK].channel.client.session = aiohttp.ClientSession()

        async def close_session(app: web.Application) -> None:
            session = app[slack_plugin.SLACK].channel.client.session
            if session is not None:
                await session.close()

        app.on_startup.append(open_session)
        app.on_cleanup.append(close_session)

    slack_plugin.plugin = _with_session

if os.environ.get("EXP_NOMARK"):
    import bot.service as service

    async def _deliver(
        self: service.InterviewService,
        channel_name: str,
        conversation_id: str,
        outcome: Any,
        key: str,
    ) -> None:
        channel = self.channels.get(channel_name)
        if outcome.messages and channel is not None:
            await channel.send(conversation_id, outcome.messages, key=f"reply:{key}")

    service.InterviewService.deliver = _deliver  # type: ignore[method-assign]

_spec = importlib.util.spec_from_file_location("bench_load_serve", HERE / "serve.py")
assert _spec is not None and _spec.loader is not None
_serve = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_serve)
sys.exit(_serve.main(sys.argv[1:]))
