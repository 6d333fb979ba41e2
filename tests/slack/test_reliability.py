"""Exactly once and crash-safe; signatures; rate limits; people Slack cannot reach."""

from __future__ import annotations

import asyncio
import time
from datetime import date, timedelta
from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_bolt.response import BoltResponse
from sqlalchemy import select

from adapters.slack_inbound import REPLY_BEFORE_ACK
from bot import departures
from bot.db import StorageUnavailable
from bot.models import AnswerRow
from bot.service import REPLY_ORDER_WAIT
from bot.slack_plugin import UNSENT_AFTER
from conversations import OutMessage
from tests.slack.harness import ADMIN_ID, ANNA, ANNA_ID
from tests.slack.test_interview import invite


async def test_a_retried_event_is_acknowledged_and_not_processed_again(slack):
    await invite(slack)
    dm = slack.fake.dm_channel_id(ANNA_ID)
    body = slack.event(ANNA_ID, "start")
    assert await slack.post(body) == (200, "")
    await slack.until(lambda: slack.handled == 1, "first delivery")
    posted = len(slack.messages(dm))
    # Slack retries the same envelope (same event_id) with X-Slack-Retry-Num
    assert await slack.post(body, retry=1) == (200, "")
    assert await slack.post(body, retry=2) == (200, "")
    await asyncio.sleep(0.05)
    assert len(slack.messages(dm)) == posted
    assert slack.handled == 1
    assert len(await slack.inbox()) == 1


async def test_a_retry_racing_the_first_delivery_is_processed_once(make_slack, database_url):
    slack = await make_slack(database_url=database_url)
    await invite(slack)
    body = slack.event(ANNA_ID, "start")
    statuses = await asyncio.gather(*(slack.post(body, retry=n or None) for n in range(3)))
    assert statuses == [(200, "")] * 3
    await slack.until(lambda: slack.handled == 1, "one delivery handled")
    await asyncio.sleep(0.05)
    assert slack.handled == 1
    assert [m.status for m in await slack.inbox()] == ["done"]


async def test_a_crash_after_the_ack_loses_nothing(make_slack, database_url, monkeypatch):
    slack = await make_slack(database_url=database_url)
    await invite(slack)
    await slack.dm(ANNA_ID, "start")
    dm = slack.fake.dm_channel_id(ANNA_ID)
    posted = len(slack.messages(dm))

    async def crash(*args: object) -> None:
        raise RuntimeError("the process died here")

    with monkeypatch.context() as patch:  # acknowledged, then dead before the reply went out
        patch.setattr(slack.runtime.service, "deliver", crash)
        assert await slack.dm(ANNA_ID, "my manager") == 200  # Slack got its 200: no retry
    assert len(slack.messages(dm)) == posted  # nothing was answered...
    waiting = [m for m in await slack.inbox() if m.status == "replying"]
    assert len(waiting) == 1 and waiting[0].reply_enc  # ...but answer and reply are stored
    assert waiting[0].payload_enc is None  # the text lives (encrypted) in the answer only
    async with slack.runtime.db.sessions() as session:
        answer = await session.scalar(
            select(AnswerRow).where(AnswerRow.question_id == "main_reason")
        )
    assert answer is not None and answer.value == "manager"

    report = await slack.tick()
    assert report["inbox messages redone"] == 0  # not yet: it might still be on its way
    slack.clock.advance(timedelta(minutes=2))
    history_checks = len(slack.fake.calls_to("conversations.history"))
    report = await slack.tick()
    assert report["inbox messages redone"] == 1
    assert len(slack.fake.calls_to("conversations.history")) == history_checks + 1
    assert {m.status for m in await slack.inbox()} == {"done"}
    assert len(slack.messages(dm)) == posted + 1  # the reply went out after all
    assert "main reason" not in slack.messages(dm)[-1]["text"]  # the next question, once
    report = await slack.tick(slack.clock.now() + timedelta(minutes=5))
    assert report["inbox messages redone"] == 0
    assert len(slack.messages(dm)) == posted + 1


