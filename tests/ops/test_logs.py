from __future__ import annotations

import io
import json
import logging

import pytest

from bot import logs


@pytest.fixture
def captured() -> io.StringIO:
    stream = io.StringIO()
    logs.setup("json")
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    yield stream
    logging.getLogger().handlers.clear()


def test_json_lines_and_emails_never_reach_a_log_line(captured: io.StringIO) -> None:
    log = logging.getLogger("exitbot.test")
    log.info("could not reach %s on %s", "anna.devries@example.com", "slack")
    log.warning("plain message without personal data")
    lines = [json.loads(line) for line in captured.getvalue().splitlines()]
    assert [line["level"] for line in lines] == ["info", "warning"]
    assert lines[0]["message"] == "could not reach [email] on slack"
    assert "example.com" not in captured.getvalue()
    assert {"time", "level", "logger", "message"} <= set(lines[1])
