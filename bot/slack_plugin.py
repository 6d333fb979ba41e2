"""Slack in the aiohttp app: builds the Bolt app and the `SlackChannel` from settings, serves
`POST /slack/events` (HTTP mode) or holds a Socket Mode connection, and implements the
adapter's ports on ExitBot's storage and service.

Modes: Slack is on when `SLACK_BOT_TOKEN` is set with `SLACK_SIGNING_SECRET` (HTTP mode) or
`SLACK_APP_TOKEN` (Socket Mode, which then replaces the HTTP endpoint). The channel is
registered either way, so `exitbot tick` / `exitbot digest` can send without a server.

Who is who: the invite links the Slack user id to the employee (`platform_identities`,
platform "slack"). Someone who writes to the bot without being linked yet is looked up once
(`users.info` → email) and linked to the employee with that email, if ExitBot knows one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from sqlalchemy import select

from adapters.base import Incoming, Report
from adapters.slack import SlackChannel, SlackProfile, make_client, sdk_logger
from adapters.slack_inbound import KnownUser, PersonResolver, Reply, build_app
from adapters.slack_pacing import Limits, Pacer
from bot import approval_requests, hr_commands
from bot.config import Settings
from bot.db import StorageUnavailable
from bot.models import Employee
from bot.runtime import Runtime
from bot.service import Outcome
from conversations import OutMessage

log = logging.getLogger(__name__)

PLATFORM = "slack"
LINKED_CACHE_SIZE = 50_000  # Slack users linked to an employee, remembered per process
LOOKUP_BATCH = 500  # Slack users not remembered yet, looked up together in one read
EVENTS_PATH = "/slack/events"
# Seconds a recorded reply may wait to start being sent before the next reply in its DM
# stops waiting for it: a DM's reply starts before the ack, a click's in the listener Bolt
# runs after the ack (within 3 s).
UNSENT_AFTER = 4.0


@dataclass(slots=True)
class SlackApp:
    """The pieces of one Slack installation in this process."""

    channel: SlackChannel
    bolt: AsyncApp
    store: SlackStore
    app_token: str | None = None
    socket: AsyncSocketModeHandler | None = field(default=None)
    connecting: asyncio.Task[None] | None = field(default=None)

    @property
    def socket_mode(self) -> bool:
        return bool(self.app_token)


SLACK = web.AppKey("slack", SlackApp)


def build(runtime: Runtime, *, limits: Limits | None = None) -> SlackApp:
    """Channel + Bolt app from the runtime's settings (Slack must be enabled)."""
    settings = runtime.settings
    if not settings.slack_bot_token:
        raise ValueError("SLACK_BOT_TOKEN is not set")
    client = make_client(settings.slack_bot_token, settings.slack_api_url)
    channel = SlackChannel(client, pacer=Pacer(limits))
    store = SlackStore(runtime)
    runtime.service.link_observers.append(store.remember_link)
    bolt = build_app(channel, store, signing_secret=settings.slack_signing_secret or "")
    return SlackApp(channel, bolt, store, app_token=settings.slack_app_token)


def plugin(app: web.Application, runtime: Runtime) -> None:
    """Plugin for `bot.app.create_app`: nothing happens unless Slack is configured."""
    if not runtime.settings.slack_enabled:
        missing = half_configured(runtime.settings)
        if missing:
            log.warning("Slack is off: %s", missing)
        return
    slack = build(runtime)
    runtime.add_channel(slack.channel)
    app[SLACK] = slack
    app.on_startup.append(_open_client)
    app.on_cleanup.append(_close_client)
    if slack.socket_mode:
        app.on_startup.append(_connect_socket)
        app.on_cleanup.append(_close_socket)
        log.info("Slack: Socket Mode")
    else:
        app.router.add_post(EVENTS_PATH, events)
        log.info("Slack: HTTP mode at %s", EVENTS_PATH)


