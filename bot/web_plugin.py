"""Glue for the web chat: its routes, link tokens checked against `web_links`, the CSRF
secret, the web channel, and the playground when no chat platform is configured."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
from datetime import datetime

from aiohttp import web

import conversations as conv
from adapters.base import Incoming
from adapters.web import (
    CsrfGuard,
    LinkRefused,
    LinkTarget,
    Unavailable,
    View,
    WebChannel,
    WebChat,
)
from bot import links, places
from bot.config import Settings
from bot.db import StorageUnavailable
from bot.models import Interview
from bot.runtime import Runtime, key_file_for
from bot.service import OPEN_STATUSES
from bot.turns import REOPENABLE_STATUSES, Outcome, finished_but_kept

log = logging.getLogger(__name__)

_ON = {"on", "true", "1", "yes"}
_OFF = {"off", "false", "0", "no"}


def playground_enabled(settings: Settings) -> bool:
    """The playground exists only where no chat platform is configured, or when forced.

    `EXITBOT_PLAYGROUND=on` forces it (a demo next to a platform), `off` removes it.
    """
    raw = settings.playground or ""
    if raw.strip().lower() in _ON:
        return True
    if raw.strip().lower() in _OFF:
        return False
    return not settings.slack_enabled and not settings.teams_enabled


def csrf_secrets(runtime: Runtime) -> list[bytes]:
    """Server secrets for CSRF tokens, one per encryption key (stable across restarts and
    replicas; the first signs, every one verifies, so replicas rolling to a new key accept
    each other's pages), or one random per process when no key is readable."""
    material = runtime.settings.encryption_key
    key_file = key_file_for(runtime.db)
    if not material and key_file is not None and key_file.exists():
        material = key_file.read_text()
    keys = [k.strip().encode() for k in (material or "").split(",") if k.strip()]
    if not keys:
        return [secrets.token_bytes(32)]
    return [hmac.new(key, b"exitbot web csrf v1", hashlib.sha256).digest() for key in keys]


class WebDesk:
    """The ports the web adapter needs, over the service and the `web_links` table."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    @property
    def now(self) -> datetime:
        return self.runtime.clock.now()

    async def resolve(self, token: str) -> LinkTarget:
        try:
            async with self.runtime.db.sessions() as session:
                found = await links.check(session, token, self.now)
        except StorageUnavailable:
            raise Unavailable() from None
        if found.state == "unknown" or found.interview_id is None:
            raise LinkRefused(404)
        if found.state == "expired":
            raise LinkRefused(410, found.language)
        return LinkTarget(found.interview_id, found.language or self.runtime.settings.language)

    def button_label(self, question_id: str, value: str, language: str) -> str | None:
        question = self.runtime.questionnaire.get(question_id)
        if question is None:
            return None
        return next((c.label for c in question.buttons(language) if c.value == value), None)

    async def view(self, interview_id: int, *, retry: bool = False, peek: bool = False) -> View:
        try:
            return await self._view(interview_id, retry, peek)
        except StorageUnavailable:
            raise Unavailable() from None

    async def _view(self, interview_id: int, retry: bool = False, peek: bool = False) -> View:
        runtime = self.runtime
        async with runtime.db.sessions() as session:
            interview = await session.get(Interview, interview_id)
            if interview is None:
                raise LinkRefused(404)
            language = interview.language
            if finished_but_kept(interview):
                # Ended, answers kept: the page says so and still takes "delete my answers"
                return View(language, runtime.service.closed_turn(interview).messages, open=True)
            if interview.status == "declined" and await links.restartable(
                session, interview.id, self.now
            ):
                # "No thanks" earlier: they may still start, with its button or by typing it
                return View(language, (runtime.service.restart_offer(language, "web"),), open=True)
            ready = interview.status in OPEN_STATUSES and interview.state_enc is not None
            state = runtime.service.state_of(interview) if ready else {}
            here = places.asks_here(state, interview.channel, WebChannel.name)
        if not ready:
            return await self._open_fresh(interview_id)
        if not here and not peek:
            return await self._shown_here(interview_id, retry)
        return View(language, self._current(language, state, retry), open=True)

    def _current(
        self, language: str, state: dict[str, object], retry: bool
    ) -> tuple[conv.OutMessage, ...]:
        """What an open interview's page shows: where it stands. A chat begun a moment ago
        (the playground) shows its intro rather than "welcome back"; a retry of a message
        already answered (its reply lost on the way) what is asked now, without it."""
        runtime = self.runtime
        q, k = runtime.questionnaire, runtime.settings.min_group_size
        fresh = conv.start(q, language, min_group=k, retention_days=runtime.settings.retention_days)
        if fresh.state == places.without_places(state):
            return fresh.messages
        return conv.resume(q, state, greet=not retry).messages

    async def _shown_here(self, interview_id: int, retry: bool) -> View:
        """The page of an interview last answered elsewhere (a chat): a page view changes
        nothing of the interview, but from now on this page shows what is asked, so an
        answer typed on it is taken (`bot.places`). In one transaction with the state it
        shows: an answer given elsewhere meanwhile makes the page out of date again."""
        runtime = self.runtime
        async with runtime.db.transaction() as session:
            interview = await session.get(
                Interview, interview_id, with_for_update=True, populate_existing=True
            )
            still_open = (
                interview is not None
                and interview.status in OPEN_STATUSES
                and interview.state_enc is not None
            )
            if still_open:
                assert interview is not None
                state = runtime.service.state_of(interview)
                shown = places.also_shown(state, interview.channel, WebChannel.name)
                interview.state_enc = runtime.cipher.encrypt(json.dumps(shown))
                interview.updated_at = self.now
                language = interview.language
        if not still_open:  # it ended (or was closed) meanwhile: the page says where it stands
            return await self._view(interview_id, retry, peek=True)
        return View(language, self._current(language, state, retry), open=True)

    async def _open_fresh(self, interview_id: int) -> View:
        """The first view of a fallback link: the interview was never invited in chat (or
        its chat account was gone), so the page makes the invite, and stores its state."""
        runtime, now = self.runtime, self.now
        async with runtime.db.transaction() as session:
            interview = await session.get(Interview, interview_id, with_for_update=True)
            if interview is None or interview.status not in links.LINKABLE_STATUSES:
                raise LinkRefused(410, interview.language if interview else None)
            if interview.state_enc:
                turn = conv.resume(runtime.questionnaire, runtime.service.state_of(interview))
            else:
                turn = conv.invite(
                    runtime.questionnaire,
                    interview.language,
                    min_group=runtime.settings.min_group_size,
                    retention_days=runtime.settings.retention_days,
                )
            await runtime.service.store_turn(
                session, interview, turn, message_key=f"web:open:{interview.id}", now=now
            )
            interview.invited_at = interview.invited_at or now
            interview.channel = WebChannel.name
            interview.address = f"interview:{interview.id}"
            language = interview.language
        log.info("interview %s: opened through a web link", interview_id)
        return View(language, turn.messages, open=turn.status in OPEN_STATUSES)

    async def handle(self, incoming: Incoming) -> View | None:
        try:
            outcome = await self.runtime.service.handle(incoming)
        except StorageUnavailable:
            raise Unavailable() from None
        if outcome.duplicate:
            return None
        language = incoming.locale or self.runtime.settings.language
        return View(language, tuple(outcome.messages), open=_takes_more(outcome))

    async def issue(self, interview_id: int) -> str:
        """A new link token for one interview."""
        async with self.runtime.db.transaction() as session:
            interview = await session.get(Interview, interview_id)
            if interview is None:
                raise LookupError(interview_id)
            return await links.issue(session, interview, self.now)


def _takes_more(outcome: Outcome) -> bool:
    """Whether the page keeps its text box: while the interview is open, and after it ended
    with answers kept while what was just said invites a reply ("stop": type "delete my
    answers"; the delete confirmation's buttons). A closing outro ends the page."""
    if outcome.interview_id is None:
        return False
    if outcome.status in OPEN_STATUSES:
        return True
    if outcome.status not in REOPENABLE_STATUSES:
        return False  # deleted, declined
    last = outcome.messages[-1] if outcome.messages else None
    return outcome.status == "stopped" or last is None or last.kind != "outro"


class _RedactLinkTokens(logging.Filter):
    """Access logs never show a link token (it opens someone's interview)."""

    _TOKEN = re.compile(r"/i/[A-Za-z0-9_-]+")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/i/" in message:
            record.msg = self._TOKEN.sub("/i/[token]", message)
            record.args = None
        return True


def _redact_access_log() -> None:
    access = logging.getLogger("aiohttp.access")
    if not any(isinstance(f, _RedactLinkTokens) for f in access.filters):
        access.addFilter(_RedactLinkTokens())


WEB_DESK = web.AppKey("web_desk", WebDesk)


def plugin(app: web.Application, runtime: Runtime) -> None:
    """Mount `/i/<token>`, the static files and, without a chat platform, the playground."""
    runtime.add_channel(WebChannel())
    desk = WebDesk(runtime)
    signing, *verifying = csrf_secrets(runtime)
    guard = CsrfGuard(signing, runtime.settings.public_url, also=verifying)
    app[WEB_DESK] = desk
    WebChat(desk, guard).setup(app)
    _redact_access_log()
    if playground_enabled(runtime.settings):
        from bot import playground

        playground.Playground(runtime, desk, guard).setup(app)

        async def say(_app: web.Application) -> None:  # when serving, not in CLI commands
            log.info("playground mounted at /playground")

        app.on_startup.append(say)
