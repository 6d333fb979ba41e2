"""Turn what the employee typed (or clicked) into an Answer, or None when it needs a re-ask."""

from __future__ import annotations

import re

from .questionnaire import Question
from .text import NUMBER_WORDS, clean, normalise
from .themes import classify
from .types import Answer

_FRACTION = re.compile(r"(\d{1,3})\s*(?:/|out of|of|van de|van|uit|op)\s*(\d{1,3})\b")
_NEGATIVE = re.compile(r"(?:^|\s)-\s*\d")
_DECIMAL = re.compile(r"\d[.,]\d")
_MIN_PREFIX = 3


def parse_answer(question: Question, text: str, choice: str | None, language: str) -> Answer | None:
    if question.type == "choice":
        return _choice(question, text, choice, language)
    if question.type == "scale":
        return _scale(question, text, choice, language)
    typed = clean(text) or clean(choice or "")
    if not typed:
        return None
    return Answer(question.id, 0, typed, None, tuple(classify(typed, language)))


def _choice(question: Question, text: str, choice: str | None, language: str) -> Answer | None:
    if choice is not None and question.option(choice) is not None:
        value = choice
    else:
        typed = text if text.strip() else (choice or "")
        found = match_choice(question, typed, language)
        if found is None:
            return None
        value, inferred = found
        if inferred:
            typed = clean(typed)
            return Answer(question.id, 0, typed, value, tuple(classify(typed, language)))
    option = question.option(value)
    label = option.label(language) if option else value
    return Answer(question.id, 0, label, value, ())


def match_choice(question: Question, typed: str, language: str) -> tuple[str, bool] | None:
    """(choice value, inferred from free text?) for what was typed, or None."""
    norm = normalise(typed)
    if not norm:
        return None
    options = question.choices
    if norm.isdigit() and len(norm) <= 3:
        index = int(norm)
        return (options[index - 1].value, False) if 1 <= index <= len(options) else None
    exact = question.match_index.get(norm)
    if exact is not None:
        return exact, False
    if len(norm) >= _MIN_PREFIX:
        prefixed = {v for k, v in question.match_index.items() if k.startswith(norm)}
        if len(prefixed) == 1:
            return prefixed.pop(), False
    padded = f" {norm} "
    contained = {v for k, v in question.match_index.items() if f" {k} " in padded}
    if len(contained) == 1:
        return contained.pop(), True
    values = {o.value for o in options}
    themed = set(classify(typed, language)) & values
    if len(themed) == 1:
        return themed.pop(), True
    return None


def _scale(question: Question, text: str, choice: str | None, language: str) -> Answer | None:
    scale = question.scale
    if scale is None:
        return None
    point = None
    if choice is not None and choice.strip().lstrip("-").isdigit() and len(choice) <= 4:
        point = int(choice)
    typed = text if text.strip() else (choice or "")
    if point is None or point not in scale.points:
        point = match_scale(question, typed)
    if point is None or point not in scale.points:
        return None
    label = scale.label(point, language)
    shown = clean(typed) if text.strip() else (f"{point} ({label})" if label else str(point))
    return Answer(question.id, 0, shown, str(point), ())


def match_scale(question: Question, typed: str) -> int | None:
    """A point from '7', '7/10', '7 out of 10', 'zeven', 'heel goed'; None when unclear."""
    scale = question.scale
    if scale is None or len(typed) > 200:
        return None
    fraction = _FRACTION.search(typed.lower())
    if fraction:
        # "5/5" on a 0-10 question is a top mark on another scale, not a 5 here: asked again.
        return int(fraction.group(1)) if int(fraction.group(2)) == scale.max else None
    norm = normalise(typed)
    labelled = question.match_index.get(norm)
    if labelled is not None:
        return int(labelled)
    if _NEGATIVE.search(typed) or _DECIMAL.search(typed):
        return None
    tokens = norm.split()
    numbers = {int(t) for t in tokens if t.isdigit() and len(t) <= 3}
    if len(numbers) == 1:
        return numbers.pop()
    if not numbers and len(tokens) <= 5:
        # "een" is also the Dutch article ("een zeven"); only read it as 1 when alone.
        words = {NUMBER_WORDS[t] for t in tokens if t in NUMBER_WORDS and t != "een"}
        if not words and tokens == ["een"]:
            words = {1}
        if len(words) == 1:
            return words.pop()
    return None
