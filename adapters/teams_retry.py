"""Retrying calls to the Bot Connector: 429 and transient errors, honouring Retry-After.

botbuilder retries nothing on POST (new messages): a 429 or 5xx surfaces at once as an
`ErrorResponseException`. `adapters.teams` classifies exceptions; this module only waits.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 4  # calls in total, the first included
    base_delay: float = 1.0  # seconds; doubles per attempt when the server names no delay
    max_delay: float = 60.0  # never wait longer than this for one attempt

    def backoff(self, attempt: int) -> float:
        return min(self.base_delay * (2 ** (attempt - 1)), self.max_delay)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date; None if unusable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


Classify = Callable[[BaseException], "Transient | None"]


@dataclass(frozen=True, slots=True)
class Transient:
    """An error worth retrying; `delay` is what the server asked for (None: back off)."""

    reason: str
    delay: float | None = None


async def with_retry(
    operation: Callable[[], Awaitable[T]],
    classify: Classify,
    *,
    policy: RetryPolicy = RetryPolicy(),
    sleep: Sleep = asyncio.sleep,
    what: str = "connector call",
) -> T:
    """Run `operation`, retrying while `classify` calls the error transient."""
    attempt = 1
    while True:
        try:
            return await operation()
        except Exception as exc:
            transient = classify(exc)
            if transient is None or attempt >= policy.attempts:
                raise
            delay = transient.delay if transient.delay is not None else policy.backoff(attempt)
            delay = min(delay, policy.max_delay)
            log.warning(
                "%s failed (%s), attempt %d of %d; retrying in %.1f s",
                what,
                transient.reason,
                attempt,
                policy.attempts,
                delay,
            )
            await sleep(delay)
            attempt += 1
