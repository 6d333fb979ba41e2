"""From the HR system to Slack: a signed departure webhook, a tick later the invite DM."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.slack.harness import ANNA, ANNA_ID, HR_CHANNEL, buttons
from tests.slack.test_interview import complete_by_typing, invite


async def test_departure_webhook_then_tick_sends_the_invite_dm(slack):
    status, answer = await slack.post_webhook(
        {
            "type": "departure.created",
            "departure": {
                "id": "hr-4711",
                "kind": "resignation",
                "last_working_day": "2026-12-18",
                "employee": {
                    "email": ANNA,
                    "name": "Anna de Vries",
                    "language": "nl",
                    "timezone": "Europe/Amsterdam",
                },
            },
        }
    )
    assert status == 202 and answer["status"] == "scheduled"
    invite_at = datetime.fromisoformat(answer["invite_at"].replace("Z", "+00:00"))

    early = await slack.tick(invite_at - timedelta(hours=1))
    assert early["invites sent"] == 0 and slack.fake.calls == []

    report = await slack.tick(invite_at)
    assert report["invites sent"] == 1
    assert [c.method for c in slack.fake.calls] == [
        "users.lookupByEmail",
        "conversations.open",
        "users.info",
        "chat.postMessage",
    ]
    dm = slack.fake.dm_channel_id(ANNA_ID)
    [intro] = slack.messages(dm)
    assert "vrijwillig" in intro["text"]  # the HR system said Dutch
    assert [b["value"] for _, b in buttons(intro)] == ["start", "later", "decline"]

    # and the employee can answer right away, in the same DM
    await slack.dm(ANNA_ID, "starten")
    assert "belangrijkste reden" in slack.messages(dm)[-1]["text"]


async def test_the_digest_goes_to_the_slack_hr_channel(slack):
    """EXITBOT_HR_CHANNEL=slack:C…: the digest code posts through SlackChannel.post_report."""
    from bot import digest_post

    await invite(slack)
    await complete_by_typing(slack, ANNA_ID)
    slack.fake.add_channel(HR_CHANNEL, "hr")
    slack.fake.reset()
    result = await digest_post.post_digest_now(slack.runtime)
    assert result.status in ("posted", "waiting")
    [post] = slack.fake.calls_to("chat.postMessage")
    assert post.args["channel"] == HR_CHANNEL
    assert post.args["blocks"][0]["type"] == "header" and post.args["text"]
