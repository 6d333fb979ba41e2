"""Validation of one [[questions]] entry; every problem is collected with its location."""

from __future__ import annotations

import re
from typing import cast

from .questionnaire import (
    QUESTION_TYPES,
    RULE_KINDS,
    ChoiceOption,
    FollowUpRule,
    Question,
    QuestionType,
    RuleKind,
    Scale,
    Variants,
    _Blank,
)
from .themes import THEMES

_QUESTION_KEYS = ("id", "type", "text", "short", "choices", "scale", "follow_ups")
_CHOICE_KEYS = ("value", "label", "aliases")
_SCALE_KEYS = ("min", "max", "labels")
_RULE_PARAMS: dict[str, tuple[str, ...]] = {
    "vague": (),
    "choice": ("values",),
    "score_below": ("threshold",),
    "score_at_most": ("threshold",),
    "theme": ("themes",),
}
_RULE_FOR_TYPE: dict[str, str] = {
    "choice": "choice",
    "score_below": "scale",
    "score_at_most": "scale",
}
_ID = re.compile(r"[a-z0-9_]+")
# What storage holds (bot.models): a question id is each theme's source (32 characters), a
# choice's value its stored answer, main_reason's in the digest's facts (64), and
# come_back's there too (16). Longer ones used to pass the check, and then could not be
# stored where the database enforces lengths (PostgreSQL).
MAX_QUESTION_ID = 32
MAX_CHOICE_VALUE = 64
MAX_VALUE_OF = {"come_back": 16}
MAX_SCALE_POINTS = 11


