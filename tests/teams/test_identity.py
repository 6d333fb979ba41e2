"""Who is who: install events, conversation updates and messages store the reference and
link the Teams user to the employee by the email Teams reports."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from bot.models import Employee, PlatformIdentity
from tests.teams.harness import TeamsHarness


async def identity(
    harness: TeamsHarness, user_id: str, platform: str = "teams"
) -> PlatformIdentity:
    async with harness.runtime.db.sessions() as session:
        found = await session.get(PlatformIdentity, (platform, user_id))
    assert found is not None
    return found


async def email_of(harness: TeamsHarness, employee_id: int | None) -> str | None:
    async with harness.runtime.db.sessions() as session:
        return await session.scalar(select(Employee.email).where(Employee.id == employee_id))


async def test_install_stores_reference_and_email(teams: TeamsHarness) -> None:
    status = await teams.post(teams.install(email="Anna@Example.com", activity_id="inst-1"))
    assert status == 201
    found = await identity(teams, "29:user1")
    assert found.conversation_id == "a:conv1"
    assert found.reference is not None
    assert found.reference["serviceUrl"] == teams.connector.service_url
    assert found.reference["conversation"] == {
        "conversationType": "personal",
        "id": "a:conv1",
        "tenantId": "tenant1",
    }
    assert found.reference["user"]["id"] == "29:user1"
    assert await email_of(teams, found.employee_id) == "anna@example.com"
    [lookup] = [c for c in teams.connector.calls if c.verb == "GET"]
    assert lookup.path == "/v3/conversations/a:conv1/members/29:user1"
    assert teams.connector.activities == []  # installing says nothing by itself


async def test_conversation_update_and_messages_store_it_too(teams: TeamsHarness) -> None:
    teams.connector.add_member("29:user2", "bo@example.com", "Bo")
    update = teams.connector.conversation_update_activity(
        ["28:bot"], user_id="29:user2", conversation_id="a:conv2"
    )
    assert await teams.post(update) == 201
    found = await identity(teams, "29:user2")
    assert found.conversation_id == "a:conv2"
    assert await email_of(teams, found.employee_id) == "bo@example.com"

    message = teams.connector.message_activity(
        "hallo", user_id="29:user2", conversation_id="a:conv3"
    )
    assert await teams.post(message) == 201
    found = await identity(teams, "29:user2")
    assert found.conversation_id == "a:conv3"  # the newest personal conversation wins
    assert found.locale == "nl-NL" and found.timezone == "Europe/Amsterdam"
    lookups = [c for c in teams.connector.calls if c.verb == "GET"]
    assert len(lookups) == 1  # the email is looked up once per user, then cached


async def test_unknown_member_is_stored_without_email(teams: TeamsHarness) -> None:
    status = await teams.post(teams.connector.installation_update_activity(user_id="29:ghost"))
    assert status == 201
    found = await identity(teams, "29:ghost")
    assert found.employee_id is None and found.reference is not None


async def test_bot_added_to_a_team_stores_the_channel(teams: TeamsHarness) -> None:
    update = teams.connector.conversation_update_activity(
        [{"id": "28:bot"}], conversation_id="19:general@thread.tacv2"
    )
    update["conversation"]["conversationType"] = "channel"
    update["channelData"]["team"] = {"id": "19:general@thread.tacv2"}
    assert await teams.post(update) == 201
    found = await identity(teams, "19:general@thread.tacv2", platform="teams-channel")
    assert found.employee_id is None
    assert (
        found.reference is not None and found.reference["serviceUrl"] == teams.connector.service_url
    )


async def test_install_events_arriving_together_store_one_identity(
    make_teams, database_url: str
) -> None:
    teams = await make_teams(database_url=database_url)
    install = teams.install(user_id="29:new", email="new@example.com", conversation_id="a:new")
    update = teams.connector.conversation_update_activity(
        ["28:bot"], user_id="29:new", conversation_id="a:new"
    )
    message = teams.connector.message_activity("hi", user_id="29:new", conversation_id="a:new")
    statuses = await asyncio.gather(*(teams.post(a) for a in (install, update, message)))
    assert statuses == [201, 201, 201]
    found = await identity(teams, "29:new")
    assert found.conversation_id == "a:new"
    assert await email_of(teams, found.employee_id) == "new@example.com"


async def test_a_message_without_channel_data_is_answered_not_a_500(teams: TeamsHarness) -> None:
    """The Bot Framework Emulator (and other clients) may send no `channelData`; Teams'
    member lookup then fails inside botbuilder. The user is stored without an email."""
    message = teams.connector.message_activity("hallo", user_id="29:bare", conversation_id="a:b1")
    del message["channelData"]
    assert await teams.post(message) == 201
    found = await identity(teams, "29:bare")
    assert found.employee_id is None
