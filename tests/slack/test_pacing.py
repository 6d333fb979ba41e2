"""Pacing: a batch of a hundred invites stays inside Slack's tiers; nobody else waits for it."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time

import pytest

from adapters.slack import SlackChannel, make_client
from adapters.slack_pacing import Limits, Pacer, Rate
from conversations import OutMessage
from tests.slack.harness import ANNA


class VirtualTime:
    """A clock and sleep for pacing tests: sleepers wake in order, time jumps, no waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + seconds, next(self._seq), future))
        await future

    async def run(self, *coros: object) -> list[object]:
        tasks = [asyncio.ensure_future(c) for c in coros]  # type: ignore[arg-type]
        while not all(t.done() for t in tasks):
            for _ in range(5):
                await asyncio.sleep(0)
            if self._sleepers:
                self.now, _, future = heapq.heappop(self._sleepers)
                future.set_result(None)
        return [t.result() for t in tasks]


def max_in_window(moments: list[float], window: float) -> int:
    moments = sorted(moments)
    return max(sum(1 for m in moments[i:] if m < start + window) for i, start in enumerate(moments))


async def test_a_hundred_invites_stay_within_tier_3():
    vt = VirtualTime()
    pacer = Pacer(Limits(), clock=vt.clock, sleep=vt.sleep)
    granted: list[float] = []

    async def lookup() -> None:
        await pacer.before("users.lookupByEmail")
        granted.append(vt.now)

    await vt.run(*(lookup() for _ in range(100)))
    tier3 = Limits().tier3
    assert len(granted) == 100
    # never more than the burst plus a minute's worth of Tier 3 (50+/min) in any minute
    assert max_in_window(granted, 60.0) <= tier3.burst + 50
    # and no slower than needed: (100 - burst) tokens at 50 per minute
    assert max(granted) == pytest.approx((100 - tier3.burst) / tier3.per_second)


async def test_one_message_per_second_per_channel_with_short_bursts():
    vt = VirtualTime()
    pacer = Pacer(Limits(), clock=vt.clock, sleep=vt.sleep)
    moments: dict[str, list[float]] = {"D1": [], "D2": []}

    async def post(channel: str) -> None:
        await pacer.before("chat.postMessage", channel)
        moments[channel].append(vt.now)

    await vt.run(*(post("D1") for _ in range(10)), post("D2"))
    burst = Limits().post_per_channel.burst
    assert moments["D1"] == [0.0] * burst + [float(n) for n in range(1, 10 - burst + 1)]
    assert moments["D2"] == [0.0]  # another conversation is not held up by D1's queue


async def test_waiting_invites_do_not_block_anyone_else():
    pacer = Pacer(Limits(tier3=Rate(1.0, 1)))
    waiting = [asyncio.ensure_future(pacer.before("users.lookupByEmail")) for _ in range(100)]
    await asyncio.sleep(0)
    started = time.monotonic()
    await pacer.before("chat.postMessage", "D-someone-else")  # an interview reply
    await pacer.before("chat.update")  # a clicked answer (Tier 3 too, but its own limit)
    await pacer.before("users.info")
    assert time.monotonic() - started < 0.05
    assert sum(t.done() for t in waiting) <= 2
    for task in waiting:
        task.cancel()
    await asyncio.gather(*waiting, return_exceptions=True)


class RecordingPacer(Pacer):
    def __init__(self) -> None:
        super().__init__(Limits.unlimited())
        self.seen: list[tuple[str, str | None]] = []

    async def before(self, method: str, channel: str | None = None) -> None:
        self.seen.append((method, channel))
        await super().before(method, channel)


async def test_every_call_the_channel_makes_is_paced(fake):
    pacer = RecordingPacer()
    channel = SlackChannel(make_client("xoxb-test", fake.base_url), pacer=pacer)
    opened = await channel.open_conversation(ANNA)
    await channel.send(opened.conversation_id, [OutMessage("info", "hi")] * 2, key="k")
    assert pacer.seen == [
        ("users.lookupByEmail", None),
        ("conversations.open", None),
        ("users.info", None),
        ("chat.postMessage", opened.conversation_id),
        ("chat.postMessage", opened.conversation_id),
    ]
    assert [c.method for c in fake.calls] == [m for m, _ in pacer.seen]
