"""A departure whose kind changes around an HR admin's approval, in Slack: the request HR
already has, its buttons, the webhook's answers and `status`. Through the signed webhook, the
tick and the real Bolt app against the fake Slack API, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.config import DEFAULT_POLICY
from bot.models import Departure, Interview
from tests.slack.harness import ADMIN, ADMIN_ID, SlackHarness, buttons
from tests.slack.test_hr_commands import command, departure_payload, status_lines

DUTCH_ADMIN, DUTCH_ADMIN_ID = "hr.nl@example.com", "UHR0002"


def changed(payload: dict[str, Any], kind: str) -> dict[str, Any]:
    """The HR system's `departure.updated` for the same departure, now of `kind`."""
    return {
        "type": "departure.updated",
        "departure": {**payload["departure"], "kind": kind},
    }


async def stored(slack: SlackHarness, departure_id: str) -> tuple[str, str | None, list[str]]:
    """(decision, decided by, its interviews' statuses, oldest first)."""
    async with slack.runtime.db.sessions() as session:
        row = await session.scalar(select(Departure).where(Departure.external_id == departure_id))
        assert row is not None
        statuses = await session.scalars(
            select(Interview.status).where(Interview.departure_id == row.id).order_by(Interview.id)
        )
        return row.decision, row.decided_by, list(statuses)


async def two_admins(fake: Any, make_slack: Any, database_url: str, **changes: Any) -> SlackHarness:
    """An English and a Dutch HR admin (EXITBOT_LANGUAGE English)."""
    fake.add_user(DUTCH_ADMIN_ID, DUTCH_ADMIN, "Henk Beheer", locale="nl-NL")
    return await make_slack(
        database_url=database_url, hr_admins=(ADMIN, DUTCH_ADMIN), language="en", **changes
    )


def updates_of(slack: SlackHarness, message: dict) -> int:
    """How many times Slack was asked to change this message."""
    return sum(c.args.get("ts") == message["ts"] for c in slack.fake.calls_to("chat.update"))


async def clicked(slack: SlackHarness, user: str, message: dict, value: str, dm: str) -> dict:
    """Click a button on a request in an admin's DM; the request as Slack shows it after
    (other admins' requests may change first)."""
    updates = updates_of(slack, message)
    assert await slack.click(user, message, value, channel=dm) == 200
    await slack.until(lambda: updates_of(slack, message) > updates, "the answer")
    [now] = [m for m in slack.messages(dm) if m["ts"] == message["ts"]]
    return now


def note(message: dict) -> str:
    """What a request says under it once answered."""
    text: str = message["blocks"][-1]["elements"][0]["text"]
    return text


