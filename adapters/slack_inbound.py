"""Slack → ExitBot: the Bolt app with its inbox middleware, listeners and slash command.

Exactly once, crash-safe: Bolt acknowledges Events API requests *before* listeners run, so a
global middleware hands each DM to ExitBot (`ports.record`, keyed by the envelope's
`event_id`) while the request is still open: the answer is stored and the reply kept with it
before Slack gets its `200`. A redelivery (`X-Slack-Retry-Num`) finds the key and is answered
`200` without doing anything (a bare return would make Bolt answer 404 and Slack would keep
retrying); a storage failure answers 500 and Slack delivers the event again. Once the turn
is stored, its reply goes out at once, before the ack: the person sees it without waiting
for Bolt's ack and listener dispatch. A Slack API slower than `REPLY_BEFORE_ACK` (a rate
limit's back-off) does not hold the ack: it goes, and the listener waits for the reply after
it. If the process dies before the reply is sent, the tick sends it (after checking the DM's
history, so never twice).

Button clicks are not retried by Slack: the listener records the click (keyed by the
clicked message, so a double click counts once), acks within 3 s, sends the reply, and
replaces the buttons with the chosen answer (`chat.update`).

This module knows Bolt and slack_sdk, never the application: everything it needs from
ExitBot arrives through `SlackPorts`.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

import aiohttp
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.base import Incoming, Report
from adapters.slack import SlackChannel, SlackProfile, api_error, retry_handlers, sdk_logger
from adapters.slack_blocks import (
    APPROVAL_PREFIXES,
    CHOICE_ACTION_PATTERN,
    Block,
    button_label,
    clicked_origin,
    escape,
    messages_payload,
    plain_text,
    report_blocks,
    report_text,
    section,
)
from conversations import OutMessage

log = logging.getLogger(__name__)

COMMAND = "/exitbot"

# What the adapter says itself when the application failed, in the person's Slack language.
_SORRY = {
    "command": {
        "en": "Sorry, that did not work. Try again.",
        "nl": "Sorry, dat lukte niet. Probeer het nog eens.",
    },
    "decision": {
        "en": "Sorry, that did not work. Please try again in a minute.",
        "nl": "Sorry, dat lukte niet. Probeer het over een minuut nog eens.",
    },
}


def sorry(what: str, language: str | None) -> str:
    texts = _SORRY[what]
    return texts.get(language or "en", texts["en"])


INCOMING = "exitbot_incoming"  # context key: the recorded DM and its reply being sent
# Seconds a DM's reply, sent as soon as its turn is stored, may hold the ack (Slack retries an
# event not acked within 3 s; a retry is recognised and changes nothing, but costs a request).
REPLY_BEFORE_ACK = 1.0

PersonResolver = Callable[[str], Awaitable[str | None]]
"""Turns what an admin typed for a person (`<@U123|anna>`, an email) into an email."""


def _keep_nothing() -> None:
    return None


@dataclass(frozen=True, slots=True)
class Reply:
    """The reply of a recorded message: a DM's is sent before the ack (within
    `REPLY_BEFORE_ACK`), a click's after it."""

    send: Callable[[], Awaitable[None]]
    # a click: the clicked message shows the chosen answer (False: the click changed
    # nothing, e.g. a button of a message no longer asking; it only loses its buttons)
    answers_click: bool = True
    # The reply will not be sent now (the tick sends it later): the next reply in the same
    # DM stops waiting for it. Sending gives its place back by itself.
    release: Callable[[], None] = _keep_nothing


@dataclass(frozen=True, slots=True)
class KnownUser:
    linked: bool  # the Slack user is linked to an employee ExitBot knows
    locale: str | None = None


