"""Who is linked (the read before a Slack ack): remembered once linked; people not met yet
are looked up together, one read for everyone asked for meanwhile."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.crypto import Cipher
from bot.db import StorageUnavailable
from bot.runtime import Runtime
from bot.slack_plugin import PLATFORM, SlackStore
from tests.slack.harness import ANNA_ID
from tests.slack.test_interview import invite
from tests.support import pg
from tests.support.tcpproxy import proxied_postgres

NOW = datetime(2026, 11, 27, 10, tzinfo=UTC)


@pytest.fixture
async def runtime(database_url: str) -> AsyncIterator[Runtime]:
    settings = Settings(database_url=database_url, encryption_key=Cipher.new_key())
    rt = await asyncio.to_thread(Runtime.open, settings, channels={})
    try:
        yield rt
    finally:
        await rt.close()


def reads(rt: Runtime, through_sqlalchemy: list[str]) -> int:
    """Reads of `platform_identities`: through SQLAlchemy, or on PostgreSQL's lean path."""
    lean = rt.service.writer.lean
    return len(through_sqlalchemy) + (lean.identity_reads if lean is not None else 0)


@pytest.fixture
def identity_reads() -> Iterator[list[str]]:
    """Statements that read `platform_identities`, on any engine of this process."""
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if (
            statement.lstrip().upper().startswith("SELECT")
            and "FROM platform_identities" in statement
        ):
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", before)


async def link(rt: Runtime, user_id: str, email: str | None, locale: str | None) -> None:
    async with rt.db.transaction() as session:
        employee = (
            await rt.service.upsert_employee(session, email=email, now=NOW) if email else None
        )
        await rt.service.link_identity(
            session,
            platform=PLATFORM,
            user_id=user_id,
            employee_id=employee.id if employee else None,
            now=NOW,
            locale=locale,
        )


async def test_people_not_met_yet_are_read_together_and_linked_ones_remembered(
    runtime: Runtime, identity_reads: list[str]
) -> None:
    for n in range(20):
        await link(runtime, f"U{n:03d}", f"p{n}@example.com", "nl-NL" if n % 2 else None)
    await link(runtime, "UNOLINK", None, "en-GB")  # wrote to the bot; no employee for them
    store = SlackStore(runtime)
    identity_reads.clear()
    before = reads(runtime, identity_reads)
    asked = [f"U{n:03d}" for n in range(20)] + ["UNOLINK", "UNKNOWN", "U000"]
    found = await asyncio.gather(*(store.known_user(user_id) for user_id in asked))
    assert reads(runtime, identity_reads) - before == 1  # one for the burst, not one each
    if runtime.service.writer.lean is not None:
        assert identity_reads == []  # PostgreSQL: on the driver, no session
    for n in range(20):
        known = found[n]
        assert known is not None and known.linked
        assert known.locale == ("nl-NL" if n % 2 else None)
    unlinked = found[20]
    assert unlinked is not None and not unlinked.linked and unlinked.locale == "en-GB"
    assert found[21] is None
    assert found[22] == found[0]  # asked twice at once: one answer
    again = await asyncio.gather(*(store.known_user(f"U{n:03d}") for n in range(20)))
    assert again == found[:20]
    assert reads(runtime, identity_reads) - before == 1  # linked: remembered, no read
    assert await store.known_user("UNOLINK") == unlinked  # not linked: asked again
    assert reads(runtime, identity_reads) - before == 2


async def test_a_person_this_process_invited_needs_no_lookup(
    make_slack: Any, database_url: str, identity_reads: list[str]
) -> None:
    slack = await make_slack(database_url=database_url)
    await invite(slack)  # the tick links the Slack user to the employee and sends the invite
    identity_reads.clear()
    before = reads(slack.runtime, identity_reads)
    await slack.dm(ANNA_ID, "start")
    assert (await slack.interview()).status == "in_progress"
    assert reads(slack.runtime, identity_reads) == before  # first message: known already


@pytest.mark.postgres
async def test_a_failed_read_fails_everyone_waiting_for_it_and_the_next_read_works() -> None:
    if pg.admin_url() is None:
        pytest.skip(f"needs {pg.ENV}")
    async with proxied_postgres() as (proxy, url):
        settings = Settings(database_url=url, encryption_key=Cipher.new_key())
        rt = await asyncio.to_thread(Runtime.open, settings, channels={})
        try:
            await link(rt, "U1", "p1@example.com", None)
            store = SlackStore(rt)
            await proxy.stop()
            results = await asyncio.wait_for(  # a waiter left hanging fails, not hangs
                asyncio.gather(
                    *(store.known_user(f"U{n}") for n in range(3)), return_exceptions=True
                ),
                30,
            )
            assert all(isinstance(r, StorageUnavailable) for r in results), results
            await proxy.start()
            known = await asyncio.wait_for(store.known_user("U1"), 10)
            assert known is not None and known.linked
        finally:
            await rt.close()