async def test_a_new_kind_that_needs_approval_too_asks_again_and_the_old_request_decides_nothing(
    fake, make_slack, database_url
):
    """A contract end waits for approval; the HR system makes it a dismissal, which needs
    approval too (EXITBOT_POLICY_DISMISSAL=approval). HR was not asked again: the request
    they had named a contract end, and its Approve approved the dismissal. Now each admin
    gets a new request naming the new kind in their own language; the old one's buttons say
    it was replaced, in the clicker's language, and decide nothing; the new one decides."""
    slack = await two_admins(
        fake, make_slack, database_url, policy={**DEFAULT_POLICY, "dismissal": "approval"}
    )
    english, dutch = slack.fake.dm_channel_id(ADMIN_ID), slack.fake.dm_channel_id(DUTCH_ADMIN_ID)
    created = departure_payload("hr-9", "contract_end", "d@example.com", "Dirk")
    assert (await slack.post_webhook(created))[1]["status"] == "awaiting_approval"
    assert (await slack.tick())["approval requests sent"] == 1
    [old_en], [old_nl] = slack.messages(english), slack.messages(dutch)
    assert "Dirk (Sales) is leaving (contract end, last working day" in old_en["text"]
    assert "Dirk (Sales) vertrekt (einde contract, laatste werkdag" in old_nl["text"]

    slack.clock.advance(timedelta(minutes=5))
    status, answer = await slack.post_webhook(changed(created, "dismissal"))
    assert (status, answer) == (202, {"status": "awaiting_approval", "departure_id": "hr-9"})
    assert (await slack.tick())["approval requests sent"] == 1
    assert (await slack.tick())["approval requests sent"] == 0  # asked once
    [_, new_en], [_, new_nl] = slack.messages(english), slack.messages(dutch)
    assert new_en["text"].startswith("Approval needed: Dirk (Sales) is leaving (dismissal, ")
    assert new_nl["text"].startswith("Goedkeuring nodig: Dirk (Sales) vertrekt (ontslag, ")
    assert status_lines(await command(slack, ADMIN_ID, "status"))[:2] == [
        "Awaiting approval: 1",
        "Invite to be sent: 0",
    ]
    listed = await command(slack, DUTCH_ADMIN_ID, "goedkeuringen")
    assert "Dirk (Sales): ontslag, laatste werkdag 2026-12-18 (vertrek hr-9)" in listed["text"]

    # The old request: replaced, said in each clicker's language; nothing decided. (The tick
    # took its buttons away, test_closed_approval_requests.py; these clicks come from the
    # request as it was: a screen not yet refreshed, or a change Slack refused.)
    old_nl = await clicked(slack, DUTCH_ADMIN_ID, old_nl, "approve#1:hr-9", dutch)
    assert not buttons(old_nl)
    assert note(old_nl).startswith(
        "✔ Goedkeuren: Dit verzoek voor vertrek hr-9 is vervangen door een nieuwer verzoek: "
        "het vertrek is gewijzigd sinds het werd verstuurd. Er is niets besloten"
    )
    old_en = await clicked(slack, ADMIN_ID, old_en, "skip#1:hr-9", english)
    assert note(old_en).startswith(
        "✔ Skip: This request for departure hr-9 was replaced by a newer one: the departure "
        "changed since it was sent. Nothing was decided"
    )
    assert await stored(slack, "hr-9") == ("awaiting_approval", None, [])
    assert status_lines(await command(slack, ADMIN_ID, "status"))[0] == "Awaiting approval: 1"

    # The new request decides.
    new_en = await clicked(slack, ADMIN_ID, new_en, "approve#2:hr-9", english)
    assert note(new_en).startswith("✔ Approve: Approved: the invite for hr-9 goes out ")
    assert await stored(slack, "hr-9") == ("approved", ADMIN, ["scheduled"])
    assert status_lines(await command(slack, ADMIN_ID, "status"))[:2] == [
        "Awaiting approval: 0",
        "Invite to be sent: 1",
    ]


async def test_a_button_from_before_requests_were_numbered_decides_only_the_first_round(
    fake, make_slack, database_url
):
    """Requests sent before their buttons carried the round (`approve:<id>`) still decide a
    departure that has waited once, and say "replaced" once its kind changed since."""
    slack = await two_admins(
        fake, make_slack, database_url, policy={**DEFAULT_POLICY, "dismissal": "approval"}
    )
    dutch = slack.fake.dm_channel_id(DUTCH_ADMIN_ID)
    for departure_id, name in (("hr-7", "Bea"), ("hr-9", "Dirk")):
        payload = departure_payload(departure_id, "contract_end", f"{name}@example.com", name)
        await slack.post_webhook(payload)
    await slack.tick()
    old_style = [
        json.loads(
            json.dumps(request).replace('"approve#1:', '"approve:').replace('"skip#1:', '"skip:')
        )
        for request in slack.messages(dutch)
    ]
    bea, dirk = sorted(old_style, key=lambda request: "Dirk" in request["text"])
    slack.clock.advance(timedelta(minutes=5))
    dirk_created = departure_payload("hr-9", "contract_end", "Dirk@example.com", "Dirk")
    await slack.post_webhook(changed(dirk_created, "dismissal"))

    dirk = await clicked(slack, DUTCH_ADMIN_ID, dirk, "approve:hr-9", dutch)
    assert note(dirk).startswith("✔ Goedkeuren: Dit verzoek voor vertrek hr-9 is vervangen")
    assert (await stored(slack, "hr-9"))[0] == "awaiting_approval"
    bea = await clicked(slack, DUTCH_ADMIN_ID, bea, "approve:hr-7", dutch)
    assert note(bea).startswith("✔ Goedkeuren: Goedgekeurd: de uitnodiging voor hr-7 gaat ")
    assert (await stored(slack, "hr-7"))[:2] == ("approved", DUTCH_ADMIN)


