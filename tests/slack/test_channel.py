"""`SlackChannel` against the fake Web API: opening DMs, reachability, reports."""

from __future__ import annotations

import logging

import pytest
from slack_sdk.errors import SlackApiError

from adapters.base import Opened, Report, ReportSection, Unreachable
from adapters.slack import SlackChannel, make_client
from adapters.slack_pacing import Limits, Pacer
from conversations import OutMessage
from tests.slack.harness import ANNA, ANNA_ID, HR_CHANNEL

PNG = b"\x89PNG\r\n\x1a\n" + b"chart" * 10


@pytest.fixture
def channel(fake) -> SlackChannel:
    return SlackChannel(make_client("xoxb-test", fake.base_url), pacer=Pacer(Limits.unlimited()))


async def test_open_conversation_by_email(channel, fake):
    fake.add_user("U5005", "sam@example.com", "Sam", tz="America/New_York", locale="nl-BE")
    opened = await channel.open_conversation("sam@example.com")
    assert opened == Opened("U5005", "D5005", language="nl", timezone="America/New_York")
    info = fake.calls_to("users.info")[0]
    assert info.args == {"user": "U5005", "include_locale": "1"}


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        (lambda fake: None, "users_not_found"),
        (lambda fake: fake.add_user("U6", "x@example.com", "X", deleted=True), "deactivated"),
        (lambda fake: fake.add_user("U6", "x@example.com", "Bot", is_bot=True), "not_a_person"),
        (
            lambda fake: fake.fail_next("users.lookupByEmail", error="user_disabled"),
            "user_disabled",
        ),
    ],
)
async def test_people_slack_cannot_reach(channel, fake, setup, reason):
    setup(fake)
    with pytest.raises(Unreachable) as caught:
        await channel.open_conversation("x@example.com")
    assert caught.value.reason == reason
    assert fake.calls_to("chat.postMessage") == []


async def test_account_inactive_is_the_user_only_when_our_token_still_works(channel, fake):
    fake.fail_next("conversations.open", error="account_inactive")
    with pytest.raises(Unreachable):
        await channel.open_conversation(ANNA)
    # the same error with a dead bot token: not the employee's fault, so no Unreachable
    fake.fail_next("conversations.open", error="account_inactive")
    fake.fail_next("auth.test", error="account_inactive")
    with pytest.raises(SlackApiError):
        await channel.open_conversation(ANNA)


async def test_a_rate_limited_lookup_is_retried_not_given_up(channel, fake):
    fake.fail_next("users.lookupByEmail", status=429, retry_after=0)
    opened = await channel.open_conversation(ANNA)
    assert opened.user_id == ANNA_ID
    assert [c.status for c in fake.calls_to("users.lookupByEmail")] == [429, 200]


async def test_posting_into_an_archived_dm_is_unreachable(channel, fake):
    fake.fail_next("chat.postMessage", error="is_archived")
    with pytest.raises(Unreachable):
        await channel.send("D1001", [OutMessage("info", "hi")], key="k")


async def test_report_with_chart_goes_to_the_hr_channel(channel, fake):
    fake.add_channel(HR_CHANNEL, "hr")
    report = Report(
        "Exit digest",
        (ReportSection("Reasons", ("Pay: 5",)),),
        footer="k = 5",
        image_png=PNG,
        image_alt="Bar chart of leaving reasons",
    )
    await channel.post_report(f"slack:{HR_CHANNEL}", report)
    [post] = fake.calls_to("chat.postMessage")
    assert post.args["channel"] == HR_CHANNEL
    assert post.args["blocks"][0]["type"] == "header" and "Pay: 5" in post.args["text"]
    [upload] = fake.calls_to("upload")
    assert upload.args["content"] == PNG
    [complete] = fake.calls_to("files.completeUploadExternal")
    assert complete.args["channel_id"] == HR_CHANNEL
    assert complete.args["files"][0]["title"] == "Bar chart of leaving reasons"
    assert fake.calls_to("files.upload") == []  # the retired method is never used


async def test_report_without_chart_uploads_nothing(channel, fake):
    await channel.post_report(HR_CHANNEL, Report("Digest", ()))
    assert [c.method for c in fake.calls] == ["chat.postMessage"]


async def test_bot_not_in_the_hr_channel_says_how_to_fix_it(channel, fake, caplog):
    fake.add_channel(HR_CHANNEL, "hr", is_member=False)
    with caplog.at_level(logging.ERROR), pytest.raises(SlackApiError):
        await channel.post_report(HR_CHANNEL, Report("Digest", ()))
    assert "invite the bot into it" in caplog.text


async def test_a_sent_batch_is_recognised_after_a_crash(channel, fake):
    """Replies carry their batch key as message metadata; recovery asks before resending."""
    fake.add_user("U77", "tess@example.com", "Tess")
    opened = await channel.open_conversation("tess@example.com")
    batch = [OutMessage(kind="info", text="one"), OutMessage(kind="question", text="two?")]
    await channel.send(opened.conversation_id, batch, key="reply:slack:Ev1")
    posted = fake.calls_to("chat.postMessage")
    assert [c.args["metadata"]["event_payload"]["key"] for c in posted] == ["reply:slack:Ev1"] * 2
    assert await channel.already_sent(opened.conversation_id, "reply:slack:Ev1")
    assert not await channel.already_sent(opened.conversation_id, "reply:slack:Ev2")
