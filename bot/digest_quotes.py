"""Short verbatim quotes for the digest: off by default, scrubbed, shuffled, at least 2k people.

Reading raw answers is recorded in `access_log` (who, when, how many; never what, never
which interviews). The text itself is never logged.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import random
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, select

from bot.config import Settings
from bot.crypto import Cipher
from bot.db import Database
from bot.models import AccessLog, AnswerRow, Employee, InterviewFact
from bot.scrub import Scrubber

log = logging.getLogger(__name__)

QUOTE_SOURCES = ("role_improvement", "suggestions", "anything_else")
QUOTE_COUNT = 3
MAX_CHARS = 160
MIN_WORDS = 4


async def select_quotes(
    db: Database,
    cipher: Cipher,
    settings: Settings,
    cohort: ColumnElement[bool],
    *,
    seed: int,
    actor: str,
    now: datetime,
) -> tuple[str, ...]:
    """Up to `QUOTE_COUNT` scrubbed quotes from different people of the cohort, or none.

    None unless `EXITBOT_DIGEST_QUOTES=on` and at least 2k people gave a free-text answer.
    The same `seed` picks the same quotes again (a retried post shows what was frozen).
    """
    if not settings.digest_quotes:
        return ()
    async with db.sessions() as session:
        rows = (
            await session.execute(
                select(AnswerRow.interview_id, AnswerRow.text_enc)
                .join(InterviewFact, InterviewFact.interview_id == AnswerRow.interview_id)
                .where(
                    cohort,
                    AnswerRow.question_id.in_(QUOTE_SOURCES),
                    AnswerRow.text_enc.is_not(None),
                )
                .order_by(AnswerRow.id)
            )
        ).all()
        by_person: dict[int, list[str]] = defaultdict(list)
        for interview_id, token in rows:
            if interview_id is not None and token:
                by_person[interview_id].append(token)
        if len(by_person) < 2 * settings.min_group_size:
            return ()
        names = (await session.execute(select(Employee.name, Employee.manager_name))).all()
    async with db.transaction() as session:
        session.add(
            AccessLog(
                at=now,
                actor=actor[:100],
                action="read answers for digest quotes",
                interview_id=None,
                detail=f"{len(rows)} answers of {len(by_person)} interviews",
            )
        )
    rng = random.Random(seed)
    chosen = [rng.choice(tokens) for _, tokens in sorted(by_person.items())]
    rng.shuffle(chosen)
    texts = [cipher.decrypt(token) for token in chosen[: QUOTE_COUNT * 4]]
    known = [name for pair in names for name in pair if name]
    use_deduce = importlib.util.find_spec("deduce") is not None
    # Building the name index (and deduce, when installed) may take a while: not on the loop.
    return await asyncio.to_thread(_scrubbed, texts, known, settings, use_deduce)


def _scrubbed(
    texts: Sequence[str], names: Sequence[str], settings: Settings, use_deduce: bool
) -> tuple[str, ...]:
    scrubber = Scrubber.from_names(names, use_deduce=use_deduce)
    quotes: list[str] = []
    for text in texts:
        # Scrub first, then shorten: cutting first could leave half a name unrecognised.
        clean = " ".join(scrubber.scrub(text, settings.language).split())
        if len(clean.split()) < MIN_WORDS:
            continue
        quotes.append(shorten(clean))
        if len(quotes) == QUOTE_COUNT:
            break
    return tuple(quotes)


def shorten(text: str, limit: int = MAX_CHARS) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:.-")
    return cut + "…"
