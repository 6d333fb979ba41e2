"""One interview turn against storage: find the interview, run the engine, store the result.

Synchronous SQLAlchemy on purpose: the same code runs in the turn writer's thread (a whole
batch of turns in one transaction, see `bot.writer`) and, through `AsyncSession.run_sync`,
inside the async transactions of invites, the web chat and the tick.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    DateTime,
    Executable,
    String,
    Table,
    Text,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, Row
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import Select
from sqlalchemy.sql.dml import Insert, Update
from sqlalchemy.types import TypeEngine

import conversations as conv
from adapters.base import Incoming
from bot import facts as facts_mod
from bot import places, texts
from bot.clock import Clock
from bot.config import Settings
from bot.crypto import Cipher
from bot.models import (
    INVITING_DECISIONS,
    AnswerRow,
    Departure,
    Employee,
    InboundMessage,
    Interview,
    Job,
    PlatformIdentity,
    UTCDateTime,
)

log = logging.getLogger(__name__)

OPEN_STATUSES = ("invited", "in_progress", "paused")
# Finished, answers kept: still answers "delete my answers" (which every closing message
# offers, the invite promises "at any time") until retention purges it. An expired interview
# counts once it was started (one never started has no answers).
REOPENABLE_STATUSES = ("completed", "stopped", "expired")
# Where an interview opened with no departure behind it is someone trying the bot (IT setting
# it up, HR previewing the questions), not a leaver: a try-out (`Interview.tryout`). Only
# there is a try-out ever continued: elsewhere the person's real interviews are looked for.
TRYOUT_CHANNELS = frozenset({"console"})


def theirs_on(channel: str) -> ColumnElement[bool]:
    """Which of someone's interviews a message on `channel` may find: in the terminal any,
    elsewhere (Slack, Teams, the web page) none of their try-outs."""
    return true() if channel in TRYOUT_CHANNELS else Interview.tryout.is_(False)


def latest_finished(employee_id: int, channel: str) -> Select[Interview]:
    """Someone's latest finished interview whose answers are still kept: it still answers
    ("delete my answers" after stop, completion or expiry) until retention purges it. On a
    real channel a try-out is looked past, however recent (`theirs_on`)."""
    return (
        select(Interview)
        .where(
            Interview.employee_id == employee_id,
            Interview.status.in_(REOPENABLE_STATUSES),
            or_(Interview.status != "expired", Interview.started_at.is_not(None)),
            Interview.purged_at.is_(None),
            Interview.state_enc.is_not(None),
            theirs_on(channel),
        )
        .order_by(Interview.id.desc())
        .limit(1)
    )


def finished_but_kept(interview: Interview) -> bool:
    """`latest_finished`'s condition, for an interview already loaded."""
    return (
        interview.status in REOPENABLE_STATUSES
        and (interview.status != "expired" or interview.started_at is not None)
        and interview.purged_at is None
        and interview.state_enc is not None
    )


def restartable_where(now: datetime) -> ColumnElement[bool]:
    """A declined interview its employee may still start after all (an explicit start: the
    engine's `on_done`): until it would have expired (`expires_at`), while its departure
    stands and still names them, and only the employee's latest interview (one person counts
    once); a newer try-out (`Interview.tryout`) is nobody leaving, and does not count here
    for a real one. An invite that reached the wrong person, who declined it before HR
    corrected the address, is not theirs to start; one the same chat user declined under an
    address since renamed is the employee's, and moves to the corrected address
    (`bot.readdress`)."""
    newer = aliased(Interview)
    return and_(
        Interview.status == "declined",
        Interview.state_enc.is_not(None),
        Interview.expires_at > now,
        ~exists().where(
            newer.employee_id == Interview.employee_id,
            newer.id > Interview.id,
            or_(newer.tryout.is_(False), Interview.tryout.is_(True)),
        ),
        or_(
            Interview.departure_id.is_(None),
            exists().where(
                Departure.id == Interview.departure_id,
                Departure.employee_id == Interview.employee_id,
                Departure.status == "active",
                Departure.decision.in_(INVITING_DECISIONS),
            ),
        ),
    )


# Channels that list a message's choices numbered, to type a number from (`adapters.console`),
# instead of showing buttons: their help says so (`conversations.advance(buttons=...)`).
NUMBERED_CHOICES = frozenset({"console"})
CLOSED_STATUSES = ("completed", "declined", "stopped", "deleted", "expired", "cancelled")
# Statuses whose consequences read the interview's answers (facts written or removed): a
# turn that reaches one writes its rows at once, not with the batch's last writes.
READING_STATUSES = ("completed", "deleted")