@pytest.mark.parametrize(
    ("kind", "answer", "interviews", "counts"),
    [
        (
            "resignation",
            {"status": "scheduled", "interview": "scheduled"},
            ["scheduled"],
            ["Awaiting approval: 0", "Invite to be sent: 2"],  # hr-9 and hr-10
        ),
        (
            "dismissal",
            {"status": "not_invited", "reason_code": "needs_hr_admin"},
            [],
            ["Awaiting approval: 0", "Invite to be sent: 0"],
        ),
    ],
)
async def test_a_new_kind_without_approval_leaves_the_request_nothing_to_decide(
    fake, make_slack, database_url, kind, answer, interviews, counts
):
    """A contract end waits; the HR system makes it a resignation (invited automatically) or
    a dismissal (only by an HR admin's start). The request HR has decides nothing any more:
    its Approve says the departure no longer waits, in the clicker's language, and neither
    approves a dismissal nor touches the resignation's invite. A request not sent yet when
    the kind changed is never sent."""
    slack = await two_admins(fake, make_slack, database_url)
    dutch = slack.fake.dm_channel_id(DUTCH_ADMIN_ID)
    created = departure_payload("hr-9", "contract_end", "d@example.com", "Dirk")
    await slack.post_webhook(created)
    assert (await slack.tick())["approval requests sent"] == 1
    [request] = slack.messages(dutch)
    unsent = departure_payload("hr-10", "contract_end", "e@example.com", "Eva")
    await slack.post_webhook(unsent)

    slack.clock.advance(timedelta(minutes=5))
    status, changed_answer = await slack.post_webhook(changed(created, kind))
    assert status == 202
    assert {k: changed_answer.get(k) for k in answer} == answer
    await slack.post_webhook(changed(unsent, kind))
    assert (await slack.tick())["approval requests sent"] == 0
    assert len(slack.messages(dutch)) == 1
    assert status_lines(await command(slack, ADMIN_ID, "status"))[:2] == counts

    request = await clicked(slack, DUTCH_ADMIN_ID, request, "approve#1:hr-9", dutch)
    assert note(request) == "✔ Goedkeuren: Vertrek hr-9 wacht niet (meer) op goedkeuring."
    decision = "auto" if kind == "resignation" else "not_invited"
    assert await stored(slack, "hr-9") == (decision, None, interviews)
    assert status_lines(await command(slack, ADMIN_ID, "status"))[:2] == counts


async def test_a_scheduled_departure_whose_new_kind_needs_approval_waits_for_it(
    fake, make_slack, database_url
):
    """A resignation is scheduled (its invite not sent yet); the HR system makes it a contract
    end. The invite waits for an HR admin: each is asked, naming the contract end in their
    own language, no invite goes out meanwhile, and the webhook's answer and `status` say
    one departure awaits approval and no invite is to be sent or has ended."""
    slack = await two_admins(fake, make_slack, database_url)
    english, dutch = slack.fake.dm_channel_id(ADMIN_ID), slack.fake.dm_channel_id(DUTCH_ADMIN_ID)
    created = departure_payload("hr-9", "resignation", "d@example.com", "Dirk")
    assert (await slack.post_webhook(created))[1]["status"] == "scheduled"
    assert status_lines(await command(slack, ADMIN_ID, "status"))[:2] == [
        "Awaiting approval: 0",
        "Invite to be sent: 1",
    ]

    slack.clock.advance(timedelta(minutes=5))
    status, answer = await slack.post_webhook(changed(created, "contract_end"))
    assert (status, answer) == (202, {"status": "awaiting_approval", "departure_id": "hr-9"})
    assert status_lines(await command(slack, ADMIN_ID, "status")) == [
        "Awaiting approval: 1",
        "Invite to be sent: 0",
        "Invite sent, not closed yet: 0",
        "Closed: 0",  # an invite withdrawn before it went out is no interview that ended
        "Could not be reached in chat: 0",
    ]
    report = await slack.tick()
    assert (report["approval requests sent"], report["invites sent"]) == (1, 0)
    [request_en], [request_nl] = slack.messages(english), slack.messages(dutch)
    assert "Dirk (Sales) is leaving (contract end, " in request_en["text"]
    assert "Dirk (Sales) vertrekt (einde contract, " in request_nl["text"]

    request_nl = await clicked(slack, DUTCH_ADMIN_ID, request_nl, "approve#1:hr-9", dutch)
    assert note(request_nl).startswith("✔ Goedkeuren: Goedgekeurd: de uitnodiging voor hr-9 ")
    assert await stored(slack, "hr-9") == ("approved", DUTCH_ADMIN, ["cancelled", "scheduled"])
    assert status_lines(await command(slack, ADMIN_ID, "status")) == [
        "Awaiting approval: 0",
        "Invite to be sent: 1",
        "Invite sent, not closed yet: 0",
        "Closed: 0",
        "Could not be reached in chat: 0",
    ]


