"""`exitbot export --anonymised`: per-interview aggregates HR may analyse elsewhere.

Only interviews a digest already published are exported, and only with what that digest
could show: the period is the digest's month (its cohort has at least k people), the
department only when the digest showed it (a group of at least k), themes only when the
digest had at least 2k people answering in free text. Unpublished interviews are left out:
exporting them would bypass the "N waiting" rule. No text, no identity, no interview or
fact ids, no dates; rows are shuffled.
"""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.db import Database
from bot.digest import IMPROVEMENT_SOURCES, NOT_LEAVING_SOURCES, OTHER, count_facts, unpublished
from bot.models import Digest, FactTheme, InterviewFact

LATEST = "9999-12"  # a month after every period: `unpublished` up to now and later
COLUMNS = (
    "period",
    "department",
    "main_reason",
    "leaving_themes",
    "improvement_themes",
    "recommend",
    "manager_score",
    "come_back",
)


async def waiting(db: Database) -> int:
    """Completed interviews no digest has published yet: not exported (yet)."""
    async with db.sessions() as session:
        return await count_facts(session, unpublished(LATEST))


async def anonymised_rows(db: Database) -> list[dict[str, str]]:
    """One row per published interview, in random order."""
    F = InterviewFact
    async with db.sessions() as session:
        published: dict[int, dict[str, Any]] = {}
        for row_id, stored in (
            await session.execute(
                select(Digest.id, Digest.figures).where(Digest.status.in_(("posting", "posted")))
            )
        ).all():
            if isinstance(stored, dict) and stored.get("kind") == "figures":
                published[row_id] = stored
        if not published:
            return []
        facts = (
            await session.execute(
                select(
                    F.id,
                    F.digest_id,
                    F.department,
                    F.main_reason,
                    F.recommend,
                    F.manager_score,
                    F.come_back,
                ).where(F.digest_id.in_(list(published)))
            )
        ).all()
        theme_rows = (
            await session.execute(
                select(FactTheme.fact_id, FactTheme.source, FactTheme.theme)
                .join(F, F.id == FactTheme.fact_id)
                .where(F.digest_id.in_(list(published)))
            )
        ).all()
    leaving: dict[int, set[str]] = defaultdict(set)
    improving: dict[int, set[str]] = defaultdict(set)
    for fact_id, source, theme in theme_rows:
        if source in IMPROVEMENT_SOURCES:
            improving[fact_id].add(theme)
        elif source not in NOT_LEAVING_SOURCES:
            leaving[fact_id].add(theme)
    rows = []
    for fact_id, digest_id, department, reason, recommend, manager, come_back in facts:
        figures = published[digest_id or 0]
        groups: list[dict[str, Any]] = figures.get("departments") or []
        shown = {g["name"] for g in groups if g["name"] != OTHER}
        rows.append(
            {
                "period": str(figures["through"]),
                "department": department if department and department in shown else "",
                "main_reason": reason or "",
                "leaving_themes": _themes(figures, "reason_themes", leaving[fact_id]),
                "improvement_themes": _themes(figures, "improvement_themes", improving[fact_id]),
                "recommend": "" if recommend is None else str(recommend),
                "manager_score": "" if manager is None else str(manager),
                "come_back": come_back or "",
            }
        )
    random.SystemRandom().shuffle(rows)
    return rows


def _themes(figures: dict[str, Any], name: str, themes: Iterable[str]) -> str:
    return ";".join(sorted(themes)) if figures.get(name) else ""


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
