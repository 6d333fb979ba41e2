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


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_tracebacks_are_masked_too(log_format: str) -> None:
    """A database error can quote the value of a duplicate key in its message."""
    stream = io.StringIO()
    logs.setup(log_format)
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    try:
        try:
            raise RuntimeError("Key (email)=(anna.devries@example.com) already exists.")
        except RuntimeError:
            logging.getLogger("exitbot.test").exception("request failed")
    finally:
        logging.getLogger().handlers.clear()
    written = stream.getvalue()
    assert "request failed" in written and "already exists" in written  # it was logged...
    assert "example.com" not in written  # ...without the address
