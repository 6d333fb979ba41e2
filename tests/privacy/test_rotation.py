"""Key rotation: the new key first re-encrypts everything; then the old key can go."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading

from sqlalchemy import Connection, Engine, event

from adapters.base import Incoming
from bot import keys
from bot.clock import FrozenClock
from bot.crypto import Cipher
from bot.runtime import Runtime
from bot.turns import Outcome
from tests.digest.support import NOV, Persona, ReportChannel, interview, settings_for, stored_values

SECRET = "Het salaris was te laag en de werkdruk te hoog"


async def test_after_rotation_the_old_key_is_no_longer_needed(sqlite_url: str) -> None:
    old, new = Cipher.new_key(), Cipher.new_key()
    rt = Runtime.open(
        settings_for(sqlite_url, key=old),
        clock=FrozenClock(NOV),
        channels={"console": ReportChannel("console")},
    )
    try:
        await interview(rt, "anna@example.com", Persona(suggest=SECRET))
        await interview(rt, "bob@example.com", Persona(), confirm=False)  # state still open
    finally:
        await rt.close()

    rt = Runtime.open(settings_for(sqlite_url, key=f"{new},{old}"), clock=FrozenClock(NOV))
    try:
        assert keys.rotate(rt.db, rt.cipher, batch=3) > 0
    finally:
        await rt.close()

    rt = Runtime.open(
        settings_for(sqlite_url, key=new),
        clock=FrozenClock(NOV),
        channels={"console": ReportChannel("console")},
    )
    try:
        values = await stored_values(rt)
        encrypted = [v for table, column, v in values if column.endswith("_enc")]
        assert encrypted and not any(v.startswith("<undecryptable") for v in encrypted)
        assert any(SECRET in v for v in encrypted)
        # Bob can resume his interview with only the new key configured.
        resumed = await rt.service.begin_chat(
            channel="console", email="bob@example.com", conversation_id="bob@example.com"
        )
        assert resumed.messages and resumed.messages[-1].kind == "summary"
    finally:
        await rt.close()

    rt = Runtime.open(settings_for(sqlite_url, key=old), clock=FrozenClock(NOV))
    try:
        assert all(
            v.startswith("<undecryptable")
            for _, c, v in await stored_values(rt)
            if c.endswith("_enc")
        )
    finally:
        await rt.close()


async def test_a_turn_stored_while_rotating_is_kept(database_url: str) -> None:
    """`exitbot rotate-key` beside running servers: a turn stored between the rotation's read
    of an interview and its write was overwritten by the re-encrypted older state, so the
    interview went back a step (its answer stored, its state not). On PostgreSQL the rows
    read are not locked; on SQLite the rotation's write lock keeps the turn out until it
    commits. Either way the newer state stands, under the new key."""
    old, new = Cipher.new_key(), Cipher.new_key()
    rt = Runtime.open(
        settings_for(database_url, key=old),
        clock=FrozenClock(NOV),
        channels={"console": ReportChannel("console")},
    )
    try:
        started = await rt.service.begin_chat(
            channel="console", email="bob@example.com", conversation_id="bob@example.com"
        )
    finally:
        await rt.close()
    first = started.messages[-1]
    assert first.kind == "question" and first.question_id is not None
    text, choice = Persona().answer(first.question_id)

    # the server, restarted with "new,old", answers Bob while `exitbot rotate-key` runs
    rt = Runtime.open(
        settings_for(database_url, key=f"{new},{old}"),
        clock=FrozenClock(NOV),
        channels={"console": ReportChannel("console")},
    )
    loop = asyncio.get_running_loop()
    rotating: list[int] = []
    turns: list[concurrent.futures.Future[Outcome]] = []

    def turn_before_the_state_is_rewritten(
        conn: Connection, _cursor: object, statement: str, *_args: object
    ) -> None:
        if threading.get_ident() not in rotating or turns:
            return
        if not statement.lstrip().upper().startswith("UPDATE INTERVIEWS"):
            return
        incoming = Incoming(
            channel="console",
            user_id="bob@example.com",
            conversation_id="bob@example.com",
            text=text,
            choice=choice,
            message_id="bob:1",
        )
        turns.append(asyncio.run_coroutine_threadsafe(rt.service.handle(incoming), loop))
        if conn.dialect.name == "postgresql":
            turns[0].result(timeout=30)  # stored and committed before the rotation writes

    def rotate() -> int:
        rotating.append(threading.get_ident())
        return keys.rotate(rt.db, rt.cipher)

    event.listen(Engine, "before_cursor_execute", turn_before_the_state_is_rewritten)
    try:
        assert await asyncio.to_thread(rotate) > 0
    finally:
        event.remove(Engine, "before_cursor_execute", turn_before_the_state_is_rewritten)
    try:
        assert len(turns) == 1
        answered = await asyncio.wrap_future(turns[0])
        assert answered.status == "in_progress"
        second = answered.messages[-1]
        assert second.question_id not in (None, first.question_id)
    finally:
        await rt.close()

    rt = Runtime.open(
        settings_for(database_url, key=new),
        clock=FrozenClock(NOV),
        channels={"console": ReportChannel("console")},
    )
    try:
        resumed = await rt.service.begin_chat(
            channel="console", email="bob@example.com", conversation_id="bob@example.com"
        )
        assert resumed.messages[-1].question_id == second.question_id
    finally:
        await rt.close()