async def test_approving_after_the_last_day_says_where_the_web_link_will_appear(
    fake, make_slack, database_url
):
    """Two contract ends wait for approval until their last day, 18 December, has passed.
    Approve answered "Approved, but not invited: …; a private web link will be offered
    instead", without when or where, while the tick makes each an interview by web link and
    sends HR admins the link. Each click now says what `start` says for such a day, in the
    clicker's language; the tick then does what it says."""
    slack = await two_admins(fake, make_slack, database_url)
    english, dutch = slack.fake.dm_channel_id(ADMIN_ID), slack.fake.dm_channel_id(DUTCH_ADMIN_ID)
    await slack.post_webhook(departure_payload("hr-9", "contract_end", "d@example.com", "Dirk"))
    await slack.post_webhook(departure_payload("hr-10", "contract_end", "e@example.com", "Eva"))
    assert (await slack.tick())["approval requests sent"] == 2
    by_name = {"Dirk": "hr-9", "Eva": "hr-10"}
    requests = {
        (channel, by_name[m["text"].split(" (Sales)")[0].split()[-1]]): m
        for channel in (english, dutch)
        for m in slack.messages(channel)
    }

    slack.clock.set(datetime(2026, 12, 21, 9, tzinfo=UTC))  # a Monday: the days have passed
    dirk = await clicked(slack, ADMIN_ID, requests[english, "hr-9"], "approve#1:hr-9", english)
    assert note(dirk).startswith(
        "✔ Approve: Approved (departure hr-9), without a chat invite: the last working day, "
        "2026-12-18, has passed. Within a minute, ExitBot makes an interview to hold by "
        "private web link. The link is emailed to the person's personal address when the HR "
        "system gave one and email is set up (EXITBOT_SMTP_URL); otherwise every HR admin "
        "gets it from ExitBot in a direct message, and `exitbot links` on the server lists "
        "it: forward it to the person privately."
    )
    eva = await clicked(slack, DUTCH_ADMIN_ID, requests[dutch, "hr-10"], "approve#1:hr-10", dutch)
    assert note(eva).startswith(
        "✔ Goedkeuren: Goedgekeurd (vertrek hr-10), zonder uitnodiging via chat: de laatste "
        "werkdag, 2026-12-18, is al voorbij. Binnen een minuut maakt ExitBot een gesprek dat "
        "via een persoonlijke weblink wordt gehouden. De link gaat per e-mail naar het "
        "privéadres van deze persoon als het HR-systeem dat heeft doorgegeven en e-mail is "
        "ingesteld (EXITBOT_SMTP_URL); anders krijgt elke HR-beheerder hem van ExitBot in een "
        "direct bericht, en `exitbot links` op de server toont hem: stuur hem zelf "
        "vertrouwelijk door."
    )
    for text in (note(dirk), note(eva)):
        assert "not invited" not in text and "niet uitgenodigd" not in text
    assert (await stored(slack, "hr-9"))[:2] == ("approved", ADMIN)
    assert (await stored(slack, "hr-10"))[:2] == ("approved", DUTCH_ADMIN)

    assert (await slack.tick())["web links for HR"] == 2  # as it said
    for channel, said in ((english, "Exit interview by web link"), (dutch, "Exitgesprek via")):
        links = [m["text"] for m in slack.messages(channel) if m["text"].startswith(said)]
        assert sorted(t.split("(")[1].split(")")[0] for t in links) == [
            "departure hr-10" if channel == english else "vertrek hr-10",
            "departure hr-9" if channel == english else "vertrek hr-9",
        ]