@dataclass(slots=True)
class Outcome:
    """What handling one incoming message did."""

    duplicate: bool = False
    interview_id: int | None = None
    status: str | None = None
    messages: list[conv.OutMessage] = field(default_factory=list)
    ignored_click: bool = False  # a clicked button changed nothing (`conv.Turn`)
    # Opening a chat (`InterviewService.begin_chat`): the interview's language, and whether
    # it is a try-out (`Interview.tryout`), which the terminal says
    language: str | None = None
    tryout: bool = False


@dataclass(slots=True)
class Staged:
    """A batch of turns decided, its reads and ORM writes done, and the rest of its writes
    as plain Core statements still to run (`write`) in the same transaction: on PostgreSQL
    the writer sends them and the COMMIT in one round trip (psycopg's pipeline mode, which
    cannot return rows, hence the split)."""

    outcomes: list[Outcome]
    write: Callable[[], None]


@dataclass(slots=True)
class Lean:
    """A batch decided by `Turns.stage_lean`: an outcome per message (None: left for the
    ORM path) and the rows to write for the others."""

    now: datetime
    outcomes: list[Outcome | None] = field(default_factory=list)
    inbox: list[dict[str, Any]] = field(default_factory=list)
    answers: list[dict[str, Any]] = field(default_factory=list)
    states: list[dict[str, Any]] = field(default_factory=list)
    later: list[tuple[Executable, dict[str, Any]]] = field(default_factory=list)
    completing: list[Completing] = field(default_factory=list)  # facts to write after


@dataclass(frozen=True, slots=True)
class Completing:
    """An interview a lean batch completes: its facts are written after its rows."""

    interview_id: int
    employee_id: int | None
    departure_id: int | None


# The columns of the rows the fast path writes (`Turns._inbox_values`, `Turns.answer_values`)
INBOX_COLUMNS = [
    "key",
    "channel",
    "interview_id",
    "status",
    "payload_enc",
    "reply_enc",
    "received_at",
    "processed_at",
]
ANSWER_COLUMNS = [
    "interview_id",
    "question_id",
    "seq",
    "message_key",
    "text_enc",
    "value",
    "themes",
    "created_at",
]

# Built once: constructing a statement costs more Python than executing a cached one.
_SEEN = select(InboundMessage.key).where(InboundMessage.key.in_(bindparam("keys", expanding=True)))
_INBOX = cast(Table, InboundMessage.__table__)
_ANSWERS = cast(Table, AnswerRow.__table__)
_INTERVIEWS = cast(Table, Interview.__table__)
# `inline()`: no RETURNING of generated keys (nothing reads them; a pipeline can't).
_INSERT_INBOX = insert(_INBOX).inline()


def mark_sent_where(keys: ColumnElement[bool]) -> Update:
    """Replies sent: their inbox rows (`keys` match, `:keys`) done, the reply text dropped."""
    return (
        update(_INBOX)
        .where(keys, _INBOX.c.status == "replying")
        .values(status="done", reply_enc=None)
    )


_MARK_SENT = mark_sent_where(_INBOX.c.key.in_(bindparam("keys", expanding=True)))
_INSERT_ANSWERS = insert(_ANSWERS).inline()
UPDATE_STATE = (
    update(_INTERVIEWS)
    .where(_INTERVIEWS.c.id == bindparam("_id"))
    .values(
        status=bindparam("_status"),
        state_enc=bindparam("_state"),
        last_activity_at=bindparam("_now"),
        updated_at=bindparam("_now"),
        # typed: inside coalesce() the parameters would skip UTCDateTime's conversion
        started_at=func.coalesce(
            _INTERVIEWS.c.started_at, bindparam("_started", type_=UTCDateTime())
        ),
        completed_at=func.coalesce(
            bindparam("_completed", type_=UTCDateTime()), _INTERVIEWS.c.completed_at
        ),
        channel=bindparam("_channel"),
        address=bindparam("_address"),
    )
)


def _unnested(columns: dict[str, TypeEngine[Any]]) -> Any:
    """PostgreSQL: `unnest(:a, :b, …) AS v(a, b, …)`, one array parameter per column.

    Strings go in as unbounded arrays: a cast to `varchar(n)[]` would silently cut a value
    that is too long, where the column itself refuses it (as the single-row insert does)."""
    arrays = [
        bindparam(name, type_=ARRAY(String() if isinstance(kind, String) else kind))
        for name, kind in columns.items()
    ]
    return func.unnest(*arrays).table_valued(*columns).render_derived(name="v")


