"""Whole interviews and the command flows, driven like a chat transcript."""

from __future__ import annotations

from datetime import timedelta

import pytest

import conversations as conv
from conversations.text import SILENCE

from .driver import DETAILED_EN, DETAILED_NL, Transcript, invited, question, started

QUESTION_IDS = [
    "main_reason",
    "valued_most",
    "role_improvement",
    "manager_relationship",
    "recommend",
    "come_back",
    "suggestions",
    "anything_else",
]


def test_invite_explains_purpose_privacy_and_voluntary():
    turn = conv.invite(conv.load_builtin(), "en", min_group=7)
    (message,) = turn.messages
    assert message.kind == "intro"
    assert "at least 7 people" in message.text
    assert "voluntary" in message.text
    assert [c.value for c in message.choices] == ["start", "later", "decline"]
    assert message.to_json() == {
        "kind": "intro",
        "text": message.text,
        "choices": ["Start", "Later", "No thanks"],
    }
    assert turn.status == "invited"


def test_start_sends_intro_and_first_question():
    turn = conv.start(conv.load_builtin(), "nl", min_group=5)
    assert [m.kind for m in turn.messages] == ["intro", "question"]
    assert "minstens 5 mensen" in turn.messages[0].text
    assert turn.messages[1].question_id == "main_reason"
    assert turn.messages[1].choices[0].label == "Doorgroeimogelijkheden"
    assert turn.status == "in_progress"


def test_unknown_language_uses_default():
    turn = conv.start(conv.load_builtin(), "fr")
    assert turn.state["lang"] == "en"
    assert "main reason" in turn.messages[-1].text


def test_whole_interview_en():
    t = invited("en").run(
        [
            ("", "start"),
            ("", "manager"),  # choice probe
            "ok",  # vague answer to the probe: second probe
            "He was never available for our one-on-ones",  # 3rd would exceed the max
        ]
    )
    assert t.seqs("main_reason") == [0, 1, 2]
    assert t.last.messages[-1].question_id == "valued_most"
    t.run(["fine", "idk", "no idea"])  # two probes at most, then move on
    assert t.seqs("valued_most") == [0, 1, 2]
    assert t.last.messages[-1].question_id == "role_improvement"
    t.run([DETAILED_EN])  # detailed: no probe
    assert t.seqs("role_improvement") == [0]
    t.run(["1", "We disagreed about priorities all the time and it was hard to talk"])
    t.run(["10"])  # high eNPS: no probe
    t.run(["yes", DETAILED_EN, "nee"])
    assert t.last.messages[-1].kind == "summary"
    summary = t.last.messages[-1].text
    assert summary.startswith("Thanks") or "Here's what I heard:" in summary
    assert "Main reason: My manager — He was never available" in summary
    assert "Relationship with manager: 1/5 (Very poor)" in summary
    assert "Would recommend us: 10/10" in summary
    assert "Would come back: Yes" in summary
    assert summary.rstrip().endswith("Is this right?")
    assert all(len(line) <= 100 for line in summary.splitlines())
    assert [c.label for c in t.last.messages[-1].choices] == [
        "Yes, that's right",
        "I want to change something",
    ]
    t.send(("", "confirm"))
    assert t.last.status == "completed"
    assert t.kinds() == ["outro"]
    assert {qid for qid, _ in t.stored} == set(QUESTION_IDS)


def test_whole_interview_nl():
    t = invited("nl").run(["starten"])
    assert "belangrijkste reden" in t.text()
    t.run(["werkdruk", "Ik werkte elke week over en had geen tijd meer voor mijn gezin"])
    assert t.value("main_reason") == "workload"
    assert t.last.messages[-1].question_id == "valued_most"
    t.run([DETAILED_NL, "weet niet", "geen idee", "prima"])
    assert t.seqs("role_improvement") == [0, 1, 2]
    t.run(["2", DETAILED_NL, "zeven", "ja", "niks", "Meer aandacht voor inwerken", "nee"])
    assert t.value("recommend") == "7"
    summary = t.last.messages[-1]
    assert summary.kind == "summary"
    assert "Dit is wat ik van je heb gehoord:" in summary.text
    assert "Belangrijkste reden: Werkdruk en balans werk-privé" in summary.text
    assert "Zou terugkomen: Ja" in summary.text
    assert "Klopt dit?" in summary.text
    t.send("Ja, klopt")
    assert t.last.status == "completed"
    assert "Heel erg bedankt" in t.text()


