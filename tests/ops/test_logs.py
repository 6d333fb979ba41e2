from __future__ import annotations

import io
import json
import logging

import psycopg
import pytest

from bot import logs
from tests.support import pg


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
    log.info("webhook %s refused", "zebra.person@localhost")
    log.info("webhook %s refused", "zebra.person%40example.test")
    log.info("webhook %s refused", "zebra.person%2540example.test")
    log.info("webhook %s refused", "zebra.person@[127.0.0.1]")
    # every character a local part may hold (the webhook accepts these), and quoted ones
    log.info("webhook %s refused", "a&b@example.test")
    log.info("webhook %s refused", "o'brien@example.test")
    log.info("webhook %s refused", "anna%2Bhr%40example.test")
    log.info("webhook %s refused", '"anna vries"@example.test')
    lines = [json.loads(line) for line in captured.getvalue().splitlines()]
    assert [line["message"] for line in lines[-8:]] == ["webhook [email] refused"] * 8
    assert "example.com" not in captured.getvalue()
    assert {"time", "level", "logger", "message"} <= set(lines[1])


def test_a_handler_added_later_sees_no_email_either(captured: io.StringIO) -> None:
    """ExitBot's handler masks the record itself, not only its own output: a handler a
    library or a platform adds to the root logger after it gets the masked line too."""
    later = io.StringIO()
    plain = logging.StreamHandler(later)
    plain.setFormatter(logging.Formatter("%(message)s"))
    logging.getLogger().addHandler(plain)
    logging.getLogger("exitbot.test").info("could not reach %s", "anna.devries@example.com")
    assert later.getvalue() == "could not reach [email]\n"
    assert "example.com" not in captured.getvalue()


def logged_error(log_format: str, exc: BaseException) -> str:
    stream = io.StringIO()
    logs.setup(log_format)
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    try:
        try:
            raise exc
        except type(exc):
            logging.getLogger("exitbot.test").exception("batch failed: %s", exc)
    finally:
        logging.getLogger().handlers.clear()
    return stream.getvalue()


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_tracebacks_are_masked_too(log_format: str) -> None:
    """A database error can quote the value of a duplicate key in its message."""
    written = logged_error(
        log_format, RuntimeError("Key (email)=(anna.devries@example.com) already exists.")
    )
    assert "batch failed" in written and "already exists" in written  # it was logged...
    assert "example.com" not in written  # ...without the address


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_values_a_database_error_quotes_are_masked(log_format: str) -> None:
    """PostgreSQL's DETAIL quotes the key at fault, or the whole failing row (an answer)."""
    message = (
        'new row for relation "answers" violates check constraint "c"\n'
        "DETAIL:  Failing row contains (7, main_reason, Pay (base, not bonus), 1999-01-02).\n"
        "DETAIL:  Key (interview_id, question_id)=(7, Pay (base)) already exists.\n"
        'DETAIL:  Key (employee_id)=(ZEBRA-42) is not present in table "employees".'
    )
    written = logged_error(log_format, RuntimeError(message))
    assert "Failing row contains ([redacted])" in written
    assert "Key (interview_id, question_id)=([redacted]) already exists" in written
    assert "Key (employee_id)=([redacted]) is not present" in written
    for value in ("Pay (base", "not bonus", "ZEBRA-42", "1999-01-02"):
        assert value not in written
    assert "violates check constraint" in written  # what went wrong is still said


@pytest.mark.postgres
@pytest.mark.parametrize("log_format", ["json", "text"])
def test_a_real_postgresql_error_is_logged_without_its_values(log_format: str) -> None:
    admin = pg.admin_url()
    if admin is None:
        pytest.skip(f"PostgreSQL tests need {pg.ENV} (.ci/run sets it)")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(
            "CREATE TEMP TABLE probe (k text PRIMARY KEY, answer text CHECK (answer <> 'x'))"
        )
        connection.execute("INSERT INTO probe VALUES ('ZEBRA-KEY', 'fine')")
        errors = []
        for statement in (
            "INSERT INTO probe VALUES ('ZEBRA-KEY', 'ZEBRA-ANSWER')",
            "INSERT INTO probe VALUES ('other', 'x') ",
        ):
            with pytest.raises(psycopg.IntegrityError) as caught:
                connection.execute(statement)
            errors.append(caught.value)
    duplicate, failing = (logged_error(log_format, e) for e in errors)
    assert "already exists" in duplicate and "ZEBRA-KEY" not in duplicate
    assert "Failing row contains ([redacted])" in failing and "other" not in failing
