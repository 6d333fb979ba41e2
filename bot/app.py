"""The aiohttp application: one server for Slack, Teams, the webhook, web chat and probes."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.http_exceptions import ContentEncodingError

from bot.metrics import Metrics
from bot.runtime import Runtime

log = logging.getLogger(__name__)


def _not_a_refused_body(record: logging.LogRecord) -> bool:
    """aiohttp reads out a body a handler left unread, to keep the connection alive. One it
    cannot decode (a false Content-Encoding) fails there once more, after the handler has
    answered 400, and was logged as an unhandled exception with a traceback: anyone could
    fill the log with ERROR lines. A client's error, already answered: not logged again."""
    exc = record.exc_info[1] if record.exc_info else None
    for _ in range(8):  # along the chain of causes
        if exc is None:
            return True
        if isinstance(exc, ContentEncodingError):
            return False
        exc = exc.__cause__ or exc.__context__
    return True


logging.getLogger("aiohttp.server").addFilter(_not_a_refused_body)

RUNTIME = web.AppKey("runtime", Runtime)
METRICS = web.AppKey("metrics", Metrics)

Plugin = Callable[[web.Application, Runtime], None]


async def healthz(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    if await runtime.db.ping():
        return web.json_response({"status": "ok"})
    return web.json_response({"status": "unavailable", "database": "unreachable"}, status=503)


async def metrics(request: web.Request) -> web.Response:
    token = request.app[RUNTIME].settings.metrics_token
    if token is not None and not _bearer_is(request.headers.get("Authorization"), token):
        return web.Response(
            status=401,
            text="401: /metrics needs the header Authorization: Bearer <EXITBOT_METRICS_TOKEN>\n",
            headers={"WWW-Authenticate": 'Bearer realm="exitbot-metrics"'},
        )
    m = request.app[METRICS]
    return web.Response(body=m.render(), headers={"Content-Type": m.content_type})


def _bearer_is(header: str | None, token: str) -> bool:
    """`Authorization: Bearer <token>` (the scheme in any case, RFC 7235), compared in
    constant time."""
    scheme, _, presented = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    # undecodable header bytes arrive as surrogates: compared as the bytes they were
    return hmac.compare_digest(presented.strip().encode("utf-8", "surrogateescape"), token.encode())


_WHAT = {
    "/playground": "try an interview and preview a digest (no chat platform configured)",
    "/slack/events": "Slack's Events API and interactivity (POST, signed)",
    "/api/messages": "Microsoft Teams, through the Bot Framework (POST, authenticated)",
    "/webhooks/departures": "departures from the HR system (POST, signed)",
}  # not the probes: this page is public wherever Slack or Teams must reach the server


def _root(app: web.Application) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """GET /: someone opening the server's address (IT, after `exitbot serve`). With the
    playground mounted, that is where they are sent; otherwise a plain list of what this
    server answers for the platforms (their paths are public: in the docs and the Slack and
    Teams manifests)."""
    paths = {resource.canonical for resource in app.router.resources()}
    if "/playground" in paths:

        async def to_playground(_request: web.Request) -> web.StreamResponse:
            raise web.HTTPFound("/playground")

        return to_playground
    lines = ["ExitBot is running. This address answers:", ""]
    lines += [f"  {path:<22} {what}" for path, what in _WHAT.items() if path in paths]
    lines += [
        "",
        "Employees are reached in chat (or by a private link); HR gets digests.",
        "Set-up and operation: the README and docs/ of the ExitBot repository.",
    ]
    text = "\n".join(lines) + "\n"

    async def root(_request: web.Request) -> web.StreamResponse:
        return web.Response(text=text, headers={"Cache-Control": "no-store"})

    return root


def plugins(runtime: Runtime) -> list[Plugin]:
    """Feature modules that add routes and start-up work, in order."""
    from bot import scheduler, slack_plugin, teams_plugin, web_plugin, webhook

    found: list[Plugin] = [webhook.plugin]
    found.append(teams_plugin.install)  # Teams: POST /api/messages when enabled
    found.append(slack_plugin.plugin)  # Slack: POST /slack/events or Socket Mode when enabled
    found.append(web_plugin.plugin)  # web chat: /i/<token>; /playground without Slack/Teams
    found.append(scheduler.plugin)  # last: ticks start once every channel is registered
    return found


def create_app(
    runtime: Runtime,
    *,
    extra: list[Plugin] | None = None,
    metrics_: Metrics | None = None,
) -> web.Application:
    app = web.Application(client_max_size=1024 * 1024)
    app[RUNTIME] = runtime
    app[METRICS] = metrics_ or Metrics()
    runtime.service.observers.append(app[METRICS].observe_turn)
    runtime.service.writer.batch_observers.append(app[METRICS].observe_batch)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    for plugin in [*plugins(runtime), *(extra or [])]:
        plugin(app, runtime)
    app.router.add_get("/", _root(app))  # last: it lists what the plugins added

    async def finish_turns(_app: web.Application) -> None:
        # The listener is closed by now; let turns already running commit and reply.
        log.info("shutting down: no new requests; finishing the turns in flight")
        await runtime.service.drain(6.0)

    async def close_runtime(_app: web.Application) -> None:
        await runtime.close()
        log.info("stopped")

    app.on_shutdown.append(finish_turns)
    app.on_cleanup.append(close_runtime)
    return app


OnStartup = Callable[[web.Application], Awaitable[None]]