def test_exact_question_phrases():
    q = conv.load_builtin()
    assert question(q, "role_improvement").text["en"] == "What could have been better in your role?"
    assert question(q, "role_improvement").text["nl"] == "Wat had beter gekund in je rol?"
    assert question(q, "suggestions").text["en"] == "Do you have suggestions for improvement?"
    assert question(q, "suggestions").text["nl"] == "Heb je suggesties voor verbetering?"
    assert [x.id for x in q.questions] == QUESTION_IDS


def test_probe_wording_never_repeats_for_a_question():
    t = started("en").run([("", "career_growth"), "good", "fine"])
    probes = [m.text for turn in t.turns for m in turn.messages if m.kind == "follow_up"]
    assert len(probes) == 2
    assert probes[0].split(". ", 1)[-1] != probes[1].split(". ", 1)[-1]


def test_acknowledgements_vary_and_stay_neutral():
    t = started("en").run([("", "career_growth"), DETAILED_EN, DETAILED_EN, "4", "9"])
    acks = {turn.messages[-1].text.split(".")[0] for turn in t.turns[1:]}
    assert len(acks) >= 3


def test_skip_records_skipped_and_summary_marks_it():
    t = started("en").run(["skip"])
    assert t.stored == {}
    assert t.last.state["skipped"] == ["main_reason"]
    t.run([DETAILED_EN] * 2 + ["skip", "skip", "skip", "skip", "skip"])
    summary = t.text()
    assert "Main reason: (skipped)" in summary
    assert "Anything else: (skipped)" in summary


def test_skip_a_follow_up_keeps_the_answer():
    t = started("en").run([("", "manager"), "overslaan"])
    assert t.seqs("main_reason") == [0]
    assert t.kinds() == ["info", "question"]


def test_back_reopens_previous_and_discards_on_reanswer():
    t = started("en").run([("", "pay_benefits"), "back"])
    assert t.last.messages[-1].question_id == "main_reason"
    assert t.last.discard == ()  # nothing removed until the new answer arrives
    assert t.value("main_reason") == "pay_benefits"
    turn = t.send("3")
    assert turn.discard == ("main_reason",)
    assert t.value("main_reason") == "manager"
    t.run(["He was fair but hardly ever there when the team needed decisions"])
    # ...and continues with the next unanswered question
    assert t.last.messages[-1].question_id == "valued_most"


def test_back_twice_walks_history():
    t = started("en").run([("", "culture"), DETAILED_EN, "vorige", "terug"])
    assert t.last.messages[-1].question_id == "main_reason"


def test_back_during_follow_up_reopens_the_same_question():
    t = started("en").run([("", "other"), "go back"])
    assert t.last.messages[-1].question_id == "main_reason"
    turn = t.send("1")
    assert turn.discard == ("main_reason",)
    assert t.seqs("main_reason") == [0]


def test_skip_after_answer_discards():
    t = started("en").run([("", "culture"), "back"])
    turn = t.send("skip")
    assert turn.discard == ("main_reason",)
    assert t.stored == {}


def test_pause_and_resume():
    t = started("en").run([("", "culture"), "pauze"])
    assert t.last.status == "paused"
    assert t.last.state["paused"] is True
    t.send("Hi, I'm back")
    assert t.last.status == "in_progress"
    assert t.kinds() == ["info", "question"]
    assert "Welcome back" in t.last.messages[0].text
    assert t.last.messages[1].question_id == "valued_most"
    assert t.stored.keys() == {("main_reason", 0)}  # the greeting was not an answer


def test_paused_then_stop():
    t = started("en").run(["pause", "stop"])
    assert t.last.status == "stopped"


def test_resume_function():
    t = started("en").run([("", "culture"), "pause"])
    turn = conv.resume(t.q, t.last.state)
    assert [m.kind for m in turn.messages] == ["info", "question"]
    assert turn.status == "in_progress"


def test_stop_keeps_answers_and_mentions_delete():
    t = started("en").run([("", "culture"), "stop"])
    assert t.last.status == "stopped"
    assert "delete my answers" in t.text()
    assert t.stored
    t.send("hello?")
    assert t.last.status == "stopped"
    assert t.kinds() == ["info"]


def test_delete_confirmed():
    t = started("en").run([("", "culture"), DETAILED_EN, "delete my answers"])
    assert [c.value for c in t.last.messages[0].choices] == ["yes", "no"]
    turn = t.send("yes")
    assert turn.erase_all
    assert turn.status == "deleted"
    assert t.kinds() == ["outro"]
    assert t.stored == {}
    assert turn.state["answers"] == {}


