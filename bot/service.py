"""The one place that joins the engine, storage and channels.

Data flow of one answer: an adapter builds an `Incoming` → `record` hands it to the turn
writer (`bot.writer`), which records it in the inbox (a redelivery is recognised here), locks
the interview, runs the pure engine and stores answers, state and the reply in one short
transaction (shared with whatever other turns arrived meanwhile) → after commit the reply is
sent (`deliver`) and marked sent; until then the tick would resend it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import Row, Select, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

import conversations as conv
from adapters.base import Channel, Incoming
from bot import facts as facts_mod
from bot import privacy, texts
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.crypto import Cipher
from bot.db import Database, is_message_seen
from bot.jobs import cancel_jobs
from bot.models import (
    Departure,
    Employee,
    ErasedDeparture,
    InboundMessage,
    Interview,
    PlatformIdentity,
    erased_ref,
)
from bot.turns import (
    CLOSED_STATUSES,
    NUMBERED_CHOICES,
    OPEN_STATUSES,
    REOPENABLE_STATUSES,
    TRYOUT_CHANNELS,
    Outcome,
    Turns,
    latest_finished,
    message_from_json,
    restartable_where,
    theirs_on,
)
from bot.writer import Identity, TurnWriter

__all__ = [
    "CLOSED_STATUSES",
    "OPEN_STATUSES",
    "REOPENABLE_STATUSES",
    "InterviewService",
    "LinkObserver",
    "Outcome",
    "TurnObserver",
    "messages_json",
]

log = logging.getLogger(__name__)

# How long a reply waits for the one before it in the same conversation to be sent (Slack's
# pacing can hold a reply for seconds); after that it goes anyway.
REPLY_ORDER_WAIT = 10.0
REPLY_ORDER_TICKETS = 10_000  # tickets whose reply was never delivered are dropped beyond this


class ReplyOrder:
    """Replies of one conversation leave in the order their turns were stored.

    Two messages typed a moment apart are two turns, stored in order, but their replies are
    sent by two tasks that run side by side; the second reply's messages could reach the
    person before (or between) the first's. `ticket` is taken as the turn's outcome comes back,
    which happens in commit order; `wait` holds a reply until the one before it has been sent,
    `done` lets the next go. Per process: with several replicas, messages a moment apart may
    reach two of them and nothing orders their replies. A reply that is not sent at all gives
    its place back (Slack: at once when its ack fails, else after `UNSENT_AFTER`, so a listener
    Bolt starts later than that is no longer kept in order); none waits longer than
    `REPLY_ORDER_WAIT` for the one before it.
    """

    def __init__(self) -> None:
        self._tails: dict[tuple[str, str], asyncio.Future[None]] = {}
        self._tickets: dict[str, tuple[asyncio.Future[None] | None, asyncio.Future[None]]] = {}

    def ticket(self, channel: str, conversation_id: str, key: str) -> None:
        if len(self._tickets) >= REPLY_ORDER_TICKETS:  # replies never delivered: let go
            _, dropped = self._tickets.pop(next(iter(self._tickets)))
            if not dropped.done():
                dropped.set_result(None)
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        before = self._tails.get((channel, conversation_id))
        self._tails[(channel, conversation_id)] = mine
        self._tickets[key] = (before if before is not None and not before.done() else None, mine)

    async def wait(self, key: str) -> None:
        before = self._tickets[key][0] if key in self._tickets else None
        if before is not None:
            try:
                await asyncio.wait_for(asyncio.shield(before), REPLY_ORDER_WAIT)
            except TimeoutError:
                log.warning("a reply went out without waiting longer for the one before it")

    def done(self, channel: str, conversation_id: str, key: str) -> None:
        ticket = self._tickets.pop(key, None)
        if ticket is None:
            return
        mine = ticket[1]
        if not mine.done():
            mine.set_result(None)
        if self._tails.get((channel, conversation_id)) is mine:
            del self._tails[(channel, conversation_id)]


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
        self.turns = Turns(settings, cipher, questionnaire, self.clock)
        self.writer = TurnWriter(db, self.turns)
        self.observers: list[TurnObserver] = []
        # Told when a platform user was linked to an employee and that is stored (the
        # channel's plugin remembers it: their first message needs no lookup).
        self.link_observers: list[LinkObserver] = []
        self.reply_order = ReplyOrder()
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    # ------------------------------------------------------------------ inbound messages

    async def handle(self, incoming: Incoming) -> Outcome:
        """Record and process one message, then send the reply.

        For channels that wait for our answer (terminal, web, Teams): if anything fails
        before the commit, nothing is stored and the platform's redelivery starts afresh.
        """
        with self._tracking():
            outcome = await self.record(incoming)
            await self.deliver(incoming.channel, incoming.conversation_id, outcome, incoming.key)
        return outcome

    async def record(self, incoming: Incoming) -> Outcome:
        """Record the message, run the turn and store it with its reply, in one transaction;
        nothing is sent yet (`deliver` does). A message seen before comes back a duplicate.

        Slack calls this before acknowledging an event: once it returns, the answer and the
        reply are durable, and a crash before `deliver` is repaired by the tick.
        """
        with self._tracking():
            started = self.clock.now()
            outcome = await self.writer.record(incoming)
            if outcome.duplicate:
                log.info("duplicate %s message ignored", incoming.channel)
            else:
                if outcome.messages:  # now, in commit order: see `ReplyOrder`
                    self.reply_order.ticket(
                        incoming.channel, incoming.conversation_id, incoming.key
                    )
                self._observe(incoming.channel, started)
        return outcome

    async def accept(self, incoming: Incoming) -> bool:
        """Record the message durably without processing it yet (`process` does, or the
        tick); False when it was seen before."""
        payload = self.cipher.encrypt(json.dumps(_incoming_to_json(incoming)))
        try:
            async with self.db.transaction() as session:
                session.add(self.turns.inbox_row(incoming, status="pending", payload=payload))
        except IntegrityError as exc:
            if not is_message_seen(exc):
                raise  # not a redelivery: nothing was stored, the caller answers an error
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
                outcome = await session.run_sync(self.turns.apply, incoming)
                row.processed_at = self.clock.now()
                row.payload_enc = None  # the text now lives (encrypted) in answers only
                self.turns.keep_reply(row, incoming, outcome)
            self._observe(incoming.channel, started)
        return outcome

    async def store_turn(
        self,
        session: AsyncSession,
        interview: Interview,
        turn: conv.Turn,
        *,
        message_key: str,
        now: datetime,
    ) -> None:
        """`Turns.store_turn` inside an async transaction (invites, web chat, begin_chat)."""
        await session.run_sync(
            lambda sync: self.turns.store_turn(
                sync, interview, turn, message_key=message_key, now=now
            )
        )

    async def identities(self, platform: str, user_ids: list[str]) -> list[Identity]:
        """Those of a platform's `user_ids` ExitBot knows (see `TurnWriter.identities`)."""
        return await self.writer.identities(platform, user_ids)

    def state_of(self, interview: Interview) -> dict[str, object]:
        return self.turns.state_of(interview)

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
        """Send a turn's reply, after the replies of the same conversation's earlier turns
        (`ReplyOrder`), then mark it delivered (until then the tick would resend it)."""
        try:
            if not outcome.messages:
                return
            channel = self.channels.get(channel_name)
            if channel is None:
                log.warning(
                    "no channel %r to deliver %d messages", channel_name, len(outcome.messages)
                )
                return
            with self._tracking():
                await self.reply_order.wait(key)
                await channel.send(conversation_id, outcome.messages, key=f"reply:{key}")
                self.writer.mark_sent(key)
        finally:
            self.reply_order.done(channel_name, conversation_id, key)

    def release_reply(self, channel_name: str, conversation_id: str, key: str) -> None:
        """A stored reply that is not sent now (the tick sends it later): the next reply in
        that conversation no longer waits for it (`ReplyOrder`)."""
        self.reply_order.done(channel_name, conversation_id, key)

    async def flush(self) -> None:
        """Wait until the "reply sent" marks handed in so far are stored."""
        await self.writer.flush()

    async def close(self) -> None:
        await self.writer.close()

    async def process_pending(self, older_than: timedelta = timedelta(seconds=60)) -> int:
        """Finish what a crash cut short: messages acknowledged but not processed (Slack acks
        first), and replies stored with their turn but never sent."""
        cutoff = self.clock.now() - older_than
        # Nearly every tick finds nothing: then the "sent" marks waiting in memory stay there
        # for the next turn to carry (a flush would cost a transaction of its own each tick).
        if not await self._unfinished(cutoff, limit=1):
            return 0
        await self.writer.flush()  # replies sent by now are marked first: never resent
        rows = await self._unfinished(cutoff, limit=200)
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
                    self.writer.mark_sent(key)  # sent just before a crash: not twice
                else:
                    await self.deliver(channel, conversation_id, Outcome(messages=messages), key)
            done += 1
        if done:
            await self.writer.flush()  # the "sent" marks, before the tick reports
        return done

    async def _unfinished(
        self, cutoff: datetime, *, limit: int
    ) -> Sequence[Row[str, str, str | None]]:
        """Messages received before `cutoff` and not done: (key, status, reply_enc), oldest
        first."""
        async with self.db.sessions() as session:
            return (
                await session.execute(
                    select(InboundMessage.key, InboundMessage.status, InboundMessage.reply_enc)
                    .where(
                        InboundMessage.status.in_(("pending", "replying")),
                        InboundMessage.received_at < cutoff,
                    )
                    .order_by(InboundMessage.received_at)
                    .limit(limit)
                )
            ).all()

    async def _reached(self, channel_name: str, conversation_id: str, key: str) -> bool:
        check = getattr(self.channels.get(channel_name), "already_sent", None)
        if check is None:
            return False
        try:
            return bool(await check(conversation_id, f"reply:{key}"))
        except Exception as exc:  # cannot tell: sending again is better than never
            log.warning(
                "could not check whether reply %s was delivered: %s", key, type(exc).__name__
            )
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
        messages = [message_from_json(m) for m in data["messages"]]
        return str(data["channel"]), str(data["conversation_id"]), messages

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
        """Start an interview someone opened themselves (terminal, web), or resume theirs.

        Their open interview goes on, unless it is a try-out and HR has since recorded their
        departure: that departure's interview, whose invite has not gone out yet, starts here.
        With neither, a new one: in the terminal (`TRYOUT_CHANNELS`) that is a try-out,
        someone trying the bot (`Interview.tryout`)."""
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
                .where(
                    Interview.employee_id == employee.id,
                    Interview.status.in_(OPEN_STATUSES),
                    theirs_on(channel),  # a try-out only goes on in the terminal
                )
                .order_by(Interview.id.desc())
                .limit(1)
                .with_for_update()
            )
            fresh = False  # a new interview, or a scheduled one: it starts from the beginning
            if interview is None or interview.tryout:
                # their departure's interview goes before a try-out left unfinished (which
                # stays as it is, until retention)
                scheduled = await session.scalar(_scheduled(employee.id, now))
                if scheduled is not None:
                    await self._take_up_invite(session, scheduled, channel, language, now)
                    interview, fresh = scheduled, True
            if interview is None:
                # They said "no thanks" and may still change their mind: the chat says so
                # (their interview starts on "start", not by opening the chat)
                declined = await session.scalar(
                    select(Interview)
                    .where(
                        Interview.employee_id == employee.id,
                        restartable_where(now),
                        theirs_on(channel),
                    )
                    .order_by(Interview.tryout, Interview.id.desc())  # a real one first
                    .limit(1)
                )
                if declined is not None:
                    return Outcome(
                        interview_id=declined.id,
                        status=declined.status,
                        messages=[self.restart_offer(declined.language, channel)],
                        language=declined.language,
                        tryout=declined.tryout,
                    )
            if interview is None:
                # Their interview has ended and its answers are kept: the chat reopens it, so
                # that "delete my answers", which its closing message offered, can be typed
                # (one person, one interview: a new one is not started)
                finished = await session.scalar(latest_finished(employee.id, channel))
                if finished is not None:
                    return Outcome(
                        interview_id=finished.id,
                        status=finished.status,
                        messages=list(self.closed_turn(finished).messages),
                        language=finished.language,
                        tryout=finished.tryout,
                    )
            if interview is None:
                lang = language or employee.language or self.settings.language
                interview = self.new_interview(employee_id=employee.id, language=lang, now=now)
                # decided here, once: no departure behind it, opened in the terminal
                interview.tryout = channel in TRYOUT_CHANNELS
                session.add(interview)
                await session.flush()
                fresh = True
            if fresh:
                turn = conv.start(
                    self.questionnaire,
                    interview.language,
                    min_group=self.settings.min_group_size,
                    retention_days=self.settings.retention_days,
                )
            else:
                turn = conv.resume(self.questionnaire, self.state_of(interview))
            await self.store_turn(
                session, interview, turn, message_key=f"{channel}:begin:{interview.id}", now=now
            )
            interview.channel = channel
            interview.address = conversation_id
            return Outcome(
                interview_id=interview.id,
                status=interview.status,
                messages=list(turn.messages),
                language=interview.language,
                tryout=interview.tryout,
            )

    async def _take_up_invite(
        self,
        session: AsyncSession,
        interview: Interview,
        channel: str,
        language: str | None,
        now: datetime,
    ) -> None:
        """A departure's interview, still waiting for its invite, opened by its employee (in
        the terminal, after `exitbot invite`): offered and taken up here, so its invite is not
        sent as well; it counts as any other."""
        if language in self.questionnaire.languages:
            interview.language = language  # their choice: the invite's was a guess
        interview.invited_at = now
        if interview.expires_at is not None:  # what HR is shown: sent, as by the invite
            from bot import departures  # (imports the runtime, which imports this module)

            departures.offered(interview, interview.expires_at)
        await cancel_jobs(session, interview.id, now, ("invite",))
        log.info("interview %s: opened on %s before its invite", interview.id, channel)

    def restart_offer(self, language: str, channel: str) -> conv.OutMessage:
        """The offer to start after all, for a declined interview that may still be started
        (`restartable_where`), worded for how `channel` shows its Start choice."""
        label = self.questionnaire.say("phrases.btn_start", language)
        return texts.restart_offer(language, label, buttons=channel not in NUMBERED_CHOICES)

    def closed_turn(self, interview: Interview) -> conv.Turn:
        """What a finished interview says when reopened: where it stands (a pending
        confirmation of deletion), else that it has ended and how to delete the answers."""
        state = self.state_of(interview)
        if state.get("phase") == "confirm_delete":
            return conv.resume(self.questionnaire, state)
        return conv.advance(self.questionnaire, state, "")

    def interview_language(self, language: str | None) -> str:
        """`language` when the questionnaire is held in it, else `EXITBOT_LANGUAGE`."""
        return language if language in self.questionnaire.languages else self.settings.language

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
            language=self.interview_language(language),
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

    def linked(self, platform: str, user_id: str, locale: str | None) -> None:
        """A link stored (committed) by this process: tell who remembers links."""
        for observer in self.link_observers:
            observer(platform, user_id, locale)

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
        """Erase all stored about one person: answers, state, identity, unpublished facts, and
        their address where other rows name them (as a manager, as the HR admin who decided
        on a departure). False when nothing named them."""
        email = email.strip().lower()
        now = self.clock.now()
        async with self.db.transaction() as session:
            employee = await session.scalar(select(Employee).where(Employee.email == email))
            if employee is None:  # e.g. an HR admin who never left: only what names them
                named = await privacy.erase_references(session, None, email)
                if named:
                    log.info("erased one person's address from %d rows on request", named)
                return named > 0
            interview_ids = (
                await session.scalars(
                    select(Interview.id).where(Interview.employee_id == employee.id)
                )
            ).all()
            for interview_id in interview_ids:
                await facts_mod.remove(session, interview_id)
            await session.execute(delete(Interview).where(Interview.id.in_(interview_ids)))
            # the HR system may announce these departures again (its routine update): kept as
            # tombstones, so that re-creates nobody and invites nobody
            refs = await session.scalars(
                select(Departure.external_id).where(Departure.employee_id == employee.id)
            )
            for ref in set(refs):
                await session.merge(ErasedDeparture(ref_hash=erased_ref(ref), erased_at=now))
            await facts_mod.forget_departures(session, employee.id)
            await privacy.erase_references(session, employee.id, email)
            await session.delete(employee)
        log.info("erased one employee and %d interview(s) on request", len(interview_ids))
        return True


