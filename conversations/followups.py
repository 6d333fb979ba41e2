"""Choosing a follow-up probe (doorvragen) for an answer."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from .questionnaire import FollowUpRule, Question
from .text import is_decline, is_vague
from .types import Answer

MAX_FOLLOW_UPS = 2


@dataclass(frozen=True, slots=True)
class Probe:
    rule: FollowUpRule
    key: str  # "<rule key>#<phrasing index>", remembered so a phrasing is never repeated
    text: str


def _applies(rule: FollowUpRule, question: Question, answer: Answer) -> bool:
    first = answer.seq == 0
    free_text = question.type == "text" or not first
    if rule.when == "vague":
        return free_text and is_vague(answer.text)
    if rule.when == "theme":
        return free_text and bool(set(answer.themes) & set(rule.themes))
    if not first or answer.value is None:
        return False
    if rule.when == "choice":
        return answer.value in rule.values
    if rule.threshold is None or not answer.value.lstrip("-").isdigit():
        return False
    score = int(answer.value)
    if rule.when == "score_below":
        return score < rule.threshold
    return score <= rule.threshold  # score_at_most


def pick(
    question: Question,
    answer: Answer,
    language: str,
    default_language: str,
    *,
    asked: int,
    fired: Collection[str],
    used: Collection[str],
    rotation: int,
) -> Probe | None:
    """The first rule that applies and has an unused phrasing; None to move on.

    `asked` probes were already put for this answer round, `fired` holds the keys of their
    rules, `used` every phrasing key used for this question, `rotation` varies the wording.
    """
    if asked >= MAX_FOLLOW_UPS:
        return None
    if answer.seq > 0 and is_decline(answer.text):
        return None  # they said no to the probe: respect it, move on
    for rule in question.follow_ups:
        # A still-vague answer may be probed again (other wording); other rules fire once.
        if (rule.key in fired and rule.when != "vague") or not _applies(rule, question, answer):
            continue
        phrasings = rule.phrasings(language, default_language)
        for step in range(len(phrasings)):
            index = (rotation + step) % len(phrasings)
            key = f"{rule.key}#{index}"
            if key not in used:
                return Probe(rule, key, phrasings[index])
    return None


def phrasing(
    question: Question, key: str | None, language: str, default_language: str
) -> str | None:
    """The text of probe `key` again (to re-ask it), or None if the form no longer has it."""
    if not key or "#" not in key:
        return None
    rule_key, _, index = key.rpartition("#")
    for rule in question.follow_ups:
        if rule.key == rule_key and index.isdigit():
            phrasings = rule.phrasings(language, default_language)
            return phrasings[int(index) % len(phrasings)] if phrasings else None
    return None
