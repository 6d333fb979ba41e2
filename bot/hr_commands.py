"""HR admin commands, channel-neutral: Slack's `/exitbot` and the Teams bot both use them.

API::

    reply = await hr_commands.run(
        runtime,
        text,                      # what followed the command, e.g. "start <@U123|anna> 2026-12-18"
        caller_email=email,        # the caller's email as the platform reports it (None: unknown)
        resolve_person=resolve,    # async (token) -> email | None; the platform's mention format
        language="nl",             # the caller's language (en/nl; default EXITBOT_LANGUAGE)
        person_form="mention",     # how the usage names the person: "mention" (Slack's
                                   # `@person`) or "email" (Teams: `<email>`)
    )
    reply.messages  # tuple[conversations.OutMessage, ...]: render like interview messages
    reply.report    # adapters.base.Report | None: render natively (status, digest preview)

Commands (only for `EXITBOT_HR_ADMINS`, matched by the caller's email; anyone else gets a
polite refusal and nothing else):

- `start <person> <last day> [kind]`: an HR admin starts an interview
  (`bot.departures.invite_by_hand`); the tick sends the invite when it is due (a last day
  that has passed: the tick makes an interview by web link, `bot.fallback`). `<person>` is
  whatever the platform's `resolve_person` understands (Slack: `<@U123|name>`, `<@U123>`, an
  email); the last day is `YYYY-MM-DD` (or `DD-MM-YYYY`); the kind is its id
  (`contract_end`) or the name HR admins read, English or Dutch (`einde contract`).
- `status`: pipeline counts (awaiting approval, invite to be sent, sent, closed, could not
  be reached). Never any answer, and never what people chose: an invite counts as "sent"
  until the end of the person's last working day and "closed" after it, whether they took
  part, declined, stopped, deleted their answers or did nothing (`STATUS_ROWS`).
- `approvals` (Dutch: `goedkeuringen`): each pending approval as a message with Approve /
  Skip choices whose values are `approve#<round>:<departure id>` / `skip#<round>:<departure
  id>` (`bot.departures.approval_choices`: the round of waiting they were made in, so a
  request replaced since, by a change of kind, decides nothing); a click goes to
  `decide(runtime, value, clicker_email=<the clicker's email>, language=<theirs>)`, which
  answers in the clicker's language (`bot.departures.decide` with `by_email=None` means the
  trusted command line: never from chat).
- `digest preview` (Dutch: `overzicht`; `digest` or `overzicht`, alone or followed by
  `preview` / `voorbeeld`): whether the next digest will show figures (at least k
  interviews completed in the months already ended); never a count or a figure before it is
  posted.
- `help` / `hulp` (or nothing): the usage.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from adapters.base import Report, ReportSection
from bot import approval_requests, departures, digest_post, texts
from bot.config import KINDS
from bot.digest import demo_interviews
from bot.digest_render import render_held_back
from bot.models import Departure, Interview
from bot.runtime import Runtime
from conversations import Choice, OutMessage

log = logging.getLogger(__name__)

PersonResolver = Callable[[str], Awaitable[str | None]]
# `digest preview` and the Dutch admin's `overzicht` (the digest is "het HR-overzicht")
DIGEST_WORDS = ("digest", "overzicht")
PREVIEW_WORDS = (["preview"], ["voorbeeld"])
MAX_APPROVALS_SHOWN = 10

# HR's `status` is an operational view: is the bot working, and whom must HR reach another
# way. No row moves because of what one person does: an interview is "sent" from the moment
# its invite went out until its answering period ends (the end of the last working day, as
# the HR system last set it), then "closed", whether the person took part, declined, stopped,
# deleted their answers or did nothing (`departures.hr_stage`). Asked before and after one
# named person's invite, rows that followed their choices, or an interview that closed the
# moment they answered, would show what that person did; participation figures are the
# digest's (over at least k people).
STATUS_ROWS = (
    ("awaiting_approval", "Awaiting approval", "Wacht op goedkeuring"),
    ("to_send", "Invite to be sent", "Uitnodiging nog te versturen"),
    ("sent", "Invite sent, not closed yet", "Uitnodiging verstuurd, nog niet afgesloten"),
    ("closed", "Closed", "Afgesloten"),
    ("unreachable", "Could not be reached in chat", "Niet bereikbaar via chat"),
)
# `departures.hr_stage` → the `STATUS_ROWS` row it counts in
STAGE_ROWS = {
    "scheduled": "to_send",
    "sent": "sent",
    "closed": "closed",
    "unreachable": "unreachable",
}

_TEXTS: dict[str, dict[str, str]] = {
    "usage": {
        "en": (
            "ExitBot commands for HR admins:\n"
            "• start {person} YYYY-MM-DD [kind]: start an exit interview (the last working day, "
            "optionally followed by the kind of departure: {kinds})\n"
            "• status: how many invites are to be sent, sent and closed, and how many people "
            "could not be reached\n"
            "• approvals: departures waiting for your approval\n"
            "• digest preview: whether the next HR digest will show figures (only you see it)"
        ),
        "nl": (
            "ExitBot-opdrachten voor HR-beheerders:\n"
            "• start {person} JJJJ-MM-DD [soort]: start een exitgesprek (de laatste werkdag, "
            "eventueel gevolgd door het soort vertrek: {kinds})\n"
            "• status: hoeveel uitnodigingen nog verstuurd moeten worden, verstuurd en "
            "afgesloten zijn, en hoeveel mensen niet bereikbaar waren\n"
            "• goedkeuringen: vertrekken die op je goedkeuring wachten\n"
            "• overzicht: of het volgende HR-overzicht cijfers toont (alleen voor jou)"
        ),
    },
    "start_usage": {
        "en": "Usage: start {person} YYYY-MM-DD [kind] (the last working day, optionally "
        "followed by the kind of departure: {kinds}).",
        "nl": "Gebruik: start {person} JJJJ-MM-DD [soort] (de laatste werkdag, eventueel "
        "gevolgd door het soort vertrek: {kinds}).",
    },
    # how `start`'s usage names the person, by `run`'s `person_form`: Slack admins mention them,
    # Teams admins type an email (a mention works there only for someone who has the bot)
    "person_mention": {"en": "@person", "nl": "@persoon"},
    "person_email": {"en": "<email>", "nl": "<e-mailadres>"},
    "bad_kind": {
        "en": "I don't know the departure kind {value!r}: use {kinds}.",
        "nl": "Het soort vertrek {value!r} ken ik niet: gebruik {kinds}.",
    },
    "unknown_person": {
        "en": "I couldn't find an email address for that person. Mention them (@name) or "
        "type their email address.",
        "nl": "Ik kon geen e-mailadres voor die persoon vinden. Noem ze (@naam) of typ hun "
        "e-mailadres.",
    },
    "bad_date": {
        "en": "I couldn't read the last working day {value!r}: use YYYY-MM-DD.",
        "nl": "Ik kon de laatste werkdag {value!r} niet lezen: gebruik JJJJ-MM-DD.",
    },
    "scheduled": {
        "en": "Scheduled: the invite goes out {when} (departure {id}).",
        "nl": "Ingepland: de uitnodiging gaat {when} de deur uit (vertrek {id}).",
    },
    # a last working day that has passed, within the web fallback's days (`bot.fallback`),
    # for `start` and for an Approve click; as `exitbot invite` says it (`bot.cli.departures`)
    "by_web_link": {
        "en": "Recorded (departure {id}), without a chat invite: the last working day, {day}, "
        "has passed. {follows}",
        "nl": "Vastgelegd (vertrek {id}), zonder uitnodiging via chat: de laatste werkdag, "
        "{day}, is al voorbij. {follows}",
    },
    "approved_by_web_link": {
        "en": "Approved (departure {id}), without a chat invite: the last working day, {day}, "
        "has passed. {follows}",
        "nl": "Goedgekeurd (vertrek {id}), zonder uitnodiging via chat: de laatste werkdag, "
        "{day}, is al voorbij. {follows}",
    },
    "web_link_follows": {
        "en": "{when}, ExitBot makes an interview to hold by private web link. The link is "
        "emailed to the person's personal address when the HR system gave one and email is "
        "set up (EXITBOT_SMTP_URL); otherwise every HR admin gets it from ExitBot in a direct "
        "message, and `exitbot links` on the server lists it: forward it to the person "
        "privately.",
        "nl": "{when} maakt ExitBot een gesprek dat via een persoonlijke weblink wordt "
        "gehouden. De link gaat per e-mail naar het privéadres van deze persoon als het "
        "HR-systeem dat heeft doorgegeven en e-mail is ingesteld (EXITBOT_SMTP_URL); anders "
        "krijgt elke HR-beheerder hem van ExitBot in een direct bericht, en `exitbot links` "
        "op de server toont hem: stuur hem zelf vertrouwelijk door.",
    },
    "web_link_soon": {"en": "Within a minute", "nl": "Binnen een minuut"},
    "web_link_after_the_day": {
        "en": "Once that day is over",
        "nl": "Zodra die dag voorbij is,",
    },
    # `start` for a departure whose invite went out: the new last day is stored, whatever the
    # person did with the invite; the same words for everyone (`after_the_invite`)
    "under_way": {
        "en": "Already under way: the invite has gone out (departure {id}); the interview's "
        "end moved to the new last working day, {day}. {link}",
        "nl": "Al onderweg: de uitnodiging is al verstuurd (vertrek {id}); het einde van het "
        "gesprek is verschoven naar de nieuwe laatste werkdag, {day}. {link}",
    },
    "moved_after_the_invite": {
        "en": "Recorded: the last working day of departure {id} is now {day}. Its invite had "
        "already gone out and its time to answer is over: nobody is invited again, and "
        "`status` counts it as closed. {link} How it went stays private: it is only counted, "
        "anonymously, in the digest.",
        "nl": "Vastgelegd: de laatste werkdag van vertrek {id} is nu {day}. De uitnodiging was "
        "al verstuurd en de tijd om te antwoorden is voorbij: niemand wordt opnieuw "
        "uitgenodigd, en `status` telt het gesprek als afgesloten. {link} Hoe het ging, "
        "blijft privé: het telt alleen anoniem mee in het overzicht.",
    },
    "link_after_the_invite": {
        "en": "After a chat invite, a private web link after the last working day goes to the "
        "person by email only, when the HR system gave their personal address and email is "
        "set up (EXITBOT_SMTP_URL): never to HR admins, and `exitbot links` does not list it.",
        "nl": "Na een uitnodiging via chat gaat een persoonlijke weblink na de laatste werkdag "
        "alleen per e-mail naar deze persoon, als het HR-systeem hun privéadres heeft "
        "doorgegeven en e-mail is ingesteld (EXITBOT_SMTP_URL): nooit naar HR-beheerders, en "
        "`exitbot links` toont hem niet.",
    },
    "not_invited": {
        "en": "Not invited: {reason}.",
        "nl": "Niet uitgenodigd: {reason}.",
    },
    "invited_before": {
        "en": "Not invited: this person has already been invited to an exit interview. How "
        "that went stays private: it is only counted, anonymously, in the digest.",
        "nl": "Niet uitgenodigd: deze persoon is al uitgenodigd voor een exitgesprek. Hoe dat "
        "ging, blijft privé: het telt alleen anoniem mee in het overzicht.",
    },
    # why not invited, by `departures.REASONS` code ("invited_before" and "interview_elsewhere"
    # have whole sentences of their own: `INVITED_BEFORE`)
    "reason_erased": {
        "en": "erased on request: nothing about it is kept",
        "nl": "op verzoek gewist: er wordt niets over bewaard",
    },
    "reason_invalid_email": {
        "en": "not a valid email address",
        "nl": "geen geldig e-mailadres",
    },
    "reason_skipped": {
        "en": "an HR admin chose to skip the interview",
        "nl": "een HR-beheerder heeft het gesprek overgeslagen",
    },
    "reason_needs_hr_admin": {
        "en": "this kind of departure needs an HR admin to start the interview",
        "nl": "bij dit soort vertrek start een HR-beheerder het gesprek",
    },
    "reason_last_day_passed": {
        "en": "the last working day has passed",
        "nl": "de laatste werkdag is al voorbij",
    },
    "reason_unreachable": {
        "en": "this person could not be reached in chat; reach them another way",
        "nl": "deze persoon was niet bereikbaar via chat; neem op een andere manier contact op",
    },
    "status_title": {"en": "ExitBot pipeline", "nl": "ExitBot: stand van zaken"},
    "status_heading": {"en": "Interviews", "nl": "Gesprekken"},
    "status_footer": {
        "en": "Counts only, never answers. An invite counts as sent until the end of the "
        "person's last working day, and as closed after it, whatever they did with it (took "
        "part, declined, stopped, or nothing): what one person chose is never told apart "
        "here, not even by when it closed. How many took part is in the digest, over at least "
        "{k} people. Reach the people who could not be reached in chat another way.",
        "nl": "Alleen aantallen, nooit antwoorden. Een uitnodiging telt als verstuurd tot het "
        "einde van de laatste werkdag van de persoon, en daarna als afgesloten, wat die er "
        "ook mee deed (meegedaan, afgeslagen, gestopt of niets): wat één persoon koos, is hier "
        "nooit te zien, ook niet aan wanneer het afgesloten werd. Hoeveel mensen meededen, "
        "staat in het overzicht, over minstens {k} mensen. Wie niet via chat bereikbaar was, "
        "benader je op een andere manier.",
    },
    "no_approvals": {
        "en": "No departures are waiting for approval.",
        "nl": "Er wachten geen vertrekken op goedkeuring.",
    },
    "approval": {
        "en": "{who}: {kind}, last working day {day} (departure {id}). Invite to an exit "
        "interview? Check the relationship with the manager first.",
        "nl": "{who}: {kind}, laatste werkdag {day} (vertrek {id}). Uitnodigen voor een "
        "exitgesprek? Check eerst de relatie met de leidinggevende.",
    },
    "more_approvals": {
        "en": "…and {n} more: use `exitbot approvals` on the server to see them all.",
        "nl": "…en nog {n}: gebruik `exitbot approvals` op de server om ze allemaal te zien.",
    },
    "someone": {"en": "An employee", "nl": "Een medewerker"},
    "kind_resignation": {"en": "resignation", "nl": "ontslag op eigen verzoek"},
    "kind_contract_end": {"en": "contract end", "nl": "einde contract"},
    "kind_dismissal": {"en": "dismissal", "nl": "ontslag"},
    "kind_retirement": {"en": "retirement", "nl": "pensioen"},
    "kind_other": {"en": "other", "nl": "anders"},
    "unknown": {
        "en": "I don't know that command.",
        "nl": "Die opdracht ken ik niet.",
    },
    "unknown_action": {
        "en": "I don't know that button. Use `approvals` to see what is waiting.",
        "nl": "Die knop ken ik niet. Gebruik `goedkeuringen` om te zien wat er wacht.",
    },
    "approved": {
        "en": "Approved: the invite for {id} goes out {when}.",
        "nl": "Goedgekeurd: de uitnodiging voor {id} gaat {when} de deur uit.",
    },
    "approved_not_invited": {
        "en": "Approved, but not invited: {reason}.",
        "nl": "Goedgekeurd, maar niet uitgenodigd: {reason}.",
    },
    "approved_invited_before": {
        "en": "Approved, but not invited: this person has already been invited to an exit "
        "interview. How that went stays private: it is only counted, anonymously, in the "
        "digest.",
        "nl": "Goedgekeurd, maar niet uitgenodigd: deze persoon is al uitgenodigd voor een "
        "exitgesprek. Hoe dat ging, blijft privé: het telt alleen anoniem mee in het "
        "overzicht.",
    },
    "skipped": {
        "en": "Skipped: no interview for departure {id}.",
        "nl": "Overgeslagen: geen gesprek voor vertrek {id}.",
    },
    "decision_not_found": {
        "en": "Departure {id} is not stored (any more).",
        "nl": "Vertrek {id} staat niet (meer) opgeslagen.",
    },
    "not_pending": {
        "en": "Departure {id} is not awaiting approval (any more).",
        "nl": "Vertrek {id} wacht niet (meer) op goedkeuring.",
    },
    "replaced": {
        "en": "This request for departure {id} was replaced by a newer one: the departure "
        "changed since it was sent. Nothing was decided; use the newest request, or "
        "`approvals` to see what is waiting.",
        "nl": "Dit verzoek voor vertrek {id} is vervangen door een nieuwer verzoek: het "
        "vertrek is gewijzigd sinds het werd verstuurd. Er is niets besloten; gebruik het "
        "nieuwste verzoek, of `goedkeuringen` om te zien wat er wacht.",
    },
}


@dataclass(frozen=True, slots=True)
class CommandReply:
    """What to show the admin: messages (possibly with choices) and/or a report."""

    messages: tuple[OutMessage, ...] = ()
    report: Report | None = None


def _t(name: str, language: str, **values: object) -> str:
    table = _TEXTS[name]
    return table.get(language, table["en"]).format(**values)


_NL_DAYS = "ma di wo do vr za zo".split()
_NL_MONTHS = "jan feb mrt apr mei jun jul aug sep okt nov dec".split()


def _moment(moment: datetime, timezone: str | None, lang: str) -> str:
    """When an invite goes out, in the admin's language ("vr 11 dec 2026 10:00 Europe/...")."""
    if lang != "nl":
        return departures.describe_moment(moment, timezone)
    local = moment.astimezone(ZoneInfo(timezone)) if timezone else moment
    day, month = _NL_DAYS[local.weekday()], _NL_MONTHS[local.month - 1]
    return f"{day} {local.day} {month} {local.year} {local:%H:%M} {timezone or 'UTC'}"


