"""`exitbot serve`: the HTTP server and the scheduler in one process."""

from __future__ import annotations

import argparse
import gc
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit

from aiohttp import web

from bot.app import create_app
from bot.cli.departures import _moment
from bot.clock import ShiftedClock
from bot.config import Settings
from bot.digest_post import schedule_warning
from bot.runtime import Runtime
from bot.web_plugin import playground_enabled

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("serve", help="run the HTTP server and the scheduler")
    p.add_argument("--host", help="address to listen on (default EXITBOT_HOST or 127.0.0.1)")
    p.add_argument("--port", type=_port, help="port (default EXITBOT_PORT or 3978)")
    p.add_argument(
        "--as-of",
        type=_moment,
        metavar="MOMENT",
        help="rehearsal only: run as if it were this ISO date-time (the clock keeps running), "
        "e.g. to watch a month-end digest go out; webhook signatures are still checked "
        "against the real time; never in production",
    )
    p.set_defaults(handler=run)


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0 to 65535, not {port}")
    return port


def _public_for_port(settings: Settings, port: int) -> Settings:
    """Without EXITBOT_PUBLIC_URL, the links a server on `--port` hands out point at it."""
    if settings.public_url == f"http://127.0.0.1:{settings.port}" and port != settings.port:
        return settings.with_(public_url=f"http://127.0.0.1:{port}")
    return settings


def run(args: argparse.Namespace, settings: Settings) -> int:
    host = args.host or settings.host
    port = args.port if args.port is not None else settings.port
    settings = _public_for_port(settings, port)
    clock = None
    if args.as_of is not None:
        clock = ShiftedClock(args.as_of)
        log.warning("rehearsal clock: running as if it were %s", args.as_of.isoformat())
    runtime = Runtime.open(settings, clock=clock)
    app = create_app(runtime)
    app.on_startup.append(_settle_heap)  # last: after every plugin has started
    try:
        web.run_app(
            app, host=host, port=port, print=_announce(settings, host, port), shutdown_timeout=8.0
        )
    except OSError as exc:  # said in one line by the CLI, with the address it was about
        raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return 0


async def _settle_heap(_app: web.Application) -> None:
    """Move everything built at start-up (modules, SQLAlchemy's mappers and statement
    caches, the form) out of the garbage collector's sight: a full collection then scans
    only what was made since, instead of pausing every request for tens of milliseconds."""
    gc.collect()
    gc.freeze()


_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def open_metrics_warning(settings: Settings, host: str) -> str | None:
    """Where Slack or Teams, or employees following a web link (EXITBOT_PUBLIC_URL), must
    reach this server, so can anyone: said once at start-up when /metrics then answers
    without a token."""
    if settings.metrics_token is not None or host in _LOOPBACK:
        return None
    public_host = urlsplit(settings.public_url).hostname or ""
    reached = settings.slack_enabled or settings.teams_enabled or public_host not in _LOOPBACK
    if not reached:
        return None
    return (
        f"/metrics answers anyone who can reach {host}: set EXITBOT_METRICS_TOKEN "
        "(Prometheus sends it as a bearer token), or keep /metrics behind your proxy"
    )


def _announce(settings: Settings, host: str, port: int) -> Callable[[str], None]:
    """Called by aiohttp once the server accepts connections: say where to go."""

    def announce(_aiohttp_banner: str) -> None:
        log.info("ExitBot listening on http://%s:%d", host, port)
        exposed = open_metrics_warning(settings, host)
        if exposed:
            log.warning("%s", exposed)
        schedule = schedule_warning(settings, datetime.now(UTC))
        if schedule:
            log.warning("%s", schedule)
        if not playground_enabled(settings):
            return
        shown = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
        shown = f"[{shown}]" if ":" in shown else shown
        url = f"http://{shown}:{port}/playground"
        if settings.slack_enabled or settings.teams_enabled:
            line = f"Playground enabled (EXITBOT_PLAYGROUND=on): open {url}"
        else:
            line = f"No Slack or Teams configured: open the playground at {url}"
        if settings.log_format != "json":  # JSON logs: every line a record, this one too
            print(line, flush=True)
        log.info("%s", line)

    return announce