async def test_storage_down_before_the_ack_makes_slack_retry(slack, monkeypatch):
    await invite(slack)
    body = slack.event(ANNA_ID, "start")

    async def down(incoming: object) -> object:
        raise StorageUnavailable("database unreachable")

    with monkeypatch.context() as patch:
        patch.setattr(slack.runtime.service.writer, "record", down)
        status, _ = await slack.post(body)
    assert status == 500  # not acknowledged: Slack delivers it again
    assert await slack.inbox() == []
    assert await slack.post(body, retry=1) == (200, "")
    await slack.until(lambda: slack.handled == 1, "the retry handled")
    assert "main reason" in slack.messages(slack.fake.dm_channel_id(ANNA_ID))[-1]["text"]


async def test_a_message_that_cannot_be_processed_is_kept_not_lost(slack, monkeypatch):
    await invite(slack)

    async def broken(incoming: object) -> object:
        raise RuntimeError("a bug in the turn")

    with monkeypatch.context() as patch:
        patch.setattr(slack.runtime.service.writer, "record", broken)
        assert await slack.dm(ANNA_ID, "start") == 200  # no point in Slack's retries...
    kept = await slack.inbox()
    assert [m.status for m in kept] == ["pending"] and kept[0].payload_enc  # ...it is kept
    slack.clock.advance(timedelta(minutes=2))
    report = await slack.tick()  # the bug fixed (patch gone): the tick finishes it
    assert report["inbox messages redone"] == 1
    assert "main reason" in slack.messages(slack.fake.dm_channel_id(ANNA_ID))[-1]["text"]


async def test_a_click_kept_for_later_keeps_where_its_button_was(slack, monkeypatch):
    """A click that fails is kept for the tick like a DM. What the tick will make of it is not
    known yet, so the message only loses its buttons (no "✔"); and the tick still knows the
    button was the old invite's, so "Later" is not taken as the answer asked now."""
    await invite(slack)
    dm = slack.fake.dm_channel_id(ANNA_ID)
    intro = slack.messages(dm)[0]
    for typed in ("start", "Pay and benefits"):
        await slack.dm(ANNA_ID, typed)
    assert "value most" in slack.messages(dm)[-1]["text"]  # a free-text question

    async def broken(incoming: object) -> object:
        raise RuntimeError("a bug in the turn")

    with monkeypatch.context() as patch:
        patch.setattr(slack.runtime.service.writer, "record", broken)
        await slack.answer_by_click(ANNA_ID, intro, "later")
    shown = slack.fake.calls_to("chat.update")[-1].args["blocks"]
    assert [b["type"] for b in shown] == ["section"]  # no buttons, and no "✔ Later"
    assert [m.status for m in await slack.inbox() if m.status == "pending"] == ["pending"]
    slack.clock.advance(timedelta(minutes=2))
    assert (await slack.tick())["inbox messages redone"] == 1
    assert "value most" in slack.messages(dm)[-1]["text"]  # asked again
    async with slack.runtime.db.sessions() as session:
        answered = set(await session.scalars(select(AnswerRow.question_id)))
    assert answered == {"main_reason"}


async def test_bad_signature_and_stale_timestamp_are_refused(slack):
    body = slack.event(ANNA_ID, "hello")
    assert (await slack.post(body, secret="not-the-secret"))[0] == 401
    stale = int(time.time()) - 6 * 60
    assert (await slack.post(body, timestamp=stale))[0] == 401
    tampered = body.replace("hello", "hellO")
    assert (await slack.post(tampered, sign_as=body))[0] == 401
    assert await slack.inbox() == []
    assert slack.fake.calls == []


