"""The Slack channel: DMs by email, Block Kit questions, reports in the HR channel.

Outbound only; `adapters.slack_inbound` turns Slack's requests into `Incoming` values. Every
Web API client made here retries 429s (waiting `Retry-After`), 500/503s and dropped
connections, and logs through `sdk_logger()`, which never lets the SDK's DEBUG lines (they
carry request and response bodies: answers, emails) through.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from adapters.base import Opened, Report, Unreachable
from adapters.slack_blocks import (
    answered_blocks,
    closed_blocks,
    escape,
    fallback_text,
    message_blocks,
    report_blocks,
    report_text,
)
from adapters.slack_pacing import Limits, Pacer
from conversations import OutMessage

SENT_EVENT = "exitbot_reply"  # message metadata type marking our replies
log = logging.getLogger(__name__)

# Errors that mean "this person cannot be reached in Slack", not "try again later".
UNREACHABLE_ERRORS = frozenset(
    {
        "users_not_found",
        "user_not_found",
        "user_disabled",
        "account_inactive",
        "cannot_dm_bot",
        "channel_not_found",
        "is_archived",
        "user_not_visible",
    }
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


_TOKEN_SKIPPED = warning_client_prioritized_and_token_skipped()


class _PrivateSdkLogs(logging.Filter):
    """Drops the SDK's DEBUG records (request/response bodies) and masks emails in the rest."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.INFO:
            return False
        message = record.getMessage()
        if message == _TOKEN_SKIPPED:
            # Bolt reads SLACK_BOT_TOKEN from the environment by itself and then warns that
            # the client ExitBot hands it (made with that very token) wins: nothing to act on
            return False
        if "@" in message:
            record.msg, record.args = _EMAIL.sub("[email]", message), None
        return True


def sdk_logger() -> logging.Logger:
    """The logger handed to slack_sdk / slack_bolt (Bolt copies its level and filters)."""
    logger = logging.getLogger("adapters.slack.sdk")
    if not any(isinstance(f, _PrivateSdkLogs) for f in logger.filters):
        logger.addFilter(_PrivateSdkLogs())
    if logger.level == logging.NOTSET:
        # slack_sdk checks `logger.level <= DEBUG` (NOTSET included) before it even builds
        # its body-dumping debug lines; an explicit level skips that work.
        logger.setLevel(logging.INFO)
    return logger


def retry_handlers() -> list[AsyncRetryHandler]:
    return [
        AsyncConnectionErrorRetryHandler(max_retry_count=2),
        AsyncRateLimitErrorRetryHandler(max_retry_count=3),
        AsyncServerErrorRetryHandler(max_retry_count=2),
    ]


def make_client(token: str, base_url: str | None = None) -> AsyncWebClient:
    """A Web API client with ExitBot's retry handlers and private logging."""
    kwargs: dict[str, Any] = {"base_url": base_url} if base_url else {}
    return AsyncWebClient(
        token=token, logger=sdk_logger(), retry_handlers=retry_handlers(), timeout=30, **kwargs
    )


def api_error(exc: SlackApiError) -> str:
    """Slack's error code (`users_not_found`, `ratelimited`, ...) of a failed call."""
    try:
        return str(exc.response.get("error") or "unknown_error")
    except AttributeError:
        return "unknown_error"


@dataclass(frozen=True, slots=True)
class SlackProfile:
    """What `users.info` tells about one person."""

    user_id: str
    email: str | None
    locale: str | None = None
    timezone: str | None = None
    deleted: bool = False
    is_bot: bool = False

    @property
    def language(self) -> str | None:
        return self.locale.split("-")[0].split("_")[0].lower() if self.locale else None

    @classmethod
    def from_user(cls, user: Mapping[str, Any]) -> SlackProfile:
        profile = user.get("profile") or {}
        email = profile.get("email")
        return cls(
            user_id=str(user.get("id", "")),
            email=str(email).strip().lower() if email else None,
            locale=user.get("locale") or None,
            timezone=user.get("tz") or None,
            deleted=bool(user.get("deleted")),
            is_bot=bool(user.get("is_bot")) or user.get("id") == "USLACKBOT",
        )


