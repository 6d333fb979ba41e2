"""The questionnaire model: immutable, validated by the loader, shared by every interview."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from .text import normalise
from .types import Choice

QuestionType = Literal["text", "choice", "scale"]
RuleKind = Literal["vague", "choice", "score_below", "score_at_most", "theme"]
QUESTION_TYPES: tuple[str, ...] = ("text", "choice", "scale")
RULE_KINDS: tuple[str, ...] = ("vague", "choice", "score_below", "score_at_most", "theme")

Localised = Mapping[str, str]  # language -> text
Variants = Mapping[str, tuple[str, ...]]  # language -> one or more phrasings

_LAST_RESORT = "Sorry, I can't show this message right now. Type 'help' to see what you can do."


class QuestionnaireError(ValueError):
    """A questionnaire that cannot be used; `problems` lists every problem with its location."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid questionnaire:\n" + "\n".join(f"- {p}" for p in problems))
        self.problems = problems


def _pick(texts: Mapping[str, str], language: str, default: str) -> str:
    return texts.get(language) or texts.get(default) or next(iter(texts.values()), "")


@dataclass(frozen=True, slots=True)
class ChoiceOption:
    value: str
    labels: Localised
    aliases: tuple[str, ...] = ()

    def label(self, language: str) -> str:
        return _pick(self.labels, language, "en") or self.value


@dataclass(frozen=True, slots=True)
class Scale:
    min: int
    max: int
    labels: Mapping[int, Localised] = field(default_factory=dict)

    def label(self, point: int, language: str) -> str | None:
        texts = self.labels.get(point)
        return _pick(texts, language, "en") if texts else None

    @property
    def points(self) -> range:
        return range(self.min, self.max + 1)


@dataclass(frozen=True, slots=True)
class FollowUpRule:
    """Probe when `when` holds; `texts` gives one or more phrasings per language."""

    when: RuleKind
    texts: Variants
    values: tuple[str, ...] = ()
    threshold: int | None = None
    themes: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """Stable id of the rule within its question (kept in state, never an index)."""
        params = ",".join(self.values or self.themes)
        if self.threshold is not None:
            params = str(self.threshold)
        return f"{self.when}={params}" if params else self.when

    def phrasings(self, language: str, default: str) -> tuple[str, ...]:
        return self.texts.get(language) or self.texts.get(default) or ()


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    type: QuestionType
    text: Localised
    short: Localised = field(default_factory=dict)
    choices: tuple[ChoiceOption, ...] = ()
    scale: Scale | None = None
    follow_ups: tuple[FollowUpRule, ...] = ()
    # Precomputed for answer parsing: normalised label/value/alias -> choice value.
    match_index: Mapping[str, str] = field(init=False, repr=False, compare=False)
    _buttons: dict[str, tuple[Choice, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, str] = {}
        for option in self.choices:
            for name in (option.value, option.value.replace("_", " "), *option.aliases):
                index.setdefault(normalise(name), option.value)
            for label in option.labels.values():
                index.setdefault(normalise(label), option.value)
        if self.scale is not None:
            for point, labels in self.scale.labels.items():
                for label in labels.values():
                    index.setdefault(normalise(label), str(point))
        index.pop("", None)
        object.__setattr__(self, "match_index", index)
        object.__setattr__(self, "_buttons", {})

    def buttons(self, language: str) -> tuple[Choice, ...]:
        """The choices offered with this question (options, or scale points), cached."""
        cached = self._buttons.get(language)
        if cached is None:
            cached = self._buttons[language] = self._make_buttons(language)
        return cached

    def _make_buttons(self, language: str) -> tuple[Choice, ...]:
        if self.type == "choice":
            return tuple(Choice(o.value, o.label(language)) for o in self.choices)
        if self.scale is None:
            return ()
        labels = [(p, self.scale.label(p, language)) for p in self.scale.points]
        return tuple(Choice(str(p), f"{p} – {label}" if label else str(p)) for p, label in labels)

    def text_in(self, language: str, default: str = "en") -> str:
        return _pick(self.text, language, default)

    def short_in(self, language: str, default: str = "en") -> str:
        short = _pick(self.short, language, default) if self.short else ""
        if short:
            return short
        text = self.text_in(language, default)
        return text if len(text) <= 40 else text[:39].rstrip() + "…"

    def option(self, value: str | None) -> ChoiceOption | None:
        return next((o for o in self.choices if o.value == value), None)


@dataclass(frozen=True, slots=True)
class Questionnaire:
    """A whole form; `texts` holds the bot's own sentences ("intro.*", "outro.*", "phrases.*")."""

    id: str
    version: str
    default_language: str
    languages: tuple[str, ...]
    questions: tuple[Question, ...]
    texts: Mapping[str, Variants]
    # per language the built-in form lacks, the sentences this form leaves out: they are
    # taken from the built-in form in English (`loader._with_builtin_texts`)
    in_english: Mapping[str, tuple[str, ...]] = field(default_factory=dict, compare=False)
    _index: Mapping[str, Question] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {q.id: q for q in self.questions})

    def get(self, question_id: str | None) -> Question | None:
        return self._index.get(question_id) if question_id is not None else None

    def language(self, language: object) -> str:
        """`language` if the form speaks it, else the form's default."""
        if isinstance(language, str):
            if language in self.languages:
                return language
            base = language.split("-")[0].split("_")[0].lower()
            if base in self.languages:
                return base
        return self.default_language

    def variants(self, key: str, language: str) -> tuple[str, ...]:
        entry = self.texts.get(key, {})
        return entry.get(language) or entry.get(self.default_language) or (_LAST_RESORT,)

    def say(self, key: str, language: str, variant: int = 0, **values: object) -> str:
        """Phrase `key` (e.g. "phrases.help") in `language`, placeholders filled from `values`."""
        options = self.variants(key, language)
        return fill(options[variant % len(options)], values)


class _Blank(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill(template: str, values: Mapping[str, object]) -> str:
    """str.format_map that leaves unknown placeholders alone and never raises."""
    try:
        return template.format_map(_Blank(values))
    except (ValueError, IndexError, AttributeError, KeyError):
        return template