def _kind(kind: str, lang: str) -> str:
    name = f"kind_{kind}"
    return _t(name, lang) if name in _TEXTS else kind.replace("_", " ")


def kind_name(kind: str, language: str) -> str:
    """A departure's kind as an HR admin reads it ("contract end", "einde contract")."""
    return _kind(kind, language)


def _kind_words(name: str) -> str:
    """A kind's name as typed, compared without case, '_' or '-' ("Contract-End")."""
    return " ".join(name.lower().replace("_", " ").replace("-", " ").split())


# What `start` takes for each kind: its id and the names HR admins read (`kind_name`), in
# English and Dutch ("einde contract", "ontslag op eigen verzoek"), whatever the admin's
# language. (No name is another kind's: "ontslag" is dismissal, "ontslag op eigen verzoek"
# resignation.)
_KIND_NAMES = {
    _kind_words(name): kind for kind in KINDS for name in (kind, *_TEXTS[f"kind_{kind}"].values())
}


def _kind_list(lang: str) -> str:
    """The kinds `start` takes, as the usage names them ("resignation, contract end, … or
    other"; Dutch: "ontslag op eigen verzoek, … of anders")."""
    *names, last = (_kind(kind, lang) for kind in KINDS)
    return f"{', '.join(names)} {'of' if lang == 'nl' else 'or'} {last}"