def _insert_unnested(table: Table) -> Insert:
    """PostgreSQL: many rows in one fixed statement (prepared once by the driver), where
    `executemany` would send one statement per row."""
    names = [c.name for c in table.columns if not (c.primary_key and c.autoincrement is True)]
    rows = _unnested({name: table.c[name].type for name in names})
    return insert(table).from_select(names, select(*(rows.c[name] for name in names)))


_INSERT_INBOX_PG = _insert_unnested(_INBOX)
_INSERT_ANSWERS_PG = _insert_unnested(_ANSWERS)
_STATES = _unnested(
    {
        "_id": BigInteger(),
        "_status": String(),
        "_state": Text(),
        "_now": DateTime(timezone=True),
        "_started": DateTime(timezone=True),
        "_completed": DateTime(timezone=True),
        "_channel": String(),
        "_address": String(),
    }
)
_UPDATE_STATES_PG = (
    update(_INTERVIEWS)
    .where(_INTERVIEWS.c.id == _STATES.c._id)
    .values(
        status=_STATES.c._status,
        state_enc=_STATES.c._state,
        last_activity_at=_STATES.c._now,
        updated_at=_STATES.c._now,
        started_at=func.coalesce(_INTERVIEWS.c.started_at, _STATES.c._started),
        completed_at=func.coalesce(_STATES.c._completed, _INTERVIEWS.c.completed_at),
        channel=_STATES.c._channel,
        address=_STATES.c._address,
    )
)


_UNNESTED: dict[Executable, Executable] = {
    _INSERT_INBOX: _INSERT_INBOX_PG,
    _INSERT_ANSWERS: _INSERT_ANSWERS_PG,
    UPDATE_STATE: _UPDATE_STATES_PG,
}


def _execute_rows(conn: Connection, statement: Executable, rows: list[dict[str, Any]]) -> None:
    """Rows of one of the batch statements: `executemany` (SQLite: no round trips), or
    on PostgreSQL one statement over arrays, whatever the number of rows."""
    if conn.dialect.name == "postgresql" and len(rows) > 1:
        unnested = _UNNESTED[statement]
        conn.execute(unnested, {name: [row[name] for row in rows] for name in rows[0]})
    else:
        conn.execute(statement, rows)


_JOBS = cast(Table, Job.__table__)


def cancel_jobs_where(kinds: ColumnElement[bool]) -> Update:
    """An interview's (`:_id`) due jobs of the `kinds` matched (`:_kinds`) cancelled."""
    return (
        update(_JOBS)
        .where(_JOBS.c.interview_id == bindparam("_id"), _JOBS.c.status == "due", kinds)
        .values(status="cancelled", done_at=bindparam("_now"))
    )


CANCEL_JOBS = cancel_jobs_where(_JOBS.c.kind.in_(bindparam("_kinds", expanding=True)))


def restart_jobs(conn: Connection, interview_id: int, expires_at: datetime, now: datetime) -> None:
    """A declined interview started after all: its expiry and idle reminder are due again
    (the decline cancelled them); the invite reminder stays cancelled."""
    make = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    due = {
        "expire": max(expires_at, now),
        # due now: the handler waits until the interview has been idle a business day (in
        # the employee's own zone), as for an interview started from the invite
        "remind_idle": now,
    }
    stmt = make(_JOBS).values(
        [
            {
                "kind": kind,
                "idempotency_key": f"{kind}:{interview_id}",
                "interview_id": interview_id,
                "due_at": due_at,
                "status": "due",
                "attempts": 0,
                "created_at": now,
            }
            for kind, due_at in due.items()
        ]
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["idempotency_key"],
        set_={
            "due_at": stmt.excluded.due_at,
            "status": "due",
            "claimed_by": None,
            "lease_until": None,
            "attempts": 0,
            "done_at": None,
            "last_error": None,
        },
    )
    conn.execute(stmt)


def open_rows_where(*where: ColumnElement[bool], tryouts: bool) -> Select[Any]:
    """The senders' open interviews, as plain columns (the fast path of `record_batch`), for
    one platform (`:platform`) and `where` the users are and their status is open: one
    query for the whole batch, rows locked in id order (two replicas never deadlock on them).
    Try-outs only where `tryouts` (the terminal's, `TRYOUT_CHANNELS`): elsewhere an open
    try-out is not the person's interview (`theirs_on`)."""
    mine = () if tryouts else (_INTERVIEWS.c.tryout.is_(False),)
    return (
        select(
            PlatformIdentity.user_id,
            _INTERVIEWS.c.id,
            _INTERVIEWS.c.status,
            _INTERVIEWS.c.state_enc,
            _INTERVIEWS.c.employee_id,
            _INTERVIEWS.c.departure_id,
            _INTERVIEWS.c.last_activity_at,  # how long it was quiet (`quiet_since`)
            _INTERVIEWS.c.channel,  # where it was last answered (`bot.places`)
        )
        .join(PlatformIdentity, PlatformIdentity.employee_id == _INTERVIEWS.c.employee_id)
        .where(PlatformIdentity.platform == bindparam("platform"), *where, *mine)
        .order_by(_INTERVIEWS.c.id)
        .with_for_update(of=_INTERVIEWS)
    )


