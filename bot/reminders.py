"""Where a reminder goes when its interview went on where nothing can be sent.

An interview's replies go where it was last answered (`Interview.channel`). Someone invited
in Slack or Teams who carried on on their web link (or in the terminal) and then went quiet
cannot be reminded there: a web page is never messaged. The chat they were invited in still
reaches them, so the reminder goes there, and that chat then shows what is asked now too
(`bot.places`): they answer in the chat, or go back to the page, whichever suits them.

Only the place changes: the same jobs, at the same moments, claimed once, with the same
idempotency key (`bot.invites`). An interview held only on the web (the fallback, no chat
identity) keeps the interview's own place, as before.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

import conversations as conv
from bot import departures, places, texts
from bot.models import Interview, PlatformIdentity
from bot.runtime import Runtime


@dataclass(frozen=True, slots=True)
class Chat:
    """A chat DM that reaches a person: the platform and its conversation id."""

    name: str
    address: str


def needs_a_chat(interview: Interview) -> bool:
    """Whether the interview's own place cannot carry a message (the web page, the terminal)."""
    return interview.channel in departures.NOT_FOR_INVITES


async def chat_of(runtime: Runtime, employee_id: int | None) -> Chat | None:
    """The DM on a configured chat platform where the person was last reached (the invite
    stored it: `PlatformIdentity.conversation_id`); None: they have none."""
    names = departures.chat_channels(runtime)
    if employee_id is None or not names:
        return None
    async with runtime.db.sessions() as session:
        row = (
            await session.execute(
                select(PlatformIdentity.platform, PlatformIdentity.conversation_id)
                .where(
                    PlatformIdentity.employee_id == employee_id,
                    PlatformIdentity.platform.in_(names),
                    PlatformIdentity.conversation_id.is_not(None),
                )
                .order_by(PlatformIdentity.updated_at.desc())
                .limit(1)
            )
        ).first()
    return Chat(row.platform, row.conversation_id) if row is not None else None


async def show_in_chat(
    runtime: Runtime, seen: Interview, chat: Chat, now: datetime
) -> dict[str, object] | None:
    """The chat now shows what is asked too, so what is typed there answers it: in one
    transaction, under the interview's lock, and only while the interview is as the reminder
    found it (`seen`: same status, place and last activity). Its state ({}: none stored,
    nothing to show; None: it changed)."""
    async with runtime.db.transaction() as session:
        interview = await session.get(
            Interview, seen.id, with_for_update=True, populate_existing=True
        )
        if interview is None or (
            interview.status,
            interview.channel,
            interview.last_activity_at,
        ) != (seen.status, seen.channel, seen.last_activity_at):
            return None
        if interview.state_enc is None:
            return {}
        state = runtime.service.state_of(interview)
        shown = places.also_shown(state, interview.channel, chat.name)
        interview.state_enc = runtime.cipher.encrypt(json.dumps(shown))
        interview.updated_at = now
    return state


_IDLE = {
    "en": (
        "Whenever it suits you, we can pick up where we left off{there}, or carry on "
        "here{here} if that's easier: just answer below. If you'd rather stop, type 'stop'."
    ),
    "nl": (
        "Wanneer het je uitkomt, gaan we verder waar we{there} gebleven waren, of je gaat "
        "hier{here} verder als dat makkelijker is: antwoord dan gewoon hieronder. Wil je "
        "liever stoppen? Typ dan 'stop'."
    ),
}


def idle_reminder(
    q: conv.Questionnaire, state: Mapping[str, object], language: str, left: str, chat: Chat
) -> list[conv.OutMessage]:
    """The idle reminder in the chat for an interview `left` on another place: where it went
    on, that it may go on here, and what is asked now (the chat may show an older question)."""
    lang = language if language in _IDLE else "en"
    there, here = texts.place(lang, left), texts.place(lang, chat.name)
    words = _IDLE[lang].format(there=f" {there}" if there else "", here=f" {here}" if here else "")
    return [conv.OutMessage(kind="info", text=words), *conv.resume(q, state, greet=False).messages]