def _person(person_form: str, lang: str) -> str:
    """How `start`'s usage names the person: "@person" (a mention) or "<email>"."""
    return _t(f"person_{person_form}", lang)


def kind_named(text: str) -> str | None:
    """The departure kind `text` names (its id, or its English or Dutch name), if any."""
    return _KIND_NAMES.get(_kind_words(text))


def _info(text: str, choices: tuple[Choice, ...] = ()) -> OutMessage:
    return OutMessage(kind="info", text=text, choices=choices)


_TOKEN = re.compile(r"<[^>]*>|\S+")


def tokens(text: str) -> list[str]:
    """Words, keeping a platform's `<...>` markup (mentions, links) as one token."""
    return _TOKEN.findall(text.strip())


def parse_day(value: str) -> date | None:
    for pattern in ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y"):
        try:
            return datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    return None


async def run(
    runtime: Runtime,
    text: str,
    *,
    caller_email: str | None,
    resolve_person: PersonResolver,
    language: str | None = None,
    person_form: str = "mention",
) -> CommandReply:
    """Run one HR admin command for the caller; see the module docstring."""
    lang = departures.admin_language(runtime.settings, language)
    if not runtime.settings.is_hr_admin(caller_email):
        log.info("HR command refused: caller is not an HR admin")
        return CommandReply((_info(texts.not_admin(lang)),))
    words = tokens(text)
    name = words[0].lower() if words else "help"
    if name == "start":
        return await _start(runtime, words[1:], caller_email, resolve_person, lang, person_form)
    if name == "status":
        return CommandReply(report=await status_report(runtime, lang))
    if name in ("approvals", "approval", "goedkeuringen"):
        return await _approvals(runtime, lang)
    if name in DIGEST_WORDS and [w.lower() for w in words[1:]] in ([], *PREVIEW_WORDS):
        return await _digest_preview(runtime, lang)
    usage = _t("usage", lang, kinds=_kind_list(lang), person=_person(person_form, lang))
    if name in ("help", "hulp", "?"):
        return CommandReply((_info(usage),))
    return CommandReply((_info(f"{_t('unknown', lang)}\n\n{usage}"),))


