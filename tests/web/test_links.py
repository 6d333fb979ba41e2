"""Link tokens: unguessable, hashed at rest, bound to one interview, expiring with it."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import select, text

from bot import links
from bot.models import Interview, WebLink
from bot.runtime import Runtime
from tests.web.conftest import link_to, new_interview


async def check(runtime: Runtime, token: str) -> links.LinkCheck:
    async with runtime.db.sessions() as session:
        return await links.check(session, token, runtime.clock.now())


async def test_a_token_is_random_and_only_its_hash_is_stored(runtime: Runtime) -> None:
    interview_id = await new_interview(runtime, email="anna.de.vries@example.com")
    token = await link_to(runtime, interview_id)
    other = await link_to(runtime, interview_id)
    assert token != other
    assert len(token) >= 43 and links.is_plausible(token)
    assert "anna" not in token.lower() and str(interview_id) != token
    async with runtime.db.sessions() as session:
        stored = (await session.scalars(select(WebLink.token_hash))).all()
        dump = " ".join(
            str(v) for row in (await session.execute(text("SELECT * FROM web_links"))) for v in row
        )
    assert hashlib.sha256(token.encode()).hexdigest() in stored
    assert token not in dump and other not in dump
    found = await check(runtime, token)
    assert (found.state, found.interview_id) == ("ok", interview_id)


async def test_unknown_and_malformed_tokens_are_unknown(runtime: Runtime) -> None:
    await link_to(runtime, await new_interview(runtime))
    assert (await check(runtime, links.new_token())).state == "unknown"
    assert (await check(runtime, "../../etc/passwd")).state == "unknown"
    assert (await check(runtime, "")).state == "unknown"


async def test_a_link_expires_with_its_interview(runtime: Runtime) -> None:
    clock = runtime.clock
    interview_id = await new_interview(runtime, expires_in=timedelta(days=2))
    token = await link_to(runtime, interview_id)
    clock.advance(timedelta(days=2, seconds=1))  # type: ignore[attr-defined]
    assert (await check(runtime, token)).state == "expired"


async def test_a_closed_interview_closes_its_links(runtime: Runtime) -> None:
    interview_id = await new_interview(runtime, status="in_progress")
    token = await link_to(runtime, interview_id)
    async with runtime.db.transaction() as session:
        interview = await session.get(Interview, interview_id)
        assert interview is not None
        interview.status = "completed"
    found = await check(runtime, token)
    assert (found.state, found.language) == ("expired", "en")


async def test_without_an_interview_expiry_a_link_lasts_the_default(runtime: Runtime) -> None:
    interview_id = await new_interview(runtime, expires_in=None)
    token = await link_to(runtime, interview_id)
    runtime.clock.advance(links.DEFAULT_LIFETIME - timedelta(minutes=1))  # type: ignore[attr-defined]
    assert (await check(runtime, token)).state == "ok"
    runtime.clock.advance(timedelta(minutes=2))  # type: ignore[attr-defined]
    assert (await check(runtime, token)).state == "expired"
