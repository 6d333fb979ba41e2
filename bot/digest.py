"""The anonymised HR digest: what one publication says, and the rules that keep it anonymous.

A digest describes one *cohort*: the confirmed interviews (`interview_facts`) that no earlier
digest published, up to the end of a calendar month. Cohorts are disjoint by construction:
publishing a digest stamps its facts with `digest_id` in the same transaction that computes
its figures, and a stamped fact is never counted again. Every figure is computed in SQL
(`GROUP BY`), never by looping over interviews in Python.

Anonymity rules, with k = `EXITBOT_MIN_GROUP_SIZE` (at least 3):
- every figure describes at least k people (its *base*: the people who answered it);
  fewer than k interviews → the digest only says how many are waiting, and they roll over;
- content derived from free text (themes, quotes) needs at least 2k people;
- a department is shown only when it has at least k people; smaller ones merge into "other";
- differencing between breakdowns: what the shown groups leave over (overall minus the
  departments shown) must itself be 0 or at least k, else the smallest shown department
  is merged into "other" too (see `publishable`), so no subtraction isolates 1..k-1 people;
- differencing over time: a figure only ever describes one cohort, never a cohort plus a few
  late arrivals; a late interview joins the next cohort and waits for k-1 others. The change
  against the previous digest is computed from its published figures (`Digest.figures`);
- items are ranked by count, ties alphabetically, never by time; no names, emails, ids or
  dates of individual interviews; only the period end is shown.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, and_, case, distinct, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.models import DEMO_DOMAIN, Digest, Employee, FactTheme, Interview, InterviewFact

FORMAT_VERSION = 1
IMPROVEMENT_SOURCES = ("role_improvement", "suggestions")
# Free-text answers about what was good are not reasons for leaving.
VALUED_SOURCES = ("valued_most",)
NOT_LEAVING_SOURCES = (*VALUED_SOURCES, *IMPROVEMENT_SOURCES)
OTHER = ""  # the name of the merged "other" department group
TOP_PER_GROUP = 2

if TYPE_CHECKING:
    from adapters.base import Report
    from bot.runtime import Runtime

F = InterviewFact


# ---------------------------------------------------------------------- what a digest says


@dataclass(frozen=True, slots=True)
class Ranked:
    """One ranked item: a reason or theme id, how many people, change in share vs before."""

    key: str
    count: int
    change: int | None = None  # percentage points against the previous digest


@dataclass(frozen=True, slots=True)
class Ranking:
    base: int  # the people this ranking describes
    items: tuple[Ranked, ...]

    def share(self, item: Ranked) -> int:
        return round(100 * item.count / self.base) if self.base else 0


@dataclass(frozen=True, slots=True)
class Score:
    value: float  # eNPS (-100..100), manager average (1..5) or a percentage
    base: int
    change: float | None = None


@dataclass(frozen=True, slots=True)
class Group:
    """One department row of the breakdown; `name == OTHER` is everyone else together."""

    name: str
    count: int
    top: tuple[str, ...] = ()  # the most named main reasons, when publishable


@dataclass(frozen=True, slots=True)
class DigestData:
    """Everything one digest shows; stored as `Digest.figures` (quotes never are)."""

    language: str
    k: int
    through: str  # the last calendar month covered, "2026-11"
    period_end: date  # its last day (shown)
    window_end: datetime  # invites before this moment count towards the response rate
    count: int = 0  # interviews described (0 unless at least k)
    waiting: int = 0  # interviews waiting for more (fewer than k)
    response_rate: Score | None = None
    reasons: Ranking | None = None
    reason_themes: Ranking | None = None
    improvement_themes: Ranking | None = None
    enps: Score | None = None
    manager: Score | None = None
    come_back: Score | None = None
    departments: tuple[Group, ...] = ()
    withheld: tuple[str, ...] = ()  # "reason_themes", "improvement_themes", "departments"
    quotes: tuple[str, ...] = field(default=(), compare=False)

    @property
    def kind(self) -> str:
        """`figures`, `waiting` (fewer than k interviews) or `empty`."""
        if self.count:
            return "figures"
        return "waiting" if self.waiting else "empty"

    def with_quotes(self, quotes: Sequence[str]) -> DigestData:
        return replace(self, quotes=tuple(quotes))

    def to_json(self) -> dict[str, Any]:
        def ranking(r: Ranking | None) -> dict[str, Any] | None:
            if r is None:
                return None
            items = [{"key": i.key, "count": i.count, "change": i.change} for i in r.items]
            return {"base": r.base, "items": items}

        def score(s: Score | None) -> dict[str, Any] | None:
            return None if s is None else {"value": s.value, "base": s.base, "change": s.change}

        return {
            "version": FORMAT_VERSION,
            "kind": self.kind,
            "language": self.language,
            "k": self.k,
            "through": self.through,
            "period_end": self.period_end.isoformat(),
            "window_end": self.window_end.isoformat(),
            "count": self.count,
            "waiting": self.waiting,
            "response_rate": score(self.response_rate),
            "reasons": ranking(self.reasons),
            "reason_themes": ranking(self.reason_themes),
            "improvement_themes": ranking(self.improvement_themes),
            "enps": score(self.enps),
            "manager": score(self.manager),
            "come_back": score(self.come_back),
            "departments": [
                {"name": g.name, "count": g.count, "top": list(g.top)} for g in self.departments
            ],
            "withheld": list(self.withheld),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DigestData:
        def ranking(raw: Any) -> Ranking | None:
            if not raw:
                return None
            items = tuple(Ranked(i["key"], int(i["count"]), i.get("change")) for i in raw["items"])
            return Ranking(int(raw["base"]), items)

        def score(raw: Any) -> Score | None:
            if not raw:
                return None
            return Score(float(raw["value"]), int(raw["base"]), raw.get("change"))

        return cls(
            language=str(data["language"]),
            k=int(data["k"]),
            through=str(data["through"]),
            period_end=date.fromisoformat(data["period_end"]),
            window_end=datetime.fromisoformat(data["window_end"]),
            count=int(data.get("count", 0)),
            waiting=int(data.get("waiting", 0)),
            response_rate=score(data.get("response_rate")),
            reasons=ranking(data.get("reasons")),
            reason_themes=ranking(data.get("reason_themes")),
            improvement_themes=ranking(data.get("improvement_themes")),
            enps=score(data.get("enps")),
            manager=score(data.get("manager")),
            come_back=score(data.get("come_back")),
            departments=tuple(
                Group(g["name"], int(g["count"]), tuple(g.get("top", ())))
                for g in data.get("departments", ())
            ),
            withheld=tuple(data.get("withheld", ())),
        )


@dataclass(frozen=True, slots=True)
class Scope:
    """Which facts one digest counts, and the period it reports on."""

    cohort: ColumnElement[bool]
    through: str
    period_end: date
    window_end: datetime
    window_start: datetime | None = None  # the previous digest's window end
    demo: bool = False  # the playground's own preview: demo interviews, nothing real


def unpublished(through: str, *, demo: bool = False) -> ColumnElement[bool]:
    """Facts no digest has taken yet, up to and including month `through`: of real
    interviews, or (`demo`) only of the playground's made-up people, which no digest HR
    receives ever counts (anyone who can open the playground can add them, and with known
    answers in a group of k, the one real person's answers follow by subtraction)."""
    made_up = F.interview_id.in_(demo_interviews())
    # a fact retention cut loose from its interview (NULL) is real: `bot.privacy` deletes
    # demo facts instead of cutting them loose
    real = or_(F.interview_id.is_(None), ~made_up)
    return and_(F.digest_id.is_(None), F.period <= through, made_up if demo else real)


def demo_interviews() -> Select[int]:
    """The ids of the playground's demo interviews (people in `DEMO_DOMAIN`)."""
    return (
        select(Interview.id)
        .join(Employee, Employee.id == Interview.employee_id)
        .where(Employee.email.like("%@" + DEMO_DOMAIN))
    )


def published_in(digest_id: int) -> ColumnElement[bool]:
    return F.digest_id == digest_id


# ---------------------------------------------------------------------- anonymity rules


def publishable(bases: Mapping[str, int], total: int, k: int) -> set[str]:
    """The groups whose figures may be shown next to a figure over all `total` people.

    A group needs at least k people; and whatever the shown groups leave over (total minus
    their sum, the people of hidden groups together) must be 0 or at least k, or it could be
    computed by subtraction: then the smallest shown group is hidden too, and so on.
    """
    shown = {name for name, n in bases.items() if n >= k}
    while shown:
        rest = total - sum(bases[name] for name in shown)
        if rest == 0 or rest >= k:
            break
        shown.remove(min(shown, key=lambda name: (bases[name], name)))
    return shown


def ranked(counts: Mapping[str, int], base: int, previous: Ranking | None) -> Ranking:
    """Items by count, ties by id (never by time); change in share against `previous`."""
    before = {i.key: previous.share(i) for i in previous.items} if previous else {}
    items = []
    for key, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        change = None
        if previous is not None:
            change = round(100 * n / base) - before.get(key, 0)
        items.append(Ranked(key, n, change))
    return Ranking(base, tuple(items))


def _score(value: float | None, base: int, k: int, before: Score | None) -> Score | None:
    if value is None or base < k:
        return None
    change = None if before is None else round(value - before.value, 1)
    return Score(value, base, change)


# ---------------------------------------------------------------------- building


async def count_facts(session: AsyncSession, cohort: ColumnElement[bool]) -> int:
    return int(await session.scalar(select(func.count()).select_from(F).where(cohort)) or 0)


def digest_frame(settings: Settings, scope: Scope, waiting: int = 0) -> DigestData:
    """A digest's period and k, without figures: the base of one that has them, or one with
    `waiting` interviews (fewer than k), or none ("empty")."""
    return DigestData(
        language=settings.language,
        k=settings.min_group_size,
        through=scope.through,
        period_end=scope.period_end,
        window_end=scope.window_end,
        waiting=waiting,
    )


async def build_digest(
    session: AsyncSession,
    settings: Settings,
    scope: Scope,
    previous: DigestData | None = None,
) -> DigestData:
    """The digest over the facts of `scope`, with every anonymity rule applied.

    `previous` is the last digest that published figures (for the change columns).
    Aggregate queries do the work: facts grouped by (department, main reason); people and
    themes from free text grouped by question group (and theme).
    """
    k = settings.min_group_size
    tally = await _tally(session, scope.cohort)
    if tally.n < k:
        return digest_frame(settings, scope, tally.n)
    base = digest_frame(settings, scope)
    prev = previous if previous is not None and previous.kind == "figures" else None

    reason_base = sum(tally.reasons.values())
    reasons = ranked(tally.reasons, reason_base, prev.reasons if prev else None)
    themes = await _themes(session, scope.cohort, k, prev)
    departments = _departments(tally.groups, tally.group_reasons, tally.n, k)

    withheld = [name for name in ("reason_themes", "improvement_themes") if themes[name] is None]
    if not departments and any(name for name in tally.groups if name != OTHER):
        withheld.append("departments")
    enps = (
        round(100 * (tally.promoters - tally.detractors) / tally.recommend_n)
        if tally.recommend_n
        else None
    )
    manager = round(tally.manager_sum / tally.manager_n, 1) if tally.manager_n else None
    come_back = round(100 * tally.back_yes / tally.back_n) if tally.back_n else None
    return replace(
        base,
        count=tally.n,
        response_rate=await _response_rate(session, scope, k),
        reasons=reasons if reason_base >= k else None,
        reason_themes=themes["reason_themes"],
        improvement_themes=themes["improvement_themes"],
        enps=_score(enps, tally.recommend_n, k, prev.enps if prev else None),
        manager=_score(manager, tally.manager_n, k, prev.manager if prev else None),
        come_back=_score(come_back, tally.back_n, k, prev.come_back if prev else None),
        departments=departments,
        withheld=tuple(withheld),
    )


@dataclass(slots=True)
class _Tally:
    """Sums over the (department, main reason) groups of one cohort."""

    n: int = 0
    recommend_n: int = 0
    promoters: int = 0
    detractors: int = 0
    manager_n: int = 0
    manager_sum: int = 0
    back_n: int = 0
    back_yes: int = 0
    reasons: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    groups: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    group_reasons: dict[str, dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )


async def _tally(session: AsyncSession, cohort: ColumnElement[bool]) -> _Tally:
    """One GROUP BY (department, main reason) with every score sum alongside."""
    rows = (
        await session.execute(
            select(
                F.department,
                F.main_reason,
                func.count(),
                func.count(F.recommend),
                func.sum(case((F.recommend >= 9, 1), else_=0)),
                func.sum(case((F.recommend <= 6, 1), else_=0)),
                func.count(F.manager_score),
                func.sum(F.manager_score),
                func.count(F.come_back),
                func.sum(case((F.come_back == "yes", 1), else_=0)),
            )
            .where(cohort)
            .group_by(F.department, F.main_reason)
        )
    ).all()
    tally = _Tally()
    for department, reason, n, *sums in rows:
        numbers = [int(x or 0) for x in sums]
        tally.n += n
        tally.recommend_n += numbers[0]
        tally.promoters += numbers[1]
        tally.detractors += numbers[2]
        tally.manager_n += numbers[3]
        tally.manager_sum += numbers[4]
        tally.back_n += numbers[5]
        tally.back_yes += numbers[6]
        name = (department or "").strip() or OTHER
        tally.groups[name] += n
        if reason:
            tally.reasons[reason] += n
            tally.group_reasons[name][reason] += n
    return tally


def _departments(
    groups: Mapping[str, int],
    group_reasons: Mapping[str, Mapping[str, int]],
    total: int,
    k: int,
) -> tuple[Group, ...]:
    """Departments of at least k (and what they leave over: 0 or "other" of at least k)."""
    named = {name: n for name, n in groups.items() if name != OTHER}
    shown = publishable(named, total, k)
    if not shown:
        return ()  # everyone would be "other": no breakdown at all
    rows: dict[str, int] = {name: named[name] for name in shown}
    rest = total - sum(rows.values())
    if rest:
        rows[OTHER] = rest
    merged: dict[str, dict[str, int]] = {name: dict(group_reasons.get(name, {})) for name in rows}
    if rest:
        merged[OTHER] = defaultdict(int)
        for name, reasons in group_reasons.items():
            if name not in shown:
                for reason, n in reasons.items():
                    merged[OTHER][reason] += n
    # Top reasons per group are themselves a breakdown of the main-reason figure.
    reason_bases = {name: sum(merged[name].values()) for name in rows}
    with_reasons = publishable(reason_bases, sum(reason_bases.values()), k)
    out = []
    for name, n in sorted(rows.items(), key=lambda kv: (kv[0] == OTHER, -kv[1], kv[0])):
        top: tuple[str, ...] = ()
        if name in with_reasons:
            best = sorted(merged[name].items(), key=lambda kv: (-kv[1], kv[0]))
            top = tuple(reason for reason, _ in best[:TOP_PER_GROUP])
        out.append(Group(name, n, top))
    return tuple(out)


async def _themes(
    session: AsyncSession, cohort: ColumnElement[bool], k: int, prev: DigestData | None
) -> dict[str, Ranking | None]:
    """Theme rankings from free text; each needs at least 2k people who gave such text."""
    group = case(
        (FactTheme.source.in_(IMPROVEMENT_SOURCES), "improvement_themes"), else_="reason_themes"
    ).label("grp")

    def by(*columns: Any) -> Any:
        return (
            select(*columns, func.count(distinct(FactTheme.fact_id)))
            .join(F, F.id == FactTheme.fact_id)
            .where(cohort, FactTheme.source.not_in(VALUED_SOURCES))
            .group_by(*columns)
        )

    people = {str(grp): int(n) for grp, n in (await session.execute(by(group))).all()}
    found: dict[str, Ranking | None] = dict.fromkeys(("reason_themes", "improvement_themes"))
    wanted = [name for name in found if people.get(name, 0) >= 2 * k]
    if not wanted:
        return found
    rows = (await session.execute(by(group, FactTheme.theme))).all()
    for name in wanted:
        per_theme = {str(theme): int(n) for grp, theme, n in rows if grp == name}
        before: Ranking | None = getattr(prev, name) if prev else None
        found[name] = ranked(per_theme, people[name], before)
    return found


async def _response_rate(session: AsyncSession, scope: Scope, k: int) -> Score | None:
    """Completed / invited among the interviews invited in this digest's window."""
    if scope.demo:
        return None  # demo people are never invited; the invited ones are all real
    window = [
        Interview.invited_at.is_not(None),
        Interview.invited_at < scope.window_end,
        Interview.tryout.is_(False),  # never invited anyway; no leaver
    ]
    if scope.window_start is not None:
        window.append(Interview.invited_at >= scope.window_start)
    row = (
        await session.execute(
            select(
                func.count(),
                func.sum(case((Interview.status == "completed", 1), else_=0)),
            ).where(*window)
        )
    ).one()
    invited, completed = int(row[0] or 0), int(row[1] or 0)
    if invited < k:
        return None
    return Score(round(100 * completed / invited), invited)


# ---------------------------------------------------------------------- what was published


async def previous_figures(
    session: AsyncSession, before_id: int | None = None
) -> DigestData | None:
    """The latest digest that published figures (posted, or frozen and being posted)."""
    query = (
        select(Digest.figures)
        .where(Digest.status.in_(("posted", "posting")), Digest.figures.is_not(None))
        .order_by(Digest.id.desc())
        .limit(50)
    )
    if before_id is not None:
        query = query.where(Digest.id < before_id)
    for figures in (await session.scalars(query)).all():
        if isinstance(figures, dict) and figures.get("kind") == "figures":
            return DigestData.from_json(figures)
    return None


async def preview(runtime: Runtime, now: datetime | None = None) -> Report:
    """The digest as it would be posted now, rendered; records no publication."""
    from bot.digest_post import preview
    from bot.digest_render import render_report

    return render_report(await preview(runtime, now))


__all__ = [
    "OTHER",
    "DigestData",
    "Group",
    "Ranked",
    "Ranking",
    "Scope",
    "Score",
    "build_digest",
    "count_facts",
    "preview",
    "previous_figures",
    "publishable",
    "published_in",
    "unpublished",
]
