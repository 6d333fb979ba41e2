"""Logging set-up: text or JSON lines on stderr. Callers never pass answer text or emails."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

# an address, also without a dot in its domain (user@localhost), percent-encoded once or
# twice (%40, %2540), or at an IP literal (user@[127.0.0.1]); its local part with every
# character an address may hold (a&b, o'brien, anna%2Bhr) or quoted ("anna vries"@...), at
# most 64 long as in an address (which also keeps a long line without one linear to scan)
_EMAIL = re.compile(
    r"(?:\"[^\"\r\n]{1,64}\"|[\w.!#$%&'*+/=?^`{|}~-]{1,64})(?:@|%40|%2540)"
    r"(?:[\w-]+(?:\.[\w-]+)*|\[[^\]\s]*\])",
    re.IGNORECASE,
)
# PostgreSQL quotes the values of the row or key at fault in an error's DETAIL: "Key
# (k)=(v) already exists.", "... is not present in table", "Failing row contains (...)."
_KEY_VALUES = re.compile(
    r"((?:Key|existing key) \([^)]*\)=\().*?"
    r"(\)(?: already exists| is not present| is still referenced| conflicts with|\.))"
)
_FAILING_ROW = re.compile(r"(Failing row contains \().*(\))")


def _without_emails(text: str) -> str:
    if "@" in text or "%40" in text or "%2540" in text:
        return _EMAIL.sub("[email]", text)
    return text


def scrub(text: str) -> str:
    """`text` without email addresses, nor the values a database error quotes."""
    text = _without_emails(text)
    if "Key (" in text or "key (" in text:
        text = _KEY_VALUES.sub(r"\1[redacted]\2", text)
    if "Failing row" in text:
        text = _FAILING_ROW.sub(r"\1[redacted]\2", text)
    return text


class RedactEmails(logging.Filter):
    """A last line of defence: no email address reaches a log line, whatever a library logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = _without_emails(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


class TextFormatter(logging.Formatter):
    """Also masks tracebacks: a database error can quote a duplicate key or a whole row."""

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        if record.exc_info:
            data["error"] = scrub(self.formatException(record.exc_info))
        return json.dumps(data, ensure_ascii=False)


def setup(log_format: str = "text", level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactEmails())
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    # Third-party libraries that would log request bodies at DEBUG stay at WARNING.
    for noisy in (
        "slack_bolt",
        "slack_sdk",
        "aiohttp.access",
        "apscheduler",
        "botbuilder",
        "alembic",
    ):
        logging.getLogger(noisy).setLevel(logging.WARNING)
