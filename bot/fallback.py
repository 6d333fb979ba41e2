"""The web-link fallback: when chat cannot reach someone, offer their interview by private link.

Triggers, registered on the tick by `register`:
- `on_unreachable`: Slack or Teams reported the employee unreachable (account disabled, app
  not installed); the invites module has already told HR admins.
- `on_no_channel`: an invite came due while no chat platform is configured.
- the periodic `web_fallback` (when `settings.fallback_after_last_day`): a departure's last
  working day has passed while its interview is still open, or before any invite went out.

Each interview gets one fallback link, once (an interview with any link is skipped), valid for
`FALLBACK_DAYS`. It is emailed to `employee.personal_email` when `EXITBOT_SMTP_URL` is set;
otherwise HR admins are told in chat, and `exitbot links` lists it to forward by hand. After
a chat invite that went out, by email only (`offer_link`): HR must not learn who had not
answered by the end of their last day.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import departures, links
from bot.config import Settings
from bot.jobs import TickContext, TickRegistry, TickReport, set_job
from bot.mailer import Mail, Mailer, MailError
from bot.models import Departure, Employee, Interview, WebLink
from bot.runtime import Runtime

log = logging.getLogger(__name__)

FALLBACK_DAYS = 14  # how long a fallback link (and its interview) stays open
STILL_OPEN = ("scheduled", "invited", "in_progress", "paused")
BATCH = 100

Delivery = Literal["emailed", "for_admins"]


@dataclass(frozen=True, slots=True)
class Offer:
    interview_id: int
    url: str
    delivery: Delivery


def register(registry: TickRegistry) -> None:
    registry.on_unreachable.append(on_unreachable)
    registry.on_no_channel.append(on_no_channel)
    registry.periodic["web_fallback"] = after_last_day


async def on_unreachable(ctx: TickContext, interview_id: int, reason: str) -> None:
    await offer_link(ctx.runtime, interview_id, ctx.now, ctx.report)


async def on_no_channel(ctx: TickContext, interview_id: int, reason: str) -> None:
    await offer_link(ctx.runtime, interview_id, ctx.now, ctx.report)


async def after_last_day(ctx: TickContext) -> None:
    """Offer links for departures whose last working day has passed (each tick, cheap)."""
    runtime, now = ctx.runtime, ctx.now
    if not runtime.settings.fallback_after_last_day:
        return
    await _create_missing_interviews(runtime, now)
    grace = timedelta(hours=runtime.settings.expiry_grace_hours)
    # Once per interview: when its link has run out, so has the interview.
    has_link = exists().where(WebLink.interview_id == Interview.id)
    # After a chat invite, only a link that can be emailed (`offer_link`): the others are
    # not looked at, so that however many there are, they never fill the batch
    after_the_invite = and_(Interview.shown_until.is_not(None), Interview.unreachable_at.is_(None))
    emailable = exists().where(
        Employee.id == Interview.employee_id, Employee.personal_email.is_not(None)
    )
    wanted = (
        or_(~after_the_invite, emailable)
        if Mailer.from_url(runtime.settings.smtp_url) is not None
        else ~after_the_invite
    )
    async with runtime.db.sessions() as session:
        due = (
            await session.scalars(
                select(Interview.id)
                .where(
                    Interview.status.in_(STILL_OPEN),
                    Interview.departure_id.is_not(None),
                    Interview.expires_at.is_not(None),
                    Interview.expires_at <= now + grace,  # the end of the last working day
                    ~has_link,
                    wanted,
                )
                .order_by(Interview.id)
                .limit(BATCH)
            )
        ).all()
    for interview_id in due:
        await offer_link(runtime, interview_id, now, ctx.report)


async def _create_missing_interviews(runtime: Runtime, now: datetime) -> None:
    """A departure announced too late for chat (on or after the last day) gets an interview
    to hold on the web, when its policy would have invited it."""
    earliest = (now - timedelta(days=FALLBACK_DAYS)).date()
    late = (
        select(Departure)
        .where(
            Departure.status == "active",
            Departure.decision.in_(departures.INVITING_DECISIONS),
            Departure.last_working_day.is_not(None),
            Departure.last_working_day >= earliest,
            Departure.last_working_day < now.date(),
            Departure.employee_id.is_not(None),
            # none of its own, but for an invite withdrawn before it went out (the last day
            # moved into the past): that reached nobody, and the webhook, `start` and
            # `exitbot invite` answered that a web link follows
            ~exists().where(Interview.departure_id == Departure.id, ~_withdrawn_unsent()),
            # one person, one interview: skipped here, so that however many such
            # departures there are, they never fill the batch and hold the others back
            ~exists().where(departures.elsewhere(Departure.employee_id, Departure.id, now)),
        )
        .order_by(Departure.id)
        .limit(BATCH)
    )
    async with runtime.db.sessions() as session:  # a read first: most ticks find nothing
        if (await session.scalar(late.with_only_columns(Departure.id))) is None:
            return
    created = 0
    async with runtime.db.transaction() as session:
        for departure in (await session.scalars(late.with_for_update(skip_locked=True))).all():
            assert departure.employee_id is not None
            if await departures.interview_elsewhere(
                session, departure.employee_id, departure.id, now
            ):
                continue  # two of one person in this batch: one interview, counted once
            employee = await session.get(Employee, departure.employee_id)
            interview = runtime.service.new_interview(
                employee_id=departure.employee_id,
                language=(employee.language if employee else None) or runtime.settings.language,
                now=now,
                departure_id=departure.id,
                status="scheduled",
            )
            interview.expires_at = now  # offer_link extends it
            interview.note = "last working day passed: web link"
            session.add(interview)
            created += 1
    log.info("%d late departure(s) get an interview by web link", created)


def _withdrawn_unsent() -> ColumnElement[bool]:
    """An interview whose invite was withdrawn before it went out (`_drop_unsent`)."""
    return and_(Interview.status == "cancelled", Interview.invited_at.is_(None))


async def offer_link(
    runtime: Runtime, interview_id: int, now: datetime, report: TickReport | None = None
) -> Offer | None:
    """Issue one fallback link and deliver it (email, else HR admins); None when not needed.

    After an invite that went out in chat (`departures.went_out`) the link goes by email or
    not at all: it is offered only while the person has not finished, declined or stopped
    in chat, so HR admins handed it to forward, or a line in `exitbot links`, would tell
    them, of one named person, that they had not (and when the last day ended)."""
    settings = runtime.settings
    mailer = Mailer.from_url(settings.smtp_url)
    async with runtime.db.transaction() as session:
        interview = await session.get(Interview, interview_id, with_for_update=True)
        if interview is None or interview.status not in links.LINKABLE_STATUSES:
            return None
        if await _has_link(session, interview_id):
            return None  # offered before (or HR issued one by hand)
        employee = (
            await session.get(Employee, interview.employee_id) if interview.employee_id else None
        )
        personal = employee.personal_email if employee else None
        after_the_invite = departures.went_out(interview)
        if after_the_invite and not (personal and mailer is not None):
            return None  # never through HR: the interview ends as it would without a link
        expires_at = max(interview.expires_at or now, now + timedelta(days=FALLBACK_DAYS))
        interview.expires_at = expires_at
        interview.updated_at = now
        await set_job(
            session,
            kind="expire",
            key=f"expire:{interview_id}",
            due_at=expires_at,
            now=now,
            interview_id=interview_id,
        )
        token = await links.issue(session, interview, now)
        departures.offered(interview, expires_at)  # no invite went out: the link is one
        departure = (
            await session.get(Departure, interview.departure_id) if interview.departure_id else None
        )
        name = employee.name if employee else None
        language = interview.language
        departure_ref = departure.external_id if departure else "-"
    url = links.url_for(settings.public_url, token)
    until = expires_at.astimezone(settings.zone).date()
    if personal and mailer is not None:
        try:
            await mailer.send(link_mail(personal, url, language, name, until, settings))
        except MailError:
            if after_the_invite:
                log.warning("interview %s: emailing the web link failed", interview_id)
                return None
            log.warning("interview %s: emailing the web link failed; telling HR", interview_id)
        else:
            async with runtime.db.transaction() as session:
                await links.mark_emailed(session, token, runtime.clock.now())
            log.info("interview %s: web link emailed to the personal address", interview_id)
            if report is not None:
                report.add("web links emailed")
            return Offer(interview_id, url, "emailed")

    def message(language: str) -> str:
        who = name or _SOMEONE.get(language, _SOMEONE["en"])
        return admin_text(language, who=who, ref=departure_ref, url=url, until=until)

    reached = await departures.notify_admins(runtime, message, key=f"weblink:{interview_id}")
    log.info(
        "interview %s: web link for HR to forward (%d admin(s) told in chat)", interview_id, reached
    )
    if report is not None:
        report.add("web links for HR")
    return Offer(interview_id, url, "for_admins")


async def _has_link(session: AsyncSession, interview_id: int) -> bool:
    found = await session.scalar(
        select(WebLink.token_hash).where(WebLink.interview_id == interview_id).limit(1)
    )
    return found is not None


# ---------------------------------------------------------------------- texts

_MONTHS = {
    "en": (
        "January February March April May June July August September October November December"
    ).split(),
    "nl": "januari februari maart april mei juni juli augustus september oktober november "
    "december".split(),
}

_SUBJECT = {
    "en": "Your exit interview: a private link",
    "nl": "Je exitgesprek: een persoonlijke link",
}

_BODY = {
    "en": """Hello{name},

