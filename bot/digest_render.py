"""The digest as a channel-neutral `Report` (Slack, Teams, terminal) with a bar chart PNG.

Lines are written as "label: value" so Teams can show them as a FactSet. Nothing here reads
the database: a report is rendered from `DigestData` (what was, or will be, published).
"""

from __future__ import annotations

import io
from datetime import date

from adapters.base import Report, ReportSection
from bot.digest import OTHER, DigestData, Ranking, Score
from conversations.themes import THEME_LABELS

_MONTHS = {
    "en": (
        "January February March April May June July August September October November December"
    ).split(),
    "nl": (
        "januari februari maart april mei juni juli augustus september oktober november december"
    ).split(),
}

_T: dict[str, dict[str, str]] = {
    "en": {
        "title": "Exit interviews: digest up to {end}",
        "short": "In short",
        "interviews": "Interviews",
        "response": "Response rate",
        "response_value": "{value}% of {base} invited",
        "period": "Period",
        "period_value": "completed up to {end}, not in an earlier digest",
        "waiting": "Fewer than {k} interviews are in so far; figures appear once {k} are.",
        "held_back": (
            "At least {k} interviews completed up to {end} are in: the next digest will show "
            "their figures. They are shown when it is posted, not before, and interviews "
            "completed this month are not counted here: a preview that moved with every "
            "interview would give people away by difference."
        ),
        "empty": "No new exit interviews were completed in this period.",
        "reasons": "Main reasons for leaving",
        "reason_themes": "Leaving reasons in their own words (themes)",
        "improvement_themes": "What they would improve (themes)",
        "themes_withheld": "Shown once at least {n} people have answered in their own words.",
        "too_few": "Too few answers to show (fewer than {k}).",
        "scores": "Scores",
        "enps": "Would recommend us (eNPS)",
        "manager": "Relationship with their manager",
        "come_back": "Would come back",
        "answers": "{n} answers",
        "departments": "By department",
        "departments_withheld": (
            "Not shown this time: a department is shown only with at least {k} interviews, "
            "and only when the other departments together have none or also at least {k}."
        ),
        "other": "Other departments",
        "top": "most named",
        "quotes": "In their own words (scrubbed, shuffled)",
        "footer": (
            "Anonymised: every figure is taken over a group of at least {k} people, themes "
            "from free text over at least {k2}; smaller departments are merged into “other”. "
            "Interviews still waiting roll into the next digest. Items are ranked by how often "
            "they were named."
        ),
        "chart": "Main reasons for leaving",
        "alt": "Bar chart of the main reasons for leaving: {items}",
        "pts": "pts",
    },
    "nl": {
        "title": "Exitgesprekken: overzicht t/m {end}",
        "short": "In het kort",
        "interviews": "Gesprekken",
        "response": "Respons",
        "response_value": "{value}% van {base} uitgenodigd",
        "period": "Periode",
        "period_value": "afgerond t/m {end}, niet in een eerder overzicht",
        "waiting": "Nog minder dan {k} gesprekken; cijfers verschijnen zodra er {k} zijn.",
        "held_back": (
            "Er zijn minstens {k} gesprekken die tot en met {end} zijn afgerond: het volgende "
            "overzicht toont hun cijfers. Die verschijnen als het geplaatst wordt, niet eerder, "
            "en gesprekken van deze maand tellen hier niet mee: een voorbeeld dat met elk "
            "gesprek meebeweegt, zou mensen verraden door het verschil."
        ),
        "empty": "Er zijn in deze periode geen nieuwe exitgesprekken afgerond.",
        "reasons": "Belangrijkste vertrekredenen",
        "reason_themes": "Vertrekredenen in eigen woorden (thema's)",
        "improvement_themes": "Wat zij zouden verbeteren (thema's)",
        "themes_withheld": (
            "Zichtbaar zodra minstens {n} mensen in eigen woorden hebben geantwoord."
        ),
        "too_few": "Te weinig antwoorden om te tonen (minder dan {k}).",
        "scores": "Scores",
        "enps": "Zou ons aanraden (eNPS)",
        "manager": "Relatie met leidinggevende",
        "come_back": "Zou terugkomen",
        "answers": "{n} antwoorden",
        "departments": "Per afdeling",
        "departments_withheld": (
            "Dit keer niet getoond: een afdeling verschijnt alleen met minstens {k} gesprekken, "
            "en alleen als de overige afdelingen samen er geen of ook minstens {k} hebben."
        ),
        "other": "Overige afdelingen",
        "top": "meest genoemd",
        "quotes": "In eigen woorden (geanonimiseerd, geschud)",
        "footer": (
            "Geanonimiseerd: elk cijfer gaat over een groep van minstens {k} mensen, thema's uit "
            "vrije tekst over minstens {k2}; kleinere afdelingen vallen onder “overige”. "
            "Gesprekken die nog wachten, tellen mee in het volgende overzicht. Volgorde: hoe "
            "vaak iets genoemd is."
        ),
        "chart": "Belangrijkste vertrekredenen",
        "alt": "Staafdiagram van de belangrijkste vertrekredenen: {items}",
        "pts": "ptn",
    },
}


def _texts(language: str) -> dict[str, str]:
    return _T.get(language, _T["en"])


def day_label(day: date, language: str) -> str:
    months = _MONTHS.get(language, _MONTHS["en"])
    return f"{day.day} {months[day.month - 1]} {day.year}"


def label(key: str, language: str) -> str:
    """The reader's name of a reason or theme id (custom ids are made readable)."""
    labels = THEME_LABELS.get(key)
    if labels:
        return labels.get(language) or labels["en"]
    return key.replace("_", " ").capitalize()


