"""TeamsChannel towards the connector: digests into a channel, retries, reachability."""

from __future__ import annotations

import asyncio
import base64
import time
from datetime import date, datetime, timedelta

import pytest
from botbuilder.schema import ErrorResponseException
from sqlalchemy import select

from adapters.base import Report, ReportSection, Unreachable
from bot.digest import DigestData, Ranked, Ranking
from bot.digest_render import render_report
from bot.models import Interview
from bot.tick import run_tick
from conversations import OutMessage
from tests.teams.harness import ADMIN, HR_CHANNEL, TeamsHarness, read_message

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def digest_report() -> Report:
    reasons = Ranking(6, (Ranked("pay_benefits", 4), Ranked("career_growth", 2)))
    data = DigestData(
        language="en",
        k=5,
        through="2026-11",
        period_end=date(2026, 11, 30),
        window_end=datetime(2026, 12, 1, tzinfo=None).astimezone(),
        count=6,
        reasons=reasons,
    )
    return render_report(data)


async def bot_added_to_hr_team(teams: TeamsHarness) -> None:
    update = teams.connector.conversation_update_activity(["28:bot"], conversation_id=HR_CHANNEL)
    update["conversation"]["conversationType"] = "channel"
    update["channelData"]["team"] = {"id": HR_CHANNEL}
    assert await teams.post(update) == 201


async def test_digest_card_is_posted_into_the_hr_channel(teams: TeamsHarness) -> None:
    await bot_added_to_hr_team(teams)
    report = digest_report()
    await teams.channel.post_report(HR_CHANNEL, report)
    [create] = teams.connector.activities
    assert (create.verb, create.path) == ("POST", "/v3/conversations")
    assert create.body["isGroup"] is True
    assert create.body["channelData"]["channel"]["id"] == HR_CHANNEL
    assert create.body["channelData"]["tenant"]["id"] == "tenant1"
    posted = read_message(create)
    assert posted.card is not None and posted.text.startswith(report.title)
    assert any(e["type"] == "FactSet" for e in posted.card["body"])
    [image] = [e for e in posted.card["body"] if e["type"] == "Image"]
    prefix = "data:image/png;base64,"
    assert image["url"].startswith(prefix)
    assert base64.b64decode(image["url"][len(prefix) :]).startswith(PNG_MAGIC)
    assert image["altText"] == report.image_alt
    assert teams.connector.conversations[create.response["id"]]  # the new thread holds it


async def test_digest_without_a_channel_reference_uses_the_configured_service_url(
    make_teams,
) -> None:
    teams = await make_teams(teams_service_url="http://127.0.0.1:9/unused/")
    target = await teams.channel.ports.report_target(HR_CHANNEL)
    assert target is not None and target.service_url == "http://127.0.0.1:9/unused/"


async def test_digest_with_no_service_url_known_is_unreachable(teams: TeamsHarness) -> None:
    report = Report("Digest", (ReportSection("Short", ("Interviews: 6",)),))
    with pytest.raises(Unreachable, match="EXITBOT_TEAMS_SERVICE_URL"):
        await teams.channel.post_report(HR_CHANNEL, report)


async def test_a_429_is_waited_out_honouring_retry_after(teams: TeamsHarness) -> None:
    assert await teams.post(teams.install()) == 201

    async def really_sleep(delay: float) -> None:
        teams.delays.append(delay)
        await asyncio.sleep(delay)

    teams.channel.sleep = really_sleep
    teams.connector.fail_next(429, retry_after=1, path_contains="/activities/")
    started = time.monotonic()
    await teams.channel.send("a:conv1", [OutMessage("info", "Hello")], key="k1")
    assert time.monotonic() - started >= 1.0
    assert teams.delays == [1.0]
    assert [c.status for c in teams.connector.activities] == [429, 201]
    assert teams.connector.activities[1].body["text"] == "Hello"


async def test_transient_errors_back_off_then_give_up(teams: TeamsHarness) -> None:
    assert await teams.post(teams.install()) == 201
    teams.connector.fail_next(503)
    await teams.channel.send("a:conv1", [OutMessage("info", "One")], key="k2")
    assert teams.delays == [1.0]  # no Retry-After: exponential backoff from 1 s
    for _ in range(4):
        teams.connector.fail_next(502)
    with pytest.raises(ErrorResponseException):
        await teams.channel.send("a:conv1", [OutMessage("info", "Two")], key="k3")
    assert teams.delays == [1.0, 1.0, 2.0, 4.0]
    assert teams.connector.activities[-1].status == 502


async def test_a_batch_cut_short_is_not_sent_twice(teams: TeamsHarness) -> None:
    assert await teams.post(teams.install()) == 201
    messages = [OutMessage("info", "First"), OutMessage("info", "Second")]
    await teams.channel.send("a:conv1", messages[:1], key="batch")  # then the process died
    teams.connector.activities.clear()
    await teams.channel.send("a:conv1", messages, key="batch")  # the job is redone
    assert [c.body["text"] for c in teams.connector.activities] == ["Second"]


