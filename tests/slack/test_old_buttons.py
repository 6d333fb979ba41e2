"""Old buttons through real Bolt, on SQLite and PostgreSQL (the lean path there): the invite
reminder's Start, a pause, and Start on an invite already declined (before and after its
expiry)."""

from __future__ import annotations

from sqlalchemy import select

from bot.models import AnswerRow, Job
from tests.slack.harness import ANNA_ID, SlackHarness, buttons
from tests.slack.test_interview import invite


async def _due(slack: SlackHarness, kind: str):
    async with slack.runtime.db.sessions() as session:
        job = await session.scalar(select(Job).where(Job.kind == kind))
    assert job is not None
    return job.due_at


def _shown(slack: SlackHarness) -> str:
    return str(slack.fake.calls_to("chat.update")[-1].args["blocks"])


async def test_start_on_the_invite_reminder_starts(make_slack, database_url):
    slack = await make_slack(database_url=database_url)
    dm = slack.fake.dm_channel_id(ANNA_ID)
    await invite(slack)
    report = await slack.tick(await _due(slack, "remind_invite"))
    assert report["reminders sent"] == 1
    reminder = slack.messages(dm)[-1]
    assert "gentle reminder" in reminder["text"]
    assert [b["value"] for _, b in buttons(reminder)] == ["start", "later", "decline"]
    await slack.answer_by_click(ANNA_ID, reminder, "start")
    texts = [m["text"] for m in slack.messages(dm)]
    assert "main reason" in texts[-1], texts[-2:]
    assert (await slack.interview()).status == "in_progress"


async def test_start_on_the_invite_reask_starts(make_slack, database_url):
    slack = await make_slack(database_url=database_url)
    dm = slack.fake.dm_channel_id(ANNA_ID)
    await invite(slack)
    await slack.dm(ANNA_ID, "what is this about?")
    reask = slack.messages(dm)[-1]
    assert [b["value"] for _, b in buttons(reask)] == ["start", "later", "decline"]
    await slack.answer_by_click(ANNA_ID, reask, "start")
    assert "main reason" in slack.messages(dm)[-1]["text"]


async def at_valued_most(make_slack, database_url) -> tuple[SlackHarness, str, dict]:
    """Invited, started, main_reason typed (it keeps its buttons): (harness, DM, invite)."""
    slack = await make_slack(database_url=database_url)
    dm = slack.fake.dm_channel_id(ANNA_ID)
    await invite(slack)
    intro = slack.messages(dm)[0]
    await slack.dm(ANNA_ID, "start")
    await slack.dm(ANNA_ID, "pay and benefits")
    return slack, dm, intro


async def test_ignored_click_on_both_paths(make_slack, database_url):
    slack, dm, intro = await at_valued_most(make_slack, database_url)
    main_reason = next(m for m in slack.messages(dm) if "main reason" in m["text"])
    # lean on PostgreSQL: nothing changes, no discard -> ignored, no "✔ Later"
    await slack.answer_by_click(ANNA_ID, intro, "later")
    assert "✔" not in _shown(slack) and not buttons(slack.fake.messages[dm][intro["ts"]])
    assert "What did you value most" in slack.messages(dm)[-1]["text"]
    # ORM path (discard): a change is shown as answered
    await slack.answer_by_click(ANNA_ID, main_reason, "manager")
    assert "✔ My manager" in _shown(slack)
    async with slack.runtime.db.sessions() as session:
        values = dict((await session.execute(select(AnswerRow.question_id, AnswerRow.value))).all())
    assert values == {"main_reason": "manager"}


async def test_paused_then_an_old_button_then_a_typed_answer(make_slack, database_url):
    slack, dm, intro = await at_valued_most(make_slack, database_url)
    await slack.dm(ANNA_ID, "pause")
    await slack.answer_by_click(ANNA_ID, intro, "later")  # re-asks "What did you value most"
    assert "What did you value most" in slack.messages(dm)[-1]["text"]
    await slack.dm(ANNA_ID, "The people I worked with and the freedom to experiment")
    async with slack.runtime.db.sessions() as session:
        stored = set((await session.scalars(select(AnswerRow.question_id))).all())
    assert "valued_most" in stored, [m["text"][:50] for m in slack.messages(dm)[-3:]]


async def test_start_after_declining_starts_after_all(make_slack, database_url):
    """The invite's Start, clicked after "no thanks": the employee changed their mind."""
    slack = await make_slack(database_url=database_url)
    dm = slack.fake.dm_channel_id(ANNA_ID)
    await invite(slack)
    intro = slack.messages(dm)[0]
    await slack.dm(ANNA_ID, "no thanks")
    assert (await slack.interview()).status == "declined"
    await slack.dm(ANNA_ID, "ok")  # acknowledging the goodbye starts nothing
    assert (await slack.interview()).status == "declined"
    assert "no interview open for you" in slack.messages(dm)[-1]["text"]
    await slack.answer_by_click(ANNA_ID, intro, "start")
    assert (await slack.interview()).status == "in_progress"
    assert "✔" in _shown(slack)  # the click is shown as the answer it was
    assert "main reason you're leaving" in slack.messages(dm)[-1]["text"]
    async with slack.runtime.db.sessions() as session:
        jobs = {j.kind: j.status for j in (await session.scalars(select(Job))).all()}
    assert (jobs["expire"], jobs["remind_idle"], jobs["remind_invite"]) == (
        "due",
        "due",
        "cancelled",
    )


async def test_start_after_declining_past_its_expiry_is_not_shown_as_answered(
    make_slack, database_url
):
    slack = await make_slack(database_url=database_url)
    dm = slack.fake.dm_channel_id(ANNA_ID)
    await invite(slack)
    intro = slack.messages(dm)[0]
    await slack.dm(ANNA_ID, "no thanks")
    expires_at = (await slack.interview()).expires_at
    assert expires_at is not None
    slack.clock.set(expires_at)
    await slack.answer_by_click(ANNA_ID, intro, "start")
    assert (await slack.interview()).status == "declined"
    assert "✔" not in _shown(slack)