async def _start(
    runtime: Runtime,
    args: list[str],
    caller_email: str | None,
    resolve_person: PersonResolver,
    lang: str,
    person_form: str,
) -> CommandReply:
    if len(args) < 2:
        person = _person(person_form, lang)
        return CommandReply(
            (_info(_t("start_usage", lang, kinds=_kind_list(lang), person=person)),)
        )
    person, day_text, *rest = args
    last_day = parse_day(day_text)
    if last_day is None:
        return CommandReply((_info(_t("bad_date", lang, value=day_text)),))
    kind = kind_named(" ".join(rest)) if rest else None
    if rest and kind is None:
        # a typo must not start an interview of another kind without a word
        names = KINDS if lang == "en" else tuple(_kind(k, lang) for k in KINDS)
        value = " ".join(rest)
        return CommandReply((_info(_t("bad_kind", lang, value=value, kinds=", ".join(names))),))
    email = await resolve_person(person)
    if not email:
        return CommandReply((_info(_t("unknown_person", lang)),))
    outcome = await departures.invite_by_hand(runtime, email, last_day, kind=kind, by=caller_email)
    log.info("HR admin started an interview: departure %s %s", outcome.departure_id, outcome.status)
    if outcome.reason_code == "web_link":
        text = _by_web_link("by_web_link", outcome.departure_id, last_day, runtime, lang)
        return CommandReply((_info(text),))
    link = _t("link_after_the_invite", lang)
    day = last_day.isoformat()
    if outcome.status != "scheduled":
        if outcome.after_the_invite:  # the new last day is stored; the time to answer is over
            text = _t("moved_after_the_invite", lang, id=outcome.departure_id, day=day, link=link)
            return CommandReply((_info(text),))
        if outcome.reason_code in INVITED_BEFORE:
            return CommandReply((_info(_t("invited_before", lang)),))
        return CommandReply((_info(_t("not_invited", lang, reason=_reason(outcome, lang))),))
    if outcome.interview == "scheduled" and outcome.invite_at is not None:
        when = _moment(outcome.invite_at, outcome.timezone, lang)
        text = _t("scheduled", lang, when=when, id=outcome.departure_id)
    else:
        # not whether they started, paused or have yet to answer: that is their choice
        text = _t("under_way", lang, id=outcome.departure_id, day=day, link=link)
    return CommandReply((_info(text),))


