"""`exitbot links`: the fallback web links HR admins forward by hand.

Only a hash of each token is stored, so a listed link is a fresh one, minted now; links given
out earlier keep working until the interview closes or expires.

HR reads these lines by name, so nothing on them, nor whether a line is there, follows what
the person did: each shows the interview as HR's `status` does (`departures.hr_stage`), and
stays listed for as long as HR is shown it open, whether or not the person has since taken
part, declined or stopped. A link emailed to the person after their chat invite (the
fallback after the last day, only made while they had not finished: `bot.fallback`) is
theirs alone and never listed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from bot import departures, links
from bot.config import Settings
from bot.models import Employee, Interview, WebLink
from bot.runtime import Runtime

# What HR may issue and list links for (`departures.hr_stage`): not yet sent, open, or
# unreachable in chat (the link is how they are reached)
LISTED = ("scheduled", "sent", "unreachable")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("links", help="list fallback web links for HR admins to forward")
    p.add_argument(
        "--all", action="store_true", help="also list links already emailed to personal addresses"
    )
    p.add_argument(
        "--interview",
        type=int,
        metavar="ID",
        help="issue a link for this open interview (e.g. to move it to the browser)",
    )
    p.set_defaults(handler=run)


@dataclass(frozen=True, slots=True)
class Row:
    interview_id: int
    who: str
    language: str
    status: str  # `departures.hr_stage`: never what the person did
    until: datetime
    emailed_at: datetime | None
    url: str | None


def run(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_run(args, settings))


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    runtime = Runtime.open(settings)
    try:
        if args.interview is not None:
            return await issue_one(runtime, args.interview)
        rows = await collect(runtime, include_emailed=args.all)
    finally:
        await runtime.close()
    print_rows(rows, settings)
    return 0


async def issue_one(runtime: Runtime, interview_id: int) -> int:
    """A link for one interview HR is shown open (`LISTED`), whatever the person has done
    with it since its invite: refusing one they declined or finished would tell HR so. The
    link then shows them only what they may still do (`bot.links.check`)."""
    now = runtime.clock.now()
    async with runtime.db.transaction() as session:
        interview = await session.get(Interview, interview_id, with_for_update=True)
        if interview is None or departures.hr_stage(interview, now) not in LISTED:
            print(f"Interview {interview_id} is not open, so it cannot get a link.")
            return 1
        token = await links.issue(session, interview, now)
        departures.offered(interview, links.expiry_for(interview, now))  # HR sent one
        until = shown_until(interview, links.expiry_for(interview, now), now)
    print(links.url_for(runtime.settings.public_url, token))
    print(f"valid until {until.astimezone(runtime.settings.zone):%Y-%m-%d %H:%M %Z}")
    if runtime.settings.public_url.startswith(("http://127.0.0.1", "http://localhost")):
        print("(a local address: set EXITBOT_PUBLIC_URL to the one people open)", file=sys.stderr)
    return 0


async def collect(runtime: Runtime, *, include_emailed: bool = False) -> list[Row]:
    """One row per interview with a working fallback link; a fresh URL for those not emailed."""
    now = runtime.clock.now()
    rows: list[Row] = []
    async with runtime.db.transaction() as session:
        by_interview: dict[int, tuple[Interview, datetime | None, datetime]] = {}
        found = await session.execute(
            select(Interview, WebLink)
            .join(WebLink, WebLink.interview_id == Interview.id)
            .where(Interview.departure_id.is_not(None))  # not the playground's, nor self-started
            .order_by(WebLink.created_at)
        )
        for interview, link in found.all():
            if link.emailed_at is not None and _emailed_after_the_invite(interview, link):
                continue
            if departures.hr_stage(interview, now) not in LISTED:
                continue
            until = shown_until(interview, link.expires_at, now)
            if until <= now:
                continue
            _, emailed, _ = by_interview.get(interview.id, (interview, None, until))
            by_interview[interview.id] = (interview, emailed or link.emailed_at, until)
        for interview, emailed_at, until in by_interview.values():
            if emailed_at is not None and not include_emailed:
                continue
            employee = (
                await session.get(Employee, interview.employee_id)
                if interview.employee_id
                else None
            )
            who = _who(employee)
            token = None if emailed_at else await links.issue(session, interview, now)
            rows.append(
                Row(
                    interview_id=interview.id,
                    who=who,
                    language=interview.language,
                    status=departures.hr_stage(interview, now) or "",
                    until=until,
                    emailed_at=emailed_at,
                    url=links.url_for(runtime.settings.public_url, token) if token else None,
                )
            )
    return sorted(rows, key=lambda r: r.interview_id)


def shown_until(interview: Interview, link_until: datetime, now: datetime) -> datetime:
    """Until when HR is shown a link as working: the interview's answering period as HR is
    shown it, once its invite went out (`departures.hr_stage`), else the link's own term.
    Never the interview's own expiry, which follows the person's answers (`bot.links`)."""
    if departures.hr_stage(interview, now) in ("sent", "closed"):
        assert interview.shown_until is not None
        return interview.shown_until
    return link_until


def _emailed_after_the_invite(interview: Interview, link: WebLink) -> bool:
    """A link emailed to the person after their chat invite went out (`bot.fallback`)."""
    return (
        departures.went_out(interview)
        and interview.invited_at is not None
        and interview.invited_at < link.created_at
    )


def _who(employee: Employee | None) -> str:
    if employee is None:
        return "(erased)"
    if employee.name:
        return f"{employee.name} <{employee.email}>"
    return employee.email


def print_rows(rows: list[Row], settings: Settings) -> None:
    if not rows:
        print("No fallback web links are waiting to be forwarded.")
        return
    print("Fallback web links: forward each one privately to the person named.")
    print("These links are new; links given out earlier keep working until the interview ends.")
    for row in rows:
        until = row.until.astimezone(settings.zone).strftime("%Y-%m-%d")
        print()
        print(f"interview {row.interview_id} · {row.who} · {row.language} · {row.status}")
        if row.emailed_at is not None:
            emailed = row.emailed_at.astimezone(settings.zone).strftime("%Y-%m-%d")
            print(f"  emailed to their personal address on {emailed}; valid until {until}")
        else:
            print(f"  {row.url}")
            print(f"  valid until {until}")