def identities_where(users: ColumnElement[bool]) -> Select[str, int | None, str | None]:
    """Who of a platform's (`:platform`) users (`users` match) ExitBot knows: user id,
    employee (None: wrote to the bot, no employee of that address), locale."""
    return select(
        PlatformIdentity.user_id, PlatformIdentity.employee_id, PlatformIdentity.locale
    ).where(PlatformIdentity.platform == bindparam("platform"), users)


# By whether the platform continues try-outs (`channel in TRYOUT_CHANNELS`): two fixed
# statements, compiled once each
_OPEN_ROWS_BY_USERS = {
    tryouts: open_rows_where(
        PlatformIdentity.user_id.in_(bindparam("users", expanding=True)),
        _INTERVIEWS.c.status.in_(OPEN_STATUSES),
        tryouts=tryouts,
    )
    for tryouts in (False, True)
}
_OPEN_BY_USER = {
    tryouts: (
        select(Interview)
        .join(PlatformIdentity, PlatformIdentity.employee_id == Interview.employee_id)
        .where(
            PlatformIdentity.platform == bindparam("platform"),
            PlatformIdentity.user_id == bindparam("user_id"),
            Interview.status.in_(OPEN_STATUSES),
            *(() if tryouts else (Interview.tryout.is_(False),)),
        )
        .order_by(Interview.id.desc())
        .limit(1)
        .with_for_update(of=Interview)
        .execution_options(populate_existing=True)
    )
    for tryouts in (False, True)
}


