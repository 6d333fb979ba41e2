"""A real botbuilder CloudAdapter (anonymous mode), served by aiohttp on 127.0.0.1, with every
activity's serviceUrl pointing at FakeBotConnector."""

from types import SimpleNamespace

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from botbuilder.core import ActivityHandler, CardFactory, MessageFactory, TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)
from botbuilder.schema import (
    Activity,
    ChannelAccount,
    ConversationParameters,
    ErrorResponseException,
)

from tests.fakes import serve_app

pytestmark = pytest.mark.asyncio

# Anonymous mode: empty id/password; OAUTH_URL / TO_CHANNEL_FROM_BOT_* deliberately absent.
CONFIG = SimpleNamespace(APP_ID="", APP_PASSWORD="")

CARD = {
    "type": "AdaptiveCard",
    "version": "1.4",
    "body": [{"type": "TextBlock", "text": "Hoe was je laatste dag?"}],
    "actions": [{"type": "Action.Submit", "title": "Goed", "data": {"answer": "good"}}],
}


class EchoBot(ActivityHandler):
    def __init__(self):
        self.references = []
        self.members = []
        self.errors = []
        self.values = []
        self.installs = []

    async def on_message_activity(self, turn_context: TurnContext):
        self.references.append(TurnContext.get_conversation_reference(turn_context.activity))
        text = turn_context.activity.text or ""
        if turn_context.activity.value is not None:
            self.values.append(turn_context.activity.value)
            return
        if text == "who":
            try:
                member = await TeamsInfo.get_member(
                    turn_context, turn_context.activity.from_property.id
                )
                self.members.append(member)
            except ErrorResponseException as e:
                self.errors.append(e)
            return
        if text == "card":
            sent = await turn_context.send_activity(
                MessageFactory.attachment(CardFactory.adaptive_card(CARD))
            )
            done = MessageFactory.text("Bedankt")
            done.id = sent.id
            await turn_context.update_activity(done)
            return
        await turn_context.send_activity("echo")

    async def on_installation_update_add(self, turn_context: TurnContext):
        self.installs.append(TurnContext.get_conversation_reference(turn_context.activity))


@pytest_asyncio.fixture
async def teams(fake_connector):
    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(CONFIG))
    bot = EchoBot()

    async def messages(request: web.Request) -> web.Response:
        return await adapter.process(request, bot)

    app = web.Application()
    app.router.add_post("/api/messages", messages)
    server = await serve_app(app)
    yield SimpleNamespace(url=f"{server.root_url}/api/messages", adapter=adapter, bot=bot)
    await server.stop()


async def post(url, activity: dict, headers=None):
    async with aiohttp.ClientSession() as s, s.post(url, json=activity, headers=headers) as r:
        return r.status, await r.text()


async def test_message_echo_is_a_reply(teams, fake_connector):
    act = fake_connector.message_activity("hallo", activity_id="in-1")
    status, body = await post(teams.url, act)
    assert (status, body) == (201, "")
    [call] = fake_connector.activities  # process() returns after the bot's turn completed
    assert call.verb == "POST"
    assert call.path == "/v3/conversations/a:conv1/activities/in-1"
    assert (call.conversation_id, call.activity_id) == ("a:conv1", "in-1")
    assert call.body["text"] == "echo" and call.body["type"] == "message"
    assert call.body["replyToId"] == "in-1"
    assert call.body["from"]["id"] == "28:bot" and call.body["recipient"]["id"] == "29:user1"
    assert call.authorization is None  # anonymous mode: no token on outbound calls
    assert call.status == 201


async def test_get_member_email(teams, fake_connector):
    fake_connector.add_member("29:user1", "anna@example.com", "Anna de Vries")
    status, _ = await post(teams.url, fake_connector.message_activity("who"))
    assert status == 201
    [member] = teams.bot.members
    assert member.email == "anna@example.com"
    assert member.user_principal_name == "anna@example.com"
    assert member.name == "Anna de Vries"
    assert fake_connector.calls[0].verb == "GET"
    assert fake_connector.calls[0].path == "/v3/conversations/a:conv1/members/29:user1"


async def test_get_unknown_member_is_404(teams, fake_connector):
    status, _ = await post(teams.url, fake_connector.message_activity("who"))
    assert status == 201
    [err] = teams.bot.errors
    assert err.response.status_code == 404
    assert err.error.error.code == "MemberNotFoundInConversation"


@pytest.mark.parametrize("bot_app_id", ["", None, "any-id-works-in-anonymous-mode"])
async def test_continue_conversation_proactive(teams, fake_connector, bot_app_id):
    await post(teams.url, fake_connector.installation_update_activity(activity_id="inst-1"))
    [ref] = teams.bot.installs
    assert ref.service_url == fake_connector.service_url and ref.activity_id == "inst-1"

    seen = []

    async def callback(ctx: TurnContext):
        seen.append((ctx.activity.type, ctx.activity.name, ctx.activity.id))
        await ctx.send_activity("proactive hello")

    await teams.adapter.continue_conversation(ref, callback, bot_app_id=bot_app_id)
    [(kind, name, continuation_id)] = seen
    assert (kind, name) == ("event", "ContinueConversation")
    # get_continuation_activity() gives the event a fresh uuid1 id (NOT ref.activity_id), and
    # sends in the callback are replies to that id:
    assert continuation_id != "inst-1"
    [call] = fake_connector.activities
    assert call.path == f"/v3/conversations/a:conv1/activities/{continuation_id}"
    assert call.body["replyToId"] == continuation_id
    assert call.body["text"] == "proactive hello"

    ref.activity_id = None  # makes no difference: still a reply to a fresh uuid
    await teams.adapter.continue_conversation(ref, callback, bot_app_id=bot_app_id)
    assert (
        fake_connector.activities[-1].path == f"/v3/conversations/a:conv1/activities/{seen[-1][2]}"
    )


