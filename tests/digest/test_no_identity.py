"""No name, email, user id or interview date in any rendering of a digest; quotes scrubbed."""

from __future__ import annotations

import json
import logging
import re

import pytest
from sqlalchemy import select

from adapters.base import Report
from bot import digest_post
from bot.digest_render import render_report
from bot.models import AccessLog
from bot.runtime import Runtime
from tests.digest.support import DEC_SLOT, Persona, interview, reports

PEOPLE = [
    ("Anna de Vries", "Sales", "Jan van der Berg"),
    ("Pieter Jansen", "Sales", "Jan van der Berg"),
    ("Fatima el Amrani", "Sales", "Jan van der Berg"),
    ("Sanne Bakker", "Sales", "Jan van der Berg"),
    ("Daan Visser", "Sales", "Jan van der Berg"),
    ("Emma Mulder", "Engineering", "Marloes Hoekstra"),
    ("Lucas Smit", "Engineering", "Marloes Hoekstra"),
    ("Sophie Meijer", "Engineering", "Marloes Hoekstra"),
    ("Thomas de Boer", "Engineering", "Marloes Hoekstra"),
    ("Julia Vos", "Engineering", "Marloes Hoekstra"),
]


def _email(name: str) -> str:
    return name.lower().replace(" ", ".") + "@example.com"


def _renderings(report: Report) -> dict[str, str]:
    from adapters import slack_blocks, teams_cards

    return {
        "text": report.as_text(),
        "sections": json.dumps([[s.heading, *s.lines] for s in report.sections]),
        "title+footer+alt": " ".join((report.title, report.footer, report.image_alt)),
        "slack blocks": json.dumps(slack_blocks.report_blocks(report)),
        "slack text": slack_blocks.report_text(report),
        "teams card": json.dumps(teams_cards.report_card(report)),
    }


async def test_no_name_email_or_id_in_any_rendering(
    rt: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    rt.settings = rt.settings.with_(digest_quotes=True)
    for n, (name, department, manager) in enumerate(PEOPLE):
        first = name.split()[0]
        async with rt.db.transaction() as session:
            employee = await rt.service.upsert_employee(
                session,
                email=_email(name),
                name=name,
                now=rt.clock.now(),
                department=department,
                manager_name=manager,
                external_id=f"E10{n:02d}",
            )
            await rt.service.link_identity(
                session,
                platform="slack",
                user_id=f"U0SLACK{n:04d}",
                employee_id=employee.id,
                now=rt.clock.now(),
            )
        persona = Persona(
            reason="manager" if department == "Sales" else "career_growth",
            suggest=(
                f"{manager} never listened to me, ask {first} or mail {_email(name)}, "
                f"call me on 06 1234 56{n:02d} for the details of what went wrong"
            ),
            improve=f"I am {name} and my manager {manager.split()[0]} gave no feedback at all",
            # Every answer a quote is drawn from names someone (the draw is random).
            answers={"anything_else": f"Please tell {first} that I said goodbye to everyone"},
        )
        await interview(rt, _email(name), persona, name=name, department=department)

    await digest_post.post_due_digest(rt, DEC_SLOT)
    [(_, report)] = reports(rt).reports
    rendered = _renderings(report)
    assert "Sales: 5" in rendered["text"] and "Engineering: 5" in rendered["text"]
    quotes = next(s for s in report.sections if s.heading.startswith("In their own words"))
    assert 1 <= len(quotes.lines) <= 3
    assert any("[name]" in line for line in quotes.lines)

    forbidden = {"@", "example.com", "U0SLACK", "E10", "06 1234", "10 November", "2026-11-10"}
    for name, _, manager in PEOPLE:
        forbidden |= set(name.split()) | set(manager.split())
    forbidden -= {"de", "van", "der", "el"}
    for where, text in rendered.items():
        for needle in forbidden:
            assert not re.search(rf"\b{re.escape(needle)}", text), (where, needle)

    # ExitBot's own logs name slots and counts, never text or addresses.
    ours = " ".join(r.getMessage() for r in caplog.records if r.name.startswith("bot"))
    assert "digest 2026-12-01T09:00 posted" in ours
    assert "example.com" not in ours and "never listened" not in ours

    # Reading the raw answers was logged: who and how many, never what or whose.
    async with rt.db.sessions() as session:
        [entry] = (await session.scalars(select(AccessLog))).all()
    assert entry.actor == "digest" and entry.interview_id is None
    assert entry.detail is not None and "example" not in entry.detail


async def test_quotes_are_off_by_default(rt: Runtime) -> None:
    for n in range(10):
        await interview(
            rt, f"p{n}@example.com", Persona(suggest=f"Secret suggestion number {n} for the team")
        )
    data = await digest_post.preview(rt)
    assert data.count == 10 and data.quotes == ()
    assert "Secret suggestion" not in render_report(data).as_text()
    async with rt.db.sessions() as session:
        assert (await session.scalars(select(AccessLog))).all() == []


async def test_quotes_mask_contact_details_written_loosely(rt: Runtime) -> None:
    """An address with spaces around "@" and US or UK numbers in national format (the
    scrubber's region is NL) reached HR verbatim in a quote."""
    rt.settings = rt.settings.with_(digest_quotes=True)
    emails = ["piet.jansen @ gmail.com", "piet.jansen @gmail.com", "piet.jansen@ gmail.com"]
    us = ["415-555-0132", "415.555.0132", "(415) 555-0132"]
    uk = ["07700 900123", "+44 7700 900123", "07911 123456"]
    for n in range(10):  # 2k people with free-text answers
        leak = f"mail {emails[n % 3]}, call {us[n % 3]} or my UK mobile {uk[n % 3]} about it"
        await interview(
            rt, f"person{n}@example.com", Persona(improve=leak, suggest=leak, extra=leak)
        )
    await digest_post.post_due_digest(rt, DEC_SLOT)
    [(_, report)] = reports(rt).reports
    quotes = next(s for s in report.sections if s.heading.startswith("In their own words"))
    assert 1 <= len(quotes.lines) <= 3
    for line in quotes.lines:
        assert not re.search(r"piet|gmail|415|555|0132|7700|900123|7911", line), line
        assert line == "“mail [email], call [phone] or my UK mobile [phone] about it”"
