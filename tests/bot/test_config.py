from __future__ import annotations

import base64
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings

GOOD_SECRET = "whsec_" + base64.b64encode(b"a-good-webhook-secret-of-32-bytes").decode()


def test_defaults_match_the_public_contract() -> None:
    s = Settings.from_env({}, env_file=None)
    assert s.database_url == "sqlite:///exitbot.db"
    assert (s.host, s.port) == ("127.0.0.1", 3978)
    assert s.public_url == "http://127.0.0.1:3978"
    assert s.min_group_size == 5
    assert s.digest_cron == "0 9 1 * *"
    assert s.timezone == "UTC"
    assert s.invite_lead_days == 5
    assert s.language == "en"
    assert s.retention_days == 90
    assert s.digest_quotes is False
    assert s.log_format == "text"
    assert not s.slack_enabled and not s.teams_enabled
    assert s.policy["resignation"] == "auto" and s.policy["contract_end"] == "approval"
    assert s.policy["dismissal"] == "manual"


def test_environment_overrides_dotenv_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("EXITBOT_PORT=4000\nEXITBOT_LANGUAGE=nl\n")
    s = Settings.from_env({"EXITBOT_PORT": "5000"}, env_file=env_file)
    assert s.port == 5000
    assert s.language == "nl"
    assert s.public_url == "http://127.0.0.1:5000"


def test_admins_are_normalised_and_matched_case_insensitively() -> None:
    s = Settings.from_env({"EXITBOT_HR_ADMINS": " HR@Example.com, boss@example.com ,"}, None)
    assert s.hr_admins == ("hr@example.com", "boss@example.com")
    assert s.is_hr_admin("Hr@example.COM")
    assert not s.is_hr_admin("someone@example.com")
    assert not s.is_hr_admin(None)


def test_platform_switches() -> None:
    slack = Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}, None)
    assert slack.slack_enabled
    teams = Settings.from_env({"MicrosoftAppId": "abc"}, None)
    assert teams.teams_enabled and teams.teams_app_type == "SingleTenant"
    anonymous = Settings.from_env({"EXITBOT_TEAMS": "on"}, None)
    assert anonymous.teams_enabled and anonymous.teams_app_id == ""
    assert Settings.from_env({"EXITBOT_SLACK_API_URL": "http://x/api"}, None).slack_api_url == (
        "http://x/api/"
    )


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"EXITBOT_PORT": "eighty"}, "EXITBOT_PORT"),
        ({"EXITBOT_MIN_GROUP_SIZE": "2"}, "EXITBOT_MIN_GROUP_SIZE"),
        # past these, dates overflow (a daily purge, every invite) long after start-up
        ({"EXITBOT_RETENTION_DAYS": "999999"}, "EXITBOT_RETENTION_DAYS must be at most 3650"),
        ({"EXITBOT_INVITE_LEAD_DAYS": "999999"}, "EXITBOT_INVITE_LEAD_DAYS must be at most 60"),
        ({"EXITBOT_EXPIRY_GRACE_HOURS": "99999999"}, "EXITBOT_EXPIRY_GRACE_HOURS must be at"),
        ({"EXITBOT_TICK_SECONDS": "86400"}, "EXITBOT_TICK_SECONDS must be at most 3600"),
        ({"EXITBOT_TIMEZONE": "Mars/Olympus"}, "EXITBOT_TIMEZONE"),
        ({"EXITBOT_LANGUAGE": "fr"}, "EXITBOT_LANGUAGE"),
        ({"EXITBOT_DIGEST_QUOTES": "maybe"}, "EXITBOT_DIGEST_QUOTES"),
        ({"EXITBOT_HR_CHANNEL": "#hr"}, "EXITBOT_HR_CHANNEL"),
        ({"EXITBOT_HOLIDAYS": "XX"}, "EXITBOT_HOLIDAYS"),
        ({"EXITBOT_LOG_FORMAT": "xml"}, "EXITBOT_LOG_FORMAT"),
        ({"EXITBOT_POLICY_DISMISSAL": "always"}, "EXITBOT_POLICY_DISMISSAL"),
        ({"EXITBOT_METRICS_TOKEN": "short-token"}, "EXITBOT_METRICS_TOKEN must be at least 16"),
        ({"EXITBOT_METRICS_TOKEN": "a token with spaces"}, "EXITBOT_METRICS_TOKEN may hold only"),
        ({"EXITBOT_METRICS_TOKEN": "tökentökentökentöken"}, "EXITBOT_METRICS_TOKEN may hold only"),
        ({"EXITBOT_DIGEST_CRON": "every month"}, "EXITBOT_DIGEST_CRON must be a 5-field"),
        ({"EXITBOT_DIGEST_CRON": "0 9 32 * *"}, "EXITBOT_DIGEST_CRON"),
        ({"EXITBOT_DIGEST_CRON": "0 9 * * 8"}, "EXITBOT_DIGEST_CRON.*weekday '8'"),
        ({"EXITBOT_DIGEST_CRON": "0 9 * * fri-mon"}, "EXITBOT_DIGEST_CRON.*runs backwards"),
        ({"EXITBOT_WEBHOOK_SECRET": f"{GOOD_SECRET},whsec_oldtypo"}, "SECRET: webhook secret #2"),
        ({"EXITBOT_WEBHOOK_SECRET": "not-a-whsec"}, "EXITBOT_WEBHOOK_SECRET"),
        ({"EXITBOT_PUBLIC_URL": "exitbot.example.com"}, "EXITBOT_PUBLIC_URL must be an http"),
        ({"EXITBOT_SLACK_API_URL": "notaurl"}, "EXITBOT_SLACK_API_URL"),
        ({"EXITBOT_TEAMS_SERVICE_URL": "notaurl"}, "EXITBOT_TEAMS_SERVICE_URL"),
        ({"EXITBOT_SMTP_URL": "http://127.0.0.1:25"}, "EXITBOT_SMTP_URL"),
        ({"EXITBOT_HR_ADMINS": "hr@example.com,hr team"}, "EXITBOT_HR_ADMINS"),
        ({"EXITBOT_HR_CHANNEL": "teams:"}, "EXITBOT_HR_CHANNEL"),
        ({"EXITBOT_DATABASE_URL": "mysql://root@127.0.0.1/exitbot"}, "unsupported database"),
        ({"EXITBOT_DATABASE_URL": "not a url"}, "EXITBOT_DATABASE_URL must look like"),
    ],
)
def test_bad_values_are_refused_naming_the_variable(env: dict[str, str], names: str) -> None:
    with pytest.raises(ConfigError, match=names) as refused:
        Settings.from_env(env, None)
    assert GOOD_SECRET not in str(refused.value)  # a secret is never repeated


