"""What a digest shows, and what it must never show (k = 5 in these tests)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from bot import digest_post, hr_commands
from bot.digest import DigestData
from bot.digest_render import render_report
from bot.models import Digest, Interview, InterviewFact
from bot.privacy import purge_interviews
from bot.runtime import Runtime
from tests.digest.support import (
    DEC_SLOT,
    FEB_SLOT,
    JAN_SLOT,
    Persona,
    add_facts,
    interview,
    reports,
)


async def _stamped(rt: Runtime) -> int:
    async with rt.db.sessions() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(InterviewFact)
                .where(InterviewFact.digest_id.is_not(None))
            )
            or 0
        )


async def _figures(rt: Runtime) -> list[dict[str, object]]:
    async with rt.db.sessions() as session:
        rows = (await session.scalars(select(Digest.figures).order_by(Digest.id))).all()
    return [r for r in rows if r]


async def test_four_interviews_wait_and_roll_over_five_show_figures(rt: Runtime) -> None:
    for n in range(4):
        await interview(rt, f"leaver{n}@example.com", Persona(reason="workload"))
    waiting = await digest_post.preview(rt)
    assert waiting.kind == "waiting" and waiting.waiting == 4
    text = render_report(waiting).as_text()
    assert "Fewer than 5 interviews are in so far; figures appear once 5 are." in text
    assert "4 interviews" not in text  # no count below k: it tells who took part
    assert "Workload" not in text and "eNPS" not in text and "Interviews:" not in text
    assert render_report(waiting).image_png is None

    # The December slot posts the "waiting" digest; the four roll into the next period.
    assert [r.status for r in await digest_post.post_due_digest(rt, DEC_SLOT)] == ["waiting"]
    [(target, report)] = reports(rt).reports
    assert target == "CHR0001"
    assert "Fewer than 5 interviews are in so far" in report.as_text()
    assert await _stamped(rt) == 0

    # A fifth in December: the January digest shows figures over all five.
    rt.clock.set(datetime(2026, 12, 10, 10, tzinfo=UTC))  # type: ignore[attr-defined]
    await interview(rt, "leaver4@example.com", Persona(reason="pay_benefits", recommend=10))
    assert [r.status for r in await digest_post.post_due_digest(rt, JAN_SLOT)] == ["posted"]
    report = reports(rt).reports[-1][1]
    text = report.as_text()
    assert "Interviews: 5" in text
    assert "Workload and work-life balance: 4 (80%)" in text
    assert "Pay and benefits: 1 (20%)" in text
    assert "Would recommend us (eNPS): +20, 5 answers" in text  # 1 promoter, 4 passives
    assert "completed up to 31 December 2026" in text
    assert report.image_png and report.image_png.startswith(b"\x89PNG")
    assert "Workload and work-life balance 4" in report.image_alt
    assert await _stamped(rt) == 5


async def test_a_department_of_three_never_appears(rt: Runtime) -> None:
    themes = [("main_reason", "workload"), ("suggestions", "career_growth")]
    await add_facts(rt, 5, department="Sales", themes=themes)
    await add_facts(rt, 6, department="Engineering", reason="manager", themes=themes)
    await add_facts(rt, 3, department="Legal Affairs", reason="culture", themes=themes)
    preview = await digest_post.preview(rt)
    # Sales 5 + Engineering 6 would leave Legal's 3 computable: Sales merges into "other".
    assert [(g.name, g.count) for g in preview.departments] == [("Engineering", 6), ("", 8)]
    await digest_post.post_due_digest(rt, DEC_SLOT)
    [(_, report)] = reports(rt).reports
    rendered = [
        report.as_text(),
        json.dumps(
            [s.heading for s in report.sections]
            + [line for s in report.sections for line in s.lines]
        ),
        report.image_alt,
        json.dumps(await _figures(rt)),
        *_platform_renderings(report),
    ]
    for text in rendered:
        assert "Legal" not in text
        assert "Engineering" in text or text == report.image_alt
    assert "Sales" not in report.as_text()


async def test_no_breakdown_when_it_would_leave_fewer_than_k_over(rt: Runtime) -> None:
    await add_facts(rt, 6, department="Sales")
    await add_facts(rt, 3, department="Legal Affairs")
    data = await digest_post.preview(rt)
    assert data.departments == () and "departments" in data.withheld
    text = render_report(data).as_text()
    assert "Sales" not in text and "Legal" not in text
    # Sales has six: the text must not say no department has five, but why none is shown
    assert "No department has at least 5" not in text
    assert (
        "Not shown this time: a department is shown only with at least 5 interviews, and "
        "only when the other departments together have none or also at least 5." in text
    )
    dutch = render_report(replace(data, language="nl")).as_text()
    assert "Geen afdeling heeft" not in dutch
    assert "Dit keer niet getoond: een afdeling verschijnt alleen met minstens 5" in dutch


async def test_free_text_themes_need_two_k_people(rt: Runtime) -> None:
    await add_facts(rt, 9, themes=[("main_reason", "wellbeing"), ("role_improvement", "culture")])
    await add_facts(rt, 3)  # twelve interviews, but only nine answered in their own words
    data = await digest_post.preview(rt)
    assert data.count == 12
    assert data.reason_themes is None and data.improvement_themes is None
    text = render_report(data).as_text()
    assert "Wellbeing" not in text and "Culture" not in text
    assert text.count("Shown once at least 10 people have answered in their own words.") == 2

    await add_facts(rt, 1, themes=[("anything_else", "wellbeing"), ("suggestions", "culture")])
    data = await digest_post.preview(rt)
    assert data.reason_themes is not None and data.improvement_themes is not None
    assert [(i.key, i.count) for i in data.reason_themes.items] == [("wellbeing", 10)]
    assert [(i.key, i.count) for i in data.improvement_themes.items] == [("culture", 10)]
    text = render_report(data).as_text()
    assert "Wellbeing and health: 10 (100%)" in text
    assert "Culture and colleagues: 10 (100%)" in text


async def test_a_late_interview_is_not_revealed_by_the_next_digest(rt: Runtime) -> None:
    for n in range(5):
        await interview(
            rt,
            f"nov{n}@example.com",
            Persona(reason="pay_benefits", recommend=8),
            department="Sales",
        )
    await digest_post.post_due_digest(rt, DEC_SLOT)
    first = reports(rt).reports[-1][1].as_text()
    assert "Interviews: 5" in first and "Sales: 5" in first and "eNPS): +0" in first

    # One more Sales leaver after the November digest went out, with very different answers.
    rt.clock.set(datetime(2026, 12, 2, 10, tzinfo=UTC))  # type: ignore[attr-defined]
    await interview(
        rt,
        "late@example.com",
        Persona(reason="manager", recommend=0, manager=1),
        department="Sales",
    )
    # Comparing any November figure with "5 + 1" would single them out: the next digest waits.
    await digest_post.post_due_digest(rt, JAN_SLOT)
    second = reports(rt).reports[-1][1]
    assert second.as_text().count("Fewer than 5 interviews are in so far") == 1
    assert "1 interview" not in second.as_text()
    for absent in ("Interviews: 6", "Sales", "My manager", "eNPS", "Pay and benefits"):
        assert absent not in second.as_text()
    assert second.image_png is None
    # What November published stays as it was.
    november = DigestData.from_json((await _figures(rt))[0])
    assert november.count == 5 and november.enps is not None and november.enps.value == 0

    # Four more (elsewhere) in January: the February digest covers those five only, disjoint
    # from November's, so nothing can be subtracted; Sales (1 of them) is not shown.
    await add_facts(rt, 4, period="2027-01", department="Engineering", reason="workload")
    await digest_post.post_due_digest(rt, FEB_SLOT)
    third = reports(rt).reports[-1][1].as_text()
    assert "Interviews: 5" in third
    assert "Sales" not in third and "Engineering" not in third
    assert "Pay and benefits" not in third  # November's five are not counted again
    assert "My manager: 1 (20%)" in third
    assert await _stamped(rt) == 10


def _platform_renderings(report: object) -> list[str]:
    """Slack Block Kit and the Teams Adaptive Card, as JSON, when those adapters exist."""
    from adapters import slack_blocks, teams_cards

    return [
        json.dumps(slack_blocks.report_blocks(report)),  # type: ignore[arg-type]
        slack_blocks.report_text(report),  # type: ignore[arg-type]
        json.dumps(teams_cards.report_card(report)),  # type: ignore[arg-type]
    ]


async def test_response_rate_counts_invites_of_the_period(rt: Runtime) -> None:
    invited = datetime(2026, 11, 3, 9, tzinfo=UTC)
    async with rt.db.transaction() as session:
        for n in range(10):
            row = rt.service.new_interview(
                employee_id=None,
                language="en",
                now=invited,
                status="completed" if n < 6 else "declined",
            )
            row.invited_at = invited
            session.add(row)
        late = rt.service.new_interview(employee_id=None, language="en", now=invited)
        late.invited_at = datetime(2026, 12, 2, tzinfo=UTC)  # counts for the next period
        session.add(late)
    await add_facts(rt, 6)
    await digest_post.post_due_digest(rt, DEC_SLOT)
    assert "Response rate: 60% of 10 invited" in reports(rt).reports[0][1].as_text()


async def test_playground_demo_interviews_never_count_in_a_digest_hr_receives(
    rt: Runtime,
) -> None:
    """Anyone who can open the playground can complete demo interviews with known answers:
    counted with one real leaver, they would make a group of k that gives that person away."""
    await interview(rt, "leaver@example.com", Persona(reason="wellbeing", manager=2))
    for n in range(4):
        await interview(rt, f"demo-{n}@playground.invalid", Persona(reason="other", manager=5))
    real = await digest_post.preview(rt)
    assert real.kind == "waiting" and real.waiting == 1  # not 5: no figures
    demo = await digest_post.preview(rt, demo=True)
    assert demo.kind == "waiting" and demo.waiting == 4

    await interview(rt, "demo-4@playground.invalid", Persona(reason="other", manager=5))
    demo = await digest_post.preview(rt, demo=True)
    assert demo.kind == "figures"
    shown = render_report(demo).as_text()
    assert "Wellbeing" not in shown and "Interviews: 5" in shown  # the five made-up people

    # The December digest HR receives: the one real leaver waits; no demo fact is stamped.
    assert [r.status for r in await digest_post.post_due_digest(rt, DEC_SLOT)] == ["waiting"]
    [(_, report)] = reports(rt).reports
    assert "Fewer than 5 interviews are in so far" in report.as_text()
    assert await _stamped(rt) == 0


async def test_retention_keeps_real_facts_counted_and_deletes_demo_ones(rt: Runtime) -> None:
    """Retention cuts a fact loose from its interview (NULL): a real one still counts, and a
    demo one is deleted, since cut loose it could no longer be told from a real one."""
    real = [await interview(rt, f"leaver{n}@example.com") for n in range(5)]
    demo = [await interview(rt, f"demo-{n}@playground.invalid") for n in range(3)]
    async with rt.db.transaction() as session:
        await purge_interviews(session, [*real, *demo], rt.clock.now())
    async with rt.db.sessions() as session:
        left = (await session.scalars(select(InterviewFact.interview_id))).all()
    assert left == [None] * 5  # the real five, cut loose; no demo fact left
    assert (await digest_post.preview(rt, demo=True)).kind == "empty"
    await interview(rt, "demo-late@playground.invalid")  # demo people are still about
    shown = await digest_post.preview(rt)
    assert shown.kind == "figures" and shown.count == 5
    assert (await digest_post.preview(rt, demo=True)).waiting == 1


async def test_the_demo_preview_shows_no_real_invitation_count(rt: Runtime) -> None:
    """Demo people are never invited: a response rate in the playground's preview could only
    be the real one, and it would move with every real invitation and completion."""
    real = [await interview(rt, f"leaver{n}@example.com") for n in range(5)]
    demo_ids = [await interview(rt, f"demo-{n}@playground.invalid") for n in range(5)]
    async with rt.db.transaction() as session:
        await session.execute(
            update(Interview)
            .where(Interview.id.in_(real))
            .values(invited_at=rt.clock.now() - timedelta(days=3))
        )
        # as HR's `status` sees them: invites that went out and whose answering period
        # ended (the demo ones too, so that only their being demo keeps them out)
        await session.execute(
            update(Interview)
            .where(Interview.id.in_(real + demo_ids))
            .values(shown_until=rt.clock.now() - timedelta(days=1))
        )
    shown = await digest_post.preview(rt)
    assert shown.response_rate is not None and shown.response_rate.base == 5
    demo = await digest_post.preview(rt, demo=True)
    assert demo.kind == "figures" and demo.response_rate is None
    assert "invited" not in render_report(demo).as_text()
    counts = await hr_commands.pipeline_counts(rt)
    assert counts["closed"] == 5  # HR's status counts real people only
