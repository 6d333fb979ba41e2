"""The channel drivers of the contract suite, one per parameter."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.channels.drivers import Driver, SlackDriver, TeamsDriver, TerminalDriver, WebDriver
from tests.fakes import FakeBotConnector, FakeSlackAPI


@pytest_asyncio.fixture(params=["terminal", "teams", "slack", "web"])
async def driver(request: pytest.FixtureRequest, sqlite_url: str) -> AsyncIterator[Driver]:
    if request.param == "terminal":
        terminal = TerminalDriver(sqlite_url)
        yield terminal
        await terminal.close()
    elif request.param == "web":
        from aiohttp.test_utils import TestClient, TestServer

        from bot.app import create_app
        from bot.clock import FrozenClock
        from bot.runtime import Runtime
        from tests.web.conftest import START, make_settings

        runtime = Runtime.open(make_settings(sqlite_url), clock=FrozenClock(START))
        client = TestClient(TestServer(create_app(runtime), host="127.0.0.1"))
        await client.start_server()
        try:
            yield WebDriver(runtime, client)
        finally:
            await client.close()
            await runtime.close()
    elif request.param == "teams":
        from tests.teams.harness import open_harness, settings_for

        async with FakeBotConnector() as connector:
            teams = await open_harness(connector, settings_for(sqlite_url))
            try:
                yield TeamsDriver(teams)
            finally:
                await teams.server.close()
    else:
        try:
            from tests.slack.harness import ANNA, ANNA_ID
            from tests.slack.harness import open_harness as open_slack
            from tests.slack.harness import settings_for as slack_settings
        except ImportError as exc:  # pragma: no cover - while Slack is being built
            pytest.skip(f"the Slack adapter is not available yet: {exc}")
        async with FakeSlackAPI() as fake:
            fake.add_user(ANNA_ID, ANNA, "Anna de Vries", locale="en-GB", tz="Europe/Amsterdam")
            slack = await open_slack(fake, slack_settings(sqlite_url, fake))
            try:
                yield SlackDriver(slack)
            finally:
                await slack.server.close()