def half_configured(settings: Settings) -> str | None:
    """What is missing when some of Slack's settings are given but not enough to switch it on."""
    if settings.slack_bot_token:
        return (
            "SLACK_BOT_TOKEN is set, but neither SLACK_SIGNING_SECRET (HTTP mode) nor "
            "SLACK_APP_TOKEN (Socket Mode)"
        )
    if settings.slack_signing_secret or settings.slack_app_token:
        given = "SLACK_SIGNING_SECRET" if settings.slack_signing_secret else "SLACK_APP_TOKEN"
        return f"{given} is set, but SLACK_BOT_TOKEN is not"
    return None


async def events(request: web.Request) -> web.Response:
    """`POST /slack/events`: events, button clicks and the slash command, verified by Bolt."""
    slack = request.app[SLACK]
    response = await slack.bolt.async_dispatch(await to_bolt_request(request))
    return await to_aiohttp_response(response)


async def _open_client(app: web.Application) -> None:
    await app[SLACK].channel.start()


async def _close_client(app: web.Application) -> None:
    await app[SLACK].channel.stop()


async def _connect_socket(app: web.Application) -> None:
    slack = app[SLACK]
    assert slack.app_token is not None
    # Built here, inside the running loop: the handler opens an aiohttp session at once.
    slack.socket = AsyncSocketModeHandler(
        slack.bolt, slack.app_token, logger=sdk_logger(), web_client=slack.channel.client
    )
    # slack_sdk retries a failed connection forever (every 10 s): connecting in the
    # background keeps the rest of the server (webhook, Teams, /healthz) starting meanwhile.
    slack.connecting = asyncio.create_task(slack.socket.connect_async(), name="slack-socket")


async def _close_socket(app: web.Application) -> None:
    slack = app[SLACK]
    if slack.connecting is not None and not slack.connecting.done():
        slack.connecting.cancel()
    if slack.socket is not None:
        await slack.socket.close_async()
        slack.socket = None


# ---------------------------------------------------------------------- who is who


async def link_slack_user(
    runtime: Runtime, profile: SlackProfile, conversation_id: str | None = None
) -> bool:
    """Remember a Slack user (locale, time zone, DM) and link them to the employee with their
    email when ExitBot knows one; True when linked. Never creates employees."""
    now = runtime.clock.now()
    async with runtime.db.transaction() as session:
        employee_id = (
            await session.scalar(select(Employee.id).where(Employee.email == profile.email))
            if profile.email
            else None
        )
        await runtime.service.link_identity(
            session,
            platform=PLATFORM,
            user_id=profile.user_id,
            employee_id=employee_id,
            conversation_id=conversation_id if conversation_id else None,
            locale=profile.locale,
            timezone=profile.timezone,
            now=now,
        )
    return employee_id is not None


async def _send_nothing() -> None:
    return None


# Kept for the tick: what it will make of a click is not known yet (it only loses its buttons)
_no_reply = Reply(_send_nothing, answers_click=False)