def _decimal(text: str, language: str) -> str:
    """A number as the reader writes it: "2,8" in Dutch."""
    return text.replace(".", ",") if language == "nl" else text


def _change(change: float | None, unit: str = "", language: str = "en") -> str:
    if change is None:
        return ""
    if change == 0:
        return " (=)"
    arrow = "▲" if change > 0 else "▼"
    number = _decimal(f"{abs(change):g}", language)
    return f" ({arrow} {number}{(' ' + unit) if unit else ''})"


def _ranking_lines(ranking: Ranking, language: str) -> tuple[str, ...]:
    t = _texts(language)
    return tuple(
        f"{label(item.key, language)}: {item.count} ({ranking.share(item)}%)"
        f"{_change(item.change, t['pts'])}"
        for item in ranking.items
    )


def _score_line(name: str, score: Score, shown: str, language: str) -> str:
    answers = _texts(language)["answers"].format(n=score.base)
    return f"{name}: {shown}{_change(score.change, language=language)}, {answers}"


def render_held_back(digest: DigestData) -> Report:
    """A preview for HR between digests: whether figures will come, never a count or figures."""
    if digest.kind != "figures":
        return render_report(digest)  # "waiting" or "empty" has no figures to hold back
    t = _texts(digest.language)
    title = t["title"].format(end=day_label(digest.period_end, digest.language))
    line = t["held_back"].format(k=digest.k, end=day_label(digest.period_end, digest.language))
    footer = t["footer"].format(k=digest.k, k2=2 * digest.k)
    return Report(title=title, sections=(ReportSection(t["short"], (line,)),), footer=footer)


def render_report(digest: DigestData) -> Report:
    """Title, sections, footer and (with figures) a bar chart of the main reasons."""
    lang = digest.language
    t = _texts(lang)
    end = day_label(digest.period_end, lang)
    title = t["title"].format(end=end)
    k = digest.k
    footer = t["footer"].format(k=k, k2=2 * k)
    if digest.kind != "figures":
        line = (
            t["empty"]
            if digest.kind == "empty"
            else t["waiting"].format(k=k)  # a count below k is not shown either
        )
        return Report(title=title, sections=(ReportSection(t["short"], (line,)),), footer=footer)

    short = [f"{t['interviews']}: {digest.count}"]
    if digest.response_rate is not None:
        rate = digest.response_rate
        short.append(
            f"{t['response']}: "
            + t["response_value"].format(value=round(rate.value), base=rate.base)
        )
    short.append(f"{t['period']}: " + t["period_value"].format(end=end))
    sections = [ReportSection(t["short"], tuple(short))]

    too_few = (t["too_few"].format(k=k),)
    reasons = _ranking_lines(digest.reasons, lang) if digest.reasons else too_few
    sections.append(ReportSection(t["reasons"], reasons))
    withheld_themes = (t["themes_withheld"].format(n=2 * k),)
    for name in ("reason_themes", "improvement_themes"):
        ranking: Ranking | None = getattr(digest, name)
        lines = _ranking_lines(ranking, lang) if ranking else withheld_themes
        sections.append(ReportSection(t[name], lines))

    scores = []
    if digest.enps is not None:
        scores.append(_score_line(t["enps"], digest.enps, f"{digest.enps.value:+.0f}", lang))
    if digest.manager is not None:
        scores.append(
            _score_line(
                t["manager"],
                digest.manager,
                _decimal(f"{digest.manager.value:.1f} / 5", lang),
                lang,
            )
        )
    if digest.come_back is not None:
        scores.append(
            _score_line(t["come_back"], digest.come_back, f"{digest.come_back.value:.0f}%", lang)
        )
    sections.append(ReportSection(t["scores"], tuple(scores) or too_few))

    if digest.departments:
        rows = []
        for group in digest.departments:
            name = t["other"] if group.name == OTHER else group.name
            top = ", ".join(label(key, lang) for key in group.top)
            rows.append(f"{name}: {group.count}" + (f" · {t['top']}: {top}" if top else ""))
        sections.append(ReportSection(t["departments"], tuple(rows)))
    elif "departments" in digest.withheld:
        sections.append(ReportSection(t["departments"], (t["departments_withheld"].format(k=k),)))

    if digest.quotes:
        sections.append(ReportSection(t["quotes"], tuple(f"“{q}”" for q in digest.quotes)))

    image, alt = None, ""
    if digest.reasons and digest.reasons.items:
        pairs = [(label(i.key, lang), i.count) for i in digest.reasons.items]
        image = bar_chart_png(pairs, t["chart"])
        alt = t["alt"].format(items=", ".join(f"{name} {n}" for name, n in pairs))
    return Report(
        title=title, sections=tuple(sections), footer=footer, image_png=image, image_alt=alt
    )


def bar_chart_png(pairs: list[tuple[str, int]], title: str) -> bytes:
    """A horizontal bar chart (most named on top) as PNG bytes; matplotlib without pyplot."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    labels = [name for name, _ in reversed(pairs)]
    values = [n for _, n in reversed(pairs)]
    figure = Figure(figsize=(7, 0.45 * len(pairs) + 1.2), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    bars = axes.barh(labels, values, color="#4C72B0")
    axes.bar_label(bars, padding=3)
    axes.set_title(title, loc="left", fontsize=12)
    axes.spines[["top", "right"]].set_visible(False)
    axes.xaxis.set_visible(False)
    axes.set_xlim(0, max(values) * 1.15 if values else 1)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def render_text(digest: DigestData) -> str:
    """The digest for the terminal."""
    return render_report(digest).as_text()
