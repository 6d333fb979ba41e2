"""Microsoft Teams through the Bot Framework SDK (botbuilder, `CloudAdapter`).

Every botbuilder import of ExitBot lives in this module, so moving to the Microsoft 365
Agents SDK changes one file. The application side is reached only through `TeamsPorts`
(`adapters.teams_ports`: storage of references, the message handler), which
`bot.teams_plugin` implements.

All outbound messages, replies included, go proactively through a stored conversation
reference (`continue_conversation`): one path for invites, replies and reminders.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from functools import partial
from typing import Any, TypeVar

import jwt
from aiohttp import ClientError, web
from botbuilder.core import (
    ActivityHandler,
    CardFactory,
    MessageFactory,
    TurnContext,
)
from botbuilder.core.teams import TeamsInfo
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)
from botbuilder.schema import (
    Activity,
    ChannelAccount,
    ConversationParameters,
    ConversationReference,
    ErrorResponseException,
)
from msrest.exceptions import ClientRequestError

from adapters import teams_cards as cards
from adapters.base import Incoming, Opened, Report, Unreachable
from adapters.teams_ports import (
    KnownUser,
    TeamsContact,
    TeamsCredentials,
    TeamsPorts,
    is_personal,
)
from adapters.teams_retry import RetryPolicy, Sleep, Transient, parse_retry_after, with_retry
from conversations import OutMessage

log = logging.getLogger(__name__)

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")

CHANNEL = "teams"
ANONYMOUS_BOT_APP_ID = "exitbot-anonymous"  # any non-empty id works without credentials
REMEMBER_SECONDS = 600.0
# How long this process goes by the address Teams reported for a user before asking again:
# after a rename another replica may have linked the user to the new address (the readdress
# job), and an old copy here would link them back to the old one when next stored.
EMAIL_SECONDS = REMEMBER_SECONDS
TRANSIENT_STATUS = {408, 429, 500, 502, 503, 504}
_TURN_STARTED: ContextVar[bool] = ContextVar("exitbot_teams_turn_started", default=False)
_MENTION = re.compile(r"<at[^>]*>.*?</at>", re.IGNORECASE | re.DOTALL)
_BREAK = re.compile(r"<br\s*/?>|</(?:p|div)>", re.IGNORECASE)
_TAG = re.compile(r"</?(?:a|p|div|span|b|i|u|s|em|strong)(?:\s[^>]*)?>", re.IGNORECASE)


# ---------------------------------------------------------------------- helpers


def classify(exc: BaseException) -> Transient | None:
    """Connector errors worth retrying: 429, 5xx, connection failures."""
    if isinstance(exc, ErrorResponseException):
        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", None)
        if status in TRANSIENT_STATUS:
            headers = getattr(response, "headers", None) or {}
            return Transient(f"HTTP {status}", parse_retry_after(headers.get("Retry-After")))
        return None
    if isinstance(exc, ClientRequestError | ClientError | TimeoutError | ConnectionError):
        return Transient(type(exc).__name__)
    return None


def gone_reason(exc: ErrorResponseException) -> str | None:
    """Why a conversation cannot be reached any more (403/404), or None for other errors."""
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if status not in (403, 404):
        return None
    code = getattr(getattr(getattr(exc, "error", None), "error", None), "code", None)
    return f"app not installed for this user ({code or status})"


def reference_json(reference: ConversationReference, tenant_id: str | None) -> dict[str, Any]:
    """The reference as stored. The SDK maps `tenant_id` to "tenantID" and so drops Teams'
    "tenantId"; it is kept here from `channelData.tenant`."""
    data: dict[str, Any] = reference.serialize()
    if tenant_id:
        data.setdefault("conversation", {})["tenantId"] = tenant_id
    return data


def reference_from_json(data: dict[str, Any]) -> ConversationReference:
    reference: ConversationReference = ConversationReference().deserialize(data)
    tenant_id = (data.get("conversation") or {}).get("tenantId")
    if tenant_id and reference.conversation is not None:
        reference.conversation.tenant_id = tenant_id
    return reference


def tenant_of(activity: Activity) -> str | None:
    channel_data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    tenant = (channel_data.get("tenant") or {}).get("id")
    conversation = activity.conversation
    return tenant or (conversation.tenant_id if conversation is not None else None)


def timezone_of(activity: Activity) -> str | None:
    """The IANA zone Teams reports in the `clientInfo` entity of a message."""
    for entity in activity.entities or []:
        if entity.type == "clientInfo":
            zone = (getattr(entity, "additional_properties", None) or {}).get("timezone")
            if isinstance(zone, str) and zone:
                return zone
    return None


def clean_text(activity: Activity) -> str:
    """The typed text: the bot's @mention removed, other people's as `<@user id>` (the form
    HR commands resolve), no HTML entities."""
    text = activity.text or ""
    bot_id = activity.recipient.id if activity.recipient else None
    for entity in activity.entities or []:
        if entity.type != "mention":
            continue
        extra = getattr(entity, "additional_properties", None) or {}
        shown, mentioned = extra.get("text"), (extra.get("mentioned") or {}).get("id")
        if isinstance(shown, str) and shown and mentioned:
            text = text.replace(shown, "" if mentioned == bot_id else f"<@{mentioned}>")
    text = _MENTION.sub("", text)
    text = _BREAK.sub("\n", text)  # rich-text messages arrive as light HTML
    text = _TAG.sub("", text)
    text = html.unescape(text).replace("\xa0", " ")
    return "\n".join(" ".join(line.split()) for line in text.splitlines()).strip()


def _bounded(cache: dict[K, V], limit: int = 10_000) -> dict[K, V]:
    """A per-process cache that starts over when it grows past `limit` entries."""
    if len(cache) >= limit:
        cache.clear()
    return cache


def _language(locale: str | None) -> str | None:
    return locale[:2].lower() if locale else None


def render(message: OutMessage) -> Activity:
    """A text message, or an Adaptive Card when the message offers choices."""
    if message.choices:
        activity = MessageFactory.attachment(
            CardFactory.adaptive_card(cards.question_card(message))
        )
        activity.summary = message.text[:200]
        return activity
    activity = MessageFactory.text(message.text)
    activity.text_format = "plain"
    return activity


def report_activity(report: Report) -> Activity:
    activity = MessageFactory.attachment(CardFactory.adaptive_card(cards.report_card(report)))
    activity.summary = report.title
    return activity


# ---------------------------------------------------------------------- the channel


class TeamsChannel:
    """`adapters.base.Channel` for Teams, plus the inbound endpoint (`process`)."""

    name = CHANNEL

    def __init__(
        self,
        credentials: TeamsCredentials,
        ports: TeamsPorts,
        *,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Sleep = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.credentials = credentials
        self.ports = ports
        self.adapter = CloudAdapter(
            ConfigurationBotFrameworkAuthentication(credentials.sdk_config())
        )
        self.bot = _TeamsBot(self)
        self.retry = retry
        self.sleep = sleep  # how retries wait (tests record the delays)
        self.monotonic = monotonic  # how long what this process learnt holds (tests move it)
        self._references: dict[str, dict[str, Any]] = {}  # conversation id -> latest reference
        # user id -> (valid until, email, name): `EMAIL_SECONDS`
        self._emails: dict[str, tuple[float, str | None, str | None]] = {}
        # (kind, user id, conversation id) -> (valid until, what was stored)
        self._remembered: dict[tuple[str, str, str], tuple[float, tuple[object, ...]]] = {}

    @property
    def bot_app_id(self) -> str:
        """Never empty: with credentials it must equal the app id; without, anything goes."""
        return self.credentials.app_id or ANONYMOUS_BOT_APP_ID

    async def process(self, request: web.Request) -> web.Response:
        """Authenticate and run one inbound activity: 201/200 when done, 401 for a missing
        or invalid token, 503 when the token cannot be checked right now."""
        started = _TURN_STARTED.set(False)
        try:
            response = await self.adapter.process(request, self.bot)
        except web.HTTPException:
            raise
        except Exception as exc:
            if _TURN_STARTED.get():
                raise  # the application failed, not the authentication
            if isinstance(exc, jwt.PyJWTError):  # a malformed token: the SDK does not say 401
                raise web.HTTPUnauthorized() from None
            # e.g. Bot Framework's signing keys could not be fetched: the channel retries.
            log.warning("Teams request not authenticated: %s", type(exc).__name__)
            raise web.HTTPServiceUnavailable() from None
        finally:
            _TURN_STARTED.reset(started)
        return response if response is not None else web.Response(status=201)

    async def call(self, operation: Callable[[], Awaitable[T]], what: str) -> T:
        return await with_retry(operation, classify, policy=self.retry, sleep=self.sleep, what=what)

    # ------------------------------------------------------------ Channel protocol

    async def open_conversation(self, email: str) -> Opened:
        known = await self.ports.user_by_email(email)
        if known is None:
            raise Unreachable("app not installed for this user")
        reference = known.reference
        if not is_personal(reference):
            reference = await self._create_personal(known)
        conversation_id = str(reference["conversation"]["id"])
        _bounded(self._references)[conversation_id] = reference
        return Opened(
            user_id=known.user_id,
            conversation_id=conversation_id,
            language=_language(known.locale),
            timezone=known.timezone,
        )

    async def send(self, conversation_id: str, messages: Sequence[OutMessage], *, key: str) -> None:
        await self._deliver(conversation_id, [render(m) for m in messages], key)

    async def send_tracked(
        self, conversation_id: str, message: OutMessage, *, key: str
    ) -> str | None:
        """Post one message as `send` does; its activity id, so that `mark_closed` can change
        it (None: it was delivered before, its id is not known here)."""
        [activity_id] = await self._deliver(conversation_id, [render(message)], key)
        return activity_id

    async def mark_closed(
        self, conversation_id: str, message_id: str, text: str, note: str
    ) -> None:
        """Show a message posted by `send_tracked` as a card with `text`, `note` under it and
        no buttons (update_activity): what it asked is no longer asked."""
        reference = await self._reference(conversation_id)
        updated = MessageFactory.attachment(
            CardFactory.adaptive_card(cards.closed_card(text, note))
        )
        updated.id = message_id
        updated.summary = note[:200]

        async def callback(context: TurnContext) -> None:
            await self.call(lambda: context.update_activity(updated), "update card")

        await self.adapter.continue_conversation(
            reference_from_json(reference), callback, bot_app_id=self.bot_app_id
        )

    async def address_of(self, conversation_id: str, user_id: str) -> str | None:
        """The address Teams reports now for a member of a conversation the bot is in (None:
        not known). `open_conversation` finds people only by the address they last wrote
        with; this asks Teams afresh, e.g. after the address was renamed."""
        reference = await self._reference(conversation_id)
        found: list[str | None] = []

        async def callback(context: TurnContext) -> None:
            # A continuation carries no channel data: without it (no team) TeamsInfo asks
            # the conversation itself for the member
            context.activity.channel_data = context.activity.channel_data or {}
            email, name = await self._member(context, user_id)
            if email:
                self._learnt(user_id, email, name)  # what later turns report
            found.append(email)

        await self.adapter.continue_conversation(
            reference_from_json(reference), callback, bot_app_id=self.bot_app_id
        )
        email = found[0] if found else None
        return email.strip().lower() if email else None

    async def send_report(self, conversation_id: str, report: Report, *, key: str) -> None:
        """A report as a card into a conversation the bot is in (HR commands' answers)."""
        await self._deliver(conversation_id, [report_activity(report)], key)

    async def _deliver(
        self, conversation_id: str, activities: list[Activity], key: str
    ) -> list[str | None]:
        """Post in order through the stored reference; each activity at most once per key.
        The activities' ids, as Teams gave them (None for one delivered before)."""
        ids: list[str | None] = [None] * len(activities)
        if not activities:
            return ids
        reference = await self._reference(conversation_id)
        keys = [f"teams:{key}#{n}" for n in range(len(activities))]
        done = await self.ports.delivered(keys)
        pending = [
            (n, k, a)
            for n, (k, a) in enumerate(zip(keys, activities, strict=True))
            if k not in done
        ]
        if not pending:
            return ids

        async def callback(context: TurnContext) -> None:
            for number, activity_key, activity in pending:
                sent = await self.call(partial(context.send_activity, activity), "send")
                ids[number] = getattr(sent, "id", None) or None
                await self.ports.mark_delivered(activity_key)

        try:
            await self.adapter.continue_conversation(
                reference_from_json(reference), callback, bot_app_id=self.bot_app_id
            )
        except ErrorResponseException as exc:
            gone = gone_reason(exc)
            if gone is None:
                raise
            self.drop(conversation_id)
            await self.ports.forget(conversation_id)
            raise Unreachable(gone) from exc
        return ids

    async def post_report(self, target: str, report: Report) -> None:
        where = await self.ports.report_target(target)
        if where is None:
            raise Unreachable(
                "no Teams service URL known for the HR channel: install the app in that team "
                "or set EXITBOT_TEAMS_SERVICE_URL"
            )
        activity = report_activity(report)

        async def post(context: TurnContext) -> None:
            await self.call(lambda: context.send_activity(activity), "report")

        if where.reference is not None and where.reference.get("conversation", {}).get(
            "conversationType"
        ) not in (None, "channel"):
            await self.adapter.continue_conversation(
                reference_from_json(where.reference), post, bot_app_id=self.bot_app_id
            )
            return
        tenant = where.tenant_id or self.credentials.tenant_id or None
        params = ConversationParameters(
            is_group=True,
            channel_data={
                "channel": {"id": target},
                **({"tenant": {"id": tenant}} if tenant else {}),
            },
            activity=activity,
            tenant_id=tenant,
        )

        async def created(_context: TurnContext) -> None:
            return None  # the activity in `params` is the first message of the new thread

        await self.call(
            lambda: self.adapter.create_conversation(
                self.bot_app_id, created, params, "msteams", where.service_url, None
            ),
            "report",
        )

    # ------------------------------------------------------------ internals

    def drop(self, conversation_id: str) -> None:
        self._references.pop(conversation_id, None)
        self._remembered = {k: v for k, v in self._remembered.items() if v[1][0] != conversation_id}

    async def remember(self, contact: TeamsContact, *, conversation: bool = False) -> None:
        """Store who wrote and where (every activity), skipping what this process stored in the
        last `REMEMBER_SECONDS` (an erased identity is stored again after that)."""
        key = ("conversation" if conversation else "user", contact.user_id, contact.conversation_id)
        fingerprint = (
            contact.conversation_id,
            contact.reference.get("serviceUrl"),
            contact.tenant_id,
            contact.email,
            contact.locale,
            contact.timezone,
        )
        stored = self._remembered.get(key)
        if stored is not None and stored[1] == fingerprint and self.monotonic() < stored[0]:
            return
        if conversation:
            await self.ports.remember_conversation(contact)
        else:
            await self.ports.remember_user(contact)
        _bounded(self._remembered)[key] = (self.monotonic() + REMEMBER_SECONDS, fingerprint)

    async def _reference(self, conversation_id: str) -> dict[str, Any]:
        reference = self._references.get(conversation_id) or await self.ports.reference_for(
            conversation_id
        )
        if reference is None:
            raise Unreachable("no stored reference for this Teams conversation")
        return reference

    async def _create_personal(self, known: KnownUser) -> dict[str, Any]:
        """Open a 1:1 chat with someone the bot knows through a team it is installed in."""
        base = known.reference
        conversation = base.get("conversation") or {}
        tenant = conversation.get("tenantId") or self.credentials.tenant_id or None
        params = ConversationParameters(
            is_group=False,
            bot=ChannelAccount(id=(base.get("bot") or {}).get("id")),
            members=[ChannelAccount(id=known.user_id)],
            tenant_id=tenant,
            channel_data={"tenant": {"id": tenant}} if tenant else None,
        )
        created: list[dict[str, Any]] = []

        async def callback(context: TurnContext) -> None:
            created.append(
                reference_json(TurnContext.get_conversation_reference(context.activity), tenant)
            )

        try:
            await self.call(
                lambda: self.adapter.create_conversation(
                    self.bot_app_id, callback, params, "msteams", base["serviceUrl"], None
                ),
                "create conversation",
            )
        except ErrorResponseException as exc:
            raise Unreachable("app not installed for this user") from exc
        reference = created[0]
        reference["conversation"] = {
            **(reference.get("conversation") or {}),
            "conversationType": "personal",
            "tenantId": tenant,
        }
        reference["user"] = {"id": known.user_id}
        contact = TeamsContact(
            user_id=known.user_id,
            conversation_id=str(reference["conversation"]["id"]),
            reference=reference,
            personal=True,
            tenant_id=tenant,
            locale=known.locale,
        )
        await self.ports.remember_user(contact)
        return reference

    async def contact_of(self, context: TurnContext, user: ChannelAccount) -> TeamsContact:
        """Who `user` is in this turn's conversation, with their email (cached for
        `EMAIL_SECONDS`; an older copy is used only while Teams cannot be asked)."""
        activity = context.activity
        tenant_id = tenant_of(activity)
        reference = reference_json(TurnContext.get_conversation_reference(activity), tenant_id)
        conversation_id = activity.conversation.id
        _bounded(self._references)[conversation_id] = reference
        known = self._emails.get(user.id)
        if known is None or self.monotonic() >= known[0]:
            email, name = await self._member(context, user.id)
            if email:
                known = self._learnt(user.id, email, name)
        _, email, name = known if known is not None else (0.0, None, user.name)
        return TeamsContact(
            user_id=user.id,
            conversation_id=conversation_id,
            reference=reference,
            personal=is_personal(reference),
            tenant_id=tenant_id,
            locale=activity.locale,
            timezone=timezone_of(activity),
            email=email.strip().lower() if email else None,
            name=name or user.name,
        )

    def _learnt(
        self, user_id: str, email: str, name: str | None
    ) -> tuple[float, str | None, str | None]:
        known = (self.monotonic() + EMAIL_SECONDS, email, name)
        _bounded(self._emails)[user_id] = known
        return known

    async def _member(self, context: TurnContext, user_id: str) -> tuple[str | None, str | None]:
        try:
            member = await self.call(lambda: TeamsInfo.get_member(context, user_id), "get member")
        except ErrorResponseException as exc:
            code = getattr(getattr(exc, "error", None), "error", None)
            log.info("Teams member lookup failed: %s", getattr(code, "code", None) or exc)
            return None, None
        except TypeError:
            # An activity without `channelData` (the Bot Framework Emulator, some clients):
            # botbuilder's TeamsChannelData(**None) fails before any call is made
            log.info("Teams member lookup impossible: the activity has no channel data")
            return None, None
        return member.email or member.user_principal_name, member.name

    async def update_card(
        self, context: TurnContext, activity_id: str, prompt: str, answer: str | None
    ) -> None:
        updated = MessageFactory.attachment(
            CardFactory.adaptive_card(cards.answered_card(prompt, answer))
        )
        updated.id = activity_id
        await self.call(lambda: context.update_activity(updated), "update card")


class _TeamsBot(ActivityHandler):
    """Inbound activities: remember who is who, hand messages to the application."""

    def __init__(self, channel: TeamsChannel) -> None:
        self.channel = channel

    async def on_turn(self, turn_context: TurnContext) -> None:
        _TURN_STARTED.set(True)  # authenticated: errors from here on are the application's
        await super().on_turn(turn_context)

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        contact = await self.channel.contact_of(turn_context, activity.from_property)
        await self._remember(contact)
        choice, prompt, label = cards.clicked(activity.value)
        kind, question_id = cards.clicked_origin(activity.value) if choice else (None, None)
        card_id = activity.reply_to_id if choice else None
        incoming = Incoming(
            channel=CHANNEL,
            user_id=contact.user_id,
            conversation_id=contact.conversation_id,
            text=clean_text(activity),
            # A card answers once: a double click (or a click on an answered card still on
            # screen) is a redelivery of the first.
            message_id=f"card:{card_id}" if card_id else activity.id or "",
            choice=choice,
            choice_for=question_id,
            choice_on=kind,
            email=contact.email,
            locale=activity.locale,
            reply_to=card_id,
        )
        if not incoming.message_id:
            log.warning("Teams message without an id ignored")
            return
        handled = await self.channel.ports.handle_message(incoming, personal=contact.personal)
        if choice and incoming.reply_to and prompt is not None and not handled.duplicate:
            # only a card of ours says its text (PROMPT_KEY): another one is left as it is,
            # not replaced by a card without it
            answer = None if handled.ignored_click else (handled.card_note or label or choice)
            await self.channel.update_card(turn_context, incoming.reply_to, prompt, answer)

    async def on_installation_update_add(self, turn_context: TurnContext) -> None:
        contact = await self.channel.contact_of(turn_context, turn_context.activity.from_property)
        await self._remember(contact)

    async def on_installation_update_remove(self, turn_context: TurnContext) -> None:
        conversation_id = turn_context.activity.conversation.id
        self.channel.drop(conversation_id)
        await self.channel.ports.forget(conversation_id)

    async def on_conversation_update_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        bot_id = activity.recipient.id if activity.recipient else None
        added = list(activity.members_added or [])
        contact = await self.channel.contact_of(turn_context, activity.from_property)
        if contact.personal:
            await self.channel.remember(contact)
            return
        if any(member.id == bot_id for member in added):
            await self.channel.remember(contact, conversation=True)
        for member in added:
            if member.id != bot_id:
                await self.channel.remember(await self.channel.contact_of(turn_context, member))

    async def _remember(self, contact: TeamsContact) -> None:
        if not contact.personal:
            await self.channel.remember(contact, conversation=True)
        await self.channel.remember(contact)
