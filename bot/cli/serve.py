"""`exitbot serve`: the HTTP server and the scheduler in one process."""

from __future__ import annotations

import argparse
import logging

from aiohttp import web

from bot.app import create_app
from bot.config import Settings
from bot.runtime import Runtime

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("serve", help="run the HTTP server and the scheduler")
    p.add_argument("--host", help="address to listen on (default EXITBOT_HOST or 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default EXITBOT_PORT or 3978)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    host = args.host or settings.host
    port = args.port if args.port is not None else settings.port
    runtime = Runtime.open(settings)
    app = create_app(runtime)
    log.info("ExitBot listening on http://%s:%d", host, port)
    web.run_app(app, host=host, port=port, print=None, shutdown_timeout=8.0)
    return 0
