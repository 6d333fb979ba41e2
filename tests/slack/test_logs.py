"""Logs never carry answer text, names or email addresses, whatever the log level."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from tests.slack.harness import ADMIN_ID, ANNA_ID
from tests.slack.test_hr_commands import command, departure_payload
from tests.slack.test_interview import invite

SECRET_ANSWER = "Xyzzy my manager Plugh shouted at me in meetings"
DATABASE_DRIVERS = ("sqlalchemy", "aiosqlite", "psycopg")
LOUD = ["", "slack_bolt", "slack_sdk", "aiohttp", "asyncio", "adapters", "bot", "exitbot"]


@pytest.fixture
def everything(caplog):
    # Database drivers log every statement with its parameters at DEBUG (SQL echo): that is
    # the storage layer's switch, not Slack's, and stays off here. (Set first: caplog's
    # handler takes the level of the last call.)
    for name in DATABASE_DRIVERS:
        caplog.set_level(logging.WARNING, logger=name)
    for name in [*LOUD, *logging.root.manager.loggerDict]:
        if not name.startswith(DATABASE_DRIVERS):
            caplog.set_level(logging.DEBUG, logger=name or None)
    return caplog


async def test_nothing_personal_reaches_the_logs(slack, everything, monkeypatch):
    await slack.post_webhook(departure_payload("hr-1", "contract_end", "cas@example.com", "Cas"))
    await invite(slack)
    await slack.tick()  # the approval request to the admin
    dm = slack.fake.dm_channel_id(ANNA_ID)
    await slack.answer_by_click(ANNA_ID, slack.messages(dm)[-1], "start")
    await slack.dm(ANNA_ID, SECRET_ANSWER)
    with monkeypatch.context() as patch:  # a crash after the ack, redone by the tick

        async def crash(*args: object) -> None:
            raise RuntimeError(f"boom while handling {SECRET_ANSWER}")

        patch.setattr(slack.runtime.service, "deliver", crash)
        await slack.dm(ANNA_ID, f"{SECRET_ANSWER} again")
    slack.clock.advance(timedelta(minutes=5))
    await slack.tick()
    slack.fake.fail_next("chat.postMessage", status=429, retry_after=0)
    await slack.dm(ANNA_ID, "Plugh Xyzzy")
    await slack.dm("UNOBODY", "who are you")  # unknown to Slack and to us
    for text in ("status", "approvals", "digest preview", "start <@U1001|anna> 2026-12-18"):
        await command(slack, ADMIN_ID, text)
    await command(slack, ANNA_ID, "status")

    records = everything.records
    assert any(r.levelno == logging.DEBUG for r in records)  # the capture really was on
    assert any(r.name.startswith("adapters.slack") for r in records)
    for record in records:
        line = record.getMessage() + (record.exc_text or "")
        for secret in ("Xyzzy", "xyzzy", "Plugh", "@example.com", "Anna de Vries", "Cas"):
            assert secret not in line, (record.name, line)
    assert "Xyzzy" not in everything.text and "@example.com" not in everything.text
