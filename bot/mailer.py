"""Email through SMTP, configured by one URL (`EXITBOT_SMTP_URL`).

`smtp://user:pass@host:587` (STARTTLS on port 587, or with `?starttls=on`), `smtp://host:25`
(plain, for a local relay), `smtps://user:pass@host:465` (TLS from the first byte). The sender
is `?from=hr@example.com`, else the user name when it is an address, else `exitbot@<host>`.
Standard library `smtplib`, run in a worker thread so the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

from bot.config import ConfigError

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 20.0


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    port: int
    tls: bool  # implicit TLS (smtps)
    starttls: bool
    username: str | None
    password: str | None
    sender: str

    @classmethod
    def from_url(cls, url: str) -> SmtpConfig:
        parts = urlsplit(url)
        if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
            raise ConfigError("EXITBOT_SMTP_URL must look like smtp://user:pass@host:587")
        tls = parts.scheme == "smtps"
        try:
            port = parts.port or (465 if tls else 25)
        except ValueError:
            raise ConfigError("EXITBOT_SMTP_URL has an invalid port") from None
        query = parse_qs(parts.query)
        starttls_flag = (query.get("starttls") or [""])[0].lower()
        starttls = not tls and (port == 587 or starttls_flag in {"on", "true", "1", "yes"})
        if starttls_flag in {"off", "false", "0", "no"}:
            starttls = False
        username = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password else None
        sender = (query.get("from") or [""])[0]
        if not sender:
            sender = username if username and "@" in username else f"exitbot@{parts.hostname}"
        return cls(parts.hostname, port, tls, starttls, username, password, sender)


@dataclass(frozen=True, slots=True)
class Mail:
    to: str
    subject: str
    body: str
    language: str = "en"


class Mailer:
    """Sends one message per call; raises `MailError` when the server refuses or is away."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    @classmethod
    def from_url(cls, url: str | None) -> Mailer | None:
        return cls(SmtpConfig.from_url(url)) if url else None

    async def send(self, mail: Mail) -> None:
        message = EmailMessage()
        message["From"] = self.config.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Message-ID"] = make_msgid(domain=self.config.sender.rpartition("@")[2] or None)
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(mail.body)
        message["Content-Language"] = mail.language  # after set_content, which drops Content-*
        try:
            await asyncio.to_thread(self._send_blocking, message)
        except (smtplib.SMTPException, OSError) as exc:
            # The exception text may echo the recipient: log only its type.
            log.warning("email not sent: %s", type(exc).__name__)
            raise MailError(type(exc).__name__) from None

    def _send_blocking(self, message: EmailMessage) -> None:
        c = self.config
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if c.tls:
            smtp = smtplib.SMTP_SSL(c.host, c.port, timeout=TIMEOUT_SECONDS, context=context)
        else:
            smtp = smtplib.SMTP(c.host, c.port, timeout=TIMEOUT_SECONDS)
        with smtp:
            smtp.ehlo()
            if c.starttls:
                smtp.starttls(context=context)
                smtp.ehlo()
            if c.username and c.password:
                smtp.login(c.username, c.password)
            smtp.send_message(message)


class MailError(RuntimeError):
    """The email could not be handed to the SMTP server."""
