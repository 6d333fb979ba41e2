"""An answer longer than the bot keeps is stored cut, and the employee is told so at once."""

from __future__ import annotations

import pytest

import conversations as conv
from conversations.text import MAX_ANSWER_CHARS

from .driver import DETAILED_EN, started

# About 5,600 characters of real words: longer than is kept.
LONG_EN = "The team was great but the planning was chaotic and nobody owned it. " * 80
LONG_NL = "Het team was fijn maar de planning was chaotisch en niemand was eigenaar. " * 80

TOLD = {
    "en": f"so I've saved the first {MAX_ANSWER_CHARS} characters of yours",
    "nl": f"dus ik heb de eerste {MAX_ANSWER_CHARS} tekens van je antwoord opgeslagen",
}


@pytest.mark.parametrize(("lang", "long"), [("en", LONG_EN), ("nl", LONG_NL)])
def test_a_cut_answer_is_stored_cut_and_the_employee_is_told(lang: str, long: str) -> None:
    t = started(lang).run([("", "culture")])  # at "what did you value most"
    assert len(long) > MAX_ANSWER_CHARS
    t.send(long)
    stored = t.stored[("valued_most", 0)].text
    assert len(stored) == MAX_ANSWER_CHARS and long.startswith(stored)
    [notice, *rest] = t.last.messages
    assert notice.kind == "info" and TOLD[lang] in notice.text
    # ... in the same reply as the thanks and what comes next
    assert rest and rest[-1].question_id == "role_improvement"
    assert sum(TOLD[lang] in m.text for m in t.last.messages) == 1


def test_a_cut_answer_to_a_follow_up_is_told_too() -> None:
    t = started("en").run([("", "culture"), "ok"])  # vague: probed
    assert t.last.messages[-1].kind == "follow_up"
    t.send(LONG_EN)
    assert len(t.stored[("valued_most", 1)].text) == MAX_ANSWER_CHARS
    assert TOLD["en"] in t.last.messages[0].text


@pytest.mark.parametrize(
    "typed",
    [
        "x" * MAX_ANSWER_CHARS,  # exactly what is kept
        "word   " * 700,  # longer, but what goes is spaces: collapsed, it fits
        DETAILED_EN,
    ],
)
def test_an_answer_kept_whole_gets_no_notice(typed: str) -> None:
    t = started("en").run([("", "culture")])
    t.send(typed)
    assert ("valued_most", 0) in t.stored
    assert not any(TOLD["en"] in m.text for m in t.last.messages)


def test_a_long_message_that_is_not_stored_gets_no_notice() -> None:
    """Once the interview has ended a long message stores nothing: nothing to tell."""
    t = started("en").run([("", "culture"), "stop"])
    assert t.last.status == "stopped"
    t.send(LONG_EN)
    assert not t.last.store
    assert not any(TOLD["en"] in m.text for m in t.last.messages)


GERMAN = """
id = "de-kurz"
version = "1"
default_language = "de"
languages = ["de"]

[phrases]
help.de = "Antworte einfach in deinen eigenen Worten."

[[questions]]
id = "main_reason"
type = "text"
text.de = "Was ist der wichtigste Grund, warum du gehst?"
"""


def test_a_form_without_the_sentence_says_it_in_english() -> None:
    """Like the bot's other sentences a custom form leaves out (`questionnaire check` lists
    them): taken from the built-in form, in English for a language it does not speak."""
    form = conv.load_questionnaire(GERMAN)
    assert "phrases.answer_cut" in form.in_english["de"]
    t = started("de", form)
    t.send(LONG_EN)
    assert len(t.stored[("main_reason", 0)].text) == MAX_ANSWER_CHARS
    assert TOLD["en"] in t.last.messages[0].text
