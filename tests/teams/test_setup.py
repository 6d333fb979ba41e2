"""Credentials, anonymous mode and the endpoint's answers."""

from __future__ import annotations

import logging

import aiohttp
import pytest

from adapters.teams_ports import TeamsConfigError, TeamsCredentials
from bot.config import ConfigError, Settings
from bot.teams_plugin import build_channel, hr_command
from tests.teams.harness import TeamsHarness

APP_ID = "11111111-2222-3333-4444-555555555555"


async def test_with_an_app_id_a_request_without_a_valid_token_gets_401(make_teams) -> None:
    teams = await make_teams(
        teams_app_id=APP_ID, teams_app_password="secret", teams_tenant_id="tenant1"
    )
    activity = teams.connector.message_activity("hello")
    assert await teams.post(activity) == 401
    assert await teams.post(activity, headers={"Authorization": "Bearer not-a-jwt"}) == 401
    assert teams.connector.calls == []  # nothing reached the bot


async def test_anonymous_mode_warns_loudly(make_teams, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.teams_plugin"):
        await make_teams()
    [warning] = [r for r in caplog.records if r.name == "bot.teams_plugin"]
    assert warning.levelno == logging.WARNING
    assert "ANONYMOUS MODE" in warning.getMessage()


async def test_teams_is_off_without_an_app_id_or_the_flag(make_teams) -> None:
    teams = await make_teams(teams_enabled=False)
    assert await teams.post(teams.connector.message_activity("hi")) == 404
    assert "teams" not in teams.runtime.service.channels


def test_settings_turn_teams_on() -> None:
    assert not Settings.from_env({}, env_file=None).teams_enabled
    assert Settings.from_env({"EXITBOT_TEAMS": "on"}, env_file=None).teams_enabled
    with_id = Settings.from_env({"MicrosoftAppId": APP_ID}, env_file=None)
    assert with_id.teams_enabled and with_id.teams_app_type == "SingleTenant"


def test_sdk_configuration() -> None:
    anonymous = TeamsCredentials().sdk_config()
    assert vars(anonymous) == {"APP_ID": "", "APP_PASSWORD": ""}  # no APP_TYPE: it would raise
    single = TeamsCredentials(APP_ID, "pw", "singletenant", "t1").sdk_config()
    assert vars(single) == {
        "APP_ID": APP_ID,
        "APP_PASSWORD": "pw",
        "APP_TYPE": "SingleTenant",
        "APP_TENANTID": "t1",
    }
    with pytest.raises(TeamsConfigError, match="MicrosoftAppTenantId"):
        TeamsCredentials(APP_ID, "pw").sdk_config()
    with pytest.raises(TeamsConfigError, match="MicrosoftAppPassword"):
        TeamsCredentials(APP_ID, "", "MultiTenant").sdk_config()
    with pytest.raises(TeamsConfigError, match="MicrosoftAppType"):
        TeamsCredentials(APP_ID, "pw", "Galactic", "t1").sdk_config()


async def test_unusable_credentials_are_a_configuration_error(teams: TeamsHarness) -> None:
    runtime = teams.runtime
    runtime.settings = runtime.settings.with_(teams_app_id=APP_ID, teams_app_password="pw")
    with pytest.raises(ConfigError, match="MicrosoftAppTenantId is required"):
        build_channel(runtime)


async def test_bad_requests(teams: TeamsHarness) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(teams.url, data="x", headers={"Content-Type": "text/plain"}) as r:
            assert r.status == 415
        bad = {"Content-Type": "application/json"}
        async with session.post(teams.url, data="{not json", headers=bad) as r:
            assert r.status == 400
        async with session.post(teams.url, json={"text": "no type"}) as r:
            assert r.status == 400


@pytest.mark.parametrize(
    ("text", "admin", "command"),
    [
        ("status", False, "status"),  # anyone: others get a polite refusal
        ("Approvals", False, "Approvals"),
        ("digest preview", True, "digest preview"),
        ("start anna@example.com 2026-12-18", True, "start anna@example.com 2026-12-18"),
        ("start <@29:anna> 18-12-2026 gone", True, "start <@29:anna> 18-12-2026 gone"),
        # a kind written with a hyphen reaches the command (which reads or refuses it)
        (
            "start a@example.com 2026-12-18 contract-end",
            True,
            "start a@example.com 2026-12-18 contract-end",
        ),
        # a kind's name of more than one word, as the usage lists them
        (
            "start a@example.com 2026-12-18 ontslag op eigen verzoek",
            False,
            "start a@example.com 2026-12-18 ontslag op eigen verzoek",
        ),
        # a longer sentence stays an answer
        ("start me 2026-12-18 and then we will talk about it", True, None),
        ("hr", True, "help"),
        ("HR help", True, "help"),
        ("hr status", True, "status"),
        ("start", True, None),  # the answer to an invite
        ("help", True, None),  # the interview's help
        ("status was never discussed with me", False, None),
        ("I'd start by hiring more people", False, None),
        # answers that begin with HR, from a leaver and from an HR admin who is leaving
        ("HR heeft nooit iets gedaan met mijn klachten", False, None),
        ("HR heeft nooit iets gedaan met mijn klachten", True, None),
        ("HR", False, None),
        ("hr help", False, None),  # only admins have commands behind the prefix
        # the Dutch words; "overzicht" alone is also a likely answer: a command from admins only
        ("goedkeuringen", False, "goedkeuringen"),
        ("overzicht voorbeeld", False, "overzicht voorbeeld"),
        ("Overzicht", True, "Overzicht"),
        ("Overzicht", False, None),
        ("hr overzicht", True, "overzicht"),
        ("hr hulp", True, "hulp"),
    ],
)
def test_what_counts_as_an_hr_command(text: str, admin: bool, command: str | None) -> None:
    assert hr_command(text, admin=admin) == command
