"""Departures: what the HR system (or an HR admin) announced, the policy per kind, and the
interview and jobs that follow from it.

Everything for one event happens in one transaction: the `webhook-id`, the employee, the
departure, the interview and its due jobs are stored together or not at all. Sending is
left to the tick (`bot.invites`), never done while a transaction is open.

Ordering: `departures.event_at` holds the `webhook-timestamp` of the newest event applied;
an older event is recorded (so its redelivery is a duplicate) but changes nothing. On equal
timestamps a cancellation wins, so a late create never resurrects a cancelled departure.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    case,
    cast,
    delete,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute as _Id

from adapters.base import Unreachable
from bot import facts as facts_mod
from bot.calendar import BusinessCalendar, InvitePlan, plan_invite
from bot.config import Settings
from bot.departure_events import DepartureEvent, valid_email
from bot.departure_events import Employee as EmployeeData
from bot.jobs import cancel_jobs, ensure_job, insert_ignoring_conflicts, set_job
from bot.models import (
    INVITING_DECISIONS,
    AnswerRow,
    Departure,
    Employee,
    ErasedDeparture,
    Interview,
    Job,
    PlatformIdentity,
    WebhookEvent,
    WebLink,
    erased_ref,
)
from bot.runtime import Runtime
from conversations import Choice, OutMessage

log = logging.getLogger(__name__)

# Decisions the policy made (re-evaluated when the kind changes) vs. an HR admin's.
AUTOMATIC_DECISIONS = ("auto", "awaiting_approval", "not_invited")
POLICY_DECISION = {"auto": "auto", "approval": "awaiting_approval", "manual": "not_invited"}
# A person completes at most one exit interview in this many days (counted once by digests)
ONE_INTERVIEW_DAYS = 365
# Interviews that are under way and follow the departure's dates.
LIVE = ("invited", "in_progress", "paused")
# Closed after the invite reached the person, however they answered it (or did not): no
# second invite within ONE_INTERVIEW_DAYS for another departure record of theirs (`elsewhere`).
ANSWERED_OR_NOT = ("declined", "stopped", "deleted", "expired")
# Interviews that end a departure's story: never invite for it again (nor does one that
# expired after its invite went out: `ended`).
FINAL = ("declined", "completed", "stopped", "deleted", "unreachable")
# Why a departure is not invited (or what a change of its kind did), by code: the webhook's
# answer carries the English sentence and the code, HR's chat commands word the code in the
# admin's language (`bot.hr_commands`). None tells what one person chose: HR staff read these
# about a named person, so taking part, declining, stopping and deleting one's answers all
# read "invited_before" / "interview_elsewhere". "unreachable" is no choice of theirs, and HR
# must reach them another way.
REASONS = {
    "erased": "erased on request: nothing about it is kept",
    "invalid_email": "not a valid email address",
    "skipped": "an HR admin chose to skip the interview",
    "needs_hr_admin": "{kind} needs an HR admin to start the interview",
    "last_day_passed": "last working day has passed",
    "web_link": "last working day has passed: a private web link will be offered instead",
    "invited_before": (
        "an exit interview was already offered for this departure; how it went is not shared"
    ),
    "interview_elsewhere": (
        "the employee has or had an exit interview for another departure (one at a time, "
        f"and one in {ONE_INTERVIEW_DAYS} days); how it went is not shared"
    ),
    "unreachable": "the employee could not be reached in chat",
    "under_way": "the invite had already gone out when the departure changed: it stands "
    "(cancel the departure to withdraw it)",
}
CHAT_ORDER = ("slack", "teams")
NOT_FOR_INVITES = ("console", "web")
WEBHOOK_ID_DAYS = 30  # kept at least 7 days (senders retry for ~3 days)
# What the HR system tells about a person, kept on their employee row (`upsert_employee`)
HR_DETAILS = (
    "external_id",
    "name",
    "language",
    "timezone",
    "department",
    "personal_email",
    "manager_email",
    "manager_name",
)
READDRESS_DETAIL = (
    "the employee's address changed after the invite went out: if the new address finds the "
    "same chat user, the conversation goes on; otherwise the invite is withdrawn from whoever "
    "got it and the employee is invited at the new address"
)
READDRESS_ANSWERED_DETAIL = (
    "the employee's address changed after the invite went out and was answered: if the new "
    "address finds the same chat user, that answer stands; if someone else said no to it or "
    "let it expire, the employee is invited at the new address"
)
# Answered invites (closed by what the person did) that the tick looks up in chat when the
# departure's address was corrected since (`answered_by_another`)
# (an invite left to expire counts too: whose silence it was is found out the same way)
ANSWERED = ("declined", "expired", "completed", "stopped", "deleted")
# The note on such an invite once the tick found that another chat user answered it
REACHED_ANOTHER = "answered by another chat user: the address was corrected"


# The note on an interview withdrawn with its departure after its invite went out: as after
# any answer of theirs, the departure never invites again (`went_out`) and the person's other
# departures count it (`elsewhere`). Freeing them only when they had not answered yet would
# tell the HR system, by a second invite, whether they had.
WITHDRAWN_AFTER_INVITE = "withdrawn with its departure after the invite went out"


def hr_stage(interview: Interview, now: datetime) -> str | None:
    """An interview as HR and the HR system may see it: `scheduled` (nothing went out yet),
    `sent` (the invite, or a link in its place, went out and its answering period has not
    ended), `closed` (it has ended, or the departure was withdrawn) or `unreachable` (chat
    could not reach the employee). Read from what HR, the HR system, the platforms and the
    clock did (`Interview.shown_until`, `unreachable_at`), never from the interview's status:
    taking part, declining, stopping, deleting one's answers and silence all read `sent`,
    then `closed` at the same moment. None: nothing for HR to count (withdrawn before
    anything went out, or an interview someone opened themselves, without an invite)."""
    if interview.unreachable_at is not None:
        return "unreachable"
    if interview.shown_until is not None:
        return "sent" if now < interview.shown_until else "closed"
    if interview.status == "scheduled":
        return "scheduled"
    return "closed" if interview.status == "expired" else None


def hr_stage_column(now: datetime) -> ColumnElement[str | None]:
    """`hr_stage` inside a query over interviews."""
    return case(
        (Interview.unreachable_at.is_not(None), "unreachable"),
        (Interview.shown_until > now, "sent"),
        (Interview.shown_until.is_not(None), "closed"),
        (Interview.status == "scheduled", "scheduled"),
        (Interview.status == "expired", "closed"),
        else_=None,
    )


def went_out(interview: Interview | None) -> bool:
    """Whether the departure's invite (or a link in its place) went out to the employee, as
    HR and the HR system know it: from then on they are told the same whatever the person
    did (`hr_stage`), and the departure never invites again. Not an invite chat could not
    deliver (`unreachable_at`), nor one withdrawn from the wrong person (`bot.readdress`)."""
    return (
        interview is not None
        and interview.shown_until is not None
        and interview.unreachable_at is None
        and (interview.status != "cancelled" or interview.note == WITHDRAWN_AFTER_INVITE)
    )


def offered(interview: Interview, until: datetime) -> None:
    """The invite, or a link in its place, went out (the tick, the web fallback, an HR
    admin): HR is shown it `sent` until `until`. Once: what the person does never moves it."""
    if interview.shown_until is None and interview.unreachable_at is None:
        interview.shown_until = until


def close_for_hr(interview: Interview, now: datetime) -> None:
    """The HR system or HR ended the answering period now (a withdrawal): `closed` from now."""
    if interview.shown_until is not None and interview.shown_until > now:
        interview.shown_until = now


def ended(interview: Interview) -> bool:
    """Whether a departure's own interview has ended its story: never invited again for it,
    whatever its dates become. A `FINAL` status, or expired after the invite reached the
    person (left unanswered or unfinished): that is as much their answer as a decline, and
    a second invite for a later last day would tell the HR system that they neither took
    part nor said no. An invite that expired before it went out reached nobody."""
    if interview.status == "expired":
        return interview.invited_at is not None
    return interview.status in FINAL


def ended_reason(status: str) -> str:
    """The reason code for a departure whose own interview ended (`ended`)."""
    return "unreachable" if status == "unreachable" else "invited_before"


@dataclass(frozen=True, slots=True)
class DepartureOutcome:
    """What applying one event (or decision) did; the webhook answers this as JSON."""

    status: str  # scheduled | awaiting_approval | not_invited | cancelled | duplicate
    departure_id: str | None = None
    reason: str | None = None  # an English sentence (`REASONS`)
    invite_at: datetime | None = None
    expires_at: datetime | None = None
    timezone: str | None = None
    interview: str | None = None  # `hr_stage`: scheduled | sent | closed
    stale: bool = False
    detail: str | None = None
    reason_code: str | None = None  # a key of `REASONS`
    # the departure's invite had gone out (`_told_after_the_invite`): its new last day is
    # stored whatever the answer; for `start` / `exitbot invite` to say so (not in the JSON)
    after_the_invite: bool = False

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {"status": self.status}
        if self.departure_id is not None:
            data["departure_id"] = self.departure_id
        if self.reason:
            data["reason"] = self.reason
        if self.reason_code:
            data["reason_code"] = self.reason_code
        for name in ("invite_at", "expires_at"):
            moment = getattr(self, name)
            if moment is not None:
                data[name] = moment.isoformat().replace("+00:00", "Z")
        if self.timezone:
            data["timezone"] = self.timezone
        if self.interview:
            data["interview"] = self.interview
        if self.stale:
            data["stale"] = True
            data["detail"] = "a newer event for this departure was applied before; nothing changed"
        elif self.detail:
            data["detail"] = self.detail
        return data


def not_invited(
    departure_id: str | None, code: str, *, interview: str | None = None, **values: str
) -> DepartureOutcome:
    """A `not_invited` outcome for the reason `code` (a key of `REASONS`)."""
    return DepartureOutcome(
        "not_invited",
        departure_id,
        reason=REASONS[code].format(**values),
        reason_code=code,
        interview=interview,
    )


# ---------------------------------------------------------------------- calendar


@cache
def calendar_for(country: str | None) -> BusinessCalendar:
    return BusinessCalendar(country=country)


def zone_named(name: str | None, settings: Settings) -> ZoneInfo:
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            log.warning("ignoring unknown time zone from a platform profile")
    return settings.zone


async def zone_of(session: AsyncSession, employee: Employee | None, settings: Settings) -> ZoneInfo:
    """The employee's own zone (HR system, then chat platform), else the company's."""
    if employee is None:
        return settings.zone
    if employee.timezone:
        return zone_named(employee.timezone, settings)
    reported = await session.scalar(
        select(PlatformIdentity.timezone)
        .where(PlatformIdentity.employee_id == employee.id, PlatformIdentity.timezone.is_not(None))
        .order_by(PlatformIdentity.updated_at.desc())
        .limit(1)
    )
    return zone_named(reported, settings)


def plan_for(settings: Settings, last_day: date, tz: ZoneInfo, now: datetime) -> InvitePlan:
    return plan_invite(
        calendar_for(settings.holidays),
        last_day,
        settings.invite_lead_days,
        tz,
        now,
        grace=timedelta(hours=settings.expiry_grace_hours),
    )


# ---------------------------------------------------------------------- webhook events


class _Duplicate(Exception):
    pass


async def apply_event(
    runtime: Runtime, event: DepartureEvent, *, webhook_id: str, event_at: datetime
) -> DepartureOutcome:
    """Record the webhook id and apply the event, in one transaction.

    Raises `bot.db.StorageUnavailable` (nothing stored) when the database is down.
    """
    now = runtime.clock.now()
    try:
        async with runtime.db.transaction() as session:
            inserted = await session.scalar(
                insert_ignoring_conflicts(session, WebhookEvent)
                .values(webhook_id=webhook_id, event_type=event.type, received_at=now)
                .on_conflict_do_nothing(index_elements=["webhook_id"])
                .returning(WebhookEvent.webhook_id)
            )
            if inserted is None:
                raise _Duplicate
            outcome = await _apply(session, runtime, event, event_at, now)
    except _Duplicate:
        log.info("departure webhook %s: duplicate delivery, nothing changed", webhook_id)
        return DepartureOutcome("duplicate", event.departure_id)
    log.info(
        "departure webhook %s: %s %s%s",
        webhook_id,
        event.type,
        outcome.status,
        " (stale)" if outcome.stale else "",
    )
    return outcome


async def _apply(
    session: AsyncSession,
    runtime: Runtime,
    event: DepartureEvent,
    event_at: datetime,
    now: datetime,
) -> DepartureOutcome:
    settings = runtime.settings
    cancelling = event.type == "departure.cancelled"
    if await session.get(ErasedDeparture, erased_ref(event.departure_id)) is not None:
        # erased on request (`exitbot forget`): nothing about it is stored again
        if cancelling:
            return DepartureOutcome("cancelled", event.departure_id)
        return not_invited(event.departure_id, "erased")
    if cancelling:
        # A cancellation may reschedule the person's other departures
        # (`_offer_to_other_departures`): all of theirs are locked first, oldest first, so
        # that two cancellations of one person's departures queue instead of deadlocking.
        await _lock_the_persons_departures(session, event.departure_id)
    departure, created = await _lock_departure(session, event, now, settings)
    if not created and _is_stale(departure, event_at, cancelling):
        return await _current_outcome(session, departure, now, stale=True)
    departure.event_at = event_at
    departure.updated_at = now
    if cancelling:
        departure.status = "cancelled"
        interview = await _latest_interview(session, departure.id)
        if interview is not None and went_out(interview):
            # However the person answered it, or not: closed for HR from now, and (as
            # after any answer) it frees them for no other departure of theirs
            close_for_hr(interview, now)
            await cancel_interview(session, interview, now)
        elif interview is not None and interview.status in ("scheduled", *LIVE):
            await cancel_interview(session, interview, now)
            await offer_to_other_departures(session, runtime, departure.employee_id, departure, now)
        return DepartureOutcome("cancelled", departure.external_id)

    # awaiting approval and listed since before this event: the same round of waiting
    was_waiting = (
        not created and departure.status == "active" and departure.decision == "awaiting_approval"
    )
    person = event.employee
    if person.language and person.language not in runtime.questionnaire.languages:
        # A language the interview is not held in: the chat profile, else the default, decides
        person = replace(person, language=None)
    old_id = departure.employee_id
    employee, unsent = await _name_the_person(session, departure, person, now)
    reactivated = departure.status == "cancelled"
    kind_changed = departure.kind != event.kind
    departure.employee_id = employee.id
    departure.kind = event.kind
    departure.last_working_day = event.last_working_day
    departure.status = "active"
    note = None
    if created or ((kind_changed or reactivated) and departure.decision in AUTOMATIC_DECISIONS):
        note = await _apply_policy(session, departure, settings, now)
    outcome = await schedule(session, runtime, departure, employee, now)
    if unsent is not None:
        # the old address's person may have a departure of their own that was left uninvited
        # because of it (HR swapped two departures' addresses): it gets its chance now
        await offer_to_other_departures(session, runtime, old_id, departure, now)
    if outcome.status == "awaiting_approval" and (not was_waiting or kind_changed):
        # a new round of waiting, or the same with another kind: the request HR has names
        # the old kind, so a new one asks (and the old one's buttons decide nothing)
        await ask_for_approval(session, departure, now)
    if note is not None:
        # the code stays the one saying why not invited, if any; the sentence adds the note
        text = REASONS[note]
        outcome = replace(
            outcome,
            reason=f"{outcome.reason}; {text}" if outcome.reason else text,
            reason_code=outcome.reason_code or note,
        )
    return await follow_the_person(session, departure, outcome, now)


async def _name_the_person(
    session: AsyncSession, departure: Departure, person: EmployeeData, now: datetime
) -> tuple[Employee, Interview | None]:
    """The employee the event names, locked. A corrected address: with the person the
    departure named before (both in the order of their ids, `lock_people`: two departures
    swapping addresses at once lock the same two in the same order, never a deadlock), whose
    row keeps nothing of the employee's (`_leave_the_old_address`); and the invite, not sent
    yet, that was theirs (`schedule` moves or withdraws it, which may free them)."""
    old_id = departure.employee_id
    employee = await upsert_employee(session, person, now, with_id=old_id)
    if old_id is None or old_id == employee.id:
        return employee, None
    interview = await _latest_interview(session, departure.id)
    await _leave_the_old_address(session, departure, old_id, employee, now)
    return (
        employee,
        interview if interview is not None and interview.status == "scheduled" else None,
    )


async def _apply_policy(
    session: AsyncSession, departure: Departure, settings: Settings, now: datetime
) -> str | None:
    """Give the departure the policy's decision for its (new) kind. Re-classified, after the
    invite went out, to a kind the policy does not invite automatically: the invite stands
    (the decision that sent it stays), whether or not the employee has started; withdrawing
    only an unstarted one would tell the HR system which it was. To withdraw it, the HR
    system cancels the departure. Returns what the answer should add (a key of `REASONS`)."""
    decision = policy_decision(settings, departure.kind)
    if decision not in INVITING_DECISIONS:
        interview = await _latest_interview(session, departure.id)
        if went_out(interview) or (interview is not None and interview.status in LIVE):
            return "under_way"
    departure.decision = decision
    return None


def elsewhere(
    employee_id: _Id[int | None] | int, departure_id: _Id[int] | int, now: datetime
) -> ColumnElement[bool]:
    """An interview that rules out one more for this person and departure: one for another
    departure (or none) still to be held or under way, or, in the last `ONE_INTERVIEW_DAYS`,
    completed (one person counts once in a digest) or otherwise closed after its invite
    reached the person (declined, stopped, answers deleted, left to expire): a second
    departure record must not ask again someone who said no, and an answer that depended on
    how the first one went would tell the HR system whether they took part. An invite
    withdrawn with its departure after it went out counts too (`WITHDRAWN_AFTER_INVITE`): it
    may have been answered before. (One withdrawn before it went out, or from the wrong
    person, an undeliverable one and a try-out, `Interview.tryout`, do not count, nor one
    that reached this person by mistake, found out by the tick (`REACHED_ANOTHER`): an
    invite meant for someone else was not their exit interview, however they answered it,
    so whether their own departure is invited tells nothing about that either.)
    Also used inside queries over departures (`bot.fallback`), so that those skipped for it
    do not crowd out the others."""
    since = now - timedelta(days=ONE_INTERVIEW_DAYS)
    return and_(
        Interview.employee_id == employee_id,
        Interview.tryout.is_(False),
        or_(Interview.note.is_(None), Interview.note != REACHED_ANOTHER),
        or_(Interview.departure_id.is_(None), Interview.departure_id != departure_id),
        or_(
            Interview.status.in_(("scheduled", *LIVE)),
            and_(Interview.status == "completed", Interview.completed_at >= since),
            and_(Interview.status.in_(ANSWERED_OR_NOT), Interview.invited_at >= since),
            and_(
                Interview.status == "cancelled",
                Interview.note == WITHDRAWN_AFTER_INVITE,
                Interview.invited_at >= since,
            ),
        ),
    )


async def interview_elsewhere(
    session: AsyncSession, employee_id: int, departure_id: int, now: datetime
) -> str | None:
    """Why this person must not get a second interview, if so (a key of `REASONS`): one
    counts once in a digest. (Two departure records for one person, or one HR sent twice
    under two ids.) Whether the other one is still to be held or was held is not told."""
    query = select(Interview.id).where(elsewhere(employee_id, departure_id, now)).limit(1)
    return "interview_elsewhere" if await session.scalar(query) is not None else None


def _gets_a_web_link(settings: Settings, last_day: date, now: datetime) -> bool:
    """Whether the tick will offer a departure announced too late a web link instead
    (`bot.fallback`), so that the webhook's answer can say so."""
    from bot.fallback import FALLBACK_DAYS

    return (
        settings.fallback_after_last_day
        and last_day >= (now - timedelta(days=FALLBACK_DAYS)).date()
    )