class SlackStore:
    """`adapters.slack_inbound.SlackPorts` on ExitBot's database, service and HR commands."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._linked: dict[str, KnownUser] = {}
        self._asked: dict[str, asyncio.Future[KnownUser | None]] = {}  # for the next read
        self._reading: asyncio.Task[None] | None = None

    async def record(self, incoming: Incoming) -> Reply | None:
        service = self.runtime.service
        try:
            outcome = await service.record(incoming)
        except StorageUnavailable:
            raise  # 500: Slack delivers it again
        except Exception as exc:
            # A turn that fails for another reason would fail on every retry too, and be
            # gone after Slack's third: keep the message for the tick (and the logs) instead.
            log.error(
                "Slack message %s could not be processed (%s): kept for later",
                incoming.message_id,
                type(exc).__name__,
            )
            return _no_reply if await service.accept(incoming) else None
        if outcome.duplicate:
            return None
        return self._reply(incoming, outcome)

    def _reply(self, incoming: Incoming, outcome: Outcome) -> Reply:
        """What sends the reply (a DM's before the ack, a click's after). Its turn holds the
        place of the next reply in that DM (`bot.service.ReplyOrder`): if it is neither sent
        nor released by `UNSENT_AFTER` (Bolt failed before its listener), the place is given
        back then; the tick sends it later."""
        service = self.runtime.service
        started = False

        async def send() -> None:
            nonlocal started
            started = True
            await service.deliver(incoming.channel, incoming.conversation_id, outcome, incoming.key)

        def release() -> None:
            service.release_reply(incoming.channel, incoming.conversation_id, incoming.key)

        if outcome.messages:
            asyncio.get_running_loop().call_later(
                UNSENT_AFTER, lambda: None if started else release()
            )
        return Reply(send, answers_click=not outcome.ignored_click, release=release)

    async def known_user(self, user_id: str) -> KnownUser | None:
        """From memory once linked (every DM asks: no database read before the ack);
        otherwise read, together with every other user asked for meanwhile."""
        known = self._linked.get(user_id)
        if known is not None:
            return known
        future = self._asked.get(user_id)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._asked[user_id] = future
            if self._reading is None or self._reading.done():
                self._reading = asyncio.create_task(self._read_asked())
        return await asyncio.shield(future)  # one caller giving up leaves it to the others

    def remember_link(self, platform: str, user_id: str, locale: str | None) -> None:
        """A Slack user this process linked (the invite): their first message is known."""
        if platform == PLATFORM:
            self._remember(user_id, KnownUser(linked=True, locale=locale))

    def _remember(self, user_id: str, known: KnownUser) -> None:
        # A link only changes when the person is erased; their turn then finds no
        # interview either way, so a stale entry changes nothing they see.
        if len(self._linked) >= LINKED_CACHE_SIZE:
            self._linked.pop(next(iter(self._linked)))
        self._linked[user_id] = known

    async def _read_asked(self) -> None:
        """Users asked for while a read runs go together in the next: one round trip for a
        burst of people this process has not met yet (with several replicas, each meets
        every person once: a read per person and replica, measured at 16 % of a replica's
        CPU at saturation when each had its own; on PostgreSQL straight on the driver,
        `TurnWriter.identities`)."""
        while self._asked:
            ids = list(self._asked)[:LOOKUP_BATCH]
            waiting = {user_id: self._asked.pop(user_id) for user_id in ids}
            try:
                found = {
                    row.user_id: KnownUser(linked=row.employee_id is not None, locale=row.locale)
                    for row in await self.runtime.service.identities(PLATFORM, ids)
                }
            except Exception as exc:  # StorageUnavailable: each caller answers 500
                for future in waiting.values():
                    if not future.done():
                        future.set_exception(exc)
                continue
            for user_id, future in waiting.items():
                known = found.get(user_id)
                if known is not None and known.linked:
                    self._remember(user_id, known)
                if not future.done():
                    future.set_result(known)

    async def remember_user(self, profile: SlackProfile, conversation_id: str | None) -> None:
        await link_slack_user(self.runtime, profile, conversation_id)

    async def decide(
        self,
        value: str,
        email: str | None,
        language: str | None,
        message: tuple[str, str] | None = None,
    ) -> tuple[bool, str]:
        clicked = approval_requests.ChatMessage("slack", *message) if message else None
        decision = await hr_commands.decide(
            self.runtime, value, clicker_email=email, language=language, clicked=clicked
        )
        return decision.decided, decision.text

    async def command(
        self, text: str, email: str | None, language: str | None, resolve: PersonResolver
    ) -> tuple[Sequence[OutMessage], Report | None]:
        reply = await hr_commands.run(
            self.runtime, text, caller_email=email, resolve_person=resolve, language=language
        )
        return reply.messages, reply.report
