"""A departure's address corrected after its invite went out: the interview follows.

HR sends `departure.created` with a wrong address (a typo that is a colleague's, an old
one), the invite reaches whoever that address finds in chat, then `departure.updated`
corrects it. The webhook only makes this job due (`departures.follow_the_person`): finding
the chat user behind the corrected address is a platform call, made here by the tick and
outside any transaction. Then, under lock:

- the same chat user (an address renamed): the interview and that user's link move to the
  employee of the corrected address; the conversation goes on untouched;
- another chat user, or nobody the corrected address finds: the invite reached the wrong
  person. Their interview is withdrawn (answers deleted, facts removed, a short note that it
  reached them by mistake, sent by the `close` job) and the departure's employee is invited
  by the normal rules.

An invite answered before the correction (declined, or the interview held) is looked up the
same way: the same chat user answered it themselves, and it moves to the corrected address
as it is (one who said "no thanks" may still start it after all, and is not invited again);
a "no thanks" from another chat user, or from nobody the corrected address finds, was not
the employee's: they are invited by the normal rules. One someone else held stays theirs.
However that someone else answered it, it was not their exit interview: it no longer counts
against them (`departures.elsewhere`), and a departure of their own gets its chance.

A job is claimed once, the decision is checked again under lock and the note is sent under
the `close` job's key: a retry or a second replica changes and sends nothing twice.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.base import Opened, Unreachable
from bot import departures
from bot.jobs import ClaimedJob, TickContext, TickRegistry
from bot.models import Departure, Employee, Interview, PlatformIdentity
from bot.runtime import Runtime

log = logging.getLogger(__name__)

WITHDRAWN_NOTE = "withdrawn: the invite reached the wrong person"
MOVED = "interviews moved to a corrected address"
WITHDRAWN = "invites withdrawn from the wrong person"
DECLINED_ELSEWHERE = "invites the wrong person had declined"
EXPIRED_ELSEWHERE = "invites the wrong person had let expire"


def register(registry: TickRegistry) -> None:
    registry.handlers["readdress"] = readdress


async def readdress(ctx: TickContext, job: ClaimedJob) -> datetime | None:
    runtime = ctx.runtime
    async with runtime.db.sessions() as session:
        interview = await session.get(Interview, job.interview_id)
        departure = (
            await session.get(Departure, interview.departure_id)
            if interview is not None and interview.departure_id is not None
            else None
        )
        if (
            interview is None
            or departure is None
            or not departures.to_look_up(interview, departure)
        ):
            return None  # answered by a later event or job, or the interview ended
        employee = await session.get(Employee, departure.employee_id)
        holders = set(
            (
                await session.scalars(
                    select(PlatformIdentity.user_id).where(
                        PlatformIdentity.platform == interview.channel,
                        PlatformIdentity.employee_id == interview.employee_id,
                    )
                )
            ).all()
        )
    if employee is None:
        return None
    # An interview held through a web link or the terminal was not found by the address.
    chat = interview.channel not in departures.NOT_FOR_INVITES
    opened = await _find(runtime, interview, holders, employee.email) if chat else None
    same = not chat or (
        opened is not None
        and (opened.user_id in holders or opened.conversation_id == interview.address)
    )
    async with runtime.db.transaction() as session:
        # Locked in the webhook's order (departure, the people, then the interview): never a
        # deadlock. The person who holds the invite is locked too: one who may be freed of it
        locked = await session.get(
            Departure, departure.id, with_for_update=True, populate_existing=True
        )
        await departures.lock_people(session, interview.employee_id, employee.id)
        held = await session.get(
            Interview, interview.id, with_for_update=True, populate_existing=True
        )
        person = await session.get(Employee, employee.id)
        if (
            locked is None
            or held is None
            or person is None
            or locked.employee_id != person.id
            or not departures.to_look_up(held, locked)
        ):
            return None  # changed meanwhile: the newer event made this job due again
        live = held.status in departures.LIVE
        if same:
            await _move(runtime, session, held, person, opened, ctx.now)
        elif live:
            await _withdraw(runtime, session, held, locked, person, ctx.now)
        else:
            await _not_theirs(runtime, session, held, locked, person, ctx.now)
    if not same and live:
        ctx.report.add(WITHDRAWN)
        log.info("interview %s reached another chat user: withdrawn", interview.id)
        return None
    if not same:
        if held.status in ("declined", "expired"):
            ctx.report.add(DECLINED_ELSEWHERE if held.status == "declined" else EXPIRED_ELSEWHERE)
        log.info("interview %s was answered by another chat user: left to them", interview.id)
        return None
    if opened is not None and opened.language is not None:
        runtime.service.linked(interview.channel or "", opened.user_id, opened.language)
    ctx.report.add(MOVED)
    log.info("interview %s: address corrected for the same chat user, kept", interview.id)
    return None


async def _find(
    runtime: Runtime, interview: Interview, holders: set[str], email: str
) -> Opened | None:
    """The chat user the corrected address finds on the interview's platform (None: nobody).
    Any other platform error raises: the job is tried again later."""
    channel = runtime.service.channels.get(interview.channel or "")
    if channel is None:
        return None  # that platform is no longer configured: nobody can be found there
    try:
        return await channel.open_conversation(email)
    except Unreachable:
        pass
    # Teams finds people only by the address they last wrote with: it is asked instead which
    # address the one who holds the interview has now (renamed since?)
    address_of = getattr(channel, "address_of", None)
    if address_of is None or not interview.address:
        return None
    for user_id in sorted(holders):
        try:
            if await address_of(interview.address, user_id) == email:
                return Opened(user_id=user_id, conversation_id=interview.address)
        except Unreachable:
            return None
    return None


async def _move(
    runtime: Runtime,
    session: AsyncSession,
    interview: Interview,
    employee: Employee,
    opened: Opened | None,
    now: datetime,
) -> None:
    """Same person, corrected address: their messages now find the interview through it."""
    interview.employee_id = employee.id
    interview.updated_at = now
    if opened is not None and interview.channel:
        await runtime.service.link_identity(
            session,
            platform=interview.channel,
            user_id=opened.user_id,
            employee_id=employee.id,
            conversation_id=opened.conversation_id,
            locale=opened.language,
            timezone=opened.timezone,
            now=now,
        )


async def _withdraw(
    runtime: Runtime,
    session: AsyncSession,
    interview: Interview,
    departure: Departure,
    employee: Employee,
    now: datetime,
) -> None:
    """The wrong person: nothing of theirs kept, a note to them; the right one invited. The
    wrong person's own departure, if any, left uninvited because of it (HR swapped two
    departures' addresses), gets its chance."""
    await departures.cancel_interview(session, interview, now, reason="misdirected")
    interview.note = WITHDRAWN_NOTE
    await departures.schedule(session, runtime, departure, employee, now)
    await departures.offer_to_other_departures(
        session, runtime, interview.employee_id, departure, now
    )


async def _not_theirs(
    runtime: Runtime,
    session: AsyncSession,
    interview: Interview,
    departure: Departure,
    employee: Employee,
    now: datetime,
) -> None:
    """Someone else answered the invite: what they did stays theirs. Their "no thanks", or
    their silence until it expired, was not the employee's, who is invited now by the normal
    rules (`departures.schedule`). Nor was the invite theirs: it no longer counts against
    them (`departures.elsewhere`), so a departure of their own, left uninvited because of
    it, gets its chance, whatever they did with it."""
    interview.note = departures.REACHED_ANOTHER
    interview.updated_at = now
    if interview.status in ("declined", "expired"):
        await departures.schedule(session, runtime, departure, employee, now)
    await departures.offer_to_other_departures(
        session, runtime, interview.employee_id, departure, now
    )
