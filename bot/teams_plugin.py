"""Teams in the aiohttp app: builds the `TeamsChannel` from settings, serves
`POST /api/messages`, and implements the adapter's ports on our storage.

Who is who: every install event, conversation update and message stores the sender's
conversation reference in `platform_identities` (platform "teams", user id = Teams user id,
linked to the employee by the email Teams reports). Conversations the bot was added to
(team channels, group chats) are stored under platform "teams-channel", keyed by their id,
so the HR digest can be posted there.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiohttp import web
from sqlalchemy import delete, null, select, update
from sqlalchemy.exc import IntegrityError

from adapters.base import Incoming
from adapters.teams import TeamsChannel
from adapters.teams_ports import (
    Handled,
    KnownUser,
    ReportTarget,
    TeamsConfigError,
    TeamsContact,
    TeamsCredentials,
    is_personal,
)
from adapters.teams_retry import RetryPolicy
from bot import approval_requests, departures, hr_commands, texts
from bot.config import ConfigError, Settings
from bot.db import StorageUnavailable, is_message_seen
from bot.departure_events import Employee as EmployeeData
from bot.jobs import insert_ignoring_conflicts
from bot.models import Employee, InboundMessage, PlatformIdentity, SentMessage
from bot.runtime import Runtime
from conversations import OutMessage

log = logging.getLogger(__name__)

PLATFORM = "teams"
CHANNELS = "teams-channel"  # conversations the bot was added to (not people)
SERVICE_URL_ENV = "EXITBOT_TEAMS_SERVICE_URL"

TEAMS = web.AppKey("teams", TeamsChannel)


def credentials(settings: Settings) -> TeamsCredentials:
    return TeamsCredentials(
        app_id=settings.teams_app_id,
        app_password=settings.teams_app_password,
        app_type=settings.teams_app_type,
        tenant_id=settings.teams_tenant_id,
    )


def build_channel(
    runtime: Runtime,
    *,
    service_url: str | None = None,
    retry: RetryPolicy = RetryPolicy(),
) -> TeamsChannel:
    """The Teams channel for this runtime; raises `ConfigError` for unusable credentials."""
    creds = credentials(runtime.settings)
    if creds.anonymous:
        log.warning(
            "TEAMS RUNS IN ANONYMOUS MODE: MicrosoftAppId is not set, so /api/messages accepts "
            "requests WITHOUT authentication. Use this for local testing only; set "
            "MicrosoftAppId, MicrosoftAppPassword and MicrosoftAppTenantId in production."
        )
    store = TeamsStore(runtime, service_url=service_url or runtime.settings.teams_service_url)
    try:
        channel = TeamsChannel(creds, store, retry=retry)
    except TeamsConfigError as exc:
        raise ConfigError(str(exc)) from None
    store.channel = channel
    return channel


def install(app: web.Application, runtime: Runtime) -> None:
    """Plugin: Teams is on when `MicrosoftAppId` is set, or `EXITBOT_TEAMS=on` (anonymous)."""
    if not runtime.settings.teams_enabled:
        return
    channel = build_channel(runtime)
    add_channel(app, runtime, channel)


def add_channel(app: web.Application, runtime: Runtime, channel: TeamsChannel) -> None:
    runtime.add_channel(channel)
    app[TEAMS] = channel
    app.router.add_post("/api/messages", messages)


async def messages(request: web.Request) -> web.StreamResponse:
    """`POST /api/messages`: the Bot Framework calls this for every activity."""
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(text="expected application/json")
    try:
        await request.json()  # cached: CloudAdapter reads it again
    except ValueError:
        raise web.HTTPBadRequest(text="body is not JSON") from None
    try:
        return await request.app[TEAMS].process(request)
    except StorageUnavailable:
        # Nothing was acted on; Teams redelivers and the inbox keeps that harmless.
        log.warning("Teams activity refused: storage unavailable")
        return web.json_response({"error": "storage unavailable"}, status=503)


# ---------------------------------------------------------------------- ports


class TeamsStore:
    """`adapters.teams_ports.TeamsPorts` on ExitBot's database and service."""

    def __init__(self, runtime: Runtime, *, service_url: str | None = None) -> None:
        self.runtime = runtime
        self.service_url = service_url
        self.channel: TeamsChannel | None = None  # set once the channel is built

    # ------------------------------------------------------------ who is who

    async def remember_user(self, contact: TeamsContact) -> None:
        await _once_more_on_conflict(self._remember_user, contact)

    async def remember_conversation(self, contact: TeamsContact) -> None:
        await _once_more_on_conflict(self._remember_conversation, contact)

    async def _remember_user(self, contact: TeamsContact) -> None:
        service, now = self.runtime.service, self.runtime.clock.now()
        async with self.runtime.db.transaction() as session:
            employee_id: int | None = None
            if contact.email:
                # Insert-or-lock: safe while a webhook stores the same person concurrently.
                employee = await departures.upsert_employee(
                    session, EmployeeData(email=contact.email), now
                )
                if not employee.name and contact.name:
                    employee.name = contact.name
                employee_id = employee.id
            identity = await session.get(PlatformIdentity, (PLATFORM, contact.user_id))
            known_personal = (
                identity is not None and identity.reference and is_personal(identity.reference)
            )
            personal = contact.personal
            await service.link_identity(
                session,
                platform=PLATFORM,
                user_id=contact.user_id,
                employee_id=employee_id,
                conversation_id=contact.conversation_id if personal else None,
                # A team conversation only helps to open a 1:1 chat when none is known.
                reference=contact.reference if personal or not known_personal else None,
                locale=contact.locale,
                timezone=contact.timezone,
                now=now,
            )

    async def _remember_conversation(self, contact: TeamsContact) -> None:
        conversation_id = channel_id(contact.conversation_id)
        now = self.runtime.clock.now()
        async with self.runtime.db.transaction() as session:
            await self.runtime.service.link_identity(
                session,
                platform=CHANNELS,
                user_id=conversation_id,
                employee_id=None,
                conversation_id=conversation_id,
                reference=contact.reference,
                now=now,
            )

    async def forget(self, conversation_id: str) -> None:
        """The app is gone from that conversation: stop using its reference."""
        now = self.runtime.clock.now()
        async with self.runtime.db.transaction() as session:
            await session.execute(
                update(PlatformIdentity)
                .where(
                    PlatformIdentity.platform == PLATFORM,
                    PlatformIdentity.conversation_id == conversation_id,
                )
                .values(reference=null(), conversation_id=None, updated_at=now)
            )
            await session.execute(
                delete(PlatformIdentity).where(
                    PlatformIdentity.platform == CHANNELS,
                    PlatformIdentity.user_id == channel_id(conversation_id),
                )
            )
        log.info("Teams app removed from a conversation; its reference is forgotten")

    async def user_by_email(self, email: str) -> KnownUser | None:
        async with self.runtime.db.sessions() as session:
            rows = (
                await session.scalars(
                    select(PlatformIdentity)
                    .join(Employee, Employee.id == PlatformIdentity.employee_id)
                    .where(
                        PlatformIdentity.platform == PLATFORM,
                        Employee.email == email.strip().lower(),
                        PlatformIdentity.reference.is_not(None),
                    )
                    .order_by(PlatformIdentity.updated_at.desc())
                )
            ).all()
        if not rows:
            return None
        best = next((r for r in rows if r.reference and is_personal(r.reference)), rows[0])
        assert best.reference is not None
        return KnownUser(
            user_id=best.user_id,
            reference=dict(best.reference),
            locale=best.locale,
            timezone=best.timezone,
        )

    async def reference_for(self, conversation_id: str) -> dict[str, Any] | None:
        async with self.runtime.db.sessions() as session:
            reference = await session.scalar(
                select(PlatformIdentity.reference)
                .where(
                    PlatformIdentity.platform.in_((PLATFORM, CHANNELS)),
                    PlatformIdentity.conversation_id == conversation_id,
                    PlatformIdentity.reference.is_not(None),
                )
                .order_by(PlatformIdentity.updated_at.desc())
                .limit(1)
            )
        return dict(reference) if reference else None

    async def report_target(self, target: str) -> ReportTarget | None:
        """The channel's own reference, else the configured service URL, else any reference."""
        async with self.runtime.db.sessions() as session:
            own = await session.get(PlatformIdentity, (CHANNELS, channel_id(target)))
            latest = await session.scalar(
                select(PlatformIdentity.reference)
                .where(
                    PlatformIdentity.platform.in_((PLATFORM, CHANNELS)),
                    PlatformIdentity.reference.is_not(None),
                )
                .order_by(PlatformIdentity.updated_at.desc())
                .limit(1)
            )
        tenant = self.runtime.settings.teams_tenant_id or None
        if own is not None and own.reference:
            return ReportTarget(
                service_url=str(own.reference["serviceUrl"]),
                tenant_id=_tenant(own.reference) or tenant,
                reference=dict(own.reference),
            )
        if self.service_url:
            return ReportTarget(service_url=self.service_url, tenant_id=tenant)
        if latest:
            return ReportTarget(
                service_url=str(latest["serviceUrl"]), tenant_id=_tenant(latest) or tenant
            )
        return None

    # ------------------------------------------------------------ delivery bookkeeping

    async def delivered(self, keys: Sequence[str]) -> set[str]:
        async with self.runtime.db.sessions() as session:
            found = await session.scalars(select(SentMessage.key).where(SentMessage.key.in_(keys)))
            return set(found.all())

    async def mark_delivered(self, key: str) -> None:
        async with self.runtime.db.transaction() as session:
            await session.execute(
                insert_ignoring_conflicts(session, SentMessage)
                .values(key=key, sent_at=self.runtime.clock.now())
                .on_conflict_do_nothing(index_elements=["key"])
            )

    # ------------------------------------------------------------ messages

    async def handle_message(self, incoming: Incoming, *, personal: bool) -> Handled:
        if incoming.choice and departures.parse_decision(incoming.choice) is not None:
            return await self._decide(incoming)
        admin = self.runtime.settings.is_hr_admin(incoming.email)
        command = hr_command(incoming.text, admin=admin) if incoming.choice is None else None
        if command is not None and not personal:
            # a channel: approvals name people, status and digests are HR's alone (Slack
            # answers commands privately; a Teams channel reply is read by everyone there)
            if not await self.first_time(incoming):
                return Handled(duplicate=True)
            language = (incoming.locale or "")[:2].lower()
            await self._reply(
                incoming, [OutMessage(kind="info", text=texts.private_only(language))]
            )
            return Handled()
        if command is not None:
            return await self._command(incoming, command)
        if not personal:
            log.info("Teams message outside a personal chat ignored")
            return Handled()
        outcome = await self.runtime.service.handle(incoming)
        return Handled(duplicate=outcome.duplicate, ignored_click=outcome.ignored_click)

    async def _decide(self, incoming: Incoming) -> Handled:
        if not await self.first_time(incoming):
            return Handled(duplicate=True)
        clicked = (
            approval_requests.ChatMessage(PLATFORM, incoming.conversation_id, incoming.reply_to)
            if incoming.reply_to
            else None
        )
        decision = await hr_commands.decide(
            self.runtime,
            incoming.choice or "",
            clicker_email=incoming.email,
            language=_lang(incoming),
            clicked=clicked,
        )
        await self._reply(incoming, [OutMessage(kind="info", text=decision.text)])
        if not decision.decided:
            return Handled(duplicate=True)  # leave the buttons for an HR admin
        return Handled(card_note=decision.text)

    async def _command(self, incoming: Incoming, command: str) -> Handled:
        """An HR admin command (`bot.hr_commands`); anyone else gets a polite refusal."""
        if not await self.first_time(incoming):
            return Handled(duplicate=True)
        reply = await hr_commands.run(
            self.runtime,
            command,
            caller_email=incoming.email,
            resolve_person=self.resolve_person,
            language=_lang(incoming),
            person_form="email",  # what a Teams admin types (`docs/teams.md`)
        )
        await self._reply(incoming, list(reply.messages))
        if reply.report is not None:
            assert self.channel is not None
            await self.channel.send_report(
                incoming.conversation_id, reply.report, key=f"report:{incoming.key}"
            )
        return Handled()

    async def resolve_person(self, token: str) -> str | None:
        """An email from a Teams mention (`<@29:...>`, see `adapters.teams.clean_text`) or text."""
        mention = _MENTION_TOKEN.fullmatch(token)
        if mention is None:
            return token.strip().lower() if "@" in token and "." in token else None
        async with self.runtime.db.sessions() as session:
            email = await session.scalar(
                select(Employee.email)
                .join(PlatformIdentity, PlatformIdentity.employee_id == Employee.id)
                .where(
                    PlatformIdentity.platform == PLATFORM,
                    PlatformIdentity.user_id == mention.group(1),
                )
            )
        return email

    async def first_time(self, incoming: Incoming) -> bool:
        """Record a message handled outside the interview inbox; False when seen before."""
        now = self.runtime.clock.now()
        try:
            async with self.runtime.db.transaction() as session:
                session.add(
                    InboundMessage(
                        key=incoming.key,
                        channel=incoming.channel,
                        status="done",
                        received_at=now,
                        processed_at=now,
                    )
                )
        except IntegrityError as exc:
            if not is_message_seen(exc):
                raise
            return False
        return True

    async def _reply(self, incoming: Incoming, messages: list[OutMessage]) -> None:
        assert self.channel is not None
        await self.channel.send(incoming.conversation_id, messages, key=f"reply:{incoming.key}")


