"""PostgreSQL's lean path for the common turn: two round trips, straight on the driver.

The turn writer (`bot.writer`) stores a batch of turns in one transaction. Through an
`AsyncSession` that costs a greenlet, a session, a pooled connection's checkout and reset,
and SQLAlchemy's execution machinery around every statement; measured on the load
benchmark's host, about a millisecond of CPU per batch beside a few hundred microseconds
for the same statements on the driver. Most turns need none of it: an answer to an open
interview reads one row and writes three (inbox, answers, interview state). So on
PostgreSQL the writer first sends each batch here:

1. `BEGIN; <the batch's message keys locked>; <those seen before>; <the senders' open
   interviews, locked>`, one simple query (client-side bound by psycopg, so several
   statements go in one message);
2. the engine runs each turn (`Turns.stage_lean`), and
3. `<inbox rows>; <answer rows>; <interview states>; <jobs cancelled>; <replies marked
   sent>; COMMIT`, one more simple query, whatever the number of turns (one statement per
   table for the inserts, one per interview for the updates: bound client-side, arrays
   would cost psycopg about 50 µs a row).

A batch that completes an interview sends its rows with the reads its facts need (the
answers just written, the department, a fact already published), then the facts and the
COMMIT: three round trips. A turn that needs more (no open interview found, answers
deleted, a deletion) is left out and comes back as None; the writer runs those through
the ORM path afterwards, in a transaction of their own (their rows are read and locked
again there). The statements are SQLAlchemy's own (`bot.turns`, `bot.facts`) or built
with it here, compiled once for psycopg; parameters are bound by psycopg
(`ClientCursor.mogrify`), never by hand, each string checked first against its column's
length (`TooLong`): PostgreSQL logs a statement it refuses whole, and these carry their
values.

The connections are the writer's own (autocommit, so BEGIN and COMMIT are ours to send):
as many as batches in flight (and reads: one more at most), kept between batches, dropped
when anything goes wrong with one; a connection kept from before that turns out dead is
replaced once (as the writer does for its pool).

One read goes here too: who of a platform's users ExitBot knows (`identities`), asked
before a Slack ack for a person this process has not met yet. With several replicas each
meets everyone once, so it is common there: through a session it cost 0.55–0.67 ms of CPU
a read, here 0.15–0.17 ms (a whole turn costs a replica about 1 ms).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar, cast

import psycopg
from psycopg.rows import namedtuple_row
from sqlalchemy import (
    ARRAY,
    ClauseElement,
    ColumnElement,
    String,
    Table,
    any_,
    bindparam,
    insert,
    select,
)
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.engine import URL
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.compiler import SQLCompiler

from adapters.base import Incoming
from bot import facts as facts_mod
from bot.models import (
    AnswerRow,
    FactTheme,
    InboundMessage,
    Interview,
    InterviewFact,
    Job,
    PlatformIdentity,
)
from bot.turns import (
    ANSWER_COLUMNS,
    CANCEL_JOBS,
    INBOX_COLUMNS,
    OPEN_STATUSES,
    TRYOUT_CHANNELS,
    UPDATE_STATE,
    Outcome,
    Turns,
    cancel_jobs_where,
    identities_where,
    mark_sent_where,
    open_rows_where,
)

Connection = psycopg.AsyncConnection[Any]
T = TypeVar("T")
_DIALECT = PGDialect_psycopg()


class _Sql:
    """A statement compiled once for psycopg: its text and its fixed parameters."""

    def __init__(self, statement: ClauseElement) -> None:
        compiled = cast(SQLCompiler, statement.compile(dialect=_DIALECT))
        self.text = compiled.string
        self.fixed = {
            compiled.bind_names[bind]: bind.effective_value
            for bind in compiled.binds.values()
            if not bind.required  # a value given in the statement (None included)
        }
        self.limits = _limits(compiled)

    def bound(self, cursor: psycopg.AsyncClientCursor[Any], params: dict[str, Any]) -> str:
        _check(self.limits, params)
        return cursor.mogrify(self.text, {**self.fixed, **params})


class TooLong(ValueError):
    """A value longer than its column allows: the batch goes the ORM way, where that turn
    fails alone. Raised before anything is sent: a statement the server refused would be
    written to its log whole, with the values bound into it (answer values among them)."""


def _limits(compiled: SQLCompiler) -> dict[str, int]:
    """Each parameter bound to a column of limited length, and the length."""
    limits: dict[str, int] = {}
    for bind in compiled.binds.values():
        length = getattr(bind.type, "length", None)
        if isinstance(bind.type, String) and length:
            limits[compiled.bind_names[bind]] = length
    return limits


def _check(limits: dict[str, int], params: dict[str, Any]) -> None:
    for name, length in limits.items():
        value = params.get(name)
        if isinstance(value, str) and len(value) > length:
            raise TooLong(f"a value for {name.lstrip('_')} longer than {length} characters")


_INBOX = cast(Table, InboundMessage.__table__)
_INTERVIEWS = cast(Table, Interview.__table__)
_JOBS = cast(Table, Job.__table__)
_ANSWERS = cast(Table, AnswerRow.__table__)
_TEXTS = ARRAY(String())


def _any(column: ColumnElement[str] | QueryableAttribute[str], name: str) -> ColumnElement[bool]:
    """`column = ANY(:name)`, a text array: what `bot.turns` writes as an expanding IN."""
    return column == any_(bindparam(name, type_=_TEXTS))


_SEEN = _Sql(select(_INBOX.c.key).where(_any(_INBOX.c.key, "keys")))
# The batch's message keys, locked for the transaction before `_SEEN` looks for them (as
# hashes, in order): the same message on two replicas at once (a platform's retry while the
# first attempt still runs) then waits here and finds the key, instead of both inserting it
# and one failing on the key, which would have PostgreSQL log the failed query: its values
# are bound client-side, answer values among them.
_LOCK_KEYS = (
    "SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtextextended(k, 0) AS h"
    " FROM unnest(%(keys)s::text[]) AS k ORDER BY h) AS keys"
)
# As `bot.turns`' locked read of the senders' open interviews, over arrays; by whether the
# platform continues try-outs (`channel in TRYOUT_CHANNELS`, the terminal)
_OPEN = {
    tryouts: _Sql(
        open_rows_where(
            _any(PlatformIdentity.user_id, "users"),
            Interview.status == any_(bindparam("open", list(OPEN_STATUSES), type_=_TEXTS)),
            tryouts=tryouts,
        )
    )
    for tryouts in (False, True)
}


# The read before a Slack ack for a person this process has not met (`identities`)
_IDENTITIES = _Sql(identities_where(_any(PlatformIdentity.user_id, "users")))


class _Insert:
    """An INSERT of any number of rows as one statement: its VALUES bound row by row.

    (Arrays, as `bot.turns` sends them on PostgreSQL, cost psycopg about 50 µs per row to
    bind client-side; a row of plain values about a tenth of that.)"""

    def __init__(self, table: Table, columns: list[str]) -> None:
        # inline(): no RETURNING of generated keys (nothing reads them)
        compiled = insert(table).inline().compile(dialect=_DIALECT, column_keys=columns)
        self.head, values, self.row = compiled.string.partition(" VALUES ")
        if not (values and self.row.startswith("(") and self.row.endswith(")")):
            raise ValueError(f"not a one-row INSERT … VALUES (…): {compiled.string}")
        self.limits = _limits(compiled)

    def bound(self, cursor: psycopg.AsyncClientCursor[Any], rows: list[dict[str, Any]]) -> str:
        for row in rows:
            _check(self.limits, row)
        return self.head + " VALUES " + ", ".join(cursor.mogrify(self.row, row) for row in rows)


_INSERT_INBOX = _Insert(_INBOX, INBOX_COLUMNS)
_INSERT_ANSWERS = _Insert(_ANSWERS, ANSWER_COLUMNS)
_UPDATE_STATE = _Sql(UPDATE_STATE)  # one statement per interview
# `bot.turns`' statements over arrays instead of expanding IN lists
_CANCEL = _Sql(cancel_jobs_where(_any(_JOBS.c.kind, "_kinds")))
_MARK_SENT = _Sql(mark_sent_where(_any(_INBOX.c.key, "keys")))


_FACTS = cast(Table, InterviewFact.__table__)
_REMOVE_FACT = _Sql(facts_mod.REMOVE)
_PUBLISHED = _Sql(facts_mod.PUBLISHED)
_ORIGIN = _Sql(facts_mod.ORIGIN)
_FACT_ANSWERS = _Sql(facts_mod.ANSWERS)
_INSERT_FACT = _Insert(_FACTS, [c.name for c in _FACTS.columns if c.name != "id"])
# A theme of the fact just inserted (after the removal of unpublished ones it is the only
# unpublished fact of its interview): no RETURNING needed between the two.
_THEMES = cast(Table, FactTheme.__table__)
_THEME = _Sql(
    insert(_THEMES).from_select(
        ["fact_id", "source", "theme"],
        select(
            _FACTS.c.id,
            bindparam("source", type_=_THEMES.c.source.type),  # typed: their lengths checked
            bindparam("theme", type_=_THEMES.c.theme.type),
        ).where(_FACTS.c.interview_id == bindparam("interview_id"), _FACTS.c.digest_id.is_(None)),
    )
)


async def _results(cursor: psycopg.AsyncClientCursor[Any]) -> list[list[Any] | None]:
    """The rows of each statement of the last simple query (None: it returned none)."""
    results: list[list[Any] | None] = []
    while True:
        results.append(await cursor.fetchall() if cursor.description is not None else None)
        if not cursor.nextset():
            return results


class LeanPostgres:
    """The turn writer's lean path on PostgreSQL and its connections (see the module)."""

    def __init__(self, url: URL, turns: Turns) -> None:
        self.conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.turns = turns
        self._idle: list[Connection] = []
        self.round_trips = 0  # for tests: messages sent to the server and answered
        self.identity_reads = 0  # for tests: `identities` asked
        self._closed = False

    async def run(self, batch: list[Incoming], marks: list[str]) -> list[Outcome | None]:
        """Store what the lean path can of `batch` (and the reply marks) in one transaction;
        an outcome per message, None for those left to the ORM path. Raises what the driver
        raises; nothing of the batch is stored then."""
        return await self._on_a_connection(lambda c: self._run(c, batch, marks))

    async def identities(self, platform: str, user_ids: list[str]) -> list[Any]:
        """(user_id, employee_id, locale) of those of `user_ids` ExitBot knows on `platform`:
        one statement, its own (autocommit) transaction."""
        self.identity_reads += 1

        async def read(connection: Connection) -> list[Any]:
            cursor = cast(psycopg.AsyncClientCursor[Any], connection.cursor())
            params = {"platform": platform, "users": user_ids}
            await self._send(cursor, [_IDENTITIES.bound(cursor, params)])
            return await cursor.fetchall()

        return await self._on_a_connection(read)

    async def _on_a_connection(self, work: Callable[[Connection], Awaitable[T]]) -> T:
        """`work` on an idle connection (or a new one), which is then idle again; dropped
        when anything went wrong with it. A kept one found dead: once more, on a fresh one."""
        connection, kept = await self._connection()
        try:
            result = await work(connection)
        except psycopg.OperationalError:
            await self._drop(connection)
            if not kept:
                raise
            # kept from before: it may have died with a database restart; once more, fresh
            connection, _ = await self._connection(fresh=True)
            try:
                result = await work(connection)
            except BaseException:
                await self._drop(connection)
                raise
        except BaseException:
            await self._drop(connection)
            raise
        if self._closed:  # closed while it ran
            await self._drop(connection)
        else:
            self._idle.append(connection)
        return result

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            with contextlib.suppress(Exception):
                await connection.close()

    async def _connection(self, fresh: bool = False) -> tuple[Connection, bool]:
        if self._closed:
            raise psycopg.OperationalError("the turn writer's connections are closed")
        while self._idle and not fresh:
            connection = self._idle.pop()
            if not connection.closed:
                return connection, True
        connection = await psycopg.AsyncConnection.connect(
            self.conninfo,
            autocommit=True,
            connect_timeout=5,
            row_factory=namedtuple_row,
            cursor_factory=psycopg.AsyncClientCursor,
        )
        return connection, False

    async def _drop(self, connection: Connection) -> None:
        """A connection something went wrong with is not used again."""
        with contextlib.suppress(Exception):
            await connection.close()

    async def _send(
        self, cursor: psycopg.AsyncClientCursor[Any], statements: Iterable[str]
    ) -> None:
        self.round_trips += 1
        await cursor.execute("; ".join(statements))

    async def _run(
        self, connection: Connection, batch: list[Incoming], marks: list[str]
    ) -> list[Outcome | None]:
        cursor = cast(psycopg.AsyncClientCursor[Any], connection.cursor())
        if not batch:  # reply marks alone: one statement, its own transaction
            await self._send(cursor, [_MARK_SENT.bound(cursor, {"keys": marks})])
            return []
        seen, found = await self._read(cursor, batch)
        lean = self.turns.stage_lean(batch, seen, found)
        assert lean.now.tzinfo is not None  # bound as written: no conversion here
        writes: list[str] = []
        if lean.inbox:
            writes.append(_INSERT_INBOX.bound(cursor, lean.inbox))
        if lean.answers:
            writes.append(_INSERT_ANSWERS.bound(cursor, lean.answers))
        writes.extend(_UPDATE_STATE.bound(cursor, state) for state in lean.states)
        for statement, params in lean.later:
            if statement is not CANCEL_JOBS:
                raise RuntimeError("a deferred statement the lean path does not know")
            writes.append(_CANCEL.bound(cursor, params))
        if marks:
            writes.append(_MARK_SENT.bound(cursor, {"keys": marks}))
        # COMMIT even with nothing written: it ends the transaction and its locks. A
        # statement failing skips the rest (the COMMIT too); `run` drops the connection,
        # which rolls the transaction back.
        if not lean.completing:
            await self._send(cursor, [*writes, "COMMIT"])
            return lean.outcomes
        # Completions: their facts read the answers just written, so the rows go first with
        # those reads, then the facts and the COMMIT.
        for done in lean.completing:
            ids = {"interview_id": done.interview_id}
            writes.append(_REMOVE_FACT.bound(cursor, ids))
            writes.append(_PUBLISHED.bound(cursor, ids))
            origin = facts_mod.origin_params(done.interview_id, done.employee_id, done.departure_id)
            writes.append(_ORIGIN.bound(cursor, origin))
            writes.append(_FACT_ANSWERS.bound(cursor, ids))
        await self._send(cursor, writes)
        read = (await _results(cursor))[-4 * len(lean.completing) :]  # 4 per completion
        facts: list[dict[str, object]] = []
        themes: list[str] = []
        for n, done in enumerate(lean.completing):
            _, published, origin_rows, answer_rows = read[4 * n : 4 * n + 4]
            if published:
                continue  # a digest published them: kept as they are (`facts.write`)
            assert origin_rows is not None and answer_rows is not None
            if origin_rows[0][2]:
                continue  # a try-out: no facts (`facts.write`)
            fact, pairs = facts_mod.values(
                done.interview_id,
                (origin_rows[0][0], origin_rows[0][1]),
                answer_rows,
                self.turns.settings,
                lean.now,
            )
            facts.append(fact)
            for source, theme in pairs:
                params = {"interview_id": done.interview_id, "source": source, "theme": theme}
                themes.append(_THEME.bound(cursor, params))
        finish = [_INSERT_FACT.bound(cursor, facts)] if facts else []
        await self._send(cursor, [*finish, *themes, "COMMIT"])
        return lean.outcomes

    async def _read(
        self, cursor: psycopg.AsyncClientCursor[Any], batch: list[Incoming]
    ) -> tuple[set[str], dict[tuple[str, str], Any]]:
        """BEGIN, the keys seen before, the senders' open interviews (locked): one message."""
        users: dict[str, list[str]] = {}
        for incoming in batch:
            if incoming.interview_id is None:
                users.setdefault(incoming.channel, []).append(incoming.user_id)
        keys = {"keys": [m.key for m in batch]}
        statements = ["BEGIN", cursor.mogrify(_LOCK_KEYS, keys), _SEEN.bound(cursor, keys)]
        for channel, ids in users.items():
            statement = _OPEN[channel in TRYOUT_CHANNELS]
            statements.append(statement.bound(cursor, {"platform": channel, "users": ids}))
        await self._send(cursor, statements)
        cursor.nextset()  # past BEGIN
        cursor.nextset()  # past the locks
        seen = {row.key for row in await cursor.fetchall()}
        found: dict[tuple[str, str], Any] = {}
        for channel in users:
            cursor.nextset()
            for row in await cursor.fetchall():
                found[(channel, row.user_id)] = row  # ascending ids: the latest wins
        return seen, found