async def test_a_rate_limited_post_waits_for_retry_after(slack):
    channel = slack.slack.channel
    slack.fake.fail_next("chat.postMessage", status=429, retry_after=1)
    started = time.monotonic()
    await channel.send("D1001", [OutMessage("info", "hello")], key="k")
    elapsed = time.monotonic() - started
    calls = slack.fake.calls_to("chat.postMessage")
    assert [c.status for c in calls] == [429, 200]
    assert elapsed >= 1.0


async def test_server_errors_are_retried(slack):
    slack.fake.fail_next("chat.postMessage", status=503)
    await slack.slack.channel.send("D1001", [OutMessage("info", "hello")], key="k")
    assert [c.status for c in slack.fake.calls_to("chat.postMessage")] == [503, 200]


async def test_a_disabled_user_is_unreachable_and_admins_are_told(slack):
    slack.fake.add_user("U4004", "gone@example.com", "Gone Person", deleted=True)
    outcome = await departures.invite_by_hand(
        slack.runtime, "gone@example.com", date(2026, 12, 18), kind="resignation"
    )
    report = await slack.tick(outcome.invite_at)
    assert report["unreachable"] == 1 and report["invites sent"] == 0
    interview = await slack.interview()
    assert interview.status == "unreachable"
    assert interview.note == "slack: deactivated"
    # no DM to the leaver; the admin got one explaining it
    assert slack.fake.dm_channel_id("U4004") not in slack.fake.messages
    told = [m["text"] for m in slack.messages(slack.fake.dm_channel_id(ADMIN_ID))]
    assert any("could not deliver" in t and "deactivated" in t for t in told)
    # no retry loop: a later tick does not try again
    calls = len(slack.fake.calls)
    await slack.tick(outcome.invite_at + timedelta(hours=1))
    assert not [c for c in slack.fake.calls[calls:] if c.method == "users.lookupByEmail"]


async def test_slack_saying_user_disabled_on_open_is_unreachable(slack):
    slack.fake.fail_next("conversations.open", error="user_disabled")
    outcome = await departures.invite_by_hand(
        slack.runtime, ANNA, date(2026, 12, 18), kind="resignation"
    )
    await slack.tick(outcome.invite_at)
    interview = await slack.interview()
    assert (interview.status, interview.note) == ("unreachable", "slack: user_disabled")


class FailingAck(AsyncAck):
    """Bolt's ack, failing when called (as if the request broke between record and ack)."""

    async def __call__(self, *args: Any, **kwargs: Any) -> BoltResponse:
        raise RuntimeError("ack failed")


async def test_a_click_whose_ack_fails_does_not_hold_up_the_next_reply(slack):
    """A click is recorded (its turn takes the next place in the DM's reply order), then
    `ack()` raises: its reply is left to the tick. The next message's reply used to wait the
    whole REPLY_ORDER_WAIT (10 s) for it; now it goes at once."""
    await invite(slack)
    await slack.dm(ANNA_ID, "start")
    dm = slack.fake.dm_channel_id(ANNA_ID)
    question = slack.messages(dm)[-1]
    assert "main reason" in question["text"]

    async def break_the_ack(body: dict[str, Any], context: Any, next: Any) -> None:
        if body.get("type") == "block_actions":
            context["ack"] = FailingAck()
        await next()

    slack.slack.bolt.middleware(break_the_ack)
    assert await slack.click(ANNA_ID, question, "manager") == 500
    assert [m.status for m in await slack.inbox()][-1] == "replying"  # stored, not sent
    began = time.monotonic()
    await slack.dm(ANNA_ID, "help")
    assert time.monotonic() - began < UNSENT_AFTER - 1.0  # neither the timer nor the order's wait
    assert slack.messages(dm)[-2]["text"].startswith("You can answer by typing")


