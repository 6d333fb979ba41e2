"""The tick's interview jobs: invite, the two reminders, expiry, the cancellation goodbye,
and the approval requests to HR admins.

Each handler reads, decides, stores in one short transaction, and only then talks to a
chat platform, with the job's idempotency key so a redone job never messages twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import conversations as conv
from adapters.base import Channel, Opened, Unreachable
from bot import approval_requests, departures, fallback, reminders, unreachable
from bot.calendar import reminder_after
from bot.jobs import (
    ClaimedJob,
    TickContext,
    TickRegistry,
    cancel_jobs,
    send_once,
    set_job,
    was_sent,
)
from bot.models import Departure, Employee, Interview, PlatformIdentity
from bot.runtime import Runtime

log = logging.getLogger(__name__)

INVITE_REMINDER_DAYS = 2  # business days an invite may wait before one reminder
IDLE_REMINDER_DAYS = 1  # business days a started interview may sit idle before one reminder
OPEN = ("scheduled", "invited", "in_progress", "paused")
APPROVAL_RETRY = timedelta(hours=1)  # while no chat channel is configured


def register(registry: TickRegistry) -> None:
    registry.handlers.update(
        {
            "invite": send_invite,
            "remind_invite": remind_invite,
            "remind_idle": remind_idle,
            "expire": expire,
            "close": send_goodbye,
            "notify_approval": request_approval,
        }
    )


# ---------------------------------------------------------------------- texts

_TEXTS: dict[str, dict[str, str]] = {
    "remind_invite": {
        "en": (
            "A gentle reminder: I'd still love to hear how you experienced working here. "
            "It takes about ten minutes, HR only sees anonymised summaries, and taking part "
            "is completely voluntary."
        ),
        "nl": (
            "Een vriendelijke herinnering: ik hoor nog steeds graag hoe je het werken hier "
            "hebt ervaren. Het duurt ongeveer tien minuten, HR ziet alleen geanonimiseerde "
            "samenvattingen en meedoen is helemaal vrijwillig."
        ),
    },
    "remind_idle": {
        "en": (
            "Whenever it suits you, we can pick up where we left off: just send me a message. "
            "If you'd rather stop, type 'stop'."
        ),
        "nl": (
            "Wanneer het je uitkomt, gaan we verder waar we gebleven waren: stuur me gewoon "
            "een bericht. Wil je liever stoppen? Typ dan 'stop'."
        ),
    },
    "expired": {
        "en": (
            "Your last working day has passed, so I've closed our conversation. Thank you for "
            "what you did share. If you'd rather have your answers deleted, just type \"delete "
            'my answers". All the best!'
        ),
        "nl": (
            "Je laatste werkdag is voorbij, dus ik heb ons gesprek afgesloten. Bedankt voor wat "
            'je hebt gedeeld. Wil je je antwoorden liever laten verwijderen? Typ dan "verwijder '
            'mijn antwoorden". Het allerbeste!'
        ),
    },
    "cancelled": {
        "en": (
            "Plans have changed, so this exit interview is no longer needed. I've closed it "
            "and deleted anything you shared. Thank you, and all the best!"
        ),
        "nl": (
            "De plannen zijn veranderd, dus dit exitgesprek is niet meer nodig. Ik heb het "
            "afgesloten en alles wat je hebt gedeeld verwijderd. Bedankt, en het allerbeste!"
        ),
    },
    "misdirected": {
        "en": (
            "Sorry, this exit-interview invitation reached you by mistake: it was meant for "
            "someone else. I've closed the conversation, and nothing you typed here is kept. "
            "There's nothing you need to do."
        ),
        "nl": (
            "Sorry, deze uitnodiging voor een exitgesprek kwam per vergissing bij jou terecht: "
            "hij was voor iemand anders bedoeld. Ik heb het gesprek afgesloten en niets van wat "
            "je hier hebt getypt wordt bewaard. Je hoeft niets te doen."
        ),
    },
    "someone": {"en": "an employee", "nl": "een medewerker"},
    "unreachable": {
        "en": (
            "I could not deliver the exit-interview invite for {who} (departure {id}): "
            "{reason}. No further attempts will be made in chat."
        ),
        "nl": (
            "Ik kon de uitnodiging voor het exitgesprek van {who} (vertrek {id}) niet "
            "afleveren: {reason}. Via chat probeer ik het niet opnieuw."
        ),
    },
}


def text(name: str, language: str, **values: object) -> str:
    table = _TEXTS[name]
    return table.get(language, table["en"]).format(**values)


# ---------------------------------------------------------------------- invite


async def send_invite(ctx: TickContext, job: ClaimedJob) -> datetime | None:
    runtime = ctx.runtime
    # Read, then close the session before anything else: on SQLite every session holds
    # the write lock (BEGIN IMMEDIATE) until it ends.
    async with runtime.db.sessions() as session:
        interview = await session.get(Interview, job.interview_id)
        employee = (
            await session.get(Employee, interview.employee_id)
            if interview is not None and interview.employee_id is not None
            else None
        )
        known = (
            (
                await session.scalars(
                    select(PlatformIdentity.platform)
                    .where(PlatformIdentity.employee_id == employee.id)
                    .order_by(PlatformIdentity.updated_at.desc())
                )
            ).all()
            if employee is not None
            else []
        )
    if interview is None or employee is None:
        return None
    if interview.status == "invited" and not await was_sent(runtime.db, job.key):
        await _resend_invite(ctx, job, interview)  # stored, then the send failed: again
        return None
    if interview.status != "scheduled" or _past_expiry(ctx, interview):
        return None  # answered, cancelled, or the expire job closes it
    names = departures.chat_channels(runtime, known)
    if not names:
        await _no_channel(ctx, interview.id)
        return None
    reasons: list[tuple[str, str]] = []
    for name in names:
        channel = runtime.service.channels[name]
        try:
            opened = await channel.open_conversation(employee.email)
        except Unreachable as exc:
            reasons.append((name, exc.reason))
            continue
        await _invite_on(ctx, job, channel, opened, employee)
        return None
    await mark_unreachable(ctx, interview.id, reasons)
    return None


async def _invite_on(
    ctx: TickContext, job: ClaimedJob, channel: Channel, opened: Opened, employee: Employee
) -> None:
    runtime, now = ctx.runtime, ctx.now
    service, settings = runtime.service, runtime.settings
    async with runtime.db.transaction() as session:
        interview = await session.get(Interview, job.interview_id, with_for_update=True)
        if interview is None or interview.status != "scheduled":
            return  # cancelled while the platform was asked
        await service.link_identity(
            session,
            platform=channel.name,
            user_id=opened.user_id,
            employee_id=employee.id,
            conversation_id=opened.conversation_id,
            locale=opened.language,
            timezone=opened.timezone,
            now=now,
        )
        if employee.language is None and opened.language:
            reported = opened.language[:2].lower()
            if reported in runtime.questionnaire.languages:
                interview.language = reported
        turn = conv.invite(
            runtime.questionnaire, interview.language, min_group=settings.min_group_size
        )
        await service.store_turn(session, interview, turn, message_key=job.key, now=now)
        interview.status = "invited"
        interview.invited_at = now
        interview.channel = channel.name
        interview.address = opened.conversation_id
        await _plan_follow_ups(ctx, session, interview, employee.timezone, opened.timezone)
        if interview.expires_at is not None:
            departures.offered(interview, interview.expires_at)  # what HR is shown
    if opened.language is not None:  # the stored locale is this one
        service.linked(channel.name, opened.user_id, opened.language)
    # Status was "scheduled" under lock: nothing went out for this key yet.
    if await _deliver(
        ctx, channel, opened.conversation_id, turn.messages, job, interview.id, fresh=True
    ):
        log.info("interview %s: invite sent on %s", interview.id, channel.name)


async def _plan_follow_ups(
    ctx: TickContext,
    session: AsyncSession,
    interview: Interview,
    own_zone: str | None,
    reported_zone: str | None,
) -> None:
    """After an invite: the two reminders, and the expiry in the zone now known."""
    settings, now = ctx.runtime.settings, ctx.now
    tz = departures.zone_named(own_zone or reported_zone, settings)
    if own_zone is None and reported_zone and interview.departure_id is not None:
        # The platform told us the employee's zone: the last day ends at their midnight.
        departure = await session.get(Departure, interview.departure_id)
        if departure is not None and departure.last_working_day is not None:
            plan = departures.plan_for(settings, departure.last_working_day, tz, now)
            if plan.expires_at is not None and plan.expires_at != interview.expires_at:
                interview.expires_at = plan.expires_at
                await set_job(
                    session,
                    kind="expire",
                    key=f"expire:{interview.id}",
                    due_at=plan.expires_at,
                    now=now,
                    interview_id=interview.id,
                )
    cal = departures.calendar_for(settings.holidays)
    for kind, days in (
        ("remind_invite", INVITE_REMINDER_DAYS),
        ("remind_idle", IDLE_REMINDER_DAYS),
    ):
        await set_job(
            session,
            kind=kind,
            key=f"{kind}:{interview.id}",
            due_at=reminder_after(cal, now, days, tz),
            now=now,
            interview_id=interview.id,
        )


async def _deliver(
    ctx: TickContext,
    channel: Channel,
    conversation_id: str,
    messages: Sequence[conv.OutMessage],
    job: ClaimedJob,
    interview_id: int,
    *,
    fresh: bool = False,
) -> bool:
    """Send the invite once; an account the platform now refuses makes it unreachable."""
    try:
        sent = await send_once(
            ctx.runtime, channel, conversation_id, messages, key=job.key, fresh=fresh
        )
    except Unreachable as exc:
        # e.g. the account was disabled between opening the DM and posting into it
        await mark_unreachable(ctx, interview_id, [(channel.name, exc.reason)])
        return False
    if sent:
        ctx.report.add("invites sent")
        if ctx.metrics is not None:
            ctx.metrics.invites.labels(channel.name).inc()
    return sent


async def _resend_invite(ctx: TickContext, job: ClaimedJob, interview: Interview) -> None:
    channel = ctx.runtime.service.channels.get(interview.channel or "")
    if channel is None or not interview.address:
        return
    turn = conv.invite(
        ctx.runtime.questionnaire, interview.language, min_group=ctx.runtime.settings.min_group_size
    )
    await _deliver(ctx, channel, interview.address, turn.messages, job, interview.id)


async def _no_channel(ctx: TickContext, interview_id: int) -> None:
    async with ctx.runtime.db.transaction() as session:
        interview = await session.get(Interview, interview_id, with_for_update=True)
        if interview is not None:
            interview.note = "no chat channel configured"
            interview.updated_at = ctx.now
    ctx.report.add("no chat channel")
    log.warning("interview %s: invite due but no chat channel is configured", interview_id)
    for hook in ctx.registry.on_no_channel:
        await hook(ctx, interview_id, "no chat channel configured")


async def mark_unreachable(
    ctx: TickContext, interview_id: int, reasons: Sequence[tuple[str, str]]
) -> None:
    """No platform can reach the employee: stop trying, tell HR admins, run the hooks.
    `reasons`: (platform, the reason it gave), each platform tried."""
    runtime, now = ctx.runtime, ctx.now
    reason = unreachable.raw(reasons)  # as the platforms said it: the note, the hooks
    async with runtime.db.transaction() as session:
        interview = await session.get(Interview, interview_id, with_for_update=True)
        if interview is None or interview.status not in OPEN:
            return
        interview.status = "unreachable"
        interview.unreachable_at = now  # for HR, whatever they do with a web link since
        interview.note = reason[:200]
        interview.updated_at = now
        await cancel_jobs(session, interview.id, now, ("invite", "remind_invite", "remind_idle"))
        employee = await session.get(Employee, interview.employee_id)
        departure = (
            await session.get(Departure, interview.departure_id)
            if interview.departure_id is not None
            else None
        )
        name = employee.name if employee else None
        departure_id = departure.external_id if departure else "-"
    ctx.report.add("unreachable")
    if ctx.metrics is not None:
        ctx.metrics.unreachable.inc()
    log.warning("interview %s: employee unreachable in chat", interview_id)

    def message(language: str) -> str:
        who = name or text("someone", language)
        said = unreachable.worded_all(reasons, language)
        return text("unreachable", language, who=who, id=departure_id, reason=said)

    await departures.notify_admins(runtime, message, key=f"unreachable:{interview_id}")
    for hook in ctx.registry.on_unreachable:
        await hook(ctx, interview_id, reason)


# ---------------------------------------------------------------------- reminders


async def remind_invite(ctx: TickContext, job: ClaimedJob) -> datetime | None:
    """One reminder when the invite is still unanswered."""
    interview = await _interview(ctx.runtime, job)
    if (
        interview is None
        or interview.status != "invited"
        or interview.started_at is not None
        or _past_expiry(ctx, interview)
    ):
        return None
    invite = conv.invite(ctx.runtime.questionnaire, interview.language)
    choices = next((m.choices for m in reversed(invite.messages) if m.choices), ())
    message = conv.OutMessage(
        kind="info", text=text("remind_invite", interview.language), choices=choices
    )
    # The reminder shows the invite's own buttons: in a chat it is what is asked there too
    sent = await _remind(ctx, interview, job, message, lambda state, chat: [message])
    if sent is None:
        return ctx.now  # answered meanwhile: decided again
    if sent:
        ctx.report.add("reminders sent")
        if ctx.metrics is not None:
            ctx.metrics.reminders.labels("invite").inc()
    return None


async def remind_idle(ctx: TickContext, job: ClaimedJob) -> datetime | None:
    """One reminder when a started interview has been idle a business day; until it has
    started (or while it is still fresh) the job waits."""
    runtime = ctx.runtime
    interview = await _interview(runtime, job)
    if interview is None or _past_expiry(ctx, interview):
        return None
    if interview.status == "invited" and interview.started_at is None:
        return await _after_business_days(ctx, interview, ctx.now, IDLE_REMINDER_DAYS)
    if interview.status not in ("in_progress", "paused"):
        return None
    since = interview.last_activity_at or interview.started_at or ctx.now
    due = await _after_business_days(ctx, interview, since, IDLE_REMINDER_DAYS)
    if due > ctx.now:
        return due
    message = conv.OutMessage(kind="info", text=text("remind_idle", interview.language))
    q, language, left = runtime.questionnaire, interview.language, interview.channel or ""

    def in_chat(state: dict[str, object], chat: reminders.Chat) -> list[conv.OutMessage]:
        return reminders.idle_reminder(q, state, language, left, chat)

    sent = await _remind(ctx, interview, job, message, in_chat)
    if sent is None:
        return ctx.now  # answered meanwhile: its idle time counts again
    if sent:
        ctx.report.add("reminders sent")
        if ctx.metrics is not None:
            ctx.metrics.reminders.labels("idle").inc()
    return None


async def _after_business_days(
    ctx: TickContext, interview: Interview, since: datetime, days: int
) -> datetime:
    settings = ctx.runtime.settings
    async with ctx.runtime.db.sessions() as session:
        employee = await session.get(Employee, interview.employee_id)
        tz = await departures.zone_of(session, employee, settings)
    return reminder_after(departures.calendar_for(settings.holidays), since, days, tz)


def _past_expiry(ctx: TickContext, interview: Interview) -> bool:
    return interview.expires_at is not None and ctx.now >= interview.expires_at


async def _interview(runtime: Runtime, job: ClaimedJob) -> Interview | None:
    if job.interview_id is None:
        return None
    async with runtime.db.sessions() as session:
        return await session.get(Interview, job.interview_id)


InChat = Callable[[dict[str, object], reminders.Chat], list[conv.OutMessage]]


async def _remind(
    ctx: TickContext,
    interview: Interview,
    job: ClaimedJob,
    message: conv.OutMessage,
    in_chat: InChat,
) -> bool | None:
    """Send a reminder where the person reads it: `message` in the interview's place, or,
    for one that went on on the web page (or in the terminal), `in_chat` (the messages made
    from its state) in the chat they were invited in, which then shows what is asked now
    too (`bot.reminders`). True when sent; None when the interview changed since read."""
    chat = (
        await reminders.chat_of(ctx.runtime, interview.employee_id)
        if reminders.needs_a_chat(interview)
        else None
    )
    if chat is None:
        return await _send_to(ctx, interview, [message], job)
    state = await reminders.show_in_chat(ctx.runtime, interview, chat, ctx.now)
    if state is None:
        return None
    messages = in_chat(state, chat) if state else [message]
    sent = await _send_on(ctx, interview.id, chat.name, chat.address, messages, job)
    if sent:
        log.info("interview %s: reminded on %s (it went on elsewhere)", interview.id, chat.name)
    return sent


async def _send_to(
    ctx: TickContext, interview: Interview, messages: list[conv.OutMessage], job: ClaimedJob
) -> bool:
    return await _send_on(
        ctx, interview.id, interview.channel or "", interview.address, messages, job
    )


async def _send_on(
    ctx: TickContext,
    interview_id: int,
    name: str,
    address: str | None,
    messages: list[conv.OutMessage],
    job: ClaimedJob,
) -> bool:
    """Send once on the place `name`; True only when it went out. A web page or the terminal
    is never messaged (the web channel's `send` only hands replies to an HTTP response): an
    interview held only there has nowhere to be reminded or told, and that is not counted."""
    if name in departures.NOT_FOR_INVITES:
        log.info(
            "interview %s: nothing sent, its place (%s) cannot be messaged", interview_id, name
        )
        return False
    channel = ctx.runtime.service.channels.get(name)
    if channel is None or not address:
        log.warning("interview %s: its channel is not configured any more", interview_id)
        return False
    try:
        return await send_once(ctx.runtime, channel, address, messages, key=job.key)
    except Unreachable:
        log.warning("interview %s: channel reports the employee unreachable", interview_id)
        return False


# ---------------------------------------------------------------------- endings


async def expire(ctx: TickContext, job: ClaimedJob) -> datetime | None:
    """End of the last working day (+ grace): close what is still open. A departure's
    interview without a web link gets one first, when that fallback is on (`bot.fallback`
    also looks for them, but at most once a minute: this job, due at the same moment, could
    otherwise close the interview before its link was ever made)."""
    runtime, now, interview_id = ctx.runtime, ctx.now, job.interview_id
    if runtime.settings.fallback_after_last_day and interview_id is not None:
        async with runtime.db.sessions() as session:
            interview = await session.get(Interview, interview_id)
            wants_link = (
                interview is not None
                and interview.status in OPEN
                and interview.departure_id is not None
            )
        if wants_link and await fallback.offer_link(runtime, interview_id, now, ctx.report):
            return None  # the link's term: offer_link set this job again for its end
    async with runtime.db.transaction() as session:
        interview = await session.get(Interview, job.interview_id, with_for_update=True)
        if interview is None or interview.status not in OPEN:
            return None
        if interview.expires_at is not None and interview.expires_at > now:
            return interview.expires_at  # the last day moved later
        started = interview.status in ("in_progress", "paused")
        interview.status = "expired"
        interview.updated_at = now
        await cancel_jobs(session, interview.id, now)
    ctx.report.add("interviews expired")
    log.info("interview %s expired", interview.id)
    if started:
        await _send_to(
            ctx,
            interview,
            [conv.OutMessage(kind="outro", text=text("expired", interview.language))],
            job,
        )
    return None


async def send_goodbye(ctx: TickContext, job: ClaimedJob) -> datetime | None:
    """The polite close after a cancelled departure, or the note to someone an invite
    reached by mistake (`bot.readdress`); answers already deleted."""
    interview = await _interview(ctx.runtime, job)
    if interview is None:
        return None
    reason = str(job.payload.get("reason", "cancelled"))
    message = conv.OutMessage(kind="outro", text=text(reason, interview.language))
    if await _send_to(ctx, interview, [message], job):
        ctx.report.add("cancellation notices sent")
    return None


async def request_approval(ctx: TickContext, job: ClaimedJob) -> datetime | None:
    """Ask HR admins in chat to approve or skip a departure (contract end by default); the
    requests of an earlier round, which no longer ask, say so (`bot.approval_requests`)."""
    runtime = ctx.runtime
    number = int(str(job.payload.get("round", 1)))  # its buttons decide this round only
    async with runtime.db.sessions() as session:
        departure = await session.get(Departure, job.payload.get("departure_id"))
        asking = (
            departure is not None
            and departure.decision == "awaiting_approval"
            and departure.status == "active"
            and not await departures.approval_superseded(session, departure.id, number)
        )
        employee = (
            await session.get(Employee, departure.employee_id)
            if departure is not None and departure.employee_id is not None
            else None
        )
    if departure is None:
        return None
    if not asking:
        await approval_requests.close_settled_now(runtime, departure.external_id)
        return None
    name = employee.name if employee else None
    department = employee.department if employee else None

    def message(language: str) -> str:
        return approval_requests.request_text(
            language,
            name=name,
            department=department,
            kind=departure.kind,
            day=departure.last_working_day,
            external_id=departure.external_id,
        )

    def choices(language: str) -> tuple[conv.Choice, ...]:
        return departures.approval_choices(departure.external_id, language, number)

    async def sent(where: departures.AdminMessage) -> None:
        await approval_requests.record(runtime, departure, number, where)

    reached = await departures.notify_admins(runtime, message, choices, key=job.key, on_sent=sent)
    await approval_requests.close_settled_now(runtime, departure.external_id)
    if reached:
        ctx.report.add("approval requests sent")
    elif runtime.settings.hr_admins and not departures.chat_channels(runtime):
        return ctx.now + APPROVAL_RETRY  # asked once a chat channel exists (or decided by CLI)
    return None