async def test_someone_without_the_app_is_unreachable_and_admins_are_told(
    teams: TeamsHarness,
) -> None:
    with pytest.raises(Unreachable, match="app not installed for this user"):
        await teams.channel.open_conversation("nobody@example.com")
    teams.connector.add_member("29:hr", ADMIN, "Hetty HR")
    await teams.post(
        teams.connector.installation_update_activity(user_id="29:hr", conversation_id="a:hr")
    )
    departure = {
        "type": "departure.created",
        "departure": {
            "id": "hr-1",
            "kind": "resignation",
            "last_working_day": "2026-12-18",
            "employee": {"email": "nobody@example.com", "name": "No Body"},
        },
    }
    assert (await teams.post_webhook(departure))[0] == 202
    teams.clock.advance(timedelta(days=14))
    report = await run_tick(teams.runtime)
    assert report["unreachable"] == 1
    async with teams.runtime.db.sessions() as session:
        assert await session.scalar(select(Interview.status)) == "unreachable"
    told = teams.new_messages()[0]  # (the web-chat fallback may add a link offer after it)
    assert told.call.conversation_id == "a:hr"
    assert told.text == (  # Hetty's Teams is Dutch: the adapter's English reason, worded
        "Ik kon de uitnodiging voor het exitgesprek van No Body (vertrek hr-1) niet afleveren: "
        "de ExitBot-app is in Teams niet voor deze persoon geïnstalleerd. Via chat probeer ik "
        "het niet opnieuw."
    )


async def test_an_invite_refused_by_the_connector_is_told_without_its_error_code(
    teams: TeamsHarness,
) -> None:
    """Teams refuses the invite itself (403): the English-speaking admin reads that the app
    is not installed for the employee, not the adapter's "(ServiceError)" after it."""
    assert await teams.post(teams.install()) == 201  # Anna
    teams.connector.add_member("29:hr", ADMIN, "Hetty HR")
    admin = teams.connector.installation_update_activity(user_id="29:hr", conversation_id="a:hr")
    admin["locale"] = "en-GB"
    await teams.post(admin)
    departure = {
        "type": "departure.created",
        "departure": {
            "id": "hr-2",
            "kind": "resignation",
            "last_working_day": "2026-12-18",
            "employee": {"email": "anna@example.com", "name": "Anna de Vries"},
        },
    }
    assert (await teams.post_webhook(departure))[0] == 202
    teams.new_messages()
    teams.connector.fail_next(403, path_contains="/v3/conversations/a:conv1/activities")
    teams.clock.advance(timedelta(days=14))
    report = await run_tick(teams.runtime)
    assert (report["unreachable"], report["invites sent"]) == (1, 0)
    async with teams.runtime.db.sessions() as session:
        note = await session.scalar(select(Interview.note))
    assert note == "teams: app not installed for this user (ServiceError)"
    told = next(m for m in teams.new_messages() if m.call.conversation_id == "a:hr")
    assert told.text == (
        "I could not deliver the exit-interview invite for Anna de Vries (departure hr-2): "
        "the ExitBot app is not installed for them in Teams. No further attempts will be "
        "made in chat."
    )


async def test_a_team_member_gets_a_new_personal_chat(teams: TeamsHarness) -> None:
    teams.connector.add_member("29:cas", "cas@example.com", "Cas")
    update = teams.connector.conversation_update_activity(
        ["29:cas"], conversation_id="19:team@thread.tacv2", user_id="29:owner"
    )
    update["conversation"]["conversationType"] = "channel"
    update["channelData"]["team"] = {"id": "19:team@thread.tacv2"}
    assert await teams.post(update) == 201
    opened = await teams.channel.open_conversation("cas@example.com")
    create = next(c for c in teams.connector.calls if c.path == "/v3/conversations")
    assert create.body["members"] == [{"id": "29:cas"}] and create.body["isGroup"] is False
    assert opened.conversation_id == create.response["id"]
    await teams.channel.send(opened.conversation_id, [OutMessage("intro", "Hi Cas")], key="k")
    assert teams.connector.activities[-1].conversation_id == opened.conversation_id
    again = await teams.channel.open_conversation("cas@example.com")
    assert again.conversation_id == opened.conversation_id  # stored, not created twice


async def test_uninstalling_forgets_the_reference(teams: TeamsHarness) -> None:
    assert await teams.post(teams.install()) == 201
    assert (await teams.channel.open_conversation("anna@example.com")).conversation_id == "a:conv1"
    removal = teams.connector.installation_update_activity(action="remove")
    assert await teams.post(removal) == 201
    with pytest.raises(Unreachable, match="app not installed"):
        await teams.channel.open_conversation("anna@example.com")
    with pytest.raises(Unreachable):
        await teams.channel.send("a:conv1", [OutMessage("info", "Hi")], key="gone")


async def test_a_403_from_the_connector_means_unreachable(teams: TeamsHarness) -> None:
    assert await teams.post(teams.install()) == 201
    teams.connector.fail_next(403, path_contains="/activities/")
    with pytest.raises(Unreachable, match="app not installed for this user"):
        await teams.channel.send("a:conv1", [OutMessage("info", "Hi")], key="k403")
    assert teams.delays == []  # not retried
    with pytest.raises(Unreachable):
        await teams.channel.open_conversation("anna@example.com")


async def test_the_scheduled_digest_reaches_the_teams_hr_channel(teams: TeamsHarness) -> None:
    from bot.digest_post import post_digest_now
    from bot.models import InterviewFact

    await bot_added_to_hr_team(teams)
    async with teams.runtime.db.transaction() as session:
        session.add(InterviewFact(interview_id=None, period="2026-11"))  # one: fewer than k
    result = await post_digest_now(teams.runtime)
    assert result.status == "waiting"
    [create] = teams.connector.activities
    assert create.path == "/v3/conversations"
    assert create.body["channelData"]["channel"]["id"] == HR_CHANNEL
    posted = read_message(create)
    assert posted.card is not None and "waiting" in posted.text.lower()
