"""Typed settings, read once from the environment and an optional `.env` file."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

KINDS = ("resignation", "contract_end", "dismissal", "retirement", "other")
DEFAULT_POLICY: dict[str, str] = {
    "resignation": "auto",
    "retirement": "auto",
    "contract_end": "approval",
    "dismissal": "manual",
    "other": "manual",
}


class ConfigError(ValueError):
    """A setting has a value ExitBot cannot use; the message names the variable."""


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = "sqlite:///exitbot.db"
    host: str = "127.0.0.1"
    port: int = 3978
    public_url: str = "http://127.0.0.1:3978"
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str | None = None
    teams_app_id: str = ""
    teams_app_password: str = ""
    teams_app_type: str = "SingleTenant"
    teams_tenant_id: str = ""
    teams_enabled: bool = False
    webhook_secret: str | None = None
    hr_channel: str | None = None
    hr_admins: tuple[str, ...] = ()
    min_group_size: int = 5
    digest_cron: str = "0 9 1 * *"
    timezone: str = "UTC"
    holidays: str | None = None
    invite_lead_days: int = 5
    language: str = "en"
    questionnaire: str | None = None
    encryption_key: str | None = None
    retention_days: int = 90
    digest_quotes: bool = False
    smtp_url: str | None = None
    log_format: str = "text"
    expiry_grace_hours: int = 0
    fallback_after_last_day: bool = True
    policy: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_POLICY))
    tick_seconds: float = 30.0
    job_lease_seconds: int = 300  # a claimed job whose worker died is redone after this
    inbox_retry_seconds: int = 60  # an acknowledged message left unprocessed is redone after this
    playground: str | None = None  # "on" / "off"; unset: on when no chat platform is configured
    teams_service_url: str | None = None  # Bot Connector URL for posting digests to Teams
    # set: GET /metrics needs "Authorization: Bearer <it>" (kept out of repr: a secret)
    metrics_token: str | None = field(default=None, repr=False)

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token and (self.slack_signing_secret or self.slack_app_token))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_hr_admin(self, email: str | None) -> bool:
        return email is not None and email.strip().lower() in self.hr_admins

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env"
    ) -> Settings:
        """Settings from `environ` (default `os.environ`) over the values of `env_file`."""
        values: dict[str, str] = {}
        if env_file is not None and Path(env_file).is_file():
            values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
        values.update(os.environ if environ is None else environ)
        return _parse(values)


def _parse(env: Mapping[str, str]) -> Settings:
    def get(name: str) -> str | None:
        value = env.get(name)
        return value.strip() if value is not None and value.strip() != "" else None

    def integer(
        name: str, default: int, minimum: int | None = None, maximum: int | None = None
    ) -> int:
        raw = get(name)
        if raw is None:
            return default
        try:
            number = int(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
        if minimum is not None and number < minimum:
            raise ConfigError(f"{name} must be at least {minimum}, got {number}")
        if maximum is not None and number > maximum:
            raise ConfigError(f"{name} must be at most {maximum}, got {number}")
        return number

    def flag(name: str, default: bool) -> bool:
        raw = get(name)
        if raw is None:
            return default
        if raw.lower() in {"on", "true", "1", "yes"}:
            return True
        if raw.lower() in {"off", "false", "0", "no"}:
            return False
        raise ConfigError(f"{name} must be on or off, got {raw!r}")

    timezone = get("EXITBOT_TIMEZONE") or "UTC"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"EXITBOT_TIMEZONE is not a known time zone: {timezone!r}") from None

    language = (get("EXITBOT_LANGUAGE") or "en").lower()
    if language not in {"en", "nl"}:
        raise ConfigError(f"EXITBOT_LANGUAGE must be en or nl, got {language!r}")

    log_format = (get("EXITBOT_LOG_FORMAT") or "text").lower()
    if log_format not in {"text", "json"}:
        raise ConfigError(f"EXITBOT_LOG_FORMAT must be text or json, got {log_format!r}")

    hr_channel = get("EXITBOT_HR_CHANNEL")
    if hr_channel and not hr_channel.startswith(("slack:", "teams:")):
        raise ConfigError(
            f"EXITBOT_HR_CHANNEL must look like slack:C0123 or teams:<id>, got {hr_channel!r}"
        )

    if hr_channel and not hr_channel.partition(":")[2].strip():
        raise ConfigError(f"EXITBOT_HR_CHANNEL names no channel after the prefix: {hr_channel!r}")
    admins = tuple(
        a.strip().lower() for a in (get("EXITBOT_HR_ADMINS") or "").split(",") if a.strip()
    )
    for admin in admins:
        if not _EMAIL_LIKE.fullmatch(admin):
            raise ConfigError(f"EXITBOT_HR_ADMINS must be email addresses, got {admin!r}")
    for name in ("EXITBOT_PUBLIC_URL", "EXITBOT_SLACK_API_URL", "EXITBOT_TEAMS_SERVICE_URL"):
        _check_http_url(name, get(name))
    smtp_url = get("EXITBOT_SMTP_URL")
    if smtp_url:
        from bot.mailer import SmtpConfig

        SmtpConfig.from_url(smtp_url)  # raises ConfigError naming the variable

    slack_api_url = get("EXITBOT_SLACK_API_URL")
    if slack_api_url and not slack_api_url.endswith("/"):
        slack_api_url += "/"

    app_id = get("MicrosoftAppId") or ""
    teams_flag = get("EXITBOT_TEAMS")
    teams_enabled = flag("EXITBOT_TEAMS", bool(app_id)) if teams_flag else bool(app_id)

    holidays = get("EXITBOT_HOLIDAYS")
    if holidays:
        holidays = holidays.upper()
        _check_country(holidays)

    policy = dict(DEFAULT_POLICY)
    for kind in KINDS:
        raw = get(f"EXITBOT_POLICY_{kind.upper()}")
        if raw:
            raw = raw.lower()  # "Approval" from an HR admin's hand is what they meant
            if raw not in {"auto", "approval", "manual"}:
                raise ConfigError(
                    f"EXITBOT_POLICY_{kind.upper()} must be auto, approval or manual, got {raw!r}"
                )
            policy[kind] = raw

    database_url = _database_url(get("EXITBOT_DATABASE_URL") or "sqlite:///exitbot.db")
    webhook_secret = get("EXITBOT_WEBHOOK_SECRET")
    if webhook_secret:
        from bot.departure_events import parse_secrets

        try:
            parse_secrets(webhook_secret)
        except ValueError as exc:  # names the secret's position, never its value
            raise ConfigError(f"EXITBOT_WEBHOOK_SECRET: {exc}") from None
    digest_cron = get("EXITBOT_DIGEST_CRON") or "0 9 1 * *"
    _check_cron(digest_cron)

    port = integer("EXITBOT_PORT", 3978, minimum=0, maximum=65535)
    return Settings(
        database_url=database_url,
        host=get("EXITBOT_HOST") or "127.0.0.1",
        port=port,
        public_url=(get("EXITBOT_PUBLIC_URL") or f"http://127.0.0.1:{port}").rstrip("/"),
        slack_bot_token=get("SLACK_BOT_TOKEN"),
        slack_signing_secret=get("SLACK_SIGNING_SECRET"),
        slack_app_token=get("SLACK_APP_TOKEN"),
        slack_api_url=slack_api_url,
        teams_app_id=app_id,
        teams_app_password=get("MicrosoftAppPassword") or "",
        teams_app_type=get("MicrosoftAppType") or "SingleTenant",
        teams_tenant_id=get("MicrosoftAppTenantId") or "",
        teams_enabled=teams_enabled,
        webhook_secret=webhook_secret,
        hr_channel=hr_channel,
        hr_admins=admins,
        min_group_size=integer("EXITBOT_MIN_GROUP_SIZE", 5, minimum=3, maximum=1000),
        digest_cron=digest_cron,
        timezone=timezone,
        holidays=holidays,
        invite_lead_days=integer("EXITBOT_INVITE_LEAD_DAYS", 5, minimum=0, maximum=60),
        language=language,
        questionnaire=get("EXITBOT_QUESTIONNAIRE"),
        encryption_key=get("EXITBOT_ENCRYPTION_KEY"),
        retention_days=integer("EXITBOT_RETENTION_DAYS", 90, minimum=1, maximum=3650),
        digest_quotes=flag("EXITBOT_DIGEST_QUOTES", False),
        smtp_url=smtp_url,
        log_format=log_format,
        expiry_grace_hours=integer("EXITBOT_EXPIRY_GRACE_HOURS", 0, minimum=0, maximum=720),
        fallback_after_last_day=flag("EXITBOT_FALLBACK_AFTER_LAST_DAY", True),
        policy=policy,
        tick_seconds=float(integer("EXITBOT_TICK_SECONDS", 30, minimum=1, maximum=3600)),
        job_lease_seconds=integer("EXITBOT_JOB_LEASE_SECONDS", 300, minimum=5, maximum=86400),
        inbox_retry_seconds=integer("EXITBOT_INBOX_RETRY_SECONDS", 60, minimum=1, maximum=86400),
        playground=_on_off(get("EXITBOT_PLAYGROUND")),
        teams_service_url=get("EXITBOT_TEAMS_SERVICE_URL"),
        metrics_token=_metrics_token(get("EXITBOT_METRICS_TOKEN")),
    )


MIN_METRICS_TOKEN = 16
_TOKEN_CHARS = re.compile(r"[\x21-\x7e]+")  # visible ASCII: what an HTTP header carries as is


def _metrics_token(raw: str | None) -> str | None:
    """A bearer token for /metrics; errors never repeat it (it is a secret)."""
    if raw is None:
        return None
    if not _TOKEN_CHARS.fullmatch(raw):
        raise ConfigError(
            "EXITBOT_METRICS_TOKEN may hold only visible ASCII characters, no spaces "
            "(e.g. the output of `openssl rand -hex 32`)"
        )
    if len(raw) < MIN_METRICS_TOKEN:
        raise ConfigError(
            f"EXITBOT_METRICS_TOKEN must be at least {MIN_METRICS_TOKEN} characters, "
            f"got {len(raw)} (e.g. the output of `openssl rand -hex 32`)"
        )
    return raw


def _on_off(raw: str | None) -> str | None:
    if raw is None:
        return None
    if raw.lower() in {"on", "true", "1", "yes"}:
        return "on"
    if raw.lower() in {"off", "false", "0", "no"}:
        return "off"
    raise ConfigError(f"EXITBOT_PLAYGROUND must be on or off, got {raw!r}")


def _database_url(url: str) -> str:
    """SQLite or PostgreSQL; `postgres://`, as many hosts hand it out, is PostgreSQL too."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    try:
        parsed = make_url(url)
        backend = parsed.get_backend_name()
    except ArgumentError:
        raise ConfigError(
            "EXITBOT_DATABASE_URL must look like sqlite:///exitbot.db or "
            "postgresql://user:pass@host/db"
        ) from None
    if backend not in {"sqlite", "postgresql"}:
        raise ConfigError(
            f"EXITBOT_DATABASE_URL: unsupported database {backend!r} (use sqlite or postgresql)"
        )
    if backend == "postgresql" and not parsed.database:
        # libpq would quietly pick a database named after the user
        raise ConfigError("EXITBOT_DATABASE_URL names no database: postgresql://user@host/db")
    return url


_EMAIL_LIKE = re.compile(r"[^@\s,]+@[^@\s,]+")


def _check_http_url(name: str, value: str | None) -> None:
    if value is None:
        return
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigError(f"{name} must be an http:// or https:// URL with a host, got {value!r}")


def _check_cron(cron: str) -> None:
    from bot.crontab import cron_trigger

    try:
        cron_trigger(cron, UTC)
    except ValueError as exc:
        raise ConfigError(
            f"EXITBOT_DIGEST_CRON must be a 5-field cron expression such as '0 9 1 * *'"
            f" (minute hour day month weekday), got {cron!r}: {exc}"
        ) from None


def _check_country(code: str) -> None:
    import holidays as holidays_lib

    if code not in holidays_lib.list_supported_countries():
        raise ConfigError(f"EXITBOT_HOLIDAYS is not a supported country code: {code!r}")