class SlackPorts(Protocol):
    """What the Slack adapter needs from the application."""

    async def record(self, incoming: Incoming) -> Reply | None:
        """Store the message and its turn durably; what sends the reply, or None when the
        message was recorded before."""
        ...

    async def known_user(self, user_id: str) -> KnownUser | None:
        """What ExitBot knows about this Slack user, or None."""
        ...

    async def remember_user(self, profile: SlackProfile, conversation_id: str | None) -> None:
        """Link the Slack user to the employee with the profile's email (when there is one)."""
        ...

    async def decide(
        self,
        value: str,
        email: str | None,
        language: str | None,
        message: tuple[str, str] | None = None,
    ) -> tuple[bool, str]:
        """An approval button (`approve#<round>:<id>` / `skip#<round>:<id>`, or from before
        rounds `approve:<id>` / `skip:<id>`) clicked by the person with this email and Slack
        language, on `message` (channel id, ts; the adapter shows the answer there); (done?,
        what to show them, in their language)."""
        ...

    async def command(
        self, text: str, email: str | None, language: str | None, resolve: PersonResolver
    ) -> tuple[Sequence[OutMessage], Report | None]:
        """An HR admin command; the reply as messages (with buttons) and/or a report."""
        ...


# Subtypes that still carry what the person typed: a message with a file attached (the text
# is the answer; the file itself is never downloaded or stored) and a thread reply also sent
# to the conversation. Every other subtype (edits, deletions, joins, bot messages) is ignored.
TYPED_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})


def dm_incoming(body: Mapping[str, Any], bot_user_id: str | None) -> Incoming | None:
    """The `Incoming` for a person's plain DM to the bot; None for anything to ignore."""
    if body.get("type") != "event_callback" or not body.get("event_id"):
        return None
    event = body.get("event") or {}
    if event.get("type") != "message" or event.get("channel_type") != "im":
        return None
    if event.get("subtype") not in TYPED_SUBTYPES:
        return None  # edits, deletions, joins, bot messages
    if event.get("bot_id") or event.get("bot_profile"):
        return None  # other bots (a file share or broadcast from a bot too)
    user, channel = event.get("user"), event.get("channel")
    if not user or not channel or user == bot_user_id:
        return None
    return Incoming(
        channel="slack",
        user_id=str(user),
        conversation_id=str(channel),
        text=plain_text(str(event.get("text") or "")),
        message_id=str(body["event_id"]),
    )


_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_MAILTO = re.compile(r"<mailto:([^|>]+)(?:\|[^>]*)?>")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_USER_ID = re.compile(r"[UW][A-Z0-9]{4,}")