def _by_web_link(
    done: str, departure_id: str | None, last_day: date, runtime: Runtime, lang: str
) -> str:
    """What `start` or an Approve click (`done`) did for a last working day that has passed:
    no chat invite; the tick makes the interview, by private web link, once that day is over
    (`bot.fallback`)."""
    today = runtime.clock.now().date()  # as `bot.fallback` compares: UTC dates
    when = _t("web_link_soon" if last_day < today else "web_link_after_the_day", lang)
    follows = _t("web_link_follows", lang, when=when)
    return _t(done, lang, id=departure_id, day=last_day.isoformat(), follows=follows)


# Reason codes (`bot.departures.REASONS`) for a person already invited. The invite promises
# that HR sees nothing pointing to one person, and `start` names the person: the answer says
# only that an invite was made, never whether they declined, stopped, deleted their answers or
# took part (`bot.departures` never tells these apart either).
INVITED_BEFORE = ("invited_before", "interview_elsewhere")


def _reason(outcome: departures.DepartureOutcome, lang: str) -> str:
    """Why not invited, in the admin's language: worded by code, never the English sentence
    inside a Dutch one (the sentence only for a code this module does not know)."""
    name = f"reason_{outcome.reason_code}"
    if name in _TEXTS:
        return _t(name, lang)
    return outcome.reason or outcome.status.replace("_", " ")


