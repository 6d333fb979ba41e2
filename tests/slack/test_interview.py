"""Whole interviews in one Slack DM: invite, questions, summary, confirmation."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from typing import Any

from sqlalchemy import delete, func, select

from bot import departures
from bot.models import AnswerRow, PlatformIdentity
from tests.fakes import FakeSlackAPI
from tests.slack.harness import ANNA, ANNA_ID, SlackHarness, buttons

DETAILED = "I really enjoyed the projects with customers and the freedom to organise my own days"
DETAILED_NL = (
    "Ik vond de projecten met klanten heel leuk en de vrijheid om mijn eigen dagen in te delen"
)


async def invite(slack: SlackHarness, email: str = ANNA) -> None:
    """An HR admin starts the interview; the tick at the invite moment sends the DM."""
    outcome = await departures.invite_by_hand(
        slack.runtime, email, date(2026, 12, 18), kind="resignation"
    )
    assert outcome.status == "scheduled" and outcome.invite_at is not None
    report = await slack.tick(outcome.invite_at)
    assert report["invites sent"] == 1


async def answers_stored(slack: SlackHarness) -> int:
    async with slack.runtime.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(AnswerRow)) or 0)


TYPED_ANSWERS = [
    "start",
    "my manager",
    "He was never available for our one-on-ones and I felt on my own",
    DETAILED,
    DETAILED,
    "1",
    "We disagreed about priorities all the time and it was hard to talk",
    "10",
    "yes",
    DETAILED,
    "no",
]


async def complete_by_typing(slack: SlackHarness, user: str) -> None:
    """Answer every question by typing; check the summary; confirm it by typing."""
    for typed in TYPED_ANSWERS:
        assert await slack.dm(user, typed) == 200
    summary = slack.messages(slack.fake.dm_channel_id(user))[-1]
    assert "Is this right?" in summary["text"]
    assert "Main reason: My manager" in summary["text"]
    await slack.dm(user, "yes")


async def test_whole_interview_typed(make_slack, database_url):
    slack = await make_slack(database_url=database_url)
    dm = slack.fake.dm_channel_id(ANNA_ID)
    await invite(slack)
    [lookup] = slack.fake.calls_to("users.lookupByEmail")
    assert lookup.args["email"] == ANNA and lookup.http_verb == "GET"
    assert slack.fake.calls_to("conversations.open")[0].args["users"] == ANNA_ID
    [intro] = slack.messages(dm)
    assert "voluntary" in intro["text"]
    assert intro["text"].endswith("1. Start\n2. Later\n3. No thanks")  # the text fallback
    assert [b["value"] for _, b in buttons(intro)] == ["start", "later", "decline"]

    await complete_by_typing(slack, ANNA_ID)

    interview = await slack.interview()
    assert interview.status == "completed"
    assert interview.channel == "slack" and interview.address == dm
    assert await answers_stored(slack) >= 8
    assert "thank" in slack.messages(dm)[-1]["text"].lower()
    # every message went to the one DM, each with a text fallback beside its blocks
    posts = slack.fake.calls_to("chat.postMessage")
    assert {c.args["channel"] for c in posts} == {dm}
    assert all(c.args["text"] and c.args["blocks"] for c in posts)
    # every typed DM was recorded once in the inbox and finished
    assert {m.status for m in await slack.inbox()} == {"done"}
    assert all(m.payload_enc is None for m in await slack.inbox())


async def click_through(slack: SlackHarness, user: str, channel: str) -> list[str]:
    """Answer by clicking whenever there are buttons (first one, or confirm), else type."""
    clicked: list[str] = []
    for _ in range(40):
        last = slack.messages(channel)[-1]
        values = [b["value"] for _, b in buttons(last)]
        if (await slack.interview()).status == "completed":
            return clicked
        if not values:
            await slack.dm(user, DETAILED_NL)
            continue
        value = "confirm" if "confirm" in values else values[-1] if "10" in values else values[0]
        await slack.answer_by_click(user, last, value)
        clicked.append(value)
    raise AssertionError("the interview did not end")


async def test_whole_interview_with_buttons(slack):
    """A Dutch Slack profile gets the Dutch interview; clicks answer and update the message."""
    user, email = "U2002", "piet@example.com"
    slack.fake.add_user(user, email, "Piet Jansen", locale="nl-NL")
    dm = slack.fake.dm_channel_id(user)
    await invite(slack, email)
    assert "vrijwillig" in slack.messages(dm)[0]["text"]

    clicked = await click_through(slack, user, dm)
    assert clicked[0] == "start" and clicked[-1] == "confirm" and len(clicked) >= 5
    assert (await slack.interview()).status == "completed"

    updates = slack.fake.calls_to("chat.update")
    assert len(updates) == len(clicked)
    first = updates[0].args
    assert first["channel"] == dm
    assert [b["type"] for b in first["blocks"]] == ["section", "context"]  # buttons gone
    assert first["blocks"][-1]["elements"][0]["text"] == "✔ Starten"
    # the question text stays; in Slack's copy the buttons are gone for good
    answered = slack.fake.messages[dm][first["ts"]]
    assert "vrijwillig" in answered["blocks"][0]["text"]["text"]
    assert not buttons(answered)


async def test_a_double_click_counts_once(slack):
    await invite(slack)
    dm = slack.fake.dm_channel_id(ANNA_ID)
    intro = slack.messages(dm)[0]
    await slack.click(ANNA_ID, intro, "start")
    await slack.until(lambda: slack.handled == 1, "first click")
    posted = len(slack.messages(dm))
    await slack.click(ANNA_ID, intro, "start")  # the same button again
    await slack.click(ANNA_ID, intro, "later")  # another button on the same message
    await slack.until(lambda: len(slack.fake.calls_to("chat.update")) >= 1, "update")
    assert len(slack.messages(dm)) == posted
    assert slack.handled == 1
    keys = [m.key for m in await slack.inbox()]
    assert keys == [f"slack:action:{dm}:{intro['ts']}"]


async def test_someone_without_an_interview_gets_a_friendly_explanation(slack):
    slack.fake.add_user("U3003", "kees@example.com", "Kees", locale="nl-NL")
    await slack.dm("U3003", "hallo?")
    [reply] = slack.messages(slack.fake.dm_channel_id("U3003"))
    assert "geen gesprek voor je klaar" in reply["text"]
    # remembered (locale) but not linked to anyone: no employee was created for them
    async with slack.runtime.db.sessions() as session:
        identity = await session.get(PlatformIdentity, ("slack", "U3003"))
    assert identity is not None and identity.employee_id is None and identity.locale == "nl-NL"


async def test_a_not_yet_linked_user_is_found_by_email(make_slack):
    inviter = await make_slack()
    await invite(inviter)
    async with inviter.runtime.db.transaction() as session:
        await session.execute(delete(PlatformIdentity))  # as if invited through another way
    # Another replica on the same database (same key), which never linked Anna:
    slack = await make_slack(encryption_key=inviter.runtime.settings.encryption_key)
    await slack.dm(ANNA_ID, "start")
    dm = slack.fake.dm_channel_id(ANNA_ID)
    assert "main reason" in slack.messages(dm)[-1]["text"]
    assert slack.fake.calls_to("users.info")[-1].args["user"] == ANNA_ID
    async with slack.runtime.db.sessions() as session:
        identity = await session.get(PlatformIdentity, ("slack", ANNA_ID))
    assert identity is not None and identity.employee_id is not None


async def test_a_thumbs_up_is_not_the_number_one(slack):
    """A typed 👍 arrives as ":+1:"; it used to answer option 1 and scale point 1."""
    await invite(slack)
    dm = slack.fake.dm_channel_id(ANNA_ID)
    await slack.dm(ANNA_ID, "start")
    await slack.dm(ANNA_ID, ":+1::skin-tone-2:")  # main reason (choice): asked again
    assert await answers_stored(slack) == 0
    assert "main reason" in slack.messages(dm)[-1]["text"]
    for typed in ["Career growth", DETAILED, DETAILED]:
        await slack.dm(ANNA_ID, typed)
    assert "relationship with your manager" in slack.messages(dm)[-1]["text"]
    await slack.dm(ANNA_ID, ":+1:")  # 1-5 scale: asked again, not 1 ("Very poor")
    async with slack.runtime.db.sessions() as session:
        scale = await session.scalar(
            select(AnswerRow.value).where(AnswerRow.question_id == "manager_relationship")
        )
    assert scale is None
    assert "relationship with your manager" in slack.messages(dm)[-1]["text"]


async def test_a_message_with_a_file_or_broadcast_from_a_thread_is_answered(slack):
    """Slack marks these with a subtype; the typed text is the answer (the file is not kept)."""
    await invite(slack)
    dm = slack.fake.dm_channel_id(ANNA_ID)
    await slack.dm(ANNA_ID, "start")
    shared = slack.event(
        ANNA_ID, "Pay", subtype="file_share", files=[{"id": "F1", "name": "payslip.png"}]
    )
    target = slack.handled + 1
    assert (await slack.post(shared))[0] == 200
    await slack.until(lambda: slack.handled >= target, "file share handled")
    assert "value most" in slack.messages(dm)[-1]["text"]
    broadcast = slack.event(ANNA_ID, DETAILED, subtype="thread_broadcast", thread_ts="1.0")
    target = slack.handled + 1
    assert (await slack.post(broadcast))[0] == 200
    await slack.until(lambda: slack.handled >= target, "broadcast handled")
    async with slack.runtime.db.sessions() as session:
        rows = (await session.execute(select(AnswerRow.question_id, AnswerRow.value))).all()
    assert [(q, v) for q, v in rows] == [("main_reason", "pay_benefits"), ("valued_most", None)]


async def test_edits_bot_messages_and_channel_messages_are_ignored(slack):
    await invite(slack)
    dm = slack.fake.dm_channel_id(ANNA_ID)
    before = len(slack.messages(dm))
    bodies = [
        slack.event(ANNA_ID, "edited", subtype="message_changed"),
        slack.event(ANNA_ID, "joined", subtype="channel_join"),
        slack.event(ANNA_ID, "file", subtype="file_share", bot_id="B123"),
        slack.event(ANNA_ID, "gone", subtype="message_deleted"),
        slack.event("U9999", "beep", bot_id="B123"),
        slack.event(ANNA_ID, "in a channel", channel="C0GENERAL", channel_type="channel"),
        slack.event("UBOT", "my own message"),
    ]
    for body in bodies:
        status, text = await slack.post(body)
        assert (status, text) == (200, "")
    await slack.dm(ANNA_ID, "start")  # a real one still works afterwards
    assert len(slack.messages(dm)) > before
    [accepted] = await slack.inbox()  # only the real DM was recorded
    assert accepted.key not in {f"slack:{json.loads(b)['event_id']}" for b in bodies}


async def test_after_expiry_the_answers_can_still_be_deleted(make_slack, database_url):
    """The invite promises "delete my answers" at any time. An interview that expired half
    way (the last day passed) keeps its answers until retention; the DM answered "no
    interview open" and deleted nothing. Now it answers as a finished interview: the delete
    confirmation, and nothing else (the interview does not go on)."""
    from datetime import timedelta

    from bot.models import Interview

    slack = await make_slack(database_url=database_url, fallback_after_last_day=False)
    outcome = await departures.invite_by_hand(
        slack.runtime, ANNA, date(2026, 12, 18), kind="resignation"
    )
    assert outcome.invite_at is not None
    await slack.tick(outcome.invite_at)
    dm = slack.fake.dm_channel_id(ANNA_ID)
    for typed in ("start", "my manager", DETAILED):
        await slack.dm(ANNA_ID, typed)
    assert await answers_stored(slack) == 2
    report = await slack.tick(outcome.invite_at + timedelta(days=10))  # after the last day
    assert report["interviews expired"] == 1
    assert 'type "delete my answers"' in slack.messages(dm)[-1]["text"]  # it says so

    await slack.dm(ANNA_ID, DETAILED)  # an answer to the question it was at: not taken
    assert "This conversation has ended" in slack.messages(dm)[-1]["text"]
    assert await answers_stored(slack) == 2
    async with slack.runtime.db.sessions() as session:
        assert await session.scalar(select(Interview.status)) == "expired"

    await slack.dm(ANNA_ID, "delete my answers")
    assert "delete all your answers" in slack.messages(dm)[-1]["text"]
    await slack.dm(ANNA_ID, "yes")
    assert "deleted all your answers" in slack.messages(dm)[-1]["text"]
    assert await answers_stored(slack) == 0
    async with slack.runtime.db.sessions() as session:
        assert await session.scalar(select(Interview.status)) == "deleted"


async def test_an_expired_interview_never_started_stays_closed(make_slack):
    """Never started, no answers: after expiry "start" does not begin it."""
    from datetime import timedelta

    from bot.models import Interview

    slack = await make_slack(fallback_after_last_day=False)
    outcome = await departures.invite_by_hand(
        slack.runtime, ANNA, date(2026, 12, 18), kind="resignation"
    )
    assert outcome.invite_at is not None
    await slack.tick(outcome.invite_at)
    report = await slack.tick(outcome.invite_at + timedelta(days=10))
    assert report["interviews expired"] == 1
    await slack.dm(ANNA_ID, "start")
    assert "no interview open" in slack.messages(slack.fake.dm_channel_id(ANNA_ID))[-1]["text"]
    async with slack.runtime.db.sessions() as session:
        assert list(await session.scalars(select(Interview.status))) == ["expired"]


async def test_replies_to_two_quick_messages_arrive_in_the_order_typed(make_slack, database_url):
    """Typing "start" and then "help" a moment later: two turns, stored in order; the second reply
    waits for the first to be posted instead of being posted between its messages, even when
    Slack is slow to answer each post."""
    slack = await make_slack(database_url)
    await invite(slack)
    channel = slack.fake.dm_channel_id(ANNA_ID)
    before = len(slack.messages(channel))
    post = FakeSlackAPI._HANDLERS["chat.postMessage"]
    posting, help_stored = asyncio.Event(), asyncio.Event()

    async def slow_post(args: dict[str, Any]) -> dict[str, Any]:
        posting.set()
        # Slack holds the first reply's posts until "help" is stored and acknowledged, so its
        # reply is free to go while "start"'s is still being posted, on any machine's speed.
        await asyncio.wait_for(help_stored.wait(), 5)
        await asyncio.sleep(0.05)
        return post(slack.fake, args)

    slack.fake.set_handler("chat.postMessage", slow_post)
    target = slack.handled + 2
    first = asyncio.create_task(slack.post(slack.event(ANNA_ID, "start")))
    await asyncio.wait_for(posting.wait(), 5)  # "start" is stored; its reply is on its way
    status, _ = await slack.post(slack.event(ANNA_ID, "help"))
    help_stored.set()
    assert status == 200 and (await first)[0] == 200
    await slack.until(lambda: slack.handled >= target, "both DMs handled")

    texts = [m["text"] for m in slack.messages(channel)[before:]]
    assert len(texts) == 4, texts
    intro, question, help_text, asked_again = texts
    assert intro.startswith("Great, thank you!"), texts
    assert question.startswith("What is the main reason you're leaving?"), texts
    assert help_text.startswith("You can answer by typing or with the buttons."), texts
    assert asked_again == question, texts


async def test_a_long_answer_is_kept_cut_and_the_employee_is_told(slack):
    """Slack delivers messages far longer than the bot keeps of an answer (4,000
    characters): the reply to it says so, and the answer is stored cut."""
    await invite(slack)
    dm = slack.fake.dm_channel_id(ANNA_ID)
    await slack.dm(ANNA_ID, "start")
    await slack.dm(ANNA_ID, "Pay")
    assert "value most" in slack.messages(dm)[-1]["text"]
    before = len(slack.messages(dm))
    long = "The team was great but the planning was chaotic and nobody owned it. " * 80
    assert await slack.dm(ANNA_ID, long) == 200
    replies = " ".join(m["text"] for m in slack.messages(dm)[before:])
    assert "so I've saved the first 4000 characters of yours" in replies
    assert "could have been better" in replies  # the same reply goes on to the next question
    async with slack.runtime.db.sessions() as session:
        token = await session.scalar(
            select(AnswerRow.text_enc).where(AnswerRow.question_id == "valued_most")
        )
    assert token is not None
    assert slack.runtime.cipher.decrypt(token) == long[:4000]