def policy_decision(settings: Settings, kind: str) -> str:
    return POLICY_DECISION[settings.policy.get(kind, "manual")]


def _is_stale(departure: Departure, event_at: datetime, cancelling: bool) -> bool:
    if departure.event_at is None:
        return False
    if event_at < departure.event_at:
        return True
    return event_at == departure.event_at and departure.status == "cancelled" and not cancelling


async def _lock_departure(
    session: AsyncSession, event: DepartureEvent, now: datetime, settings: Settings
) -> tuple[Departure, bool]:
    """The departure row, locked; created (as the event describes it) when new."""
    new_id = await session.scalar(
        insert_ignoring_conflicts(session, Departure)
        .values(
            external_id=event.departure_id,
            kind=event.kind,
            last_working_day=event.last_working_day,
            status="active",
            decision=policy_decision(settings, event.kind),
            event_at=None,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["external_id"])
        .returning(Departure.id)
    )
    departure = await session.scalar(
        select(Departure)
        .where(Departure.external_id == event.departure_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert departure is not None
    return departure, new_id is not None


async def _lock_the_persons_departures(session: AsyncSession, external_id: str) -> None:
    """Lock every departure of the person `external_id` belongs to, in the order of their
    ids: the one order in which a transaction that locks more than one departure takes
    them (PostgreSQL; SQLite's writers take turns anyway). Nothing when it is unknown."""
    owner = (
        select(Departure.employee_id).where(Departure.external_id == external_id).scalar_subquery()
    )
    await session.execute(
        select(Departure.id)
        .where(Departure.employee_id == owner)
        .order_by(Departure.id)
        .with_for_update()
    )


async def _leave_the_old_address(
    session: AsyncSession, departure: Departure, old_id: int, employee: Employee, now: datetime
) -> None:
    """The departure names another address now (HR corrected it): what its events told about
    the departing person leaves the row of the address it named before, which may be a
    colleague's. The corrected address's row gets what it has no value for (a correction
    need not repeat every field), except the name, which a chat platform may have given the
    old row. A row that another departure names is the HR system's record of someone else:
    only what equals the corrected address's details, the departing person's, leaves it.
    The row itself stays (interviews and chat identities still refer to it)."""
    old = await session.get(Employee, old_id, with_for_update=True, populate_existing=True)
    if old is None:
        return
    named_elsewhere = await session.scalar(
        select(Departure.id)
        .where(Departure.employee_id == old.id, Departure.id != departure.id)
        .limit(1)
    )
    for name in HR_DETAILS:
        value, theirs = getattr(old, name), getattr(employee, name)
        if value is None or (named_elsewhere is not None and value != theirs):
            continue
        if theirs is None and name != "name":
            setattr(employee, name, value)
        setattr(old, name, None)
    old.updated_at = now


async def upsert_employee(
    session: AsyncSession, data: EmployeeData, now: datetime, *, with_id: int | None = None
) -> Employee:
    """Create or update the employee the HR system describes (safe under concurrency), locked,
    with the row `with_id` (the address a correction replaces): `lock_people`."""
    await session.execute(
        insert_ignoring_conflicts(session, Employee)
        .values(email=data.email, created_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=["email"])
    )
    own = select(Employee.id).where(Employee.email == data.email).scalar_subquery()
    await lock_people(session, own, with_id)
    employee = await session.scalar(select(Employee).where(Employee.email == data.email))
    assert employee is not None
    manager = data.manager
    for name, value in (
        ("external_id", data.id),
        ("name", data.name),
        ("language", data.language),
        ("timezone", data.timezone),
        ("department", data.department),
        ("personal_email", data.personal_email),
        ("manager_email", manager.email if manager else None),
        ("manager_name", manager.name if manager else None),
    ):
        if value is not None:
            setattr(employee, name, value)
    employee.updated_at = now
    return employee


async def lock_people(session: AsyncSession, *ids: ColumnElement[int] | int | None) -> None:
    """Lock these employee rows (None: none) in the order of their ids: the one order in
    which a transaction that locks more than one person takes them (each after the
    departures it locks). Two corrections at once, A's address to B's and B's to A's, each
    lock both people: in opposite orders they deadlocked on PostgreSQL."""
    wanted = [i for i in ids if i is not None]
    if wanted:
        await session.execute(
            select(Employee)
            .where(Employee.id.in_(wanted))
            .order_by(Employee.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )


async def _latest_interview(session: AsyncSession, departure_id: int) -> Interview | None:
    return await session.scalar(
        select(Interview)
        .where(Interview.departure_id == departure_id)
        .order_by(Interview.id.desc())
        .limit(1)
        .with_for_update()
    )


async def _current_outcome(
    session: AsyncSession, departure: Departure, now: datetime, *, stale: bool
) -> DepartureOutcome:
    """The departure's state as it stands (answer to a stale event)."""
    if departure.status == "cancelled":
        return DepartureOutcome("cancelled", departure.external_id, stale=stale)
    if departure.decision == "awaiting_approval":
        return DepartureOutcome("awaiting_approval", departure.external_id, stale=stale)
    interview = await _latest_interview(session, departure.id)
    if interview is not None and went_out(interview):
        return replace(_told_after_the_invite(departure, interview, None, now), stale=stale)
    if (
        interview is not None
        and interview.status in ("scheduled", *LIVE)
        and not unreached(interview)
    ):
        return DepartureOutcome(
            "scheduled",
            departure.external_id,
            invite_at=interview.invite_at,
            expires_at=interview.expires_at,
            interview="scheduled" if interview.status == "scheduled" else "sent",
            stale=stale,
        )
    return replace(_not_inviting(departure, interview), stale=stale)


def unreached(interview: Interview) -> bool:
    """Chat could not reach the employee: so it stays for HR and the HR system, also once
    they took up the web link offered instead (what they did with it is theirs)."""
    return interview.unreachable_at is not None or interview.status == "unreachable"


def _not_inviting(departure: Departure, interview: Interview | None) -> DepartureOutcome:
    if interview is not None and unreached(interview):
        return not_invited(departure.external_id, "unreachable", interview="closed")
    if interview is not None and ended(interview):
        return not_invited(
            departure.external_id, ended_reason(interview.status), interview="closed"
        )
    if departure.decision == "skipped":
        return not_invited(departure.external_id, "skipped")
    if departure.decision == "not_invited":
        kind = departure.kind.replace("_", " ")
        return not_invited(departure.external_id, "needs_hr_admin", kind=kind)
    return not_invited(departure.external_id, "last_day_passed")


# ---------------------------------------------------------------------- scheduling


async def schedule(
    session: AsyncSession,
    runtime: Runtime,
    departure: Departure,
    employee: Employee,
    now: datetime,
) -> DepartureOutcome:
    """Bring the departure's interview and jobs in line with its decision and dates."""
    settings = runtime.settings
    interview = await _latest_interview(session, departure.id)
    if departure.decision == "awaiting_approval":
        await _drop_unsent(session, interview, now)  # HR admins are asked: `ask_for_approval`
        return DepartureOutcome("awaiting_approval", departure.external_id)
    if departure.decision not in INVITING_DECISIONS:
        await _drop_unsent(session, interview, now)
        return _not_inviting(departure, None)
    assert departure.last_working_day is not None
    tz = await zone_of(session, employee, settings)
    plan = plan_for(settings, departure.last_working_day, tz, now)
    assert plan.expires_at is not None
    if _reached_someone_else(interview, employee):
        # HR corrected the address after an invite that someone else declined, or that found
        # nobody: that was not this employee's answer. They are asked now, as if anew.
        log.info("departure %s: its closed invite reached another address", departure.id)
        interview = None
    # A private web link given out (the fallback, `exitbot link`) was said to work until its
    # date: the interview stays open at least that long, whatever the new dates are
    promised = await _link_promised(session, interview)
    ends = plan.expires_at if promised is None else max(promised, plan.expires_at)
    if interview is not None and went_out(interview):
        await _follow_the_dates(session, interview, ends, now)
        return _told_after_the_invite(departure, interview, tz, now)
    if interview is not None and (unreached(interview) or ended(interview)):
        return _not_inviting(departure, interview)
    if interview is not None and (interview.status in LIVE or _made_for_the_web(interview)):
        # Under way without an invite HR knows of (from before `shown_until`): as one sent.
        # One held by web link stays the one interview: a chat invite now would be a second.
        await _follow_the_dates(session, interview, ends, now)
        return DepartureOutcome(
            "scheduled",
            departure.external_id,
            invite_at=interview.invite_at,
            expires_at=ends,
            timezone=tz.key,
            interview="sent",
        )
    # Asked even when this departure's invite is scheduled already: HR may have corrected
    # the address to someone with an interview of their own, who must not get two invites.
    # And before the dates: the web fallback makes no second interview either, so a late
    # departure of theirs must not be answered `web_link`, a link that never comes.
    taken = await interview_elsewhere(session, employee.id, departure.id, now)
    if taken is not None:
        await _drop_unsent(session, interview, now)
        return not_invited(departure.external_id, taken)
    if plan.invite_at is None:
        await _drop_unsent(session, interview, now)
        late = _gets_a_web_link(settings, departure.last_working_day, now)
        return not_invited(departure.external_id, "web_link" if late else "last_day_passed")
    if interview is None or interview.status != "scheduled":
        interview = runtime.service.new_interview(
            employee_id=employee.id,
            language=employee.language or settings.language,
            now=now,
            departure_id=departure.id,
            status="scheduled",
        )
        session.add(interview)
        await session.flush()
    interview.employee_id = employee.id
    # Not sent yet: in the language a fresh invite to this person gets (the tick may prefer
    # their chat locale then: `bot.invites`), never one chosen for the address HR corrected,
    # nor one the departure's events no longer tell
    interview.language = runtime.service.interview_language(employee.language)
    interview.invite_at = plan.invite_at
    interview.expires_at = plan.expires_at
    interview.note = None
    interview.updated_at = now
    for kind, due_at in (("invite", plan.invite_at), ("expire", plan.expires_at)):
        await set_job(
            session,
            kind=kind,
            key=f"{kind}:{interview.id}",
            due_at=due_at,
            now=now,
            interview_id=interview.id,
        )
    return DepartureOutcome(
        "scheduled",
        departure.external_id,
        invite_at=plan.invite_at,
        expires_at=plan.expires_at,
        timezone=tz.key,
        interview="scheduled",
    )


async def _follow_the_dates(
    session: AsyncSession, interview: Interview, expires_at: datetime, now: datetime
) -> None:
    """The departure's dates changed after its invite went out: never invited again, and
    its answering period as HR is shown it (`shown_until`) moves with the last working day
    while it is open, whatever the person did; once ended, it stays ended. The interview's
    own expiry follows for what it governs: an open interview's end (and the reminders'
    horizon), and how long one declined may still be started after all
    (`bot.turns.restartable_where`). A finished one's links and "delete my answers" keep
    their own terms (`bot.links`). An interview held by private web link (`expires_at`
    includes the date its link was said to work until) stays open at least that long."""
    if interview.shown_until is not None and interview.shown_until > now:
        interview.shown_until = expires_at
    held = interview.status in LIVE or _made_for_the_web(interview)
    if held or interview.status == "declined":
        interview.expires_at = expires_at
    if held:
        await set_job(
            session,
            kind="expire",
            key=f"expire:{interview.id}",
            due_at=max(expires_at, now),
            now=now,
            interview_id=interview.id,
        )
    interview.updated_at = now


def _told_after_the_invite(
    departure: Departure, interview: Interview, tz: ZoneInfo | None, now: datetime
) -> DepartureOutcome:
    """The answer about a departure whose invite went out (`went_out`): the same whatever
    the person did with it. While its answering period is open, `scheduled` with when the
    invite was due, the period's end and `interview` `sent`; after it, `not_invited`
    (`invited_before`, `interview` `closed`). Never invited again either way."""
    if hr_stage(interview, now) == "sent":
        return DepartureOutcome(
            "scheduled",
            departure.external_id,
            invite_at=interview.invite_at,
            expires_at=interview.shown_until,
            timezone=tz.key if tz is not None else None,
            interview="sent",
            after_the_invite=True,
        )
    closed = not_invited(departure.external_id, "invited_before", interview="closed")
    return replace(closed, after_the_invite=True)


def _made_for_the_web(interview: Interview) -> bool:
    """An interview the fallback made to be held by private web link (no chat invite in
    waiting), not opened yet."""
    return interview.status == "scheduled" and interview.invite_at is None


async def _link_promised(session: AsyncSession, interview: Interview | None) -> datetime | None:
    """Until when the private web link(s) of this departure's interview were said to work
    (`bot.fallback`, `exitbot link`); None: none was given out. Whatever the person did: the
    dates HR and the HR system are told follow from it (`_follow_the_dates`)."""
    if interview is None:
        return None
    return await session.scalar(
        select(func.max(WebLink.expires_at)).where(WebLink.interview_id == interview.id)
    )


def held_by_another(interview: Interview | None, departure: Departure) -> bool:
    """A live interview held by another employee than the one the departure names now."""
    return (
        interview is not None
        and interview.status in LIVE
        and departure.employee_id is not None
        and interview.employee_id != departure.employee_id
    )


def answered_by_another(interview: Interview | None, departure: Departure) -> bool:
    """An invite answered in chat (declined, or the interview held) by another employee than
    the one the active departure names now, not looked up since: if the corrected address
    finds the same chat user (an address renamed), the answer was the employee's own."""
    return (
        interview is not None
        and interview.status in ANSWERED
        and interview.channel is not None
        and interview.channel not in NOT_FOR_INVITES
        and interview.note != REACHED_ANOTHER
        and interview.employee_id is not None  # None: that person was erased (`forget`)
        and departure.status == "active"
        and departure.employee_id is not None
        and interview.employee_id != departure.employee_id
    )


def to_look_up(interview: Interview | None, departure: Departure) -> bool:
    """An invite of this departure that the tick's `readdress` job looks up in chat: held,
    or answered there, by another employee than the one the departure names now."""
    return held_by_another(interview, departure) or answered_by_another(interview, departure)


async def follow_the_person(
    session: AsyncSession, departure: Departure, outcome: DepartureOutcome, now: datetime
) -> DepartureOutcome:
    """The departure names another person than the one its invite went to (HR corrected the
    address): the tick's `readdress` job (`bot.readdress`) finds out in chat whether that is
    the same chat user, never this transaction. An invite already answered reads the same
    whatever the answer was: how it went is not shared."""
    interview = await _latest_interview(session, departure.id)
    if interview is None or not to_look_up(interview, departure):
        return outcome
    await set_job(
        session,
        kind="readdress",
        key=f"readdress:{interview.id}",
        due_at=now,
        now=now,
        interview_id=interview.id,
    )
    log.info("interview %s: its departure's address changed after the invite", interview.id)
    live = interview.status in LIVE
    return replace(outcome, detail=READDRESS_DETAIL if live else READDRESS_ANSWERED_DETAIL)


async def offer_to_other_departures(
    session: AsyncSession,
    runtime: Runtime,
    employee_id: int | None,
    departure: Departure,
    now: datetime,
) -> None:
    """The person's invite left with this departure (cancelled, or its address corrected to
    someone else's): their other active departures (one announced twice under two ids, or
    their own one whose address HR swapped with this one's), left uninvited because of it,
    get their chance by the same rules. Only a withdrawn or moved invite frees the person; a
    declined or completed one still counts, so nothing happens then.

    A departure locked by another transaction is skipped, never waited for (this one holds
    the person, whom that one locks next, after its departure: waiting would deadlock): that
    transaction brings it in line itself, after this one, and sees the person freed."""
    if employee_id is None:
        return
    employee = await session.get(Employee, employee_id)
    if employee is None:
        return
    others = await session.scalars(
        select(Departure)
        .where(
            Departure.employee_id == employee.id,
            Departure.status == "active",
            Departure.id != departure.id,
        )
        .order_by(Departure.id)
        .with_for_update(skip_locked=True)  # a cancellation holds them already
        .execution_options(populate_existing=True)
    )
    for other in others.all():
        outcome = await schedule(session, runtime, other, employee, now)
        log.info("departure %s after another's invite left: %s", other.id, outcome.status)
        if outcome.status == "scheduled":
            return  # one interview per person: the rest stay as they are


def _reached_someone_else(interview: Interview | None, employee: Employee) -> bool:
    """An invite for this departure that went to another person (the address was corrected
    since) and ended without an interview: undeliverable, or declined or left to expire by
    them. A "no thanks" or an expiry in chat counts as someone else's once the tick has found
    that the corrected address is another chat user (`REACHED_ANOTHER`): until then it may be
    the employee's own, given under an address since renamed, and it stands. (A live one
    follows the person: `follow_the_person`; a completed one is left as it is.)"""
    return (
        interview is not None
        and interview.status in ("declined", "expired", "unreachable")
        and interview.employee_id is not None  # None: that person was erased (`forget`)
        and interview.employee_id != employee.id
        and (
            interview.status == "unreachable"
            or interview.channel in (None, *NOT_FOR_INVITES)
            or interview.note == REACHED_ANOTHER
        )
    )


async def _drop_unsent(session: AsyncSession, interview: Interview | None, now: datetime) -> None:
    """Withdraw an invite that has not gone out yet (the decision or the dates changed)."""
    if interview is not None and interview.status == "scheduled":
        interview.status = "cancelled"
        interview.updated_at = now
        await cancel_jobs(session, interview.id, now)


async def cancel_interview(
    session: AsyncSession, interview: Interview, now: datetime, *, reason: str = "cancelled"
) -> None:
    """The departure was withdrawn (or the invite reached the wrong person: `reason`
    "misdirected"): stop the interview, delete its answers, say goodbye (`reason` names
    the text, `bot.invites`)."""
    if interview.status not in ("scheduled", *LIVE):
        return
    heard_from_us = interview.status in LIVE
    if reason == "cancelled" and went_out(interview):
        interview.note = WITHDRAWN_AFTER_INVITE
    close_for_hr(interview, now)
    await cancel_jobs(session, interview.id, now)
    await session.execute(delete(AnswerRow).where(AnswerRow.interview_id == interview.id))
    await facts_mod.remove(session, interview.id)
    interview.state_enc = None
    interview.status = "cancelled"
    interview.updated_at = now
    if heard_from_us and interview.channel and interview.address:
        await ensure_job(
            session,
            kind="close",
            key=f"close:{interview.id}",
            due_at=now,
            now=now,
            interview_id=interview.id,
            payload={"reason": reason},
        )
    log.info("interview %s cancelled (%s)", interview.id, reason)


# ---------------------------------------------------------------------- HR admins


def _approval_jobs(departure_id: int | _Id[int]) -> ColumnElement[bool]:
    """The approval requests of one departure, every round's (`approval:<id>` before rounds);
    `departure_id` may be the column, inside a query over departures."""
    key: ColumnElement[str] | str
    if isinstance(departure_id, int):
        key = f"approval:{departure_id}"
    else:
        key = literal("approval:") + cast(departure_id, String)
    return and_(
        Job.kind == "notify_approval",
        or_(Job.idempotency_key == key, Job.idempotency_key.like(key + ":%")),
    )


def approval_round(departure_id: int | _Id[int]) -> ColumnElement[int]:
    """How many rounds of waiting for approval the departure began: the number of the
    current one while it waits (0 for one that never waited)."""
    return select(func.count(Job.id)).where(_approval_jobs(departure_id)).scalar_subquery()


async def ask_for_approval(session: AsyncSession, departure: Departure, now: datetime) -> int:
    """The departure (locked) starts a round of waiting for an HR admin's approval: one
    request in chat per round (`bot.invites.request_approval`), keyed by the round's number
    (these jobs are never purged), so a retried event or another replica never asks twice,
    and a departure that waits again (contract end, resignation, contract end), or whose
    kind changes while it waits (to another kind that needs approval), asks again. The
    request's buttons carry the round (`approval_choices`): an older request's decide
    nothing (`decide`). Returns the round."""
    number = int(await session.scalar(select(approval_round(departure.id))) or 0) + 1
    await ensure_job(
        session,
        kind="notify_approval",
        key=f"approval:{departure.id}:{number}",
        due_at=now,
        now=now,
        payload={"departure_id": departure.id, "round": number},
    )
    return number


async def approval_superseded(session: AsyncSession, departure_id: int, number: int) -> bool:
    """Whether a later round of waiting began after the one this request was for: its own
    request asks then, never this one as well."""
    later = await session.scalar(
        select(Job.id).where(Job.idempotency_key == f"approval:{departure_id}:{number + 1}")
    )
    return later is not None


@dataclass(frozen=True, slots=True)
class PendingApproval:
    departure_id: str
    kind: str
    last_working_day: date | None
    employee_name: str | None
    department: str | None
    announced_at: datetime
    round_number: int = 1  # the round of waiting it is listed in (`approval_choices`)


@dataclass(frozen=True, slots=True)
class DecisionResult:
    """What an approval decision did; `message` is a sentence for the HR admin."""

    # scheduled | not_invited | skipped | not_found | not_pending | replaced | not_allowed
    status: str
    message: str
    outcome: DepartureOutcome | None = None
    last_day: date | None = None  # the departure's, once decided (what a web link follows)


async def pending_approvals(runtime: Runtime) -> list[PendingApproval]:
    async with runtime.db.sessions() as session:
        rows = (
            await session.execute(
                select(Departure, Employee, approval_round(Departure.id))
                .outerjoin(Employee, Employee.id == Departure.employee_id)
                .where(Departure.decision == "awaiting_approval", Departure.status == "active")
                .order_by(Departure.last_working_day, Departure.id)
            )
        ).all()
    return [
        PendingApproval(
            departure_id=departure.external_id,
            kind=departure.kind,
            last_working_day=departure.last_working_day,
            employee_name=employee.name if employee else None,
            department=employee.department if employee else None,
            announced_at=departure.created_at,
            round_number=max(int(number or 0), 1),
        )
        for departure, employee, number in rows
    ]


async def decide(
    runtime: Runtime,
    departure_external_id: str,
    approve: bool,
    by_email: str | None,
    *,
    round_number: int | None = None,
) -> DecisionResult:
    """An HR admin approves or skips a departure awaiting approval.

    `by_email` is the admin who clicked (checked against `EXITBOT_HR_ADMINS`); None means
    the command line, whose user already has the server's configuration. `round_number`
    is the round of waiting the request (its buttons, a listing) was made in: when the
    departure has waited again since (its kind changed), the request was replaced and
    decides nothing ("replaced"). None: the current round (`exitbot approvals --approve`).
    """
    if by_email is not None and not runtime.settings.is_hr_admin(by_email):
        return DecisionResult("not_allowed", "Only HR admins can decide on approvals.")
    now = runtime.clock.now()
    async with runtime.db.transaction() as session:
        departure = await session.scalar(
            select(Departure)
            .where(Departure.external_id == departure_external_id)
            .with_for_update()
        )
        if departure is None:
            return DecisionResult("not_found", f"No departure {departure_external_id!r} found.")
        if departure.decision != "awaiting_approval" or departure.status != "active":
            return DecisionResult(
                "not_pending",
                f"Departure {departure_external_id} is not awaiting approval"
                f" (decision: {departure.decision.replace('_', ' ')}).",
            )
        if round_number is not None:
            current = await session.scalar(select(approval_round(departure.id)))
            if round_number != max(int(current or 0), 1):
                return DecisionResult(
                    "replaced",
                    f"The request for departure {departure_external_id} was replaced by a "
                    "newer one (the departure changed since); nothing was decided.",
                )
        departure.decided_by = (by_email or "command line").strip().lower()
        departure.updated_at = now
        if not approve:
            departure.decision = "skipped"
            log.info("departure %s: skipped by an HR admin", departure.id)
            return DecisionResult(
                "skipped", f"Skipped: no interview for departure {departure_external_id}."
            )
        departure.decision = "approved"
        # The person next, locked, in the webhook's order (`_apply`: departure, then person):
        # an event for another departure of theirs at the same moment waits for this
        # transaction, or this one for it, and the second sees the first's interview.
        employee = (
            await session.get(
                Employee, departure.employee_id, with_for_update=True, populate_existing=True
            )
            if departure.employee_id is not None
            else None
        )
        if employee is None:
            return DecisionResult("not_found", "The departure's employee is no longer stored.")
        outcome = await schedule(session, runtime, departure, employee, now)
    log.info("departure %s: approved by an HR admin; %s", departure.id, _what_follows(outcome))
    if outcome.status == "scheduled" and outcome.invite_at is not None:
        when = describe_moment(outcome.invite_at, outcome.timezone)
        return DecisionResult(
            "scheduled",
            f"Approved: the invite for {departure_external_id} goes out {when}.",
            outcome,
        )
    return DecisionResult(
        outcome.status,
        f"Approved, but not invited: {outcome.reason or outcome.status}.",
        outcome,
        departure.last_working_day,
    )


def _what_follows(outcome: DepartureOutcome) -> str:
    """What an approval led to, for the log (no names, no emails)."""
    if outcome.status == "scheduled":
        return (
            "chat invite scheduled"
            if outcome.interview == "scheduled"
            else "the invite already went out"
        )
    if outcome.reason_code == "web_link":
        return "no chat invite (the last working day has passed): an interview by web link follows"
    return f"not invited ({outcome.reason_code or outcome.status})"


def describe_moment(moment: datetime, timezone: str | None) -> str:
    zone = ZoneInfo(timezone) if timezone else None
    local = moment.astimezone(zone) if zone else moment
    label = timezone or "UTC"
    return f"{local:%a %d %b %Y %H:%M} {label}"


async def invite_by_hand(
    runtime: Runtime,
    email: str,
    last_day: date,
    *,
    kind: str | None = None,
    language: str | None = None,
    by: str | None = None,
) -> DepartureOutcome:
    """An HR admin starts an interview: reuse the employee's open departure or make one."""
    now = runtime.clock.now()
    address = valid_email(email)
    if address is None:  # as the webhook refuses it; nothing is stored
        return not_invited(None, "invalid_email")
    email = address
    async with runtime.db.transaction() as session:
        # Locked in the webhook's order (`_apply`, `decide`): the departure, then the person.
        # The other way round, an event or an approval for that departure deadlocked with it.
        employee_id = await _stored_employee(session, email, now)
        departure = await _departure_to_reuse(session, employee_id, now)
        employee = await upsert_employee(session, EmployeeData(email=email, language=language), now)
        interview = await _latest_interview(session, departure.id) if departure else None
        if (
            departure is not None
            and interview is not None
            and not went_out(interview)
            and (unreached(interview) or ended(interview))
        ):
            # this leaving's interview ended before HR knew of an invite (unreachable, ...):
            # changed by nobody. One whose invite went out takes the new last day, as a
            # webhook update does, whatever the person did (`_told_after_the_invite`).
            return _not_inviting(departure, interview)
        if departure is None:
            departure = Departure(
                external_id=f"manual-{uuid.uuid4().hex[:12]}",
                employee_id=employee.id,
                kind=kind or "other",
                status="active",
                decision="manual",
                created_at=now,
                updated_at=now,
            )
            session.add(departure)
        departure.kind = kind or departure.kind
        departure.last_working_day = last_day
        departure.decision = "manual"
        departure.decided_by = (by or "command line").strip().lower()
        departure.updated_at = now
        await session.flush()
        return await schedule(session, runtime, departure, employee, now)


async def _stored_employee(session: AsyncSession, email: str, now: datetime) -> int:
    """The id of the employee with this address, stored now when new; not locked (an
    existing row's lock is not waited for: `upsert_employee` takes it, later)."""
    await session.execute(
        insert_ignoring_conflicts(session, Employee)
        .values(email=email, created_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=["email"])
    )
    employee_id = await session.scalar(select(Employee.id).where(Employee.email == email))
    assert employee_id is not None
    return int(employee_id)


async def _departure_to_reuse(
    session: AsyncSession, employee_id: int, now: datetime
) -> Departure | None:
    """The person's newest active departure that an HR admin's invite belongs to, locked.
    One whose interview has ended and whose last working day has passed is history
    (someone re-hired and leaving again): left as it was, so the invite makes a new one."""

    def latest(column: _Id[str] | _Id[datetime | None]) -> ColumnElement[object]:
        return (
            select(column)
            .where(Interview.departure_id == Departure.id)
            .order_by(Interview.id.desc())
            .limit(1)
            .scalar_subquery()
        )

    rows = await session.execute(
        select(
            Departure.id,
            Departure.last_working_day,
            latest(Interview.status),
            latest(Interview.shown_until),
        )
        .where(Departure.employee_id == employee_id, Departure.status == "active")
        .order_by(Departure.id.desc())
    )
    today = now.date()
    for departure_id, last_day, status, shown_until in rows.all():
        # its invite went out (whatever the person did with it: `went_out`) or it ended
        over = shown_until is not None or status in (*FINAL, "expired")
        if over and last_day is not None and last_day < today:
            continue
        # only this one is locked, as a webhook event locks only its own; read before the
        # lock, so asked again whether it is still theirs and active
        return await session.scalar(
            select(Departure)
            .where(
                Departure.id == departure_id,
                Departure.employee_id == employee_id,
                Departure.status == "active",
            )
            .with_for_update()
        )
    return None


# ---------------------------------------------------------------------- telling HR admins


def chat_channels(runtime: Runtime, preferred: Sequence[str] = ()) -> list[str]:
    """Configured chat channels that can open a DM: `preferred` first, then Slack, Teams."""
    names = [n for n in runtime.service.channels if n not in NOT_FOR_INVITES]
    ordered = [n for n in preferred if n in names]
    ordered += [n for n in CHAT_ORDER if n in names and n not in ordered]
    ordered += [n for n in names if n not in ordered]
    return ordered


# What an HR admin reads, worded in their language ("en" or "nl": `admin_language`).
Worded = Callable[[str], str]
ADMIN_LANGUAGES = ("en", "nl")


def admin_language(settings: Settings, reported: str | None) -> str:
    """The language to write to an HR admin in: their chat profile's when it is Dutch or
    English, as HR commands answer them (`bot.hr_commands`), else `EXITBOT_LANGUAGE`."""
    return reported if reported in ADMIN_LANGUAGES else settings.language


@dataclass(frozen=True, slots=True)
class AdminMessage:
    """Where one HR admin got a message (`notify_admins`' `on_sent`), to change it later."""

    channel: str
    conversation_id: str
    message_id: str  # the platform's id (Slack ts, Teams activity id)
    language: str  # the admin's, as the message was worded


async def notify_admins(
    runtime: Runtime,
    text: str | Worded,
    choices: Sequence[Choice] | Callable[[str], Sequence[Choice]] = (),
    *,
    key: str | None = None,
    on_sent: Callable[[AdminMessage], Awaitable[None]] | None = None,
) -> int:
    """Send `text` (with buttons) to each HR admin by DM on the first chat channel that
    reaches them, worded in the admin's language when `text` (and `choices`) are functions
    of it; returns how many admins were reached. Without a chat channel: nothing.
    `on_sent`: told where each message went, when its channel can change it later
    (`adapters.base.Channel`'s optional `send_tracked`)."""
    from bot.jobs import send_once, send_tracked_once

    names = chat_channels(runtime)
    if not names:
        return 0
    key = key or f"admin:{uuid.uuid4().hex}"
    reached = 0
    for number, admin in enumerate(runtime.settings.hr_admins):
        for name in names:
            channel = runtime.service.channels[name]
            try:
                opened = await channel.open_conversation(admin)
                language = admin_language(runtime.settings, opened.language)
                message = OutMessage(
                    kind="info",
                    text=text if isinstance(text, str) else text(language),
                    choices=tuple(choices(language) if callable(choices) else choices),
                )
                message_id = None
                if on_sent is None:
                    await send_once(
                        runtime, channel, opened.conversation_id, [message], key=f"{key}:{number}"
                    )
                else:
                    message_id = await send_tracked_once(
                        runtime, channel, opened.conversation_id, message, key=f"{key}:{number}"
                    )
            except Unreachable:
                continue
            except Exception as exc:  # one platform's outage must not stop the others
                log.warning("could not notify HR admin #%d on %s: %s", number, name, type(exc))
                continue
            reached += 1
            if on_sent is not None and message_id:
                await on_sent(AdminMessage(name, opened.conversation_id, message_id, language))
            break
    return reached


# Approve / Skip button values: "approve#<round>:<departure id>" (`ask_for_approval`'s
# round, so that a replaced request decides nothing); "approve:<id>" on buttons sent before
# requests carried their round, read as the first round.
APPROVAL_ACTIONS = ("approve", "skip")


def approval_choices(
    departure_external_id: str, language: str, round_number: int
) -> tuple[Choice, ...]:
    labels = {"nl": ("Goedkeuren", "Overslaan")}.get(language, ("Approve", "Skip"))
    return tuple(
        Choice(f"{action}#{round_number}:{departure_external_id}", label)
        for action, label in zip(APPROVAL_ACTIONS, labels, strict=True)
    )


def parse_decision(value: str) -> tuple[bool, str, int] | None:
    """(approve?, departure id, round) from a button value (`approval_choices`)."""
    head, sep, departure_id = value.partition(":")
    action, mark, number = head.partition("#")
    if not sep or not departure_id or action not in APPROVAL_ACTIONS:
        return None
    if not mark:
        return action == "approve", departure_id, 1  # from before rounds
    if not number.isascii() or not number.isdigit() or int(number) < 1:
        return None
    return action == "approve", departure_id, int(number)