async def pipeline_counts(runtime: Runtime) -> dict[str, int]:
    """Interviews by `STATUS_ROWS` group, plus departures awaiting approval. Counts only.
    An invite withdrawn before it went out (the departure cancelled, or re-classified to a
    kind that waits for approval or an HR admin's start) is no interview that ended: not
    counted, so a departure that waits for approval after it was scheduled is not also
    "closed". Nor is an interview someone opened themselves, without an invite: it exists
    only because they chose to take part. (`departures.hr_stage`: no one's choice shows.)
    Nor is a try-out in the terminal (`Interview.tryout`): nobody leaving."""
    stage = departures.hr_stage_column(runtime.clock.now())
    async with runtime.db.sessions() as session:
        rows = (
            await session.execute(
                select(stage, func.count())
                .where(
                    Interview.id.not_in(demo_interviews()),  # the playground's made-up people
                    Interview.tryout.is_(False),  # someone trying the bot: no leaver
                )
                .group_by(stage)
            )
        ).all()
        awaiting = await session.scalar(
            select(func.count())
            .select_from(Departure)
            .where(Departure.decision == "awaiting_approval", Departure.status == "active")
        )
    counts = {name: 0 for name, _, _ in STATUS_ROWS}
    for name, n in rows:
        if name is not None:
            counts[STAGE_ROWS[str(name)]] += int(n)
    counts["awaiting_approval"] = int(awaiting or 0)
    return counts