async def test_card_then_update(teams, fake_connector):
    status, _ = await post(teams.url, fake_connector.message_activity("card", activity_id="in-9"))
    assert status == 201
    send, update = fake_connector.activities
    assert send.verb == "POST" and send.path == "/v3/conversations/a:conv1/activities/in-9"
    [att] = send.body["attachments"]
    assert att["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert att["content"] == CARD
    new_id = send.response["id"]
    assert update.verb == "PUT"
    assert update.path == f"/v3/conversations/a:conv1/activities/{new_id}"
    assert update.body["text"] == "Bedankt" and update.body["id"] == new_id
    assert fake_connector.conversations["a:conv1"][new_id]["text"] == "Bedankt"


async def test_card_submit_arrives_as_value(teams, fake_connector):
    act = fake_connector.message_activity(None, value={"answer": "good"})
    status, _ = await post(teams.url, act)
    assert status == 201
    assert teams.bot.values == [{"answer": "good"}]
    assert fake_connector.calls == []


async def test_create_conversation_then_send(teams, fake_connector):
    params = ConversationParameters(
        is_group=False,
        bot=ChannelAccount(id="28:bot"),
        members=[ChannelAccount(id="29:user2")],
        tenant_id="tenant1",
    )
    refs = []

    async def callback(ctx: TurnContext):
        refs.append(TurnContext.get_conversation_reference(ctx.activity))
        await ctx.send_activity("hoi")

    await teams.adapter.create_conversation(
        "", callback, params, "msteams", fake_connector.service_url, None
    )
    create = fake_connector.calls[0]
    assert create.verb == "POST" and create.path == "/v3/conversations"
    assert create.body["members"] == [{"id": "29:user2"}]
    conv_id = create.response["id"]
    assert refs[0].conversation.id == conv_id
    # the create-conversation event has a generated id, so the send is a reply to it
    assert fake_connector.activities[-1].conversation_id == conv_id
    assert fake_connector.activities[-1].body["text"] == "hoi"


async def test_429_raises_and_is_not_retried(teams, fake_connector):
    fake_connector.fail_next(429, retry_after=3)
    errors = []

    async def on_error(ctx, error):
        errors.append(error)

    teams.adapter.on_turn_error = on_error
    status, _ = await post(teams.url, fake_connector.message_activity("hallo"))
    assert status == 201  # on_turn_error swallowed it
    [err] = errors
    assert isinstance(err, ErrorResponseException)
    assert err.response.status_code == 429
    assert err.response.headers["Retry-After"] == "3"
    assert [c.status for c in fake_connector.activities] == [429]


async def test_unauthenticated_post_rejected_when_app_id_set(fake_connector):
    adapter = CloudAdapter(
        ConfigurationBotFrameworkAuthentication(
            SimpleNamespace(APP_ID="11111111-1111-1111-1111-111111111111", APP_PASSWORD="x")
        )
    )
    bot = EchoBot()

    async def messages(request: web.Request) -> web.Response:
        return await adapter.process(request, bot)

    app = web.Application()
    app.router.add_post("/api/messages", messages)
    server = await serve_app(app)
    try:
        status, _ = await post(
            f"{server.root_url}/api/messages", fake_connector.message_activity("x")
        )
    finally:
        await server.stop()
    assert status == 401
    assert fake_connector.calls == []


async def test_wait_for_activities(fake_connector):
    with pytest.raises(AssertionError, match="wanted 1 activities"):
        await fake_connector.wait_for_activities(1, timeout=0.05)
    act = Activity().deserialize(fake_connector.message_activity("x"))
    assert act.conversation.conversation_type == "personal"
    assert act.channel_data["tenant"]["id"] == "tenant1"


async def test_process_status_codes(teams, fake_connector):
    async with aiohttp.ClientSession() as s:
        async with s.post(teams.url, data="x", headers={"Content-Type": "text/plain"}) as r:
            assert r.status == 415
        async with s.post(teams.url, json={"text": "no type"}) as r:
            assert r.status == 400

    class Boom(ActivityHandler):
        async def on_message_activity(self, turn_context):
            raise RuntimeError("boom")

    async def messages(request: web.Request) -> web.Response:
        return await teams.adapter.process(request, Boom())

    app = web.Application()
    app.router.add_post("/api/messages", messages)
    server = await serve_app(app)
    try:
        status, _ = await post(
            f"{server.root_url}/api/messages", fake_connector.message_activity("x")
        )
    finally:
        await server.stop()
    assert status == 500  # no on_turn_error: the exception escapes process()


async def test_single_tenant_needs_app_id():
    with pytest.raises(Exception, match="APP_ID"):
        ConfigurationBotFrameworkAuthentication(
            SimpleNamespace(APP_ID="", APP_PASSWORD="", APP_TYPE="SingleTenant", APP_TENANTID="t")
        )


async def test_continue_conversation_with_real_app_id_needs_matching_id(fake_connector):
    # No network happens: the app-id check fails before any token request.
    adapter = CloudAdapter(
        ConfigurationBotFrameworkAuthentication(
            SimpleNamespace(APP_ID="11111111-1111-1111-1111-111111111111", APP_PASSWORD="x")
        )
    )
    ref = TurnContext.get_conversation_reference(
        Activity().deserialize(fake_connector.message_activity("x"))
    )

    async def callback(ctx):
        raise AssertionError("must not run")

    for wrong in ("", None, "other"):
        with pytest.raises(Exception, match="Invalid app_id"):
            await adapter.continue_conversation(ref, callback, bot_app_id=wrong)
    assert fake_connector.calls == []