class Checker:
    """Walks the parsed TOML, collecting every problem instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.languages: tuple[str, ...] = ()

    def add(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def unknown_keys(
        self, table: dict[str, object], allowed: tuple[str, ...], where: str, prefix: str = ""
    ) -> None:
        for key in table:
            if key not in allowed:
                self.add(where, f"{prefix}{key}: unknown key (allowed: {', '.join(allowed)})")

    def texts(self, value: object, where: str, name: str, *, variants: bool) -> Variants:
        """A table of texts per language; every declared language must be present."""
        kind = "a non-empty string or a list of them" if variants else "a non-empty string"
        if not isinstance(value, dict):
            self.add(
                where,
                f"{name}: must be a table of texts per language, "
                f'e.g. {name}.{(self.languages or ("en",))[0]} = "..."',
            )
            return {}
        out: dict[str, tuple[str, ...]] = {}
        for lang, text in value.items():
            if self.languages and lang not in self.languages:
                self.add(where, f"{name}.{lang}: language '{lang}' is not in languages")
            if isinstance(text, str) and text.strip():
                out[lang] = (text,)
            elif (
                variants
                and isinstance(text, list)
                and text
                and all(isinstance(t, str) and t.strip() for t in text)
            ):
                out[lang] = tuple(text)
            else:
                self.add(where, f"{name}.{lang}: must be {kind}")
                continue
            for option in out[lang]:
                try:
                    option.format_map(_Blank())
                except (ValueError, IndexError, AttributeError, KeyError):
                    self.add(
                        where,
                        f"{name}.{lang}: bad placeholder (use {{name}}, "
                        "and {{ or }} for a literal brace)",
                    )
        for lang in self.languages:
            if lang not in value:
                self.add(where, f"{name}: missing text for language '{lang}'")
        return out

    def single(self, value: object, where: str, name: str) -> dict[str, str]:
        return {k: v[0] for k, v in self.texts(value, where, name, variants=False).items()}

    def integer(self, value: object, where: str, name: str) -> int | None:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        self.add(where, f"{name}: must be an integer")
        return None

    def strings(self, value: object, where: str, name: str) -> tuple[str, ...]:
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return tuple(cast(list[str], value))
        self.add(where, f"{name}: must be a non-empty list of strings")
        return ()


def _choices(ck: Checker, value: object, where: str) -> tuple[ChoiceOption, ...]:
    if not isinstance(value, list) or len(value) < 2:
        ck.add(where, "choices: a choice question needs at least 2 [[questions.choices]]")
        return ()
    options: list[ChoiceOption] = []
    seen_labels: dict[tuple[str, str], str] = {}
    for j, raw in enumerate(value):
        name = f"choices[{j}]"
        if not isinstance(raw, dict):
            ck.add(where, f"{name}: must be a table")
            continue
        ck.unknown_keys(raw, _CHOICE_KEYS, where, f"{name}.")
        val = raw.get("value")
        if not isinstance(val, str) or not _ID.fullmatch(val):
            ck.add(where, f"{name}.value: required, lowercase letters, digits and '_'")
            val = f"?{j}"
        elif any(o.value == val for o in options):
            ck.add(where, f"{name}.value: duplicate value '{val}'")
        labels = ck.single(raw.get("label"), where, f"{name}.label")
        for lang, label in labels.items():
            other = seen_labels.setdefault((lang, label.casefold()), val)
            if other != val:
                ck.add(where, f"{name}.label.{lang}: same label as choice '{other}'")
        aliases = ck.strings(raw["aliases"], where, f"{name}.aliases") if "aliases" in raw else ()
        options.append(ChoiceOption(val, labels, aliases))
    return tuple(options)


def _scale(ck: Checker, value: object, where: str) -> Scale | None:
    if not isinstance(value, dict):
        ck.add(where, "scale: a scale question needs a [questions.scale] table with min and max")
        return None
    ck.unknown_keys(value, _SCALE_KEYS, where, "scale.")
    low = ck.integer(value.get("min"), where, "scale.min")
    high = ck.integer(value.get("max"), where, "scale.max")
    if low is None or high is None:
        return None
    if low >= high:
        ck.add(where, "scale.min must be < scale.max")
        return None
    if high - low + 1 > MAX_SCALE_POINTS:
        ck.add(where, f"scale: at most {MAX_SCALE_POINTS} points")
    labels: dict[int, dict[str, str]] = {}
    raw_labels = value.get("labels", {})
    if not isinstance(raw_labels, dict):
        ck.add(where, 'scale.labels: must be a table such as labels.1 = { en = "..." }')
        raw_labels = {}
    for key, texts in raw_labels.items():
        if not key.lstrip("-").isdigit() or not low <= int(key) <= high:
            ck.add(where, f"scale.labels.{key}: must be a point from {low} to {high}")
            continue
        labels[int(key)] = ck.single(texts, where, f"scale.labels.{key}")
    return Scale(low, high, labels)


def _rule(
    ck: Checker,
    raw: object,
    where: str,
    name: str,
    qtype: str,
    choices: tuple[ChoiceOption, ...],
    scale: Scale | None,
) -> FollowUpRule | None:
    if not isinstance(raw, dict):
        ck.add(where, f"{name}: must be a table")
        return None
    ck.unknown_keys(
        raw, ("when", *{p for ps in _RULE_PARAMS.values() for p in ps}, "text"), where, f"{name}."
    )
    when = raw.get("when")
    if when not in RULE_KINDS:
        ck.add(where, f"{name}.when: must be one of {', '.join(RULE_KINDS)}")
        return None
    needed_type = _RULE_FOR_TYPE.get(cast(str, when))
    if needed_type and needed_type != qtype:
        ck.add(where, f"{name}.when: '{when}' only applies to {needed_type} questions")
    for param in ("values", "threshold", "themes"):
        wanted = param in _RULE_PARAMS[cast(str, when)]
        if wanted and param not in raw:
            ck.add(where, f"{name}.{param}: required when '{when}'")
        elif not wanted and param in raw:
            ck.add(where, f"{name}.{param}: not used when '{when}'")
    values = ck.strings(raw["values"], where, f"{name}.values") if "values" in raw else ()
    known = {o.value for o in choices}
    for value in values:
        if qtype == "choice" and value not in known:
            ck.add(where, f"{name}.values: unknown choice value '{value}'")
    threshold = None
    if "threshold" in raw:
        threshold = ck.integer(raw["threshold"], where, f"{name}.threshold")
        if threshold is not None and scale and not scale.min <= threshold <= scale.max:
            ck.add(where, f"{name}.threshold: must be from {scale.min} to {scale.max}")
    themes = ck.strings(raw["themes"], where, f"{name}.themes") if "themes" in raw else ()
    for theme in themes:
        if theme not in THEMES or theme == "other":
            ck.add(where, f"{name}.themes: unknown theme '{theme}'")
    texts = ck.texts(raw.get("text"), where, f"{name}.text", variants=True)
    return FollowUpRule(cast(RuleKind, when), texts, values, threshold, themes)


def question(ck: Checker, raw: object, i: int, seen: set[str]) -> Question | None:
    where = f"questions[{i}]"
    if not isinstance(raw, dict):
        ck.add(where, "must be a table ([[questions]])")
        return None
    qid = raw.get("id")
    if not isinstance(qid, str) or not _ID.fullmatch(qid):
        ck.add(where, "id: required, lowercase letters, digits and '_'")
        qid = f"?{i}"
    elif len(qid) > MAX_QUESTION_ID:
        ck.add(where, f"id: at most {MAX_QUESTION_ID} characters, got {len(qid)}")
        qid = f"?{i}"
    else:
        where = f"{where} (id '{qid}')"
        if qid in seen:
            ck.add(where, f"id: duplicate question id '{qid}'")
        seen.add(qid)
    ck.unknown_keys(raw, _QUESTION_KEYS, where)
    qtype = raw.get("type")
    if qtype not in QUESTION_TYPES:
        ck.add(where, f"type: must be one of {', '.join(QUESTION_TYPES)}")
        qtype = "text"
    text = ck.single(raw.get("text"), where, "text")
    short = ck.single(raw["short"], where, "short") if "short" in raw else {}
    choices: tuple[ChoiceOption, ...] = ()
    if qtype == "choice":
        choices = _choices(ck, raw.get("choices"), where)
        longest = MAX_VALUE_OF.get(qid, MAX_CHOICE_VALUE)
        for option in choices:
            if len(option.value) > longest:
                ck.add(where, f"choices: value '{option.value}' longer than {longest} characters")
    elif "choices" in raw:
        ck.add(where, "choices: only for choice questions")
    scale = _scale(ck, raw.get("scale"), where) if qtype == "scale" else None
    if qtype != "scale" and "scale" in raw:
        ck.add(where, "scale: only for scale questions")
    raw_rules = raw.get("follow_ups", [])
    if not isinstance(raw_rules, list):
        ck.add(where, "follow_ups: must be an array of tables ([[questions.follow_ups]])")
        raw_rules = []
    rules = [
        _rule(ck, r, where, f"follow_ups[{j}]", cast(str, qtype), choices, scale)
        for j, r in enumerate(raw_rules)
    ]
    keys = [r.key for r in rules if r]
    for key in {k for k in keys if keys.count(k) > 1}:
        ck.add(
            where,
            f"follow_ups: two rules with the same condition '{key}'; "
            "list several phrasings in one rule's text instead",
        )
    return Question(
        qid, cast(QuestionType, qtype), text, short, choices, scale, tuple(r for r in rules if r)
    )