async def status_report(runtime: Runtime, language: str) -> Report:
    counts = await pipeline_counts(runtime)
    column = 1 if language == "en" else 2
    lines = tuple(f"{row[column]}: {counts.get(row[0], 0)}" for row in STATUS_ROWS)
    return Report(
        title=_t("status_title", language),
        sections=(ReportSection(_t("status_heading", language), lines),),
        footer=_t("status_footer", language, k=runtime.settings.min_group_size),
    )


async def _approvals(runtime: Runtime, lang: str) -> CommandReply:
    pending = await departures.pending_approvals(runtime)
    if not pending:
        return CommandReply((_info(_t("no_approvals", lang)),))
    messages = []
    for item in pending[:MAX_APPROVALS_SHOWN]:
        who = item.employee_name or _t("someone", lang)
        if item.department:
            who = f"{who} ({item.department})"
        text = _t(
            "approval",
            lang,
            who=who,
            kind=_kind(item.kind, lang),
            day=item.last_working_day or "?",
            id=item.departure_id,
        )
        choices = departures.approval_choices(item.departure_id, lang, item.round_number)
        messages.append(_info(text, choices))
    if len(pending) > MAX_APPROVALS_SHOWN:
        messages.append(_info(_t("more_approvals", lang, n=len(pending) - MAX_APPROVALS_SHOWN)))
    return CommandReply(tuple(messages))