def test_delete_cancelled_continues():
    t = started("nl").run([("", "culture"), "verwijder mijn antwoorden", "nee"])
    assert not t.last.erase_all
    assert t.last.status == "in_progress"
    assert t.kinds() == ["info", "question"]
    assert t.last.messages[-1].question_id == "valued_most"


def test_delete_after_stop():
    t = started("en").run([("", "culture"), "stop", "delete my answers", ("", "yes")])
    assert t.last.erase_all
    assert t.last.status == "deleted"


def test_delete_unclear_reply_asks_again():
    t = started("en").run(["delete", "banana"])
    assert t.kinds() == ["info"]
    assert t.last.state["phase"] == "confirm_delete"


def _to_summary(lang="en"):
    return started(lang).run(
        [("", "culture"), DETAILED_EN, DETAILED_EN, "4", "9", "yes", DETAILED_EN, "no"]
    )


def test_correction_by_number_shows_summary_again():
    t = _to_summary()
    assert t.last.messages[-1].kind == "summary"
    t.send("4")  # relationship with manager
    assert t.last.messages[-1].question_id == "manager_relationship"
    turn = t.send("5")
    assert turn.discard == ("manager_relationship",)
    assert t.last.messages[-1].kind == "summary"
    assert "Relationship with manager: 5/5 (Very good)" in t.text()
    assert t.last.status == "in_progress"  # only a confirmed interview is completed
    t.send("yes")
    assert t.last.status == "completed"


def test_change_without_naming_asks_which():
    t = _to_summary()
    t.send("I want to change something")
    message = t.last.messages[-1]
    assert message.kind == "summary"
    assert [c.value for c in message.choices][:2] == ["main_reason", "valued_most"]
    t.send(("", "come_back"))
    assert t.last.messages[-1].question_id == "come_back"
    t.send("no")  # probe on "no"
    t.send("Only if the team changes")
    assert t.last.messages[-1].kind == "summary"
    assert "Would come back: No — Only if the team changes" in t.text()


def test_change_by_short_label_dutch():
    t = _to_summary("nl")
    t.send("suggesties aanpassen")
    assert t.last.messages[-1].question_id == "suggestions"


@pytest.mark.parametrize(
    ("lang", "typed"),
    [
        ("nl", "Ik wil iets aanpassen"),  # the button's own label, typed
        ("nl", "iets aanpassen"),
        ("nl", "iets wijzigen"),
        ("nl", "Ik wil graag iets veranderen"),
        ("en", "I want to change something"),
        ("en", "I'd like to change something"),
    ],
)
def test_asking_to_change_something_lists_the_answers(lang, typed):
    # "iets" (something) is a word of the Dutch short label "Verder nog iets": asking to
    # change something reopened that last question instead of asking which answer
    t = _to_summary(lang)
    t.send(typed)
    message = t.last.messages[-1]
    assert message.kind == "summary"
    assert message.question_id is None
    assert [c.value for c in message.choices][-1] == "anything_else"
    assert t.last.state["phase"] == "correcting"


def test_the_last_question_can_still_be_named_dutch():
    t = _to_summary("nl")
    t.send("verder nog iets aanpassen")
    assert t.last.messages[-1].question_id == "anything_else"


OK = [("nl", "Oké"), ("nl", "oke"), ("nl", "Okee"), ("nl", "OK"), ("nl", "Ja hoor"),
      ("nl", "oké hoor"), ("en", "ok"), ("en", "Okay!"), ("en", "okey")]  # fmt: skip


@pytest.mark.parametrize("lang,typed", [*OK, ("en", "Yes, let's go"), ("en", "let's do it")])
def test_ok_starts_the_interview(lang, typed):
    t = invited(lang).run([typed])
    assert t.last.status == "in_progress"
    assert t.last.messages[-1].question_id == "main_reason"


@pytest.mark.parametrize("lang,typed", OK)
def test_ok_confirms_the_summary(lang, typed):
    t = _to_summary(lang)
    assert t.last.messages[-1].kind == "summary"
    t.send(typed)
    assert t.last.status == "completed"


def test_declined_can_change_mind():
    t = invited("en").run(["no thanks", "start"])
    assert t.last.status == "in_progress"


@pytest.mark.parametrize(
    ("language", "typed"),
    [
        ("en", "Start"),
        ("en", "let's go"),
        ("en", "begin"),
        ("nl", "Starten"),
        ("nl", "toch starten"),
    ],
)
def test_declined_starts_on_a_word_that_names_starting(language, typed):
    t = invited(language).run(["no thanks", typed])
    assert t.last.status == "in_progress"
    assert t.kinds() == ["intro", "question"]


