"""Shared by the service and writer tests: a recording channel and a runtime per backend."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import pytest

from adapters.base import Opened, Report, Unreachable
from bot.config import Settings
from bot.crypto import Cipher
from bot.runtime import Runtime
from conversations import OutMessage


class RecordingChannel:
    """A test double of a chat platform: records what would be posted."""

    name = "console"

    def __init__(self) -> None:
        self.sent: list[tuple[str, list[OutMessage], str]] = []

    async def open_conversation(self, email: str) -> Opened:
        raise Unreachable("not used")

    async def send(self, conversation_id: str, messages: Sequence[OutMessage], *, key: str) -> None:
        self.sent.append((conversation_id, list(messages), key))

    async def post_report(self, target: str, report: Report) -> None:
        raise AssertionError("not used")


@pytest.fixture
async def runtime(database_url: str) -> AsyncIterator[Runtime]:
    settings = Settings(database_url=database_url, encryption_key=Cipher.new_key())
    rt = Runtime.open(settings, channels={"console": RecordingChannel()})
    try:
        yield rt
        # PostgreSQL: every batch the lean path failed on was redone the ORM way, so a
        # broken lean path would pass every test but this check
        assert rt.service.writer.lean_errors == 0
    finally:
        await rt.close()
