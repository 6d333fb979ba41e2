"""The real slack_sdk AsyncWebClient against FakeSlackAPI."""

import time

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

pytestmark = pytest.mark.asyncio

BLOCKS = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "Hoe was je laatste dag?"}},
    {
        "type": "actions",
        "block_id": "q1",
        "elements": [
            {
                "type": "button",
                "action_id": "answer",
                "value": "good",
                "text": {"type": "plain_text", "text": "Goed"},
            }
        ],
    },
]


def client_for(fake, **kw):
    return AsyncWebClient(token="xoxb-test", base_url=fake.base_url, **kw)


async def test_base_url_ends_with_slash(fake_slack):
    assert fake_slack.base_url.endswith("/api/")
    assert fake_slack.base_url.startswith("http://127.0.0.1:")


async def test_dm_flow_recorded(fake_slack):
    fake_slack.add_user("U123", "anna@example.com", "Anna de Vries")
    client = client_for(fake_slack)

    auth = await client.auth_test()
    assert auth["user_id"] == "UBOT" and auth["bot_id"] == "BBOT" and auth["team_id"] == "T1"

    found = await client.users_lookupByEmail(email="Anna@Example.com")
    assert found["user"]["id"] == "U123"
    assert found["user"]["tz"] == "Europe/Amsterdam"
    assert found["user"]["profile"]["email"] == "anna@example.com"

    opened = await client.conversations_open(users="U123")
    assert opened["channel"]["id"] == "D123"
    again = await client.conversations_open(users=["U123"])
    assert again["channel"]["id"] == "D123"  # stable per user; list is comma-joined

    posted = await client.chat_postMessage(channel="D123", text="Hoi", blocks=BLOCKS)
    assert posted["channel"] == "D123" and posted["ts"]
    updated = await client.chat_update(channel="D123", ts=posted["ts"], text="Bedankt", blocks=[])
    assert updated["ts"] == posted["ts"]

    info = await client.users_info(user="U123", include_locale=True)
    assert info["user"]["locale"] == "nl-NL"
    team = await client.team_info()
    assert team["team"]["id"] == "T1"

    assert [c.method for c in fake_slack.calls] == [
        "auth.test",
        "users.lookupByEmail",
        "conversations.open",
        "conversations.open",
        "chat.postMessage",
        "chat.update",
        "users.info",
        "team.info",
    ]
    # transports: GET+query for lookups, POST+query for conversations.open, JSON for chat.*
    lookup = fake_slack.calls_to("users.lookupByEmail")[0]
    assert lookup.http_verb == "GET" and lookup.args == {"email": "Anna@Example.com"}
    assert lookup.token == "xoxb-test"
    assert fake_slack.calls_to("conversations.open")[1].args == {"users": "U123"}
    assert fake_slack.calls_to("users.info")[0].args == {"user": "U123", "include_locale": "1"}
    post = fake_slack.calls_to("chat.postMessage")[0]
    assert post.args == {"channel": "D123", "text": "Hoi", "blocks": BLOCKS}
    upd = fake_slack.calls_to("chat.update")[0]
    assert upd.args["blocks"] == [] and upd.args["text"] == "Bedankt"
    assert fake_slack.messages["D123"][posted["ts"]]["text"] == "Bedankt"


async def test_post_to_user_id_goes_to_dm(fake_slack):
    client = client_for(fake_slack)
    res = await client.chat_postMessage(channel="U777", text="x")
    assert res["channel"] == "D777"


async def test_errors(fake_slack):
    client = client_for(fake_slack)
    with pytest.raises(SlackApiError) as e:
        await client.users_lookupByEmail(email="nobody@example.com")
    assert e.value.response["error"] == "users_not_found"

    fake_slack.add_user("U9", "gone@example.com", "Gone", deleted=True)
    res = await client.users_lookupByEmail(email="gone@example.com")
    assert res["user"]["deleted"] is True

    fake_slack.fail_next("users.lookupByEmail", error="account_inactive")
    with pytest.raises(SlackApiError) as e:
        await client.users_lookupByEmail(email="gone@example.com")
    assert e.value.response["error"] == "account_inactive"

    with pytest.raises(SlackApiError) as e:
        await client.api_call("foo.bar")
    assert e.value.response["error"] == "unknown_method"
    assert fake_slack.calls[-1].method == "foo.bar"

    with pytest.raises(SlackApiError) as e, pytest.warns(UserWarning, match="text"):
        await client.chat_postMessage(channel="D1")  # slack_sdk warns about missing text
    assert e.value.response["error"] == "no_text"

    fake_slack.strict_updates = True
    with pytest.raises(SlackApiError) as e:
        await client.chat_update(channel="D1", ts="1.2", text="x")
    assert e.value.response["error"] == "message_not_found"

    no_token = AsyncWebClient(base_url=fake_slack.base_url)
    with pytest.raises(SlackApiError) as e:
        await no_token.auth_test()
    assert e.value.response["error"] == "not_authed"