class SlackInbound:
    """Registers ExitBot's middleware and listeners on a Bolt `AsyncApp`."""

    def __init__(
        self,
        channel: SlackChannel,
        ports: SlackPorts,
        *,
        lookup_timeout: float = 2.0,
        reply_before_ack: float = REPLY_BEFORE_ACK,
    ) -> None:
        self.channel = channel
        self.ports = ports
        self.lookup_timeout = lookup_timeout
        self.reply_before_ack = reply_before_ack
        self._sending: set[asyncio.Future[bool]] = set()  # DM replies on their way

    def register(self, app: AsyncApp) -> None:
        app.middleware(self.inbox)
        app.event("message")(self.on_message)
        app.action(CHOICE_ACTION_PATTERN)(self.on_click)
        app.command(COMMAND)(self.on_command)

    # ------------------------------------------------------------------ direct messages

    async def inbox(
        self,
        body: dict[str, Any],
        context: AsyncBoltContext,
        request: AsyncBoltRequest,
        next: Callable[[], Awaitable[None]],
    ) -> BoltResponse | None:
        """Before the ack: record a DM durably; a redelivered one is answered and dropped."""
        incoming = dm_incoming(body, context.bot_user_id)
        if incoming is None:
            await next()
            return None
        locale = await self.locale_of(incoming.user_id, incoming.conversation_id)
        incoming = replace(incoming, locale=locale)
        # Storage errors propagate: Bolt answers 500 and Slack delivers the event again.
        reply = await self.ports.record(incoming)
        if reply is None:
            log.info("Slack event %s seen before (retry %s)", incoming.message_id, _retry(request))
            return BoltResponse(status=200, body="")
        # The reply now, before the ack (the person waits for it; Slack only for the ack),
        # unless the Slack API keeps it longer than `reply_before_ack`: then after the ack.
        sending = asyncio.ensure_future(self.send_reply(incoming, reply))
        self._sending.add(sending)  # kept until done, even if Bolt never gets to the listener
        sending.add_done_callback(self._sending.discard)
        context[INCOMING] = (incoming, sending)
        await asyncio.wait((sending,), timeout=self.reply_before_ack)
        await next()
        return None

    async def on_message(self, context: AsyncBoltContext) -> None:
        """After the ack: the reply to the DM the middleware recorded is sent (it started
        before the ack; when the Slack API was slow, it is still on its way)."""
        recorded = context.get(INCOMING)
        if isinstance(recorded, tuple):
            _, sending = recorded
            await sending

    async def locale_of(self, user_id: str, conversation_id: str | None = None) -> str | None:
        """The user's Slack locale; links a not-yet-known user to their employee by email."""
        known = await self.ports.known_user(user_id)
        if known is not None and known.linked:
            return known.locale
        try:
            profile = await asyncio.wait_for(self.channel.profile(user_id), self.lookup_timeout)
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("users.info for an unknown Slack user failed: %s", type(exc).__name__)
            profile = None
        if profile is None or not profile.email:
            return known.locale if known else None
        await self.ports.remember_user(profile, conversation_id)
        return profile.locale

    async def send_reply(self, incoming: Incoming, reply: Reply) -> bool:
        try:
            await reply.send()
        except Exception as exc:  # the reply stays stored; the tick sends it
            log.error("Slack reply to %s not sent: %s", incoming.message_id, type(exc).__name__)
            return False
        return True

    # ------------------------------------------------------------------ buttons

    async def on_click(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        value = str(action.get("value") or "")
        if value.startswith(APPROVAL_PREFIXES):
            await ack()
            await self.on_decision(body, action, value)
            return
        container = body.get("container") or {}
        channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
        ts = container.get("message_ts")
        user = (body.get("user") or {}).get("id")
        if not (channel and ts and user):
            await ack()
            return
        label = button_label(action)
        kind, question_id = clicked_origin(action.get("block_id"))
        incoming = Incoming(
            channel="slack",
            user_id=str(user),
            conversation_id=str(channel),
            text=label,
            # One answer per clicked message: a double click or a second button counts once.
            message_id=f"action:{channel}:{ts}",
            choice=value,
            choice_for=question_id,
            choice_on=kind,
            locale=await self.locale_of(str(user), str(channel)),
            reply_to=str(ts),
        )
        reply = await self.ports.record(incoming)  # raises → no ack → Slack shows an error
        try:
            await ack()
        except BaseException:
            if reply is not None:
                reply.release()  # stored: the tick sends it
            raise
        if reply is not None and await self.send_reply(incoming, reply):
            chosen = label if reply.answers_click else None
            await self._mark(str(channel), str(ts), body.get("message") or {}, chosen)

    async def _mark(
        self, channel: str, ts: str, message: Mapping[str, Any], label: str | None
    ) -> None:
        try:
            await self.channel.mark_answered(channel, ts, message, label)
        except SlackApiError as exc:
            log.warning("could not update the answered Slack message: %s", api_error(exc))

    async def on_decision(
        self, body: Mapping[str, Any], action: Mapping[str, Any], value: str
    ) -> None:
        """Approve / Skip on a contract_end departure (HR admins only)."""
        user = str((body.get("user") or {}).get("id") or "")
        profile = await self.channel.profile(user) if user else None
        email = profile.email if profile and not profile.deleted else None
        language = profile.language if profile else None
        container = body.get("container") or {}
        channel, ts = container.get("channel_id"), container.get("message_ts")
        clicked = (str(channel), str(ts)) if channel and ts else None
        try:
            done, note = await self.ports.decide(value, email, language, clicked)
        except Exception as exc:
            log.error("approval decision failed: %s", type(exc).__name__)
            done, note = False, sorry("decision", language)
        response_url = body.get("response_url")
        if not done:
            await self.respond(response_url, note, [section(escape(note))])
            return
        chosen = f"{button_label(action)}: {note}"
        if container.get("is_ephemeral") or not body.get("message"):
            # Slack sends no copy of an ephemeral message: show the decision above a fresh
            # list of what is still pending (the `approvals` HR command).
            await self.respond_pending(response_url, chosen, email, profile)
            return
        try:
            await self.channel.mark_answered(
                str(container.get("channel_id")),
                str(container.get("message_ts")),
                body["message"],
                chosen,
                action.get("block_id"),
            )
        except SlackApiError as exc:
            log.warning("could not update the approval message: %s", api_error(exc))

    async def respond_pending(
        self, response_url: object, chosen: str, email: str | None, profile: SlackProfile | None
    ) -> None:
        language = profile.language if profile else None
        try:
            pending, _ = await self.ports.command("approvals", email, language, self.resolve_person)
        except Exception as exc:
            log.error("listing pending approvals failed: %s", type(exc).__name__)
            pending = []
        text, blocks = messages_payload([OutMessage("info", f"✔ {chosen}"), *pending])
        await self.respond(response_url, text, blocks, replace_original=True)

    # ------------------------------------------------------------------ /exitbot

    async def on_command(self, ack: AsyncAck, command: dict[str, Any]) -> None:
        """Ack at once (Slack allows 3 s), then answer privately through response_url."""
        await ack()
        profile = await self.channel.profile(str(command.get("user_id") or ""))
        email = profile.email if profile and not profile.deleted else None
        language = profile.language if profile else None
        try:
            messages, report = await self.ports.command(
                str(command.get("text") or ""), email, language, self.resolve_person
            )
        except Exception as exc:
            log.error("/exitbot failed: %s", type(exc).__name__)
            messages, report = [OutMessage("info", sorry("command", language))], None
        text, blocks = messages_payload(messages) if messages else ("", [])
        if report is not None:
            text = "\n\n".join(t for t in (text, report_text(report)) if t)
            blocks = [*blocks, *report_blocks(report)][:50]
        await self.respond(command.get("response_url"), text, blocks)

    async def resolve_person(self, token: str) -> str | None:
        """`<@U123|anna>`, `<@U123>`, `<mailto:a@b|a@b>`, a bare email or user id → email."""
        token = token.strip()
        if match := _MAILTO.fullmatch(token):
            return match.group(1).strip().lower()
        if _EMAIL.fullmatch(token):
            return token.lower()
        match = _MENTION.fullmatch(token)
        user_id = match.group(1) if match else token if _USER_ID.fullmatch(token) else None
        if user_id is None:
            return None
        profile = await self.channel.profile(user_id)
        return profile.email if profile and not profile.deleted else None

    async def respond(
        self,
        response_url: object,
        text: str,
        blocks: list[Block],
        *,
        replace_original: bool = False,
    ) -> None:
        """An ephemeral reply through response_url (private client: its logs stay quiet)."""
        if not isinstance(response_url, str) or not response_url:
            return
        client = AsyncWebhookClient(
            response_url, logger=sdk_logger(), retry_handlers=retry_handlers()
        )
        try:
            response = await client.send(
                text=text or " ",
                blocks=blocks or None,
                response_type="ephemeral",
                replace_original=replace_original,
            )
        except (aiohttp.ClientError, TimeoutError) as exc:  # the URL itself is a secret
            log.warning("response_url could not be reached: %s", type(exc).__name__)
            return
        if response.status_code != 200:
            log.warning("response_url answered %s", response.status_code)


def _retry(request: AsyncBoltRequest) -> str:
    """X-Slack-Retry-Num, for the log line only: duplicates are found by event_id."""
    values = request.headers.get("x-slack-retry-num") or ["-"]
    return str(values[0])


def build_app(
    channel: SlackChannel,
    ports: SlackPorts,
    *,
    signing_secret: str,
    lookup_timeout: float = 2.0,
) -> AsyncApp:
    """A single-workspace Bolt app on the channel's Web API client (token, base URL, retries)."""
    app = AsyncApp(
        client=channel.client,
        signing_secret=signing_secret,
        logger=sdk_logger(),
        name="exitbot",
    )
    SlackInbound(channel, ports, lookup_timeout=lookup_timeout).register(app)
    return app
