"""SMTP from one URL: parsing, a real send to a local server, a failure that names no one."""

from __future__ import annotations

import logging

import pytest

from bot.config import ConfigError
from bot.mailer import Mail, Mailer, MailError, SmtpConfig
from tests.web.test_fallback import Inbox, body, free_port, smtp, subject  # noqa: F401


def test_urls() -> None:
    plain = SmtpConfig.from_url("smtp://relay.local")
    assert (plain.host, plain.port, plain.tls, plain.starttls) == ("relay.local", 25, False, False)
    assert plain.sender == "exitbot@relay.local" and plain.username is None
    submission = SmtpConfig.from_url("smtp://hr%40example.com:p%40ss%3Aword@mail.example.com:587")
    assert (submission.port, submission.starttls, submission.tls) == (587, True, False)
    assert submission.username == "hr@example.com" and submission.password == "p@ss:word"
    assert submission.sender == "hr@example.com"
    implicit = SmtpConfig.from_url("smtps://user:pw@mail.example.com?from=noreply@example.com")
    assert (implicit.port, implicit.tls, implicit.starttls) == (465, True, False)
    assert implicit.sender == "noreply@example.com"
    forced = SmtpConfig.from_url("smtp://mail.example.com:2525?starttls=on")
    assert forced.starttls
    assert not SmtpConfig.from_url("smtp://mail.example.com:587?starttls=off").starttls
    assert Mailer.from_url(None) is None
    for bad in ("http://mail.example.com", "smtp://", "smtp://host:notaport"):
        with pytest.raises(ConfigError, match="EXITBOT_SMTP_URL"):
            SmtpConfig.from_url(bad)


async def test_a_mail_reaches_the_server(smtp: tuple[str, Inbox]) -> None:  # noqa: F811
    url, inbox = smtp
    mailer = Mailer.from_url(url)
    assert mailer is not None
    await mailer.send(Mail("anna@example.net", "Je exitgesprek", "Hoi Anna,\nDag!", "nl"))
    recipients, message = inbox.messages[0]
    assert recipients == ["anna@example.net"]
    assert subject(message) == "Je exitgesprek" and body(message).startswith("Hoi Anna,")
    assert message["Content-Language"] == "nl" and message["From"] == "hr@example.com"


async def test_a_failed_send_raises_and_logs_no_address(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    mailer = Mailer.from_url(f"smtp://127.0.0.1:{free_port()}")  # nobody listens
    assert mailer is not None
    with pytest.raises(MailError):
        await mailer.send(Mail("anna@example.net", "s", "b"))
    assert "anna@example.net" not in caplog.text
