"""The small contract between channels and the application.

An adapter turns platform events into `Incoming` values for the service, and sends the
engine's `OutMessage`s back in the platform's own format. Richer features (buttons, cards)
degrade to plain text with numbered choices.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from conversations import OutMessage


@dataclass(frozen=True, slots=True)
class Incoming:
    """One message from an employee, as a channel received it."""

    channel: str  # "slack" | "teams" | "console" | "web"
    user_id: str  # the platform's user id (console: the email; web: the link's interview)
    conversation_id: str  # where replies go (Slack DM channel, Teams conversation, ...)
    text: str
    message_id: str  # unique within the channel; redeliveries carry the same id
    choice: str | None = None  # a button's value, when the employee clicked one
    choice_for: str | None = None  # the question whose button that was, when the channel knows
    choice_on: str | None = None  # the kind of message the button was on, when it knows
    email: str | None = None  # when the channel knows it
    locale: str | None = None
    interview_id: int | None = None  # web links are bound to one interview
    reply_to: str | None = None  # platform id of the message whose buttons were clicked

    @property
    def key(self) -> str:
        return f"{self.channel}:{self.message_id}"


@dataclass(frozen=True, slots=True)
class Opened:
    """A direct conversation the bot can now post into."""

    user_id: str
    conversation_id: str
    language: str | None = None  # from the platform profile (Slack locale, Teams locale)
    timezone: str | None = None


@dataclass(frozen=True, slots=True)
class ReportSection:
    heading: str
    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Report:
    """Channel-neutral rich content: Slack renders Block Kit, Teams an Adaptive Card."""

    title: str
    sections: tuple[ReportSection, ...]
    footer: str = ""
    image_png: bytes | None = None
    image_alt: str = ""

    def as_text(self) -> str:
        parts = [self.title, "=" * len(self.title)]
        for section in self.sections:
            parts += ["", section.heading, *(f"  {line}" for line in section.lines)]
        if self.footer:
            parts += ["", self.footer]
        return "\n".join(parts)


class Unreachable(Exception):
    """The platform cannot reach this person (not found, deactivated, app not installed)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Channel(Protocol):
    """What the service needs from a chat platform."""

    name: str

    async def open_conversation(self, email: str) -> Opened:
        """Find the person by email and open a direct conversation; raise `Unreachable`."""
        ...

    async def send(self, conversation_id: str, messages: Sequence[OutMessage], *, key: str) -> None:
        """Post messages in order; `key` identifies this batch for idempotent delivery."""
        ...

    # Optional: `async already_sent(conversation_id, key) -> bool` lets the service check,
    # after a crash, whether a reply batch reached the platform before sending it again.
    # Optional: `async address_of(conversation_id, user_id) -> str | None`, the address the
    # platform reports now for a user in that conversation, for a platform whose
    # `open_conversation` cannot look everyone up by address (Teams).
    # Optional, for a message that may have to say later that it no longer asks (an HR
    # admin's approval request): `async send_tracked(conversation_id, message, *, key) ->
    # str | None` posts one message as `send` does and returns the platform's id for it
    # (Slack ts, Teams activity id), and `async mark_closed(conversation_id, message_id,
    # text, note)` shows that message as `text` with `note` under it and no buttons.

    async def post_report(self, target: str, report: Report) -> None:
        """Post a report (the HR digest) into a channel, rendered natively."""
        ...