Now that you are leaving, we would still like to hear how you experienced working with us: \
what went well and what could have been better. ExitBot holds a short, private exit \
interview in your browser; it takes about ten minutes.

Your personal link:
{url}

HR only sees anonymised summaries of groups of at least {k} people, never your individual \
answers or your name. Taking part is voluntary: you can skip any question, pause or stop at \
any time. The link works until {until} and is meant for you alone, so please don't forward it.

If you would rather not take part, simply ignore this email.

Thank you, and all the best!
ExitBot, on behalf of HR
""",
    "nl": """Hoi{name},

Nu je vertrekt, horen we nog steeds graag hoe je het werken bij ons hebt ervaren: wat goed \
ging en wat beter had gekund. ExitBot voert een kort, vertrouwelijk exitgesprek in je \
browser; het duurt ongeveer tien minuten.

Je persoonlijke link:
{url}

HR ziet alleen geanonimiseerde samenvattingen van groepen van minstens {k} mensen, nooit \
jouw losse antwoorden of je naam. Meedoen is vrijwillig: je kunt elke vraag overslaan, \
pauzeren of stoppen wanneer je wilt. De link werkt tot {until} en is alleen voor jou, dus \
stuur hem alsjeblieft niet door.

Wil je liever niet meedoen? Dan kun je deze e-mail gewoon negeren.