def test_a_metrics_token_is_never_repeated() -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({"EXITBOT_METRICS_TOKEN": "s3cret-but-short"[:12]}, None)
    assert "s3cret" not in str(refused.value)
    token = "0123456789abcdef-metrics"
    settings = Settings.from_env({"EXITBOT_METRICS_TOKEN": f" {token} "}, None)
    assert settings.metrics_token == token
    assert token not in repr(settings)
    assert Settings.from_env({}, None).metrics_token is None


def test_policy_values_are_taken_in_any_case() -> None:
    settings = Settings.from_env(
        {"EXITBOT_POLICY_DISMISSAL": "Approval", "EXITBOT_POLICY_OTHER": " AUTO "}, None
    )
    assert settings.policy["dismissal"] == "approval"
    assert settings.policy["other"] == "auto"


def test_good_values_of_the_checked_variables_are_accepted() -> None:
    settings = Settings.from_env(
        {
            "EXITBOT_DIGEST_CRON": "30 8 * * 1",
            "EXITBOT_WEBHOOK_SECRET": f"{GOOD_SECRET}, {GOOD_SECRET}",
            "EXITBOT_PUBLIC_URL": "https://exitbot.example.com/",
            "EXITBOT_SMTP_URL": "smtp://user:pass@127.0.0.1:587",
            "EXITBOT_HR_ADMINS": "HR@Example.com, people@example.com",
            "EXITBOT_HR_CHANNEL": "teams:19:abc@thread.tacv2",
        },
        None,
    )
    assert settings.digest_cron == "30 8 * * 1"
    assert settings.public_url == "https://exitbot.example.com"
    assert settings.hr_admins == ("hr@example.com", "people@example.com")


def test_a_postgres_url_as_hosts_hand_it_out_is_postgresql() -> None:
    url = "postgres://exitbot:pw@db.internal:5432/exitbot"
    settings = Settings.from_env({"EXITBOT_DATABASE_URL": url}, None)
    assert settings.database_url == "postgresql://exitbot:pw@db.internal:5432/exitbot"


def test_links_of_a_server_on_another_port_point_at_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """`exitbot serve --port 8080` without EXITBOT_PUBLIC_URL: links said 3978. Checked on
    the app `exitbot serve` builds (aiohttp's run_app only records it here)."""
    import argparse
    import asyncio

    from aiohttp import web

    from bot.app import RUNTIME
    from bot.cli import serve

    def public_url_served(env: dict[str, str], port: int) -> str:
        built: list[web.Application] = []
        monkeypatch.setattr(serve.web, "run_app", lambda app, **_: built.append(app))
        args = argparse.Namespace(host=None, port=port, as_of=None)
        serve.run(args, Settings.from_env(env, None))
        runtime = built[0][RUNTIME]
        asyncio.run(runtime.close())
        return runtime.settings.public_url

    assert public_url_served({}, 8080) == "http://127.0.0.1:8080"
    assert public_url_served({}, 3978) == "http://127.0.0.1:3978"
    chosen = {"EXITBOT_PUBLIC_URL": "https://exitbot.example.com"}
    assert public_url_served(chosen, 8080) == "https://exitbot.example.com"