async def test_a_dm_whose_listener_never_runs_does_not_hold_up_the_next_reply(slack):
    """A DM is recorded before the ack, then Bolt fails before the listener that sends its
    reply runs (a later middleware raises: Slack gets a 500, and its retry is a duplicate):
    the reply is left to the tick, and the next message's reply waits for it a few seconds
    (`UNSENT_AFTER`) instead of REPLY_ORDER_WAIT."""
    await invite(slack)
    await slack.dm(ANNA_ID, "start")
    dm = slack.fake.dm_channel_id(ANNA_ID)
    failing = {"on": True}

    async def break_after_the_inbox(next: Any) -> None:
        if failing["on"]:
            raise RuntimeError("a later middleware failed")
        await next()

    slack.slack.bolt.middleware(break_after_the_inbox)
    status, _ = await slack.post(slack.event(ANNA_ID, "my manager"))
    assert status == 500
    failing["on"] = False
    target = slack.handled + 1
    began = time.monotonic()
    assert await slack.dm(ANNA_ID, "help", wait=False) == 200
    await slack.until(lambda: slack.handled >= target, "help answered", REPLY_ORDER_WAIT + 5)
    # Let go by UNSENT_AFTER (4 s, counted from "my manager"), not by REPLY_ORDER_WAIT (10 s):
    # the bound leaves a busy machine 4 s of slack either way.
    assert UNSENT_AFTER + 4.0 <= REPLY_ORDER_WAIT - 2.0
    assert time.monotonic() - began < REPLY_ORDER_WAIT - 2.0
    assert slack.messages(dm)[-2]["text"].startswith("You can answer by typing")


def slow_posts(slack: Any, seconds: float) -> list[float]:
    """chat.postMessage answers after `seconds`; returns when each post was stored."""
    stored: list[float] = []
    post = type(slack.fake)._HANDLERS["chat.postMessage"]

    async def slow(args: dict[str, Any]) -> dict[str, Any]:
        await asyncio.sleep(seconds)
        stored.append(time.monotonic())
        return post(slack.fake, args)

    slack.fake.set_handler("chat.postMessage", slow)
    return stored


async def test_a_dm_is_answered_before_slack_gets_its_ack(slack):
    """The person waits for the reply, Slack only for the ack: the reply goes out as soon as
    the turn is stored, and the 200 after it (here the Slack API takes 0.3 s a post)."""
    await invite(slack)
    await slack.dm(ANNA_ID, "start")
    dm = slack.fake.dm_channel_id(ANNA_ID)
    before = len(slack.messages(dm))
    stored = slow_posts(slack, 0.3)
    target = slack.handled + 1
    began = time.monotonic()
    assert await slack.dm(ANNA_ID, "my manager", wait=False) == 200
    acked = time.monotonic()
    assert len(slack.messages(dm)) == before + 1  # the reply was there before the 200
    assert stored and began < stored[0] <= acked
    await slack.until(lambda: slack.handled >= target, "the listener finished")
    await slack.runtime.service.flush()
    assert {m.status for m in await slack.inbox()} == {"done"}  # marked sent, once
    assert len(slack.messages(dm)) == before + 1


async def test_a_slow_slack_api_does_not_hold_the_ack(slack):
    """A reply that takes longer than REPLY_BEFORE_ACK (a rate limit's back-off) lets the ack
    go first; the listener waits for the reply, which arrives once and is marked sent."""
    await invite(slack)
    await slack.dm(ANNA_ID, "start")
    dm = slack.fake.dm_channel_id(ANNA_ID)
    before = len(slack.messages(dm))
    stored = slow_posts(slack, REPLY_BEFORE_ACK + 1.0)
    target = slack.handled + 1
    began = time.monotonic()
    assert await slack.dm(ANNA_ID, "my manager", wait=False) == 200
    acked = time.monotonic() - began
    assert REPLY_BEFORE_ACK - 0.05 <= acked < REPLY_BEFORE_ACK + 0.9  # not the post's 2 s
    assert len(slack.messages(dm)) == before and not stored  # still on its way
    await slack.until(lambda: slack.handled >= target, "the reply sent after the ack", 10)
    assert len(slack.messages(dm)) == before + 1 and len(stored) == 1
    await slack.runtime.service.flush()
    assert {m.status for m in await slack.inbox()} == {"done"}