@pytest.mark.parametrize(
    ("language", "typed"),
    [("en", "ok"), ("en", "yes"), ("en", "sure"), ("nl", "oké"), ("nl", "ja"), ("nl", "prima")],
)
def test_an_ok_after_declining_does_not_start(language, typed):
    """ "ok" after the goodbye acknowledges it: only starting words (or Start) take it back."""
    t = invited(language).run(["no thanks", typed])
    assert t.last.status == "declined"
    assert t.kinds() == ["info"]


def test_help_is_bilingual_and_reasks():
    t = started("nl").run(["hulp"])
    assert "overslaan" in t.last.messages[0].text
    assert t.last.messages[1].question_id == "main_reason"


@pytest.mark.parametrize(
    ("language", "typed", "with_buttons", "numbered"),
    [
        ("en", "help", "with the buttons", "the number of an option in the list"),
        ("nl", "hulp", "met de knoppen", "het nummer van een optie in de lijst"),
    ],
)
def test_help_without_buttons_tells_to_type_a_number(language, typed, with_buttons, numbered):
    """The terminal lists choices numbered and has no buttons: its help (`buttons=False`)
    says to type the answer or a number; a channel with buttons keeps its help."""
    q = conv.load_builtin()
    state = started(language).last.state
    [listed, asked] = conv.advance(q, state, typed, buttons=False).messages
    assert numbered in listed.text and with_buttons not in listed.text
    assert asked.question_id == "main_reason"
    [shown, _] = conv.advance(q, state, typed).messages
    assert with_buttons in shown.text and numbered not in shown.text
    invite = conv.invite(q, language).state  # help at the invite
    assert numbered in conv.advance(q, invite, typed, buttons=False).messages[0].text


def test_state_from_newer_form_without_a_question():
    """State written by a form version with an extra question continues by id."""
    old = conv.load_builtin()
    t = started("en", old).run([("", "culture")])
    state = dict(t.last.state)
    state["question"] = "retired_question"  # asked in a version that had it
    state["done"] = ["main_reason", "retired_question_before"]
    turn = conv.advance(old, state, "whatever I type")
    assert turn.messages[-1].question_id == "valued_most"
    assert turn.store == ()


@pytest.mark.parametrize("language", ["en", "nl"])
def test_an_answer_typed_after_a_pause_is_taken(language: str) -> None:
    """The pause message says to just send a message to go on: one that answers the question
    asked was greeted with "welcome back" and thrown away."""
    t = started(language).run([("", "culture"), "pause" if language == "en" else "pauze"])
    assert t.last.status == "paused"
    t.send("I really valued the people I worked with and the freedom to plan my own week")
    assert t.last.status == "in_progress"
    assert t.stored.keys() == {("main_reason", 0), ("valued_most", 0)}
    assert not any("Welcome back" in m.text or "Welkom terug" in m.text for m in t.last.messages)
    assert t.last.messages[-1].question_id == "role_improvement"


@pytest.mark.parametrize(
    "greeting", ["Hi, I'm back", "hoi", "Ik ben er weer!", "👋", "hello again"]
)
def test_a_greeting_after_a_pause_is_not_an_answer(greeting: str) -> None:
    t = started("en").run([("", "culture"), "pause"])
    t.send(greeting)
    assert "Welcome back" in t.last.messages[0].text
    assert t.last.messages[-1].question_id == "valued_most"
    assert t.stored.keys() == {("main_reason", 0)}


@pytest.mark.parametrize(
    ("language", "greeting"),
    [
        ("en", "hi"),
        ("en", "Hi, sorry for the late reply!"),
        ("en", "Sorry for the late reply"),
        ("en", "Hello, I'm back"),
        ("nl", "Hoi"),
        ("nl", "Hallo, sorry voor mijn late reactie"),
        ("nl", "Sorry voor mijn late reactie"),
        ("nl", "Goedemorgen, ik ben er weer"),
    ],
)
def test_a_hello_after_a_silence_is_not_an_answer(language: str, greeting: str) -> None:
    """Quiet for days without typing "pause" (the idle reminder says to "just send me a
    message"): the hello was stored as the answer to the open question and the next one
    asked, a question the employee never answered."""
    t = started(language).run([("", "culture")])
    t.send(greeting)
    assert t.kinds() == ["info", "question"]
    assert t.last.messages[0].text.startswith(("Welcome back", "Welkom terug"))
    assert t.last.messages[1].question_id == "valued_most"
    assert t.stored.keys() == {("main_reason", 0)}
    t.send("hey" if language == "en" else "hoi")  # during a follow-up too
    assert t.stored.keys() == {("main_reason", 0)}
    t.send(DETAILED_EN if language == "en" else DETAILED_NL)
    assert ("valued_most", 0) in t.stored


