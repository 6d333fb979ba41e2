"""Text normalisation shared by commands, answer parsing, vagueness and themes."""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta
from functools import lru_cache

MAX_ANSWER_CHARS = 4000  # longer answers are cut here before they are stored or analysed
# Hyphens and apostrophes inside words join them: burn-out -> burnout, collega's -> collegas.
_JOINERS = re.compile(r"(?<=[a-z])[-\u2010\u2011'\u2019`\u00b4](?=[a-z])")
_MAY_JOIN = re.compile(r"[-\u2010\u2011'\u2019`\u00b4]")
_NON_WORD = re.compile(r"[^a-z0-9]+")
_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Lowercase and strip accents: 'Carrière' -> 'carriere'."""
    lowered = text.lower()
    if lowered.isascii():
        return lowered
    decomposed = unicodedata.normalize("NFKD", lowered)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=256)  # one message is normalised by several checks in a turn
def normalise(text: str) -> str:
    """Folded words, single spaces, no punctuation: '  Sla over! ' -> 'sla over'."""
    folded = fold(text[: MAX_ANSWER_CHARS * 2])
    if _MAY_JOIN.search(folded):
        folded = _JOINERS.sub("", folded)
    return _NON_WORD.sub(" ", folded).strip()


def clean(text: str) -> str:
    """User text as stored: whitespace collapsed, trimmed, capped at MAX_ANSWER_CHARS."""
    return _SPACES.sub(" ", text[: MAX_ANSWER_CHARS * 2]).strip()[:MAX_ANSWER_CHARS]


def was_cut(text: str) -> bool:
    """Whether `clean` keeps only part of `text` (the employee is told so)."""
    return len(text) > MAX_ANSWER_CHARS and len(_SPACES.sub(" ", text).strip()) > MAX_ANSWER_CHARS


def shorten(text: str, limit: int = 100) -> str:
    """One line of at most `limit` characters, ending in an ellipsis when cut."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


# fmt: off
VAGUE_ANSWERS = frozenset(
    {
        # English
        "ok", "okay", "k", "fine", "good", "great", "nice", "alright", "all right", "yes", "no",
        "nothing", "nothing really", "not really", "nah", "none", "n a", "na", "idk",
        "i dont know", "dont know", "no idea", "not sure", "dunno", "no comment", "meh",
        "whatever", "everything", "all of it", "the usual", "various", "stuff", "things",
        "it was ok", "it was fine", "it was good", "i dont really know", "hard to say",
        "nothing in particular", "nothing special", "same", "so so", "its fine", "all good",
        # Dutch
        "prima", "goed", "oke", "prima hoor", "wel goed", "niks", "niets", "niks eigenlijk",
        "niets eigenlijk", "nee", "ja", "geen", "geen idee", "weet niet", "weet ik niet",
        "ik weet het niet", "geen commentaar", "alles", "van alles", "diverse", "dingen",
        "gaat wel", "het ging wel", "was prima", "het was prima", "het was goed",
        "moeilijk te zeggen",
        "niets bijzonders", "niks bijzonders", "zo zo", "matig", "tja", "geen mening",
    }
)
# fmt: on


# Answers that decline a probe: respected, never probed again (no arguing).
DECLINES = frozenset(
    {
        "no", "nope", "nah", "nothing", "nothing really", "not really", "none", "no thanks",
        "no comment", "nothing else", "rather not", "id rather not say", "pass",
        "nee", "niks", "niets", "nee hoor", "niet echt", "geen", "liever niet",
        "nee dank je", "nee bedankt", "niks eigenlijk", "niets eigenlijk", "geen commentaar",
        "verder niets", "verder niks",
    }
)  # fmt: skip


# What someone says on coming back to a paused interview: a greeting, not an answer. Words
# that could answer a question (yes, ok, fine) are not among them.
RETURN_WORDS = frozenset(
    {
        "hi", "hello", "hey", "hiya", "morning", "good", "afternoon", "evening", "im", "i",
        "am", "back", "here", "again", "ready", "lets", "let", "us", "go", "continue",
        "carry", "on", "resume", "sorry", "there", "so", "where", "were", "we",
        "hoi", "hallo", "hee", "goedemorgen", "goedemiddag", "goedenavond", "dag", "ik",
        "ben", "er", "weer", "terug", "hier", "klaar", "ga", "gaan", "verder", "door",
        "doorgaan", "verdergaan", "daar", "nou", "zo", "waren", "hebben", "het",
        # "sorry for the late reply" / "sorry voor mijn late reactie"
        "for", "the", "my", "late", "reply", "delay", "response", "voor", "de", "mijn",
        "laat", "reactie",
    }
)  # fmt: skip


def is_greeting(text: str) -> bool:
    """Hello / I'm back / let's continue, in either language: every word one of those (or
    no words at all, e.g. only a waving hand)."""
    words = normalise(text).split()
    return len(words) <= 6 and all(word in RETURN_WORDS for word in words)


# The words that make a greeting unmistakable whenever it comes; alone, "good", "here" or
# "so so" could answer. "sorry" among greeting words is the apology of someone coming back
# ("sorry for the late reply", "sorry voor mijn late reactie"), never an answer.
HELLO_WORDS = frozenset(
    {
        "hi", "hello", "hey", "hiya", "morning", "afternoon", "evening", "back", "again",
        "sorry", "hoi", "hallo", "hee", "goedemorgen", "goedemiddag", "goedenavond", "weer",
    }
)  # fmt: skip
# Words that say to go on: they greet only after a silence (`SILENCE`, or a pause). Alone
# they can also answer a question ("what should we keep doing?" "continue"), as they are
# taken while the conversation is going on.
RESUME_WORDS = frozenset({"continue", "resume", "on", "doorgaan", "verder", "verdergaan"})
# How long the interview must have been quiet (since the employee's previous message) for a
# bare "continue" / "doorgaan" to be someone coming back rather than an answer.
SILENCE = timedelta(minutes=30)


def is_hello(text: str, *, after_silence: bool = False) -> bool:
    """A greeting that never answers a question: nothing but greeting words, at most six
    (`is_greeting`), among them one that greets whenever it comes ("hi", "I'm back", "hallo,
    ik ben er weer", "sorry for the late reply"), or, after a silence, one that says to go
    on ("continue", "carry on", "doorgaan", "we gaan verder"). Any other word makes the message an
    answer ("continue the remote-work policy", "doorgaan met thuiswerken"), and so does a
    bare "continue" while the conversation is going on."""
    if not is_greeting(text):
        return False
    words = set(normalise(text).split())
    if not HELLO_WORDS.isdisjoint(words):
        return True
    return after_silence and not RESUME_WORDS.isdisjoint(words)


def is_decline(text: str) -> bool:
    """A short no / nothing / rather not, in either language."""
    return normalise(text) in DECLINES


def is_vague(text: str) -> bool:
    """Very short or stock answers; twelve or more real words are never vague."""
    norm = normalise(text)
    if not norm or norm in VAGUE_ANSWERS:
        return True
    return len(norm.split()) <= 3


# fmt: off
NUMBER_WORDS: dict[str, int] = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10,
    "nul": 0, "een": 1, "twee": 2, "drie": 3, "vier": 4, "vijf": 5, "zes": 6, "zeven": 7,
    "acht": 8, "negen": 9, "tien": 10,
}
# fmt: on
