"""Client-side pacing so a burst of work (a hundred invites at once) stays inside Slack's
rate-limit tiers instead of collecting 429s, without blocking the event loop for anyone else.

Slack's published limits apply per method, per app and workspace: Tier 3 ≈ 50+/min
(users.lookupByEmail, conversations.open, chat.update), Tier 4 ≈ 100+/min (users.info,
files.*), and chat.postMessage's special limit of about one message per second per channel
with short bursts, plus an undocumented workspace-wide ceiling (a generous guard here).
Each limit is a
token bucket (one per method, one per channel for posting);
a caller that finds the bucket empty reserves the next token and sleeps until it is due, so
waiting callers are served in arrival order and callers of other buckets are not delayed.
A 429 that still happens is waited out by slack-sdk's rate-limit retry handler.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rate:
    per_second: float
    burst: int


@dataclass(frozen=True, slots=True)
class Limits:
    tier3: Rate = Rate(50 / 60, 10)
    tier4: Rate = Rate(100 / 60, 20)
    post_per_channel: Rate = Rate(1.0, 4)
    # Slack documents no fixed workspace-wide figure for chat.postMessage; this only keeps a
    # runaway loop from flooding. Conversations must never queue behind each other here.
    post_workspace: Rate = Rate(100.0, 200)

    @classmethod
    def unlimited(cls) -> Limits:
        """For tests against a fake API: effectively no pacing."""
        fast = Rate(1e6, 1_000_000)
        return cls(fast, fast, fast, fast)


TIER3 = frozenset(
    {"users.lookupByEmail", "conversations.open", "chat.update", "conversations.history"}
)
TIER4 = frozenset({"users.info", "files.getUploadURLExternal", "files.completeUploadExternal"})


class TokenBucket:
    """`rate` tokens per second, at most `burst` saved up; `acquire` waits for one."""

    def __init__(
        self,
        rate: Rate,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rate = rate
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(rate.burst)
        self._last = clock()

    def reserve(self) -> float:
        """Take a token now (possibly going into debt); seconds until it is really ours."""
        now = self._clock()
        self._tokens = min(
            float(self.rate.burst), self._tokens + (now - self._last) * self.rate.per_second
        )
        self._last = now
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate.per_second

    @property
    def idle(self) -> bool:
        """Full again: nobody waits and nothing was taken recently."""
        refill = (self._clock() - self._last) * self.rate.per_second
        return self._tokens + refill >= self.rate.burst

    async def acquire(self) -> None:
        wait = self.reserve()
        if wait > 0:
            await self._sleep(wait)


class Pacer:
    """One bucket per rate-limited method, plus chat.postMessage's per-channel buckets."""

    MAX_CHANNEL_BUCKETS = 2000

    def __init__(
        self,
        limits: Limits | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.limits = limits or Limits()
        self._clock = clock
        self._sleep = sleep
        self._methods: dict[str, TokenBucket] = {}
        self._channels: dict[str, TokenBucket] = {}

    def _bucket(self, rate: Rate) -> TokenBucket:
        return TokenBucket(rate, clock=self._clock, sleep=self._sleep)

    def _method(self, method: str, rate: Rate) -> TokenBucket:
        bucket = self._methods.get(method)
        if bucket is None:
            bucket = self._methods[method] = self._bucket(rate)
        return bucket

    async def before(self, method: str, channel: str | None = None) -> None:
        """Wait until calling `method` (in `channel`) stays within Slack's limits."""
        if method in TIER3:
            await self._method(method, self.limits.tier3).acquire()
        elif method in TIER4:
            await self._method(method, self.limits.tier4).acquire()
        elif method == "chat.postMessage":
            waits = [self._method(method, self.limits.post_workspace).reserve()]
            if channel:
                waits.append(self._channel(channel).reserve())
            wait = max(waits)
            if wait > 0:
                await self._sleep(wait)

    def _channel(self, channel: str) -> TokenBucket:
        bucket = self._channels.get(channel)
        if bucket is None:
            if len(self._channels) >= self.MAX_CHANNEL_BUCKETS:
                self._channels = {k: b for k, b in self._channels.items() if not b.idle}
            bucket = self._channels[channel] = self._bucket(self.limits.post_per_channel)
        return bucket
