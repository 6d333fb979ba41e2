"""Private web-chat links: an unguessable token bound to one interview.

The token (`secrets.token_urlsafe(32)`, 256 bits) is shown once, in the URL; only its SHA-256
is stored. It carries no personal data and stops working when the interview closes or expires.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Interview, WebLink
from bot.turns import finished_but_kept, restartable_where

# An interview a link may open: not yet invited (fallback), or open.
LINKABLE_STATUSES = ("scheduled", "unreachable", "invited", "in_progress", "paused")
DEFAULT_LIFETIME = timedelta(days=30)
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32,64}")

LinkState = Literal["ok", "unknown", "expired"]


@dataclass(frozen=True, slots=True)
class LinkCheck:
    """What a presented token is worth: `ok` with its interview, `unknown` or `expired`."""

    state: LinkState
    interview_id: int | None = None
    language: str | None = None


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def is_plausible(token: str) -> bool:
    """Cheap shape check before any database work (and before hashing attacker input)."""
    return bool(_TOKEN.fullmatch(token))


def url_for(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/i/{token}"


def expiry_for(interview: Interview, now: datetime) -> datetime:
    return interview.expires_at or now + DEFAULT_LIFETIME


async def issue(session: AsyncSession, interview: Interview, now: datetime) -> str:
    """Create a link to `interview`; returns the token (never stored in the clear)."""
    token = new_token()
    session.add(
        WebLink(
            token_hash=hash_token(token),
            interview_id=interview.id,
            expires_at=expiry_for(interview, now),
            created_at=now,
        )
    )
    await session.flush()
    return token


async def check(session: AsyncSession, token: str, now: datetime) -> LinkCheck:
    """Resolve a presented token. Closed or expired interviews make their links `expired`."""
    if not is_plausible(token):
        return LinkCheck("unknown")
    link = await session.get(WebLink, hash_token(token))
    if link is None:
        return LinkCheck("unknown")
    interview = await session.get(Interview, link.interview_id)
    if interview is None:
        return LinkCheck("unknown")
    # Finished, answers kept: the link keeps working for its own term, so that "delete my
    # answers", which the closing messages offer, can be typed there as in a chat DM
    if finished_but_kept(interview):
        if link.expires_at <= now:
            return LinkCheck("expired", interview.id, interview.language)
        return LinkCheck("ok", interview.id, interview.language)
    # Declined, and the employee may still start it after all: the link says so (`bot.web_plugin`)
    if interview.status == "declined" and await restartable(session, interview.id, now):
        return LinkCheck("ok", interview.id, interview.language)
    # The interview's own expiry wins: it may have been extended or shortened since.
    expires_at = interview.expires_at or link.expires_at
    if interview.status not in LINKABLE_STATUSES or expires_at <= now:
        return LinkCheck("expired", interview.id, interview.language)
    return LinkCheck("ok", interview.id, interview.language)


async def restartable(session: AsyncSession, interview_id: int, now: datetime) -> bool:
    """Whether this declined interview may still be started (`bot.turns.restartable_where`)."""
    found = await session.scalar(
        select(Interview.id).where(Interview.id == interview_id, restartable_where(now))
    )
    return found is not None


async def mark_emailed(session: AsyncSession, token: str, now: datetime) -> None:
    link = await session.get(WebLink, hash_token(token))
    if link is not None:
        link.emailed_at = now