Dank je wel, en het allerbeste!
ExitBot, namens HR
""",
}

_SOMEONE = {"en": "an employee", "nl": "een medewerker"}
_ADMIN = {
    "en": (
        "Exit interview by web link for {who} (departure {ref}): chat cannot reach them and "
        "no email could be sent to a personal address. Please forward this private link to "
        "them yourself: {url} (valid until {until}). `exitbot links` lists every such link."
    ),
    "nl": (
        "Exitgesprek via een weblink voor {who} (vertrek {ref}): via chat is deze persoon "
        "niet bereikbaar en er kon geen e-mail naar een privéadres worden gestuurd. Stuur deze "
        "persoonlijke link zelf door: {url} (geldig tot {until}). `exitbot links` toont al "
        "deze links."
    ),
}


def long_date(day: date, language: str) -> str:
    months = _MONTHS.get(language, _MONTHS["en"])
    return f"{day.day} {months[day.month - 1]} {day.year}"


def link_mail(
    to: str, url: str, language: str, name: str | None, until: date, settings: Settings
) -> Mail:
    lang = language if language in _BODY else "en"
    words = (name or "").split()
    first = words[0] if words else ""
    body = _BODY[lang].format(
        name=f" {first}" if first else "",
        url=url,
        k=settings.min_group_size,
        until=long_date(until, lang),
    )
    return Mail(to=to, subject=_SUBJECT[lang], body=body, language=lang)


def admin_text(language: str, *, who: str, ref: str, url: str, until: date) -> str:
    lang = language if language in _ADMIN else "en"
    return _ADMIN[lang].format(who=who, ref=ref, url=url, until=long_date(until, lang))
