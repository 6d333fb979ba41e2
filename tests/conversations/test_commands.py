"""Commands typed in other words: politely, naturally, and real answers that look like them."""

from __future__ import annotations

import pytest

from conversations.commands import detect

from .driver import DETAILED_EN, started


@pytest.mark.parametrize(
    "typed,command",
    [
        ("skip please", "skip"),
        ("overslaan graag", "skip"),
        ("Sla deze vraag over.", "skip"),
        ("volgende", "skip"),
        ("Next", "skip"),
        ("pauze a.u.b.", "pause"),
        ("kan ik later verder?", "pause"),
        ("ik wil even pauzeren", "pause"),
        ("Ik wil even stoppen", "pause"),  # a break, not the end
        ("ik wil graag stoppen", "stop"),
        ("Stop, please!", "stop"),
        ("I'd like to stop", "stop"),
        ("ik wil terug alsjeblieft", "back"),
        ("help please", "help"),
    ],
)
def test_polite_and_natural_commands(typed, command):
    assert detect(typed) == command


@pytest.mark.parametrize(
    "typed",
    [
        "please delete my answers",
        "Delete my answers pls, thanks",
        "Can you delete my answers?",
        "verwijder mijn antwoorden aub",
        "ik wil mijn antwoorden verwijderen",
        "Verwijder m'n antwoorden",
        "Verwijder m’n antwoorden",
        "Kun je alsjeblieft al mijn antwoorden verwijderen?",
        "I want my data removed",
    ],
)
def test_short_requests_to_delete_are_the_delete_command(typed):
    assert detect(typed) == "delete"


@pytest.mark.parametrize(
    "typed",
    [
        "I would like you to please delete all of my answers now",
        "kun je alsjeblieft al mijn antwoorden verwijderen want ik heb me bedacht",
        "Could you please delete all of my answers from this interview?",
        "Please delete my answers because I don't want HR to read them after all",
        "Ik wil graag dat je al mijn antwoorden verwijdert, omdat ik me heb bedacht.",
        "Hi, I'd like you to erase all my responses, I changed my mind about this",
        "Wilt u alstublieft al mijn gegevens wissen, aangezien ik niet meer mee wil doen?",
    ],
)
def test_longer_requests_to_delete_are_the_delete_command(typed):
    assert len(typed.split()) > 8
    assert detect(typed) == "delete"


# Longer answers that mention deleting: an answer, never a command (the confirmation
# question would interrupt the employee).
LONG_ANSWERS_ABOUT_DELETING = [
    "my manager deleted my answers in the review tool",
    "My manager deleted all my answers in the review tool and never told me why",
    "I want to delete my answers in the HR tool more easily, it takes far too many clicks",
    "Delete my data from the old CRM before people leave, that is what the law asks for",
    "In my last project I had to delete all my data every week because the tool crashed",
    "Mijn manager heeft al mijn antwoorden in het beoordelingssysteem verwijderd zonder iets "
    "te zeggen",
    "Verwijder mijn antwoorden niet, want ik wil juist dat HR hiervan leert",
    "Please don't delete my answers, I want HR to learn from them and do better",
    "We were often asked to delete my data and everyone else's from laptops before audits, "
    "which took whole afternoons, and when I asked why, nobody could explain it to me. "
    "Please delete all my answers, said the survey tool, every single time.",
]


@pytest.mark.parametrize("typed", LONG_ANSWERS_ABOUT_DELETING)
def test_longer_answers_about_deleting_are_answers(typed):
    assert detect(typed) is None


@pytest.mark.parametrize(
    "typed",
    [
        "Ik wil graag meer verantwoordelijkheid",
        "Next time, please listen to your team",
        "stoppen met overwerken zou helpen",
        "Graag meer pauzes",
        "Please stop the endless meetings",
        "Thanks!",
        "Please don't delete my answers",
        "Verwijder mijn antwoorden niet",
        "HR should delete the data they collect",
        "HR said they would delete my answers after a while, which I found reassuring",
    ],
)
def test_answers_that_look_like_commands_are_answers(typed):
    assert detect(typed) is None


@pytest.mark.parametrize(
    "lang,typed",
    [
        ("nl", "verwijder mijn antwoorden aub"),
        ("nl", "ik wil mijn antwoorden verwijderen"),
        ("nl", "Verwijder m’n antwoorden"),
        ("en", "please delete my answers"),
        ("en", "Can you delete my answers?"),
        ("en", "I would like you to please delete all of my answers now"),
        ("nl", "kun je alsjeblieft al mijn antwoorden verwijderen want ik heb me bedacht"),
    ],
)
def test_a_polite_deletion_request_asks_to_confirm(lang, typed):
    t = started(lang).run([("", "culture")])
    t.send(typed)
    assert t.last.state["phase"] == "confirm_delete"
    assert ("valued_most", 0) not in t.stored


@pytest.mark.parametrize(
    "typed,status",
    [
        ("kan ik later verder?", "paused"),
        ("ik wil graag stoppen", "stopped"),
        ("sla deze vraag over", "in_progress"),
        ("skip please", "in_progress"),
    ],
)
def test_natural_commands_are_not_stored_as_answers(typed, status):
    t = started("nl").run([("", "culture")])
    t.send(typed)
    assert t.last.status == status
    assert ("valued_most", 0) not in t.stored


@pytest.mark.parametrize(
    "typed",
    [
        "Ik wil graag meer verantwoordelijkheid",
        "Next time, please listen to your team",
        "stoppen met overwerken zou helpen",
        *LONG_ANSWERS_ABOUT_DELETING,
    ],
)
def test_answers_with_command_words_are_stored(typed):
    t = started("en").run([("", "culture"), DETAILED_EN])  # at "what could be better"
    t.send(typed)
    assert t.stored[("role_improvement", 0)].text == typed


@pytest.mark.parametrize(
    "typed,command",
    [
        ("Can I skip this?", "skip"),
        ("can I skip this question", "skip"),
        ("I'd rather not answer this one", "skip"),
        ("Kan ik deze overslaan?", "skip"),
        ("mag ik deze vraag overslaan?", "skip"),
        ("Dat zeg ik liever niet", "skip"),
        ("What do you mean?", "help"),
        ("I don't understand the question", "help"),
        ("Wat bedoel je?", "help"),
        ("Ik snap de vraag niet", "help"),
    ],
)
def test_asking_to_skip_or_what_a_question_means_is_not_an_answer(typed, command):
    """Asked, these were stored as the answer ("Could have been better: can I skip this?")
    and the interview moved on; a question asked back gets the help and the question again."""
    assert detect(typed) == command
    lang = "nl" if typed.lower().startswith(("kan", "mag", "dat", "wat", "ik")) else "en"
    t = started(lang).run([("", "culture"), DETAILED_EN])  # at "what could be better"
    t.send(typed)
    assert ("role_improvement", 0) not in t.stored
    if command == "help":
        assert t.last.messages[-1].question_id == "role_improvement"  # asked again
    else:
        assert "role_improvement" in t.last.state["skipped"]