def _scheduled(employee_id: int, now: datetime) -> Select[Interview]:
    """Their departure's interview whose invite has not gone out yet, before its end, locked."""
    return (
        select(Interview)
        .where(
            Interview.employee_id == employee_id,
            Interview.status == "scheduled",
            Interview.departure_id.is_not(None),
            or_(Interview.expires_at.is_(None), Interview.expires_at > now),
        )
        .order_by(Interview.id.desc())
        .limit(1)
        .with_for_update()
    )


TurnObserver = Callable[[str, timedelta], None]
"""Called after each processed turn with (channel, duration); used for metrics."""
LinkObserver = Callable[[str, str, str | None], None]
"""Called with (platform, user id, locale) once this process stored a platform user's link
to an employee (the invite); the channel's plugin remembers it."""


def _incoming_to_json(incoming: Incoming) -> dict[str, object]:
    data: dict[str, object] = {
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
    # Only when set: a replica still on a version before them reads the rest (rolling upgrade)
    for key in ("choice_for", "choice_on"):
        if getattr(incoming, key) is not None:
            data[key] = getattr(incoming, key)
    return data


_INCOMING_FIELDS = frozenset(f.name for f in dataclasses.fields(Incoming))


def _incoming_from_json(data: dict[str, object]) -> Incoming:
    """A kept message. One written by a newer version (during a rolling upgrade, or read
    after a rollback) may carry fields this one does not know: it is taken without them,
    as that version's older peers must take it, and the field names (never values) logged."""
    unknown = sorted(set(data) - _INCOMING_FIELDS)
    if unknown:
        log.warning(
            "a kept message carries fields this version does not know, left out: %s",
            ", ".join(name[:40] for name in unknown),
        )
    return Incoming(**{k: v for k, v in data.items() if k in _INCOMING_FIELDS})  # type: ignore[arg-type]


def messages_json(messages: Sequence[conv.OutMessage]) -> list[dict[str, object]]:
    return [m.to_json() for m in messages]