def test_a_hello_during_a_follow_up_is_not_an_answer() -> None:
    t = started("en").run([("", "manager")])  # the choice probes
    assert t.kinds() == ["follow_up"]
    t.send("hello again")
    assert t.kinds() == ["info", "follow_up"] and "Welcome back" in t.last.messages[0].text
    assert t.stored.keys() == {("main_reason", 0)}


@pytest.mark.parametrize("answer", ["good", "so so", "here", "ok"])
def test_short_answers_that_could_be_meant_are_still_answers(answer: str) -> None:
    t = started("en").run([("", "culture")])
    t.send(answer)
    assert ("valued_most", 0) in t.stored
    assert not any("Welcome back" in m.text for m in t.last.messages)


DAYS = timedelta(days=3)
CONTINUE = [
    ("en", "continue"),
    ("en", "Let's continue"),
    ("en", "carry on"),
    ("en", "resume"),
    ("nl", "doorgaan"),
    ("nl", "Verder"),
    ("nl", "we gaan verder"),
    ("nl", "verdergaan"),
]


def welcomed(t: Transcript) -> bool:
    return any(m.text.startswith(("Welcome back", "Welkom terug")) for m in t.last.messages)


@pytest.mark.parametrize(("language", "typed"), CONTINUE)
@pytest.mark.parametrize("quiet_for", [None, timedelta(seconds=20), SILENCE - timedelta(seconds=1)])
def test_a_bare_continue_in_a_conversation_going_on_is_an_answer(
    language: str, typed: str, quiet_for: timedelta | None
) -> None:
    """ "What would you keep?" "continue": the bot said welcome back and asked the question
    again, as for someone back after days, and never stored what they answered. Within
    `SILENCE` of the employee's previous message it is the answer."""
    t = started(language).run([("", "culture")])
    t.send(typed, quiet_for=quiet_for)
    assert not welcomed(t)
    assert t.stored[("valued_most", 0)].text == typed
    assert t.kinds() == ["follow_up"]  # a short answer is probed, as any other
    t.send(typed, quiet_for=quiet_for)  # and to the follow-up
    assert ("valued_most", 1) in t.stored


@pytest.mark.parametrize(("language", "typed"), CONTINUE)
@pytest.mark.parametrize("quiet_for", [SILENCE, DAYS])
def test_a_bare_continue_after_a_silence_is_not_an_answer(
    language: str, typed: str, quiet_for: timedelta
) -> None:
    """Back after a while ("just send me a message", says the idle reminder), "continue"
    or "doorgaan" says to go on: welcomed, the same question asked again, nothing stored;
    during a follow-up too."""
    t = started(language).run([("", "culture")])
    t.send(typed, quiet_for=quiet_for)
    assert welcomed(t) and t.kinds() == ["info", "question"]
    assert t.last.messages[1].question_id == "valued_most"
    assert t.stored.keys() == {("main_reason", 0)}
    t.send("ok")  # vague: probed
    assert t.kinds() == ["follow_up"]
    t.send(typed, quiet_for=quiet_for)
    assert welcomed(t) and t.kinds() == ["info", "follow_up"]
    assert t.stored.keys() == {("main_reason", 0), ("valued_most", 0)}


@pytest.mark.parametrize(
    ("language", "typed"),
    [
        ("en", "continue the remote-work policy"),
        ("en", "Continue with the Friday demos"),
        ("nl", "doorgaan met thuiswerken"),
        ("nl", "verder met de vrijdagdemo's"),
    ],
)
def test_continue_with_more_words_is_an_answer_however_long_it_was_quiet(
    language: str, typed: str
) -> None:
    t = started(language).run([("", "culture")])
    t.send(typed, quiet_for=DAYS)
    assert not welcomed(t)
    assert t.stored[("valued_most", 0)].text == typed


@pytest.mark.parametrize("quiet_for", [None, timedelta(seconds=20)])
@pytest.mark.parametrize(
    ("language", "greeting"),
    [("en", "Hi, let's continue"), ("en", "sorry, continue"), ("nl", "Hoi, doorgaan")],
)
def test_a_hello_is_greeted_whenever_it_comes(
    language: str, greeting: str, quiet_for: timedelta | None
) -> None:
    """ "hi" or "sorry" never answers a question, also with "continue" beside it."""
    t = started(language).run([("", "culture")])
    t.send(greeting, quiet_for=quiet_for)
    assert welcomed(t)
    assert t.stored.keys() == {("main_reason", 0)}
