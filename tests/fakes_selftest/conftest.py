"""Fixtures for the fake-server self-tests."""

import pytest_asyncio

from tests.fakes import FakeBotConnector, FakeSlackAPI


@pytest_asyncio.fixture
async def fake_slack():
    fake = FakeSlackAPI()
    await fake.start()
    yield fake
    await fake.stop()


@pytest_asyncio.fixture
async def fake_connector():
    fake = FakeBotConnector()
    await fake.start()
    yield fake
    await fake.stop()