@dataclass(frozen=True, slots=True)
class Decision:
    """What an Approve / Skip click did, worded for the admin who clicked."""

    status: str  # a `departures.DecisionResult` status, or "not_allowed" / "unknown"
    text: str

    @property
    def decided(self) -> bool:
        """False: nothing changed and the buttons stay (for an HR admin, or a known button).
        True: the click is answered for good, decided or not (no longer pending, replaced by
        a newer request), and the buttons go."""
        return self.status not in ("not_allowed", "unknown")


async def decide(
    runtime: Runtime,
    value: str,
    *,
    clicker_email: str | None,
    language: str | None = None,
    clicked: approval_requests.ChatMessage | None = None,
) -> Decision:
    """An Approve / Skip button (`approve#<round>:<id>` / `skip#<round>:<id>`, or from before
    rounds `approve:<id>` / `skip:<id>`) clicked in chat, answered in the clicker's language
    (their chat locale; default EXITBOT_LANGUAGE). Once answered, the clicked message is the
    caller's to change (`clicked`); the departure's other requests in HR admins' chats say
    at once that they no longer ask, when they do not (`bot.approval_requests`)."""
    lang = departures.admin_language(runtime.settings, language)
    # Never by_email=None from chat: None means the trusted command line.
    if not clicker_email or not runtime.settings.is_hr_admin(clicker_email):
        return Decision("not_allowed", texts.not_admin(lang))
    parsed = departures.parse_decision(value)
    if parsed is None:
        return Decision("unknown", _t("unknown_action", lang))
    approve, departure_id, number = parsed
    result = await departures.decide(
        runtime, departure_id, approve, clicker_email, round_number=number
    )
    decision = Decision(result.status, _decision_text(runtime, result, departure_id, lang))
    if decision.decided:
        await approval_requests.close_settled_now(runtime, departure_id, answered=clicked)
    return decision


def _decision_text(
    runtime: Runtime, result: departures.DecisionResult, departure_id: str, lang: str
) -> str:
    outcome = result.outcome
    if result.status == "scheduled" and outcome is not None and outcome.invite_at is not None:
        when = _moment(outcome.invite_at, outcome.timezone, lang)
        return _t("approved", lang, id=departure_id, when=when)
    if result.status == "skipped":
        return _t("skipped", lang, id=departure_id)
    if result.status == "not_found":
        return _t("decision_not_found", lang, id=departure_id)
    if result.status == "not_pending":
        return _t("not_pending", lang, id=departure_id)
    if result.status == "replaced":
        return _t("replaced", lang, id=departure_id)
    if outcome is None:
        return result.message
    if outcome.reason_code == "web_link" and result.last_day is not None:
        return _by_web_link("approved_by_web_link", departure_id, result.last_day, runtime, lang)
    if outcome.reason_code in INVITED_BEFORE:  # as for `start`: never what that person chose
        return _t("approved_invited_before", lang)
    return _t("approved_not_invited", lang, reason=_reason(outcome, lang))


async def _digest_preview(runtime: Runtime, lang: str) -> CommandReply:
    """Whether the next digest will show figures (at least k interviews) or not yet, never
    its figures nor a count before it is posted, and over the months already ended only: an
    HR admin asking before and after one person's last day must learn nothing about them.
    Publishes nothing."""
    data = await digest_post.preview(
        runtime, actor="hr-command:digest-preview", quotes=False, settled=True
    )
    return CommandReply(report=render_held_back(replace(data, language=lang)))
