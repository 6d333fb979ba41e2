"""HR admins' approval requests in chat, and what becomes of one that no longer asks.

`bot.invites.request_approval` sends each HR admin a request with Approve / Skip buttons and
records here where it went (`ApprovalRequest`: the admin's DM, the platform's message id, the
admin's language, and the round, kind and last working day it named). Once the departure
no longer waits for that request, the request is changed in place (the channel's optional
`mark_closed`, see `adapters.base.Channel`): its text again, no buttons, and a note in the
admin's language saying why: replaced by a newer request (its kind changed to another that
needs approval), approved or skipped by an HR admin (in chat, on the command line, on
another replica), cancelled by the HR system, no longer waiting (a kind without approval, an
admin's `start`), or no longer stored (erased: the name goes from the request too).

When: at once in the tick that sends a newer round's requests and after a click that decides
(for the other admins' requests); for everything else the tick's periodic sweep (within a
minute in `exitbot serve`). A request's row is deleted before its message is changed, so one
process changes it once. A change that fails (the message was deleted, a platform error) is
logged without names or addresses and given up: its buttons still answer a click with what
happened (`bot.hr_commands.decide`), as before.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, delete, or_, select

from bot import departures
from bot.departures import AdminMessage
from bot.jobs import TickContext, TickRegistry
from bot.models import ApprovalRequest, Departure, Employee
from bot.runtime import Runtime

log = logging.getLogger(__name__)

_TEXTS: dict[str, dict[str, str]] = {
    "request": {
        "en": (
            "Approval needed: {who} is leaving ({kind}, last working day {day}, departure "
            "{id}). Before inviting them to an exit interview, check the relationship with "
            "their manager: if it is strained, an interview makes little sense. Invite them?"
        ),
        "nl": (
            "Goedkeuring nodig: {who} vertrekt ({kind}, laatste werkdag {day}, vertrek {id}). "
            "Check eerst de relatie met de leidinggevende voordat je uitnodigt voor een "
            "exitgesprek: is die verstoord, dan heeft een gesprek weinig zin. Uitnodigen?"
        ),
    },
    "someone": {"en": "an employee", "nl": "een medewerker"},
    # Why a request no longer asks: the note under it.
    "replaced": {
        "en": "Replaced by a newer request: the departure changed since this one was sent. "
        "Nothing was decided here; use the newest request, or `approvals` to see what is "
        "waiting.",
        "nl": "Vervangen door een nieuwer verzoek: het vertrek is gewijzigd sinds dit verzoek "
        "werd verstuurd. Hier is niets besloten; gebruik het nieuwste verzoek, of "
        "`goedkeuringen` om te zien wat er wacht.",
    },
    "approved": {
        "en": "Approved by an HR admin: nothing left to decide here.",
        "nl": "Goedgekeurd door een HR-beheerder: hier valt niets meer te beslissen.",
    },
    "skipped": {
        "en": "Skipped by an HR admin: no interview for this departure.",
        "nl": "Overgeslagen door een HR-beheerder: geen gesprek voor dit vertrek.",
    },
    "cancelled": {
        "en": "Cancelled by the HR system: nothing to decide any more.",
        "nl": "Geannuleerd door het HR-systeem: er valt niets meer te beslissen.",
    },
    "not_waiting": {
        "en": "No longer waiting for approval (the departure changed): nothing to decide here.",
        "nl": "Wacht niet meer op goedkeuring (het vertrek is gewijzigd): hier valt niets "
        "meer te beslissen.",
    },
    "gone_request": {
        "en": "An approval request for a departure that is no longer stored.",
        "nl": "Een goedkeuringsverzoek voor een vertrek dat niet meer is opgeslagen.",
    },
    "gone": {
        "en": "Closed: nothing to decide any more.",
        "nl": "Gesloten: er valt niets meer te beslissen.",
    },
}


def _t(name: str, language: str, **values: object) -> str:
    table = _TEXTS[name]
    return table.get(language, table["en"]).format(**values)


def request_text(
    language: str,
    *,
    name: str | None,
    department: str | None,
    kind: str,
    day: date | None,
    external_id: str,
) -> str:
    """What an approval request says, in an HR admin's language."""
    from bot.hr_commands import kind_name

    who = name or _t("someone", language)
    return _t(
        "request",
        language,
        who=f"{who} ({department})" if department else who,
        kind=kind_name(kind, language),
        day=day,
        id=external_id,
    )


# ---------------------------------------------------------------------- recording


