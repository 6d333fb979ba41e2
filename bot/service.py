"""The one place that joins the engine, storage and channels.

Data flow of one answer: an adapter builds an `Incoming` → `accept` records it durably (the
inbox; a redelivery is recognised here) → `process` locks the interview, runs the pure engine,
stores answers and the new state in one short transaction → after commit, replies are sent.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

import conversations as conv
from adapters.base import Channel, Incoming
from bot import facts as facts_mod
from bot import privacy, texts
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.crypto import Cipher
from bot.db import Database
from bot.models import (
    AnswerRow,
    Employee,
    InboundMessage,
    Interview,
    Job,
    PlatformIdentity,
)

log = logging.getLogger(__name__)

OPEN_STATUSES = ("invited", "in_progress", "paused")
REOPENABLE_STATUSES = ("completed", "stopped")
CLOSED_STATUSES = ("completed", "declined", "stopped", "deleted", "expired", "cancelled")


@dataclass(slots=True)
class Outcome:
    """What handling one incoming message did."""

    duplicate: bool = False
    interview_id: int | None = None
    status: str | None = None
    messages: list[conv.OutMessage] = field(default_factory=list)


class InterviewService:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        cipher: Cipher,
        questionnaire: conv.Questionnaire,
        channels: dict[str, Channel] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.cipher = cipher
        self.questionnaire = questionnaire
        self.channels: dict[str, Channel] = dict(channels or {})
        self.clock = clock or SystemClock()
        self.observers: list[TurnObserver] = []
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    # ------------------------------------------------------------------ inbound messages

    async def handle(self, incoming: Incoming) -> Outcome:
        """Record, process and answer one message in a single transaction, then reply.

        For channels that wait for our answer (terminal, web, Teams): if anything fails
        before the commit, nothing is stored and the platform's redelivery starts afresh.
        """
        with self._tracking():
            started = self.clock.now()
            try:
                async with self.db.transaction() as session:
                    row = self._inbox_row(incoming, status="done", payload=None)
                    row.processed_at = started
                    session.add(row)
                    await session.flush()  # a redelivery stops here (unique key)
                    outcome = await self._apply(session, incoming)
                    self._keep_reply(row, incoming, outcome)
            except IntegrityError:
                log.info("duplicate %s message ignored", incoming.channel)
                return Outcome(duplicate=True)
            self._observe(incoming.channel, started)
        await self.deliver(incoming.channel, incoming.conversation_id, outcome, incoming.key)
        return outcome

    async def accept(self, incoming: Incoming) -> bool:
        """Record the message durably before acting on it; False when it was seen before.

        For platforms that are acknowledged before the work is done (Slack's Events API).
        """
        payload = self.cipher.encrypt(json.dumps(_incoming_to_json(incoming)))
        try:
            async with self.db.transaction() as session:
                session.add(self._inbox_row(incoming, status="pending", payload=payload))
        except IntegrityError:
            log.info("duplicate %s message ignored", incoming.channel)
            return False
        return True

    async def process(self, key: str) -> Outcome:
        """Run one accepted message through the engine; idempotent per key."""
        with self._tracking():
            started = self.clock.now()
            async with self.db.transaction() as session:
                row = await session.get(InboundMessage, key, with_for_update=True)
                if row is None or row.status == "done" or row.payload_enc is None:
                    return Outcome(duplicate=True)
                incoming = _incoming_from_json(json.loads(self.cipher.decrypt(row.payload_enc)))
                outcome = await self._apply(session, incoming)
                row.processed_at = self.clock.now()
                row.payload_enc = None  # the text now lives (encrypted) in answers only
                self._keep_reply(row, incoming, outcome)
            self._observe(incoming.channel, started)
        return outcome

    def _keep_reply(self, row: InboundMessage, incoming: Incoming, outcome: Outcome) -> None:
        """Store the reply with the turn: a crash before it is sent must not lose it."""
        row.interview_id = outcome.interview_id
        if not outcome.messages:
            row.status = "done"
            return
        row.status = "replying"
        row.reply_enc = self.cipher.encrypt(
            json.dumps(
                {
                    "channel": incoming.channel,
                    "conversation_id": incoming.conversation_id,
                    "messages": [_message_to_json(m) for m in outcome.messages],
                }
            )
        )

    def _inbox_row(self, incoming: Incoming, *, status: str, payload: str | None) -> InboundMessage:
        return InboundMessage(
            key=incoming.key,
            channel=incoming.channel,
            interview_id=incoming.interview_id,
            status=status,
            payload_enc=payload,
            received_at=self.clock.now(),
        )

    @contextmanager
    def _tracking(self) -> Iterator[None]:
        self._in_flight += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    def _observe(self, channel: str, started: datetime) -> None:
        for observer in self.observers:
            observer(channel, self.clock.now() - started)

    async def drain(self, seconds: float) -> bool:
        """Wait for the turns in flight to finish (graceful shutdown); False on timeout."""
        try:
            await asyncio.wait_for(self._idle.wait(), seconds)
        except TimeoutError:
            log.warning("shutdown: %d turn(s) still in flight", self._in_flight)
            return False
        return True

    async def deliver(
        self, channel_name: str, conversation_id: str, outcome: Outcome, key: str
    ) -> None:
        """Send a turn's reply, then mark it delivered (until then the tick would resend it)."""
        if not outcome.messages:
            return
        channel = self.channels.get(channel_name)
        if channel is None:
            log.warning("no channel %r to deliver %d messages", channel_name, len(outcome.messages))
            return
        await channel.send(conversation_id, outcome.messages, key=f"reply:{key}")
        await self._mark_delivered(key)

    async def _mark_delivered(self, key: str) -> None:
        async with self.db.transaction() as session:
            await session.execute(
                update(InboundMessage)
                .where(InboundMessage.key == key, InboundMessage.status == "replying")
                .values(status="done", reply_enc=None)
            )

    async def process_pending(self, older_than: timedelta = timedelta(seconds=60)) -> int:
        """Finish what a crash cut short: messages acknowledged but not processed (Slack acks
        first), and replies stored with their turn but never sent."""
        cutoff = self.clock.now() - older_than
        async with self.db.sessions() as session:
            rows = (
                await session.execute(
                    select(InboundMessage.key, InboundMessage.status, InboundMessage.reply_enc)
                    .where(
                        InboundMessage.status.in_(("pending", "replying")),
                        InboundMessage.received_at < cutoff,
                    )
                    .order_by(InboundMessage.received_at)
                    .limit(200)
                )
            ).all()
        done = 0
        for key, status, reply_enc in rows:
            if status == "pending":
                outcome = await self.process(key)
                if outcome.duplicate:
                    continue
                reply_enc = await self._stored_reply(key)
            elif not await self._claim_resend(key, cutoff):
                continue  # another replica's tick is resending it
            if reply_enc is not None:
                channel, conversation_id, messages = self._reply_of(reply_enc)
                if status == "replying" and await self._reached(channel, conversation_id, key):
                    await self._mark_delivered(key)  # sent just before a crash: not twice
                else:
                    await self.deliver(channel, conversation_id, Outcome(messages=messages), key)
            done += 1
        return done

    async def _reached(self, channel_name: str, conversation_id: str, key: str) -> bool:
        check = getattr(self.channels.get(channel_name), "already_sent", None)
        if check is None:
            return False
        try:
            return bool(await check(conversation_id, f"reply:{key}"))
        except Exception:  # cannot tell: sending again is better than never
            log.warning("could not check whether reply %s was delivered", key, exc_info=True)
            return False

    async def _claim_resend(self, key: str, cutoff: datetime) -> bool:
        """Take a stale unsent reply for this process (moves its clock, so nobody else does)."""
        async with self.db.transaction() as session:
            result = await session.execute(
                update(InboundMessage)
                .where(
                    InboundMessage.key == key,
                    InboundMessage.status == "replying",
                    InboundMessage.received_at < cutoff,
                )
                .values(received_at=self.clock.now())
            )
        return bool(getattr(result, "rowcount", 0))

    async def _stored_reply(self, key: str) -> str | None:
        async with self.db.sessions() as session:
            return await session.scalar(
                select(InboundMessage.reply_enc).where(
                    InboundMessage.key == key, InboundMessage.status == "replying"
                )
            )

    def _reply_of(self, reply_enc: str) -> tuple[str, str, list[conv.OutMessage]]:
        data = json.loads(self.cipher.decrypt(reply_enc))
        messages = [_message_from_json(m) for m in data["messages"]]
        return str(data["channel"]), str(data["conversation_id"]), messages

    async def _apply(self, session: AsyncSession, incoming: Incoming) -> Outcome:
        interview = await self._find_interview(session, incoming)
        if interview is None:
            language = _language_of(incoming.locale, self.settings.language)
            return Outcome(messages=[texts.no_interview(language)])
        state = self._state_of(interview)
        now = self.clock.now()
        turn = conv.advance(self.questionnaire, state, incoming.text, choice=incoming.choice)
        await self._store_turn(session, interview, turn, message_key=incoming.key, now=now)
        interview.channel = incoming.channel
        interview.address = incoming.conversation_id
        return Outcome(
            interview_id=interview.id, status=interview.status, messages=list(turn.messages)
        )

    async def _find_interview(self, session: AsyncSession, incoming: Incoming) -> Interview | None:
        if incoming.interview_id is not None:
            interview = await session.get(Interview, incoming.interview_id, with_for_update=True)
            usable = (*OPEN_STATUSES, *REOPENABLE_STATUSES)
            return interview if interview and interview.status in usable else None
        employee_id = await session.scalar(
            select(PlatformIdentity.employee_id).where(
                PlatformIdentity.platform == incoming.channel,
                PlatformIdentity.user_id == incoming.user_id,
            )
        )
        if employee_id is None and incoming.email:
            employee_id = await session.scalar(
                select(Employee.id).where(Employee.email == incoming.email.lower())
            )
        if employee_id is None:
            return None
        interview = await session.scalar(
            select(Interview)
            .where(Interview.employee_id == employee_id, Interview.status.in_(OPEN_STATUSES))
            .order_by(Interview.id.desc())
            .limit(1)
            .with_for_update()
        )
        if interview is not None:
            return interview
        # A finished interview still answers ("delete my answers" after stop or completion)
        # until retention purges it.
        return await session.scalar(
            select(Interview)
            .where(
                Interview.employee_id == employee_id,
                Interview.status.in_(REOPENABLE_STATUSES),
                Interview.purged_at.is_(None),
                Interview.state_enc.is_not(None),
            )
            .order_by(Interview.id.desc())
            .limit(1)
            .with_for_update()
        )

    # ------------------------------------------------------------------ state and answers

    def _state_of(self, interview: Interview) -> dict[str, object]:
        if not interview.state_enc:
            return {}
        loaded: dict[str, object] = json.loads(self.cipher.decrypt(interview.state_enc))
        return loaded

    async def _store_turn(
        self,
        session: AsyncSession,
        interview: Interview,
        turn: conv.Turn,
        *,
        message_key: str,
        now: datetime,
    ) -> None:
        if turn.erase_all:
            await session.execute(delete(AnswerRow).where(AnswerRow.interview_id == interview.id))
        elif turn.discard:
            await session.execute(
                delete(AnswerRow).where(
                    AnswerRow.interview_id == interview.id,
                    AnswerRow.question_id.in_(turn.discard),
                )
            )
        for position, answer in enumerate(turn.store):
            session.add(
                AnswerRow(
                    interview_id=interview.id,
                    question_id=answer.question_id,
                    seq=answer.seq,
                    message_key=message_key if position == 0 else f"{message_key}#{position}",
                    text_enc=self.cipher.encrypt(answer.text) if answer.text else None,
                    value=answer.value,
                    themes=",".join(answer.themes) or None,
                    created_at=now,
                )
            )
        previous = interview.status
        interview.status = turn.status
        interview.state_enc = self.cipher.encrypt(json.dumps(turn.state))
        interview.last_activity_at = now
        interview.updated_at = now
        if turn.status == "in_progress" and interview.started_at is None:
            interview.started_at = now
        if turn.status != previous:
            await self._on_status_change(session, interview, previous, now)

    async def _on_status_change(
        self, session: AsyncSession, interview: Interview, previous: str, now: datetime
    ) -> None:
        if interview.status in CLOSED_STATUSES or interview.status == "in_progress":
            # Pending invite reminders no longer apply once the invite was answered.
            await session.execute(
                update(Job)
                .where(
                    Job.interview_id == interview.id,
                    Job.status == "due",
                    Job.kind.in_(
                        ("remind_invite",)
                        if interview.status == "in_progress"
                        else ("invite", "remind_invite", "remind_idle", "expire")
                    ),
                )
                .values(status="cancelled", done_at=now)
            )
        if interview.status == "completed":
            interview.completed_at = now
            await facts_mod.record(session, interview, self.settings, now)
        if interview.status == "deleted":
            await facts_mod.remove(session, interview.id)
        log.info("interview %s: %s -> %s", interview.id, previous, interview.status)

    # ------------------------------------------------------------------ starting interviews

    async def begin_chat(
        self,
        *,
        channel: str,
        email: str,
        conversation_id: str,
        language: str | None = None,
        name: str | None = None,
    ) -> Outcome:
        """Start an interview someone opened themselves (terminal, web), or resume theirs."""
        email = email.strip().lower()
        now = self.clock.now()
        async with self.db.transaction() as session:
            employee = await self.upsert_employee(session, email=email, name=name, now=now)
            await self.link_identity(
                session,
                platform=channel,
                user_id=email,
                employee_id=employee.id,
                conversation_id=conversation_id,
                now=now,
            )
            interview = await session.scalar(
                select(Interview)
                .where(Interview.employee_id == employee.id, Interview.status.in_(OPEN_STATUSES))
                .order_by(Interview.id.desc())
                .limit(1)
                .with_for_update()
            )
            if interview is not None:
                turn = conv.resume(self.questionnaire, self._state_of(interview))
            else:
                lang = language or employee.language or self.settings.language
                interview = self.new_interview(employee_id=employee.id, language=lang, now=now)
                session.add(interview)
                await session.flush()
                turn = conv.start(
                    self.questionnaire,
                    lang,
                    min_group=self.settings.min_group_size,
                    retention_days=self.settings.retention_days,
                )
            await self._store_turn(
                session, interview, turn, message_key=f"{channel}:begin:{interview.id}", now=now
            )
            interview.channel = channel
            interview.address = conversation_id
            return Outcome(
                interview_id=interview.id, status=interview.status, messages=list(turn.messages)
            )

    def new_interview(
        self,
        *,
        employee_id: int | None,
        language: str,
        now: datetime,
        departure_id: int | None = None,
        status: str = "in_progress",
    ) -> Interview:
        return Interview(
            employee_id=employee_id,
            departure_id=departure_id,
            status=status,
            language=language
            if language in self.questionnaire.languages
            else self.settings.language,
            questionnaire_id=self.questionnaire.id,
            questionnaire_version=self.questionnaire.version,
            created_at=now,
            updated_at=now,
        )

    async def upsert_employee(
        self,
        session: AsyncSession,
        *,
        email: str,
        now: datetime,
        name: str | None = None,
        **details: str | None,
    ) -> Employee:
        email = email.strip().lower()
        employee = await session.scalar(select(Employee).where(Employee.email == email))
        if employee is None:
            employee = Employee(email=email, created_at=now, updated_at=now)
            session.add(employee)
        if name:
            employee.name = name
        for key, value in details.items():
            if value is not None:
                setattr(employee, key, value)
        employee.updated_at = now
        await session.flush()
        return employee

    async def link_identity(
        self,
        session: AsyncSession,
        *,
        platform: str,
        user_id: str,
        employee_id: int | None,
        now: datetime,
        conversation_id: str | None = None,
        reference: dict[str, object] | None = None,
        locale: str | None = None,
        timezone: str | None = None,
    ) -> PlatformIdentity:
        identity = await session.get(PlatformIdentity, (platform, user_id))
        if identity is None:
            identity = PlatformIdentity(platform=platform, user_id=user_id, updated_at=now)
            session.add(identity)
        if employee_id is not None:
            identity.employee_id = employee_id
        for key, value in (
            ("conversation_id", conversation_id),
            ("reference", reference),
            ("locale", locale),
            ("timezone", timezone),
        ):
            if value is not None:
                setattr(identity, key, value)
        identity.updated_at = now
        await session.flush()
        return identity

    # ------------------------------------------------------------------ erasure

    async def forget(self, email: str) -> bool:
        """Erase all stored about one person: answers, state, identity, unpublished facts."""
        email = email.strip().lower()
        async with self.db.transaction() as session:
            employee = await session.scalar(select(Employee).where(Employee.email == email))
            if employee is None:
                return False
            interview_ids = (
                await session.scalars(
                    select(Interview.id).where(Interview.employee_id == employee.id)
                )
            ).all()
            for interview_id in interview_ids:
                await facts_mod.remove(session, interview_id)
            await session.execute(delete(Interview).where(Interview.id.in_(interview_ids)))
            await facts_mod.forget_departures(session, employee.id)
            await privacy.erase_references(session, employee.id, email)
            await session.delete(employee)
        log.info("erased one employee and %d interviews on request", len(interview_ids))
        return True


TurnObserver = Callable[[str, timedelta], None]
"""Called after each processed turn with (channel, duration); used for metrics."""


def _language_of(locale: str | None, default: str) -> str:
    if locale and locale[:2].lower() in {"en", "nl"}:
        return locale[:2].lower()
    return default


def _incoming_to_json(incoming: Incoming) -> dict[str, object]:
    return {
        "channel": incoming.channel,
        "user_id": incoming.user_id,
        "conversation_id": incoming.conversation_id,
        "text": incoming.text,
        "message_id": incoming.message_id,
        "choice": incoming.choice,
        "email": incoming.email,
        "locale": incoming.locale,
        "interview_id": incoming.interview_id,
        "reply_to": incoming.reply_to,
    }


def _incoming_from_json(data: dict[str, object]) -> Incoming:
    return Incoming(**data)  # type: ignore[arg-type]


def _message_to_json(message: conv.OutMessage) -> dict[str, object]:
    return {
        "kind": message.kind,
        "text": message.text,
        "choices": [[c.value, c.label] for c in message.choices],
        "question_id": message.question_id,
    }


def _message_from_json(data: dict[str, Any]) -> conv.OutMessage:
    return conv.OutMessage(
        kind=data["kind"],
        text=data["text"],
        choices=tuple(conv.Choice(value, label) for value, label in data["choices"]),
        question_id=data["question_id"],
    )


def messages_json(messages: Sequence[conv.OutMessage]) -> list[dict[str, object]]:
    return [m.to_json() for m in messages]