class SlackChannel:
    """`adapters.base.Channel` for Slack."""

    name = "slack"

    def __init__(self, client: AsyncWebClient, *, pacer: Pacer | None = None) -> None:
        self.client = client
        self.pacer = pacer or Pacer(Limits())

    async def start(self) -> None:
        """Keep one HTTP connection pool for the server's lifetime: without one, slack_sdk
        opens (and closes) a new aiohttp session, and a new connection, for every call."""
        session = self.client.session
        if session is None or session.closed:
            timeout = aiohttp.ClientTimeout(total=self.client.timeout)
            self.client.session = aiohttp.ClientSession(timeout=timeout)

    async def stop(self) -> None:
        session, self.client.session = self.client.session, None
        if session is not None and not session.closed:
            await session.close()

    # ------------------------------------------------------------------ people

    async def open_conversation(self, email: str) -> Opened:
        """users.lookupByEmail → conversations.open; language and time zone from users.info."""
        try:
            await self.pacer.before("users.lookupByEmail")
            found = await self.client.users_lookupByEmail(email=email)
            person = SlackProfile.from_user(found["user"])
            if person.deleted:
                raise Unreachable("deactivated")
            if person.is_bot:
                raise Unreachable("not_a_person")
            await self.pacer.before("conversations.open")
            opened = await self.client.conversations_open(users=person.user_id)
            conversation_id = str(opened["channel"]["id"])
        except SlackApiError as exc:
            raise await self._unreachable_or(exc) from None
        profile = await self.profile(person.user_id)
        return Opened(
            user_id=person.user_id,
            conversation_id=conversation_id,
            language=profile.language if profile else None,
            timezone=(profile.timezone if profile else None) or person.timezone,
        )

    async def _unreachable_or(self, exc: SlackApiError) -> Exception:
        error = api_error(exc)
        if error not in UNREACHABLE_ERRORS:
            return exc
        if error == "account_inactive" and not await self._token_works():
            # Slack also says account_inactive when *our* token belongs to a deactivated app
            # or workspace; that is no reason to give up on the employee.
            log.error("the Slack bot token is no longer active (auth.test fails)")
            return exc
        log.info("Slack cannot reach a user: %s", error)
        return Unreachable(error)

    async def _token_works(self) -> bool:
        try:
            await self.client.auth_test()
        except SlackApiError:
            return False
        return True

    async def profile(self, user_id: str) -> SlackProfile | None:
        """users.info (with locale), or None when Slack does not know the user."""
        try:
            await self.pacer.before("users.info")
            info = await self.client.users_info(user=user_id, include_locale=True)
        except SlackApiError as exc:
            log.info("users.info failed: %s", api_error(exc))
            return None
        return SlackProfile.from_user(info["user"])

    # ------------------------------------------------------------------ messages

    async def send(self, conversation_id: str, messages: Sequence[OutMessage], *, key: str) -> None:
        """Post in order; questions with choices get buttons, every message a text fallback.

        Each message carries the batch key as message metadata, so `already_sent` can tell
        after a crash whether the batch reached Slack.
        """
        for part, message in enumerate(messages):
            metadata = {"event_type": SENT_EVENT, "event_payload": {"key": key, "part": part}}
            await self.post(
                conversation_id, fallback_text(message), message_blocks(message), metadata
            )
        log.debug("sent %d Slack message(s) for %s", len(messages), key)

    async def send_tracked(self, conversation_id: str, message: OutMessage, *, key: str) -> str:
        """Post one message as `send` does; its ts, so that `mark_closed` can change it."""
        metadata = {"event_type": SENT_EVENT, "event_payload": {"key": key, "part": 0}}
        return await self.post(
            conversation_id, fallback_text(message), message_blocks(message), metadata
        )

    async def mark_closed(
        self, conversation_id: str, message_id: str, text: str, note: str
    ) -> None:
        """Show a message posted by `send_tracked` as `text` with `note` under it and no
        buttons (chat.update): what it asked is no longer asked."""
        await self.pacer.before("chat.update")
        await self.client.chat_update(
            channel=conversation_id,
            ts=message_id,
            text=f"{escape(text)}\n{escape(note)}",
            blocks=closed_blocks(text, note),
        )

    async def already_sent(self, conversation_id: str, key: str) -> bool:
        """Did a batch with this key reach the conversation? (Recent history, by metadata.)"""
        await self.pacer.before("conversations.history")
        history = await self.client.conversations_history(
            channel=conversation_id, limit=50, include_all_metadata=True
        )
        for message in history.get("messages") or []:
            metadata = message.get("metadata") or {}
            if metadata.get("event_type") != SENT_EVENT:
                continue
            if (metadata.get("event_payload") or {}).get("key") == key:
                return True
        return False

    async def post(
        self,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]],
        metadata: dict[str, Any] | None = None,
    ) -> str:
        """chat.postMessage; returns the message ts."""
        await self.pacer.before("chat.postMessage", channel)
        try:
            posted = await self.client.chat_postMessage(
                channel=channel,
                text=text,
                blocks=blocks,
                metadata=metadata,
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as exc:
            error = api_error(exc)
            if error in UNREACHABLE_ERRORS and error != "account_inactive":
                raise Unreachable(error) from None
            raise
        return str(posted.get("ts", ""))

    async def mark_answered(
        self,
        channel: str,
        ts: str,
        message: Mapping[str, Any],
        chosen: str | None,
        block_id: str | None = None,
    ) -> None:
        """Replace a clicked message's buttons with "✔ <chosen>" (chat.update); with
        `chosen` None, only take them away."""
        await self.pacer.before("chat.update")
        await self.client.chat_update(
            channel=channel,
            ts=ts,
            text=str(message.get("text") or chosen or ""),
            blocks=answered_blocks(message, chosen, block_id),
        )

    # ------------------------------------------------------------------ reports

    async def post_report(self, target: str, report: Report) -> None:
        """Block Kit sections into channel `target` (`C…` or `slack:C…`), then the chart."""
        channel = target.removeprefix("slack:")
        try:
            await self.post(channel, report_text(report), report_blocks(report))
        except (SlackApiError, Unreachable) as exc:
            reason = exc.reason if isinstance(exc, Unreachable) else api_error(exc)
            log.error(
                "cannot post to the HR channel (%s): invite the bot into it with /invite", reason
            )
            raise
        if report.image_png:
            await self.pacer.before("files.getUploadURLExternal")
            await self.client.files_upload_v2(
                channel=channel,
                content=report.image_png,
                filename="exitbot-digest.png",
                title=report.image_alt or report.title,
                alt_txt=(report.image_alt or report.title)[:1000],
            )