async def record(
    runtime: Runtime, departure: Departure, round_number: int, where: AdminMessage
) -> None:
    """An HR admin got the request of this round of the departure's waiting (`where`)."""
    async with runtime.db.transaction() as session:
        session.add(
            ApprovalRequest(
                departure_id=departure.id,
                round_number=round_number,
                kind=departure.kind,
                last_working_day=departure.last_working_day,
                channel=where.channel,
                conversation_id=where.conversation_id,
                message_id=where.message_id,
                language=where.language,
                sent_at=runtime.clock.now(),
            )
        )


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One message in chat: its channel ("slack", "teams"), conversation and platform id."""

    channel: str
    conversation_id: str
    message_id: str


async def _answered(runtime: Runtime, message: ChatMessage) -> None:
    """A click answered this request itself (its message says what the click did): it is
    not changed again."""
    async with runtime.db.transaction() as session:
        await session.execute(
            delete(ApprovalRequest).where(
                ApprovalRequest.channel == message.channel,
                ApprovalRequest.conversation_id == message.conversation_id,
                ApprovalRequest.message_id == message.message_id,
            )
        )


# ---------------------------------------------------------------------- closing


@dataclass(frozen=True, slots=True)
class _Closing:
    request: ApprovalRequest
    text: str
    note: str


def _why(request: ApprovalRequest, departure: Departure | None, current_round: int) -> str:
    """Why the request no longer asks (the name of its note); its departure has moved on."""
    if departure is None:
        return "gone"
    if departure.status != "active":
        return "cancelled"
    if departure.decision in ("approved", "skipped"):
        return departure.decision
    if departure.decision == "awaiting_approval" and request.round_number < current_round:
        return "replaced"
    return "not_waiting"


def _settled() -> ColumnElement[bool]:
    """Requests whose departure no longer waits for them (outer-joined to departures)."""
    return or_(
        ApprovalRequest.departure_id.is_(None),
        Departure.status != "active",
        Departure.decision != "awaiting_approval",
        ApprovalRequest.round_number < departures.approval_round(Departure.id),
    )


async def close_settled(runtime: Runtime, external_id: str | None = None) -> int:
    """Change every request that no longer asks (only the departure's with `external_id`)
    to say so; how many were changed."""
    query = (
        select(ApprovalRequest, Departure, Employee, departures.approval_round(Departure.id))
        .outerjoin(Departure, Departure.id == ApprovalRequest.departure_id)
        .outerjoin(Employee, Employee.id == Departure.employee_id)
        .where(_settled())
        .order_by(ApprovalRequest.id)
    )
    if external_id is not None:
        query = query.where(Departure.external_id == external_id)
    closing: dict[int, _Closing] = {}
    async with runtime.db.sessions() as session:  # a read; most of the time it finds nothing
        for request, departure, employee, current in (await session.execute(query)).all():
            closing[request.id] = _closing(request, departure, employee, int(current or 0))
    if not closing:
        return 0
    async with runtime.db.transaction() as session:
        # whichever process deletes a row changes its message
        taken = (
            await session.scalars(
                delete(ApprovalRequest)
                .where(ApprovalRequest.id.in_(closing))
                .returning(ApprovalRequest.id)
            )
        ).all()
    changed = 0
    for request_id in sorted(taken):
        changed += await _change(runtime, closing[request_id])
    return changed


def _closing(
    request: ApprovalRequest, departure: Departure | None, employee: Employee | None, current: int
) -> _Closing:
    why, language = _why(request, departure, current), request.language
    if departure is None:
        return _Closing(request, _t("gone_request", language), _t(why, language))
    text = request_text(
        language,
        name=employee.name if employee else None,
        department=employee.department if employee else None,
        kind=request.kind,
        day=request.last_working_day,
        external_id=departure.external_id,
    )
    return _Closing(request, text, _t(why, language))


async def _change(runtime: Runtime, closing: _Closing) -> int:
    request = closing.request
    mark_closed = getattr(runtime.service.channels.get(request.channel), "mark_closed", None)
    if mark_closed is None:
        log.info(
            "approval request %d left as it is: %s is not configured", request.id, request.channel
        )
        return 0
    try:
        await mark_closed(request.conversation_id, request.message_id, closing.text, closing.note)
    except Exception as exc:  # deleted, unreachable, a platform error: a click still answers
        log.warning(
            "approval request %d could not be changed on %s: %s",
            request.id,
            request.channel,
            type(exc).__name__,
        )
        return 0
    return 1


async def close_settled_now(
    runtime: Runtime, external_id: str, *, answered: ChatMessage | None = None
) -> None:
    """`close_settled` for one departure, from a path that must go on whatever happens (a
    tick job, a click, whose own message is `answered` by the click itself): a failure is
    logged, and the tick's sweep tries again."""
    try:
        if answered is not None:
            await _answered(runtime, answered)
        await close_settled(runtime, external_id)
    except Exception as exc:
        log.warning(
            "approval requests not closed now (the tick tries again): %s", type(exc).__name__
        )


# ---------------------------------------------------------------------- the tick


def register(built: TickRegistry) -> None:
    """Tick contributor: the sweep over requests that no longer ask."""
    built.periodic["approval_requests"] = _sweep


async def _sweep(ctx: TickContext) -> None:
    if changed := await close_settled(ctx.runtime):
        ctx.report.add("approval requests closed", changed)