_MENTION_TOKEN = re.compile(r"<@([^>|]+)(?:\|[^>]*)?>")
_COMMAND_WORDS = {
    "status",
    "approvals",
    "approval",
    "goedkeuringen",
    "digest",
    "digest preview",
    "overzicht voorbeeld",
}
# A plain Dutch word that is also a likely interview answer ("what did you miss?"
# "Overzicht"): a command only when an HR admin types it.
_ADMIN_WORDS = {"overzicht"}
# the kind after the day may be a name of up to four words ("ontslag op eigen verzoek")
_START = re.compile(r"start\s+\S+\s+\d{1,4}[-/]\d{1,2}[-/]\d{1,4}(\s+[\w-]+){0,4}", re.IGNORECASE)


_NAMES = {"help", "hulp", "?", "start", *(w.split()[0] for w in _COMMAND_WORDS | _ADMIN_WORDS)}


def hr_command(text: str, *, admin: bool = False) -> str | None:
    """The HR command in a message, or None for anything else (interview answers).

    Only exact command forms count, so an answer is never mistaken for one: `status`,
    `approvals` / `goedkeuringen`, `digest preview` / `overzicht voorbeeld`, `start <person>
    <last day> [kind]` (anyone: others get a polite refusal), and for an HR admin also
    `overzicht` alone (from anyone else a word like that is an answer), `hr` alone (help) or
    `hr` before a command (`hr help`, `hr status`). "HR never listened to us" is an answer,
    from anyone.
    """
    words = text.strip()
    lowered = " ".join(words.lower().split())
    if admin and (lowered == "hr" or lowered.startswith("hr ")):
        rest = words[2:].strip()
        if not rest:
            return "help"
        return rest if rest.split()[0].lower() in _NAMES else None
    if lowered in _COMMAND_WORDS or (admin and lowered in _ADMIN_WORDS) or _START.fullmatch(words):
        return words
    return None


async def _once_more_on_conflict(
    store: Callable[[TeamsContact], Awaitable[None]], contact: TeamsContact
) -> None:
    """Install and conversation-update events arrive together: when both insert the same
    identity, the loser's transaction fails on the key and simply runs again (an update)."""
    try:
        await store(contact)
    except IntegrityError:
        await store(contact)


def _lang(incoming: Incoming) -> str | None:
    """The sender's language from their Teams locale ("nl-NL" → "nl")."""
    return (incoming.locale or "")[:2].lower() or None


def channel_id(conversation_id: str) -> str:
    """A channel's id from a thread's conversation id ("19:...@thread.tacv2;messageid=...")."""
    return conversation_id.split(";messageid=", 1)[0]


def _tenant(reference: dict[str, Any]) -> str | None:
    tenant = (reference.get("conversation") or {}).get("tenantId")
    return str(tenant) if tenant else None
