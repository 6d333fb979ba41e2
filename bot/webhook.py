"""`POST /webhooks/departures`: the signed departure webhook from the HR system.

Order of checks: size (413) → Standard Webhooks signature over the raw bytes (401) →
schema (400, naming the field) → one transaction (503 when storage is down, nothing
stored) → `202` with what happened. Sending is left to the tick: persist, answer, act.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError
from sqlalchemy.exc import DBAPIError, OperationalError

from bot.app import METRICS, RUNTIME
from bot.db import StorageUnavailable
from bot.departure_events import (
    DEFAULT_TOLERANCE,
    HEADER_TIMESTAMP,
    MAX_BODY_BYTES,
    PayloadError,
    SignatureError,
    parse_departure_event,
    parse_secrets,
    verify_signature,
)
from bot.departures import apply_event
from bot.runtime import Runtime

log = logging.getLogger(__name__)

PATH = "/webhooks/departures"
_CHUNK = 16 * 1024


@dataclass(frozen=True, slots=True)
class WebhookKeys:
    """The HMAC keys of `EXITBOT_WEBHOOK_SECRET`; empty when unset or unusable."""

    keys: tuple[bytes, ...]
    problem: str | None = None


WEBHOOK_KEYS = web.AppKey("webhook_keys", WebhookKeys)


def load_keys(secret: str | None) -> WebhookKeys:
    if not secret:
        return WebhookKeys((), "EXITBOT_WEBHOOK_SECRET is not set")
    try:
        return WebhookKeys(tuple(parse_secrets(secret)))
    except ValueError as exc:  # the message names the secret's position, never its value
        return WebhookKeys((), f"EXITBOT_WEBHOOK_SECRET is unusable: {exc}")


def plugin(app: web.Application, runtime: Runtime) -> None:
    keys = load_keys(runtime.settings.webhook_secret)
    app[WEBHOOK_KEYS] = keys
    app.router.add_post(PATH, receive_departure)

    async def warn(_app: web.Application) -> None:
        if keys.problem:  # said once, when the server starts (not by CLI commands)
            log.warning("%s: the departure webhook refuses every request (401)", keys.problem)

    app.on_startup.append(warn)


def _error(status: int, message: str, **extra: str) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


async def _read_capped(request: web.Request) -> bytes | None:
    """The raw body, or None when it exceeds the cap (whatever Content-Length claimed)."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return None
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(_CHUNK):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def receive_departure(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    counted = request.app[METRICS].webhooks
    try:
        body = await _read_capped(request)
    except (RequestPayloadError, HttpProcessingError):  # e.g. a false Content-Encoding
        counted.labels("bad_payload").inc()
        log.info("departure webhook refused: unreadable body")
        return _error(400, "body: could not be read (is its Content-Encoding right?)", field="body")
    if body is None:
        counted.labels("too_large").inc()
        log.info("departure webhook refused: body over %d bytes", MAX_BODY_BYTES)
        return _error(413, f"body too large: at most {MAX_BODY_BYTES} bytes")
    keys = request.app[WEBHOOK_KEYS]
    if not keys.keys:
        counted.labels("not_configured").inc()
        return _error(401, "the webhook secret is not configured on this server")
    try:
        webhook_id = verify_signature(request.headers, body, keys.keys, now=runtime.clock.wall())
    except SignatureError as exc:
        counted.labels("bad_signature").inc()
        log.info("departure webhook refused: %s", exc)
        return _error(401, f"signature: {exc}")
    try:
        event = parse_departure_event(body)
    except PayloadError as exc:
        counted.labels("bad_payload").inc()
        log.info("departure webhook %s refused: bad field %s", webhook_id, exc.field)
        return _error(400, str(exc), field=exc.field)
    if event.occurred_at is not None and event.occurred_at > runtime.clock.wall() + timedelta(
        seconds=DEFAULT_TOLERANCE
    ):  # it would make every later event of this departure look stale
        counted.labels("bad_payload").inc()
        log.info("departure webhook %s refused: bad field occurred_at (future)", webhook_id)
        return _error(400, "occurred_at: is in the future", field="occurred_at")
    # The order of one departure's events: when the HR system says the change happened, or
    # else when the event was signed (a retry signed afresh then counts as newer)
    event_at = event.occurred_at or datetime.fromtimestamp(
        int(request.headers[HEADER_TIMESTAMP]), UTC
    )
    try:
        outcome = await apply_event(runtime, event, webhook_id=webhook_id, event_at=event_at)
    except (StorageUnavailable, OperationalError, DBAPIError, OSError) as exc:
        counted.labels("storage_unavailable").inc()
        log.warning(
            "departure webhook %s: storage unavailable (%s)", webhook_id, type(exc).__name__
        )
        return _error(503, "storage unavailable; nothing was stored, please retry")
    counted.labels(outcome.status).inc()
    return web.json_response(outcome.to_json(), status=202)
