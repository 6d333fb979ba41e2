"""`exitbot links`: the fallback web links HR admins forward by hand.

Only a hash of each token is stored, so a listed link is a fresh one, minted now; links given
out earlier keep working until the interview closes or expires.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass
from datetime import datetime

from bot import departures, links
from bot.config import Settings
from bot.models import Employee, Interview
from bot.runtime import Runtime


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
    status: str  # `stage`: never whether the person started
    until: datetime
    emailed_at: datetime | None
    url: str | None


def run(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_run(args, settings))


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    runtime = Runtime.open(settings)
    try:
        if args.interview is not None:
            return await _issue_one(runtime, args.interview)
        rows = await collect(runtime, include_emailed=args.all)
    finally:
        await runtime.close()
    print_rows(rows, settings)
    return 0


async def _issue_one(runtime: Runtime, interview_id: int) -> int:
    now = runtime.clock.now()
    async with runtime.db.transaction() as session:
        interview = await session.get(Interview, interview_id)
        if interview is None or interview.status not in links.LINKABLE_STATUSES:
            print(f"Interview {interview_id} is not open, so it cannot get a link.")
            return 1
        token = await links.issue(session, interview, now)
        until = links.expiry_for(interview, now)
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
        by_interview: dict[int, tuple[Interview, datetime | None]] = {}
        for interview, link in await links.open_links(session, now):
            if interview.departure_id is None:
                continue  # playground and self-started chats are nobody's to forward
            _, emailed = by_interview.get(interview.id, (interview, None))
            by_interview[interview.id] = (interview, emailed or link.emailed_at)
        for interview, emailed_at in by_interview.values():
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
                    status=stage(interview.status),
                    until=links.expiry_for(interview, now),
                    emailed_at=emailed_at,
                    url=links.url_for(runtime.settings.public_url, token) if token else None,
                )
            )
    return sorted(rows, key=lambda r: r.interview_id)


def stage(status: str) -> str:
    """What the list says of an interview: `scheduled`, `sent` or `unreachable`, as HR's
    status and the webhook do. HR forwards these links by name: `in_progress` next to a name
    would tell them that this person took part."""
    return "unreachable" if status == "unreachable" else departures.interview_stage(status) or ""


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