class Turns:
    """The storage side of a turn, shared by every path that advances an interview."""

    def __init__(
        self,
        settings: Settings,
        cipher: Cipher,
        questionnaire: conv.Questionnaire,
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.cipher = cipher
        self.questionnaire = questionnaire
        self.clock = clock

    # ------------------------------------------------------------------ whole messages

    def record_batch(self, session: Session, batch: list[Incoming]) -> list[Outcome]:
        """Record, process and keep the reply of several messages in one transaction."""
        staged = self.stage_batch(session, batch)
        staged.write()
        return staged.outcomes

    def stage_batch(self, session: Session, batch: list[Incoming]) -> Staged:
        """`record_batch` up to its last writes, which the caller runs (`Staged.write`).

        A message whose key was seen before (a platform retry or redelivery, also one
        repeated inside the batch) changes nothing and comes back as a duplicate. The
        common turn (an answer to an open interview that does not change its status) is
        written with three Core statements shared by the whole batch; anything else goes
        through the ORM (`apply`). The writer puts one platform user in a batch at most
        once; one interview can still come twice (the same person on two channels): the
        second turn then takes the ORM path after what the batch wrote so far, and reads
        the interview afresh.
        """
        conn = session.connection()
        # Alone, a message seen before fails on the inbox's primary key instead (one
        # statement less for the common case; the writer reports it as a duplicate).
        seen = (
            set(conn.scalars(_SEEN, {"keys": [m.key for m in batch]})) if len(batch) > 1 else set()
        )
        now = self.clock.now()
        found = self._open_rows(conn, [m for m in batch if m.key not in seen])
        inbox: list[dict[str, Any]] = []
        answers: list[dict[str, Any]] = []
        states: list[dict[str, Any]] = []
        later: list[tuple[Executable, dict[str, Any]]] = []  # what status changes imply
        used: set[int] = set()  # interviews this batch has advanced

        def write_rows() -> None:  # Core only: one statement per table, then the rest
            for statement, rows in (
                (_INSERT_INBOX, inbox),
                (_INSERT_ANSWERS, answers),
                (UPDATE_STATE, states),
            ):
                if rows:
                    _execute_rows(conn, statement, rows)
                    rows.clear()
            for deferred, params in later:
                conn.execute(deferred, params)
            later.clear()

        def write_pending() -> None:
            session.flush()
            write_rows()

        outcomes: list[Outcome] = []
        for incoming in batch:
            if incoming.key in seen:
                outcomes.append(Outcome(duplicate=True))
                continue
            seen.add(incoming.key)
            open_row = found.get((incoming.channel, incoming.user_id))
            outcome = None
            if open_row is not None and open_row.id not in used:
                outcome = self._fast(conn, incoming, open_row, now, answers, states, later)
            if outcome is None:  # the ORM path: rare turns, same transaction
                write_pending()
                outcome = self.apply(session, incoming)
            inbox.append(self._inbox_values(incoming, outcome, now))
            if outcome.interview_id is not None:
                used.add(outcome.interview_id)
            outcomes.append(outcome)
        session.flush()  # what the ORM path changed; the rest is Core
        return Staged(outcomes, write_rows)

    def stage_lean(
        self, batch: list[Incoming], seen: set[str], found: Mapping[tuple[str, str], Any]
    ) -> Lean:
        """PostgreSQL's lean path (`bot.lean`): the turns of a batch decided from what its
        first round trip read (`seen` keys, the senders' `found` open interviews, locked),
        as rows for its second; a completion also in `Lean.completing`, for its facts. A turn
        that needs more (no open interview found, answers deleted, a deletion, an interview
        already advanced in this batch) is left out (None): the writer runs those through
        `stage_batch` afterwards."""
        now = self.clock.now()
        lean = Lean(now=now)
        seen = set(seen)
        used: set[int] = set()
        for incoming in batch:
            if incoming.key in seen:
                lean.outcomes.append(Outcome(duplicate=True))
                continue
            seen.add(incoming.key)
            open_row = (
                None
                if incoming.interview_id is not None
                else found.get((incoming.channel, incoming.user_id))
            )
            outcome = None
            if open_row is not None and open_row.id not in used:
                outcome = self._fast(
                    None,
                    incoming,
                    open_row,
                    now,
                    lean.answers,
                    lean.states,
                    lean.later,
                    lean.completing,
                )
            if outcome is not None:
                assert outcome.interview_id is not None
                used.add(outcome.interview_id)
                lean.inbox.append(self._inbox_values(incoming, outcome, now))
            lean.outcomes.append(outcome)
        return lean

    def _open_rows(
        self, conn: Connection, batch: list[Incoming]
    ) -> dict[tuple[str, str], Row[Any]]:
        """(channel, user) → their latest open interview, for the messages of a batch."""
        users: dict[str, list[str]] = {}
        for incoming in batch:
            if incoming.interview_id is None:
                users.setdefault(incoming.channel, []).append(incoming.user_id)
        found: dict[tuple[str, str], Row[Any]] = {}
        for channel, ids in users.items():
            statement = _OPEN_ROWS_BY_USERS[channel in TRYOUT_CHANNELS]
            for row in conn.execute(statement, {"platform": channel, "users": ids}):
                found[(channel, row.user_id)] = row  # ascending ids: the latest wins
        return found

    def _fast(
        self,
        conn: Connection | None,
        incoming: Incoming,
        found: Row[Any],
        now: datetime,
        answers: list[dict[str, Any]],
        states: list[dict[str, Any]],
        later: list[tuple[Executable, dict[str, Any]]],
        completing: list[Completing] | None = None,
    ) -> Outcome | None:
        """The turn as plain rows, or None when it needs the ORM path. Without a connection
        (`conn` None: PostgreSQL's lean path, `bot.lean`) a turn whose new status reads the
        database (`READING_STATUSES`) is None too, unless it completes the interview and the
        caller takes `completing` (whose facts it writes after the rows); nothing is added
        to the lists for a None."""
        state = self._decoded(found.state_enc) if found.state_enc else {}  # {}: not started
        turn = self._step(state, incoming, found.channel, quiet_since(found.last_activity_at, now))
        if turn.erase_all or turn.discard:
            return None  # deleting answers: the ORM path
        changed = turn.status != found.status
        reading = changed and turn.status in READING_STATUSES
        if reading and conn is None:
            if turn.status != "completed" or completing is None:
                return None
            reading = False  # written with the others; its facts after them
            completing.append(Completing(found.id, found.employee_id, found.departure_id))
        turn_answers = self.answer_values(found.id, turn, incoming.key, now)
        values = {
            "_id": found.id,
            "_status": turn.status,
            "_state": self.cipher.encrypt(json.dumps(turn.state)),
            "_now": now,
            "_started": now if turn.status == "in_progress" else None,
            "_completed": now if changed and turn.status == "completed" else None,
            "_channel": incoming.channel,
            "_address": incoming.conversation_id,
        }
        if reading:  # what this status implies reads the turn's answers: write them now
            assert conn is not None
            if turn_answers:
                conn.execute(_INSERT_ANSWERS, turn_answers)
            conn.execute(UPDATE_STATE, values)
        else:  # with the batch's last writes (on PostgreSQL in one round trip)
            answers.extend(turn_answers)
            states.append(values)
        if changed:
            self.status_changed(
                conn,
                found.id,
                found.employee_id,
                found.departure_id,
                found.status,
                turn.status,
                now,
                later=None if reading else later,
                facts_later=completing is not None and conn is None,
            )
        return Outcome(
            interview_id=found.id,
            status=turn.status,
            messages=list(turn.messages),
            ignored_click=turn.ignored_click,
        )

    def _inbox_values(self, incoming: Incoming, outcome: Outcome, now: datetime) -> dict[str, Any]:
        """An inbox row (`INBOX_COLUMNS`)."""
        return {
            "key": incoming.key,
            "channel": incoming.channel,
            "interview_id": outcome.interview_id,
            "status": "replying" if outcome.messages else "done",
            "payload_enc": None,
            "reply_enc": self._reply_enc(incoming, outcome) if outcome.messages else None,
            "received_at": now,
            "processed_at": now,
        }

    def answer_values(
        self, interview_id: int, turn: conv.Turn, message_key: str, now: datetime
    ) -> list[dict[str, Any]]:
        """The answer rows of one turn (`ANSWER_COLUMNS`; text encrypted); the first carries
        the message key."""
        return [
            {
                "interview_id": interview_id,
                "question_id": answer.question_id,
                "seq": answer.seq,
                "message_key": message_key if position == 0 else f"{message_key}#{position}",
                "text_enc": self.cipher.encrypt(answer.text) if answer.text else None,
                "value": answer.value,
                "themes": ",".join(answer.themes) or None,
                "created_at": now,
            }
            for position, answer in enumerate(turn.store)
        ]

    def inbox_row(self, incoming: Incoming, *, status: str, payload: str | None) -> InboundMessage:
        return InboundMessage(
            key=incoming.key,
            channel=incoming.channel,
            interview_id=incoming.interview_id,
            status=status,
            payload_enc=payload,
            received_at=self.clock.now(),
        )

    def keep_reply(self, row: InboundMessage, incoming: Incoming, outcome: Outcome) -> None:
        """Store the reply with the turn: a crash before it is sent must not lose it."""
        row.interview_id = outcome.interview_id
        if not outcome.messages:
            row.status = "done"
            return
        row.status = "replying"
        row.reply_enc = self._reply_enc(incoming, outcome)

    def _reply_enc(self, incoming: Incoming, outcome: Outcome) -> str:
        return self.cipher.encrypt(
            json.dumps(
                {
                    "channel": incoming.channel,
                    "conversation_id": incoming.conversation_id,
                    "messages": [message_to_json(m) for m in outcome.messages],
                }
            )
        )

    def _advance(
        self,
        state: Mapping[str, object],
        incoming: Incoming,
        quiet_for: timedelta | None = None,
    ) -> conv.Turn:
        """The engine's step for one message (what was typed or clicked, where the clicked
        button was, and how long the interview had been quiet before it)."""
        return conv.advance(
            self.questionnaire,
            state,
            incoming.text,
            choice=incoming.choice,
            choice_for=incoming.choice_for,
            choice_on=incoming.choice_on,
            quiet_for=quiet_for,
            buttons=incoming.channel not in NUMBERED_CHOICES,
        )

    def _step(
        self,
        state: Mapping[str, object],
        incoming: Incoming,
        channel: str | None,
        quiet_for: timedelta | None = None,
    ) -> conv.Turn:
        """The turn one message makes of an interview last answered in `channel` and quiet
        for `quiet_for`: the engine's step, unless the message comes from a place that does
        not show what is asked now (`bot.places`: then that is shown there, and nothing is
        stored)."""
        if places.moved_on(state, channel, incoming):
            return places.show_here(self.questionnaire, state, channel, incoming)
        return self._advance(state, incoming, quiet_for)

    def apply(self, session: Session, incoming: Incoming) -> Outcome:
        """Advance the sender's interview with one message (never raises on user input)."""
        interview = self.find_interview(session, incoming)
        if interview is None:
            language = self.own_language(session, incoming) or language_of(
                incoming.locale, self.settings.language
            )
            return Outcome(
                messages=[texts.no_interview(language)], ignored_click=incoming.choice is not None
            )
        state = self.state_of(interview)
        now = self.clock.now()
        turn = self._step(
            state, incoming, interview.channel, quiet_since(interview.last_activity_at, now)
        )
        self.store_turn(session, interview, turn, message_key=incoming.key, now=now)
        interview.channel = incoming.channel
        interview.address = incoming.conversation_id
        return Outcome(
            interview_id=interview.id,
            status=interview.status,
            messages=list(turn.messages),
            ignored_click=turn.ignored_click,
        )

    def find_interview(self, session: Session, incoming: Incoming) -> Interview | None:
        """The sender's open interview (locked), else their latest finished one, else None.
        A try-out is only found in the terminal (`theirs_on`)."""
        # Fresh from the database (`populate_existing`): this batch may have written the
        # row with Core statements the identity map does not know about.
        if incoming.interview_id is not None:
            interview = session.get(
                Interview, incoming.interview_id, with_for_update=True, populate_existing=True
            )
            usable = (*OPEN_STATUSES, *REOPENABLE_STATUSES)
            if interview is not None and interview.status in usable:
                return interview
            return interview if interview and self._restarts(session, interview, incoming) else None
        interview = session.scalar(
            _OPEN_BY_USER[incoming.channel in TRYOUT_CHANNELS],
            {"platform": incoming.channel, "user_id": incoming.user_id},
        )
        if interview is not None:
            return interview  # the common case: one query
        employee_id = self._sender(session, incoming)
        if employee_id is None:
            return None
        interview = session.scalar(
            select(Interview)
            .where(
                Interview.employee_id == employee_id,
                Interview.status.in_(OPEN_STATUSES),
                theirs_on(incoming.channel),
            )
            .order_by(Interview.id.desc())
            .limit(1)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if interview is not None:
            return interview
        declined = session.scalar(
            select(Interview)
            .where(
                Interview.employee_id == employee_id,
                Interview.status == "declined",
                theirs_on(incoming.channel),
            )
            .order_by(Interview.tryout, Interview.id.desc())  # a real one before a try-out
            .limit(1)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if declined is not None and self._restarts(session, declined, incoming):
            return declined
        # A finished interview still answers ("delete my answers" after stop or completion)
        # until retention purges it.
        return session.scalar(
            latest_finished(employee_id, incoming.channel)
            .with_for_update()
            .execution_options(populate_existing=True)
        )

    def own_language(self, session: Session, incoming: Incoming) -> str | None:
        """The language of the sender's latest interview (declined, finished, withdrawn), if
        they had one: the answer that none is open for them speaks it, as the interview did,
        whatever their platform's locale."""
        if incoming.interview_id is not None:  # a web link's
            query = select(Interview.language).where(Interview.id == incoming.interview_id)
            return session.scalar(query)
        employee_id = self._sender(session, incoming)
        if employee_id is None:
            return None
        return session.scalar(
            select(Interview.language)
            .where(Interview.employee_id == employee_id)
            .order_by(Interview.id.desc())
            .limit(1)
        )

    def _sender(self, session: Session, incoming: Incoming) -> int | None:
        """The employee who sent `incoming`: linked to the platform user, else by email."""
        employee_id = session.scalar(
            select(PlatformIdentity.employee_id).where(
                PlatformIdentity.platform == incoming.channel,
                PlatformIdentity.user_id == incoming.user_id,
            )
        )
        if employee_id is None and incoming.email:
            employee_id = session.scalar(
                select(Employee.id).where(Employee.email == incoming.email.lower())
            )
        return employee_id

    def _restarts(self, session: Session, interview: Interview, incoming: Incoming) -> bool:
        """Whether `incoming` starts this declined interview after all: an explicit start
        (the engine decides), while it may (`restartable_where`). Anything else after "no
        thanks" gets the answer it always got: the interview is not found."""
        if interview.status != "declined":
            return False
        allowed = session.scalar(
            select(Interview.id).where(
                Interview.id == interview.id, restartable_where(self.clock.now())
            )
        )
        if allowed is None:
            return False
        return self._advance(self.state_of(interview), incoming).status == "in_progress"

    # ------------------------------------------------------------------ state and answers

    def state_of(self, interview: Interview) -> dict[str, object]:
        """The engine state of an interview (decrypted); {} before it started. An expired
        interview was closed by the clock, not by the engine, so its state may still be at a
        question: it is given as ended (the engine then answers only "delete my answers")."""
        state = self._decoded(interview.state_enc) if interview.state_enc else {}
        if state and interview.status == "expired" and state.get("phase") != "confirm_delete":
            state.update(phase="done", end="stopped", paused=False, resume=None)
        return state

    def _decoded(self, state_enc: str) -> dict[str, object]:
        loaded: dict[str, object] = json.loads(self.cipher.decrypt(state_enc))
        return loaded

    def store_turn(
        self,
        session: Session,
        interview: Interview,
        turn: conv.Turn,
        *,
        message_key: str,
        now: datetime,
    ) -> None:
        """Answers, state and status of one engine turn (plus what a status change implies)."""
        if turn.erase_all:
            session.execute(delete(AnswerRow).where(AnswerRow.interview_id == interview.id))
        elif turn.discard:
            session.execute(
                delete(AnswerRow).where(
                    AnswerRow.interview_id == interview.id,
                    AnswerRow.question_id.in_(turn.discard),
                )
            )
        for values in self.answer_values(interview.id, turn, message_key, now):
            session.add(AnswerRow(**values))
        previous = interview.status
        # expired stays expired (the engine calls it ended, "stopped"); deleted is deleted
        interview.status = previous if _still_expired(previous, turn.status) else turn.status
        interview.state_enc = self.cipher.encrypt(json.dumps(turn.state))
        interview.last_activity_at = now
        interview.updated_at = now
        if turn.status == "in_progress" and interview.started_at is None:
            interview.started_at = now
        if turn.status != previous:
            session.flush()  # facts read the answers just added
            self.on_status_change(session, interview, previous, now)

    def on_status_change(
        self, session: Session, interview: Interview, previous: str, now: datetime
    ) -> None:
        if interview.status == "completed":
            interview.completed_at = now
        session.flush()
        self.status_changed(
            session.connection(),
            interview.id,
            interview.employee_id,
            interview.departure_id,
            previous,
            interview.status,
            now,
        )
        if previous == "declined" and interview.status == "in_progress":
            # started after all (only ever here: `find_interview`, never the fast path)
            assert interview.expires_at is not None  # `restartable_where`
            restart_jobs(session.connection(), interview.id, interview.expires_at, now)
            log.info("interview %s: started after declining", interview.id)

    def status_changed(
        self,
        conn: Connection | None,
        interview_id: int,
        employee_id: int | None,
        departure_id: int | None,
        previous: str,
        status: str,
        now: datetime,
        later: list[tuple[Executable, dict[str, Any]]] | None = None,
        facts_later: bool = False,
    ) -> None:
        """What a new status implies: reminders cancelled, facts recorded or removed.
        `later`: statements that read nothing go there instead, for the batch's last writes
        (never for `READING_STATUSES`); with `later`, `conn` may be None (nothing is run).
        `facts_later`: a completion's facts are the caller's (PostgreSQL's lean path)."""
        if status in CLOSED_STATUSES or status == "in_progress":
            # Pending invite reminders no longer apply once the invite was answered.
            kinds = (
                ["remind_invite"]
                if status == "in_progress"
                else ["invite", "remind_invite", "remind_idle", "expire"]
            )
            cancel = {"_id": interview_id, "_kinds": kinds, "_now": now}
            if later is not None:
                later.append((CANCEL_JOBS, cancel))
            else:
                assert conn is not None
                conn.execute(CANCEL_JOBS, cancel)
        # Facts recorded or removed: they read the answers, written at once for that (unless
        # the lean path writes a completion's facts itself, after the batch's rows).
        if status == "completed" and not facts_later:
            assert conn is not None and later is None, "a completion is written at once"
            facts_mod.write(conn, interview_id, employee_id, departure_id, self.settings, now)
        elif status == "deleted":
            assert conn is not None and later is None, "a deletion is written at once"
            facts_mod.remove_sync(conn, interview_id)
        log.info("interview %s: %s -> %s", interview_id, previous, status)


def quiet_since(last_activity: datetime | None, now: datetime) -> timedelta | None:
    """How long an interview had been quiet before a message: since the employee's previous
    one (`last_activity_at`; None before any). The engine takes a bare "continue" after a
    while (`conversations.text.SILENCE`) as someone coming back, not as an answer."""
    return None if last_activity is None else now - last_activity


def _still_expired(previous: str, status: str) -> bool:
    return previous == "expired" and status == "stopped"


def mark_sent(session: Session, keys: list[str]) -> None:
    """Replies that reached the person: the tick must not send them again."""
    session.connection().execute(_MARK_SENT, {"keys": keys})


def language_of(locale: str | None, default: str) -> str:
    if locale and locale[:2].lower() in {"en", "nl"}:
        return locale[:2].lower()
    return default


def message_to_json(message: conv.OutMessage) -> dict[str, object]:
    return {
        "kind": message.kind,
        "text": message.text,
        "choices": [[c.value, c.label] for c in message.choices],
        "question_id": message.question_id,
    }


def message_from_json(data: dict[str, Any]) -> conv.OutMessage:
    return conv.OutMessage(
        kind=data["kind"],
        text=data["text"],
        choices=tuple(conv.Choice(value, label) for value, label in data["choices"]),
        question_id=data["question_id"],
    )