async def test_not_in_channel_until_join(fake_slack):
    fake_slack.add_channel("C55", "exits", is_member=False)
    client = client_for(fake_slack)
    with pytest.raises(SlackApiError) as e:
        await client.chat_postMessage(channel="C55", text="x")
    assert e.value.response["error"] == "not_in_channel"
    await client.conversations_join(channel="C55")
    assert (await client.conversations_info(channel="C55"))["channel"]["is_member"] is True
    await client.chat_postMessage(channel="C55", text="x")


async def test_files_upload_v2(fake_slack):
    client = client_for(fake_slack)
    res = await client.files_upload_v2(
        channel="C1", content=b"png...", filename="chart.png", initial_comment="Grafiek"
    )
    assert res["file"]["name"] == "chart.png"
    assert [c.method for c in fake_slack.calls] == [
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
    ]
    get_url, upload, complete = fake_slack.calls
    assert get_url.args == {"filename": "chart.png", "length": "6"}
    assert (
        upload.args["content"] == b"png..."
        and upload.args["file_id"] == get_url.response["file_id"]
    )
    assert complete.args["channel_id"] == "C1"
    assert complete.args["initial_comment"] == "Grafiek"
    assert complete.args["files"] == [{"id": get_url.response["file_id"], "title": "chart.png"}]
    assert fake_slack.files[get_url.response["file_id"]]["content"] == b"png..."


async def test_rate_limit_is_retried_with_handler(fake_slack):
    client = client_for(
        fake_slack, retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)]
    )
    fake_slack.fail_next("chat.postMessage", 429, retry_after=1)
    start = time.monotonic()
    res = await client.chat_postMessage(channel="D1", text="hi")
    assert res["ok"]
    assert time.monotonic() - start >= 0.9  # slept Retry-After
    calls = fake_slack.calls_to("chat.postMessage")
    assert [c.status for c in calls] == [429, 200]


async def test_rate_limit_without_handler_raises(fake_slack):
    client = client_for(fake_slack)
    fake_slack.fail_next("chat.postMessage", 429, retry_after=7)
    with pytest.raises(SlackApiError) as e:
        await client.chat_postMessage(channel="D1", text="hi")
    assert e.value.response.status_code == 429
    assert e.value.response.headers["Retry-After"] == "7"
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


async def test_wait_for_times_out_with_summary(fake_slack):
    with pytest.raises(AssertionError, match=r"chat\.postMessage"):
        await fake_slack.wait_for("chat.postMessage", timeout=0.05)


async def test_views_open_and_ephemeral(fake_slack):
    client = client_for(fake_slack)
    v = await client.views_open(
        trigger_id="t",
        view={"type": "modal", "title": {"type": "plain_text", "text": "x"}, "blocks": []},
    )
    assert v["view"]["id"].startswith("V")
    e = await client.chat_postEphemeral(channel="C1", user="U1", text="psst")
    assert e["message_ts"]
    assert fake_slack.calls_to("views.open")[0].args["view"]["type"] == "modal"


async def test_custom_handler_and_disabled_user(fake_slack):
    client = client_for(fake_slack)
    fake_slack.set_handler("bots.info", lambda args: {"bot": {"id": args["bot"], "name": "x"}})
    assert (await client.bots_info(bot="B1"))["bot"]["id"] == "B1"

    async def slow(args):
        return {"ok": False, "error": "team_access_not_granted"}

    fake_slack.set_handler("team.info", slow)
    with pytest.raises(SlackApiError):
        await client.team_info()

    fake_slack.add_user("U5", "old@example.com", "Old", deleted=True)
    with pytest.raises(SlackApiError) as e:
        await client.conversations_open(users="U5")
    assert e.value.response["error"] == "user_disabled"
