"""The questionnaire loader: the built-in form, and one test per kind of problem."""

from __future__ import annotations

from pathlib import Path

import pytest

import conversations as conv
from conversations.loader import TEXT_KEYS

from .driver import question

MINIMAL = """
id = "mini"
version = "1"
default_language = "en"
languages = ["en", "nl"]

[[questions]]
id = "why"
type = "text"
text = { en = "Why?", nl = "Waarom?" }

[[questions]]
id = "score"
type = "scale"
text = { en = "Score?", nl = "Score?" }
[questions.scale]
min = 1
max = 5

[[questions]]
id = "pick"
type = "choice"
text = { en = "Pick", nl = "Kies" }
[[questions.choices]]
value = "a"
label = { en = "A", nl = "A" }
[[questions.choices]]
value = "b"
label = { en = "B", nl = "B" }
"""


def problems(text: str) -> list[str]:
    with pytest.raises(conv.QuestionnaireError) as caught:
        conv.load_questionnaire(text)
    return caught.value.problems


def test_builtin_loads_with_both_languages_complete():
    q = conv.load_builtin()
    assert q is conv.load_builtin()  # cached
    assert q.languages == ("en", "nl")
    assert q.id and q.version
    for section, keys in TEXT_KEYS.items():
        for key in keys:
            for lang in q.languages:
                assert q.texts[f"{section}.{key}"][lang], (section, key, lang)
    for item in q.questions:
        for lang in q.languages:
            assert item.text[lang] and item.short[lang]
            for option in item.choices:
                assert option.labels[lang]
            for rule in item.follow_ups:
                assert rule.texts[lang]


def test_builtin_main_reason_is_the_taxonomy():
    q = conv.load_builtin()
    assert tuple(o.value for o in question(q, "main_reason").choices) == conv.THEMES
    assert q.get("missing") is None
    labels = {o.value: (o.labels["en"], o.labels["nl"]) for o in question(q, "main_reason").choices}
    assert labels["location"] == (
        "Location, commute or remote work",
        "Locatie, reistijd of thuiswerken",
    )


def test_minimal_form_loads_and_borrows_builtin_phrases():
    q = conv.load_questionnaire(MINIMAL)
    assert [x.id for x in q.questions] == ["why", "score", "pick"]
    assert q.say("phrases.help", "nl").startswith("Je kunt antwoorden")
    assert conv.check_questionnaire(MINIMAL, "mini.toml") == []


def test_the_help_for_a_numbered_list_is_a_forms_own_help_when_it_words_one():
    """A form that words `help` (for its own people, perhaps in its own language) but not
    `help_typed` shows its own help in the terminal too, not the built-in one; a form with
    neither borrows both."""
    own = MINIMAL.replace(
        '[[questions]]\nid = "why"',
        '[phrases]\nhelp = { en = "Ask HR.", nl = "Vraag HR." }\n\n[[questions]]\nid = "why"',
        1,
    )
    q = conv.load_questionnaire(own)
    assert q.say("phrases.help_typed", "en") == "Ask HR."
    assert q.say("phrases.help_typed", "nl") == "Vraag HR."
    assert q.in_english == {}
    borrowed = conv.load_questionnaire(MINIMAL)
    assert borrowed.say("phrases.help_typed", "nl").startswith(
        "Je kunt antwoorden door je antwoord te typen, of het nummer van een optie"
    )


def test_load_from_path(tmp_path: Path):
    path = tmp_path / "form.toml"
    path.write_text(MINIMAL, encoding="utf-8")
    assert conv.load_questionnaire(path).id == "mini"
    assert conv.load_questionnaire(str(path)).id == "mini"
    missing = problems(str(tmp_path / "nope.toml"))
    assert "cannot read" in missing[0]


def test_invalid_toml():
    assert "invalid TOML" in problems("id = ")[0]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('version = "1"', "version = 1", "version: required, a string"),
        ('default_language = "en"', 'default_language = "de"', "default_language: must be one of"),
        (
            'languages = ["en", "nl"]',
            'languages = ["en", "en"]',
            "languages[1]: duplicate language",
        ),
        ('id = "mini"', 'id = "mini"\ncolour = "blue"', "(top level): colour: unknown key"),
        ('id = "why"', 'id = "Why Not"', "questions[0]: id: required, lowercase"),
        ('id = "score"', 'id = "why"', "questions[1] (id 'why'): id: duplicate question id"),
        # what storage holds: a question id is a theme's source (32), come_back's value 16
        ('id = "why"', f'id = "{"w" * 33}"', "questions[0]: id: at most 32 characters, got 33"),
        (
            'value = "b"',
            f'value = "{"b" * 65}"',
            f"questions[2] (id 'pick'): choices: value '{'b' * 65}' longer than 64 characters",
        ),
        (
            'id = "pick"\ntype = "choice"\ntext = { en = "Pick", nl = "Kies" }\n[[questions.choices]]\nvalue = "a"',
            'id = "come_back"\ntype = "choice"\ntext = { en = "Pick", nl = "Kies" }\n'
            '[[questions.choices]]\nvalue = "only_with_a_new_manager"',
            "questions[2] (id 'come_back'): choices: value 'only_with_a_new_manager' longer than 16",
        ),
        ('type = "text"', 'type = "essay"', "questions[0] (id 'why'): type: must be one of"),
        (
            'text = { en = "Why?", nl = "Waarom?" }',
            'text = { en = "Why?" }',
            "questions[0] (id 'why'): text: missing text for language 'nl'",
        ),
        (
            'text = { en = "Why?", nl = "Waarom?" }',
            'text = { en = "Why?", nl = "Waarom?", de = "Warum?" }',
            "questions[0] (id 'why'): text.de: language 'de' is not in languages",
        ),
        ("max = 5", "max = 1", "questions[1] (id 'score'): scale.min must be < scale.max"),
        ("max = 5", "max = 20", "questions[1] (id 'score'): scale: at most 11 points"),
        ("min = 1", 'min = "one"', "questions[1] (id 'score'): scale.min: must be an integer"),
        (
            'value = "b"',
            'value = "a"',
            "questions[2] (id 'pick'): choices[1].value: duplicate value 'a'",
        ),
        (
            'label = { en = "B", nl = "B" }',
            'label = { en = "A", nl = "B" }',
            "questions[2] (id 'pick'): choices[1].label.en: same label as choice 'a'",
        ),
        (
            'label = { en = "B", nl = "B" }',
            'label = { en = "B", nl = "B" }\ncolour = 1',
            "questions[2] (id 'pick'): choices[1].colour: unknown key",
        ),
        (
            'text = { en = "Why?", nl = "Waarom?" }',
            'text = { en = "Why {0?", nl = "Waarom?" }',
            "questions[0] (id 'why'): text.en: bad placeholder",
        ),
    ],
)
def test_problem_names_its_location(old, new, expected):
    assert old in MINIMAL
    found = problems(MINIMAL.replace(old, new, 1))
    assert any(p.startswith(expected) for p in found), found


RULES = {
    "unknown when": (
        "why",
        'when = "sometimes"\ntext = { en = "?", nl = "?" }',
        "questions[0] (id 'why'): follow_ups[0].when: must be one of",
    ),
    "choice on text": (
        "why",
        'when = "choice"\nvalues = ["a"]\ntext = { en = "?", nl = "?" }',
        "questions[0] (id 'why'): follow_ups[0].when: 'choice' only applies to choice questions",
    ),
    "unknown choice value": (
        "pick",
        'when = "choice"\nvalues = ["z"]\ntext = { en = "?", nl = "?" }',
        "questions[2] (id 'pick'): follow_ups[0].values: unknown choice value 'z'",
    ),
    "missing threshold": (
        "score",
        'when = "score_below"\ntext = { en = "?", nl = "?" }',
        "questions[1] (id 'score'): follow_ups[0].threshold: required when 'score_below'",
    ),
    "threshold out of range": (
        "score",
        'when = "score_at_most"\nthreshold = 9\ntext = { en = "?", nl = "?" }',
        "questions[1] (id 'score'): follow_ups[0].threshold: must be from 1 to 5",
    ),
    "param not used": (
        "why",
        'when = "vague"\nthreshold = 2\ntext = { en = "?", nl = "?" }',
        "questions[0] (id 'why'): follow_ups[0].threshold: not used when 'vague'",
    ),
    "unknown theme": (
        "why",
        'when = "theme"\nthemes = ["weather"]\ntext = { en = "?", nl = "?" }',
        "questions[0] (id 'why'): follow_ups[0].themes: unknown theme 'weather'",
    ),
    "missing probe text": (
        "why",
        'when = "vague"\ntext = { en = ["a", "b"] }',
        "questions[0] (id 'why'): follow_ups[0].text: missing text for language 'nl'",
    ),
}


@pytest.mark.parametrize("name", list(RULES))
def test_follow_up_problem_names_its_location(name):
    qid, body, expected = RULES[name]
    marker = f'id = "{qid}"'
    # Append the rule right after the question's own table (before the next [[questions]]).
    head, _, tail = MINIMAL.partition(marker)
    nxt = tail.find("[[questions]]")
    nxt = len(tail) if nxt < 0 else nxt
    text = head + marker + tail[:nxt] + f"\n[[questions.follow_ups]]\n{body}\n" + tail[nxt:]
    found = problems(text)
    assert any(p.startswith(expected) for p in found), found


def test_every_problem_is_collected():
    broken = (
        MINIMAL.replace('version = "1"', "version = 1")
        .replace("max = 5", "max = 1")
        .replace('id = "score"', 'id = "why"')
        .replace('text = { en = "Kies"', 'text = { en = "Pick"')
        .replace('label = { en = "B", nl = "B" }', 'label = { en = "B" }')
    )
    found = problems(broken)
    assert len(found) >= 4, found
    checked = conv.check_questionnaire(broken, "forms/x.toml")
    assert all(p.startswith("forms/x.toml: ") for p in checked)


def test_unknown_phrase_key_and_missing_language():
    text = MINIMAL + '\n[phrases]\nhelp = { en = "Help!" }\nhelpp = { en = "x", nl = "y" }\n'
    # TOML tables after [[questions]] arrays are still top-level tables.
    found = problems(text)
    assert any(p.startswith("phrases: help: missing text for language 'nl'") for p in found)
    assert any(p.startswith("phrases: helpp: unknown key") for p in found)


def test_no_questions():
    found = problems('id = "x"\nversion = "1"\ndefault_language = "en"\nlanguages = ["en"]\n')
    assert any(p.startswith("questions: required") for p in found)


def test_ids_and_values_as_long_as_storage_holds_load():
    form = MINIMAL.replace('id = "why"', f'id = "{"w" * 32}"', 1)
    form = form.replace('id = "pick"', 'id = "come_back"', 1).replace(
        'value = "b"', 'value = "b" * 16', 1
    )
    form = form.replace('value = "b" * 16', f'value = "{"b" * 16}"', 1)
    loaded = conv.load_questionnaire(form)
    assert [q.id for q in loaded.questions][::2] == ["w" * 32, "come_back"]


def test_the_limits_are_what_storage_holds():
    """The checker (`conversations` imports nothing of `bot`) repeats the column lengths:
    a column changed without the checker fails here."""
    from bot.models import AnswerRow, FactTheme, InterviewFact
    from conversations import schema

    def length(column: object) -> int:
        return column.property.columns[0].type.length  # type: ignore[attr-defined]

    assert length(FactTheme.source) == schema.MAX_QUESTION_ID
    assert length(AnswerRow.question_id) >= schema.MAX_QUESTION_ID
    assert length(InterviewFact.main_reason) == schema.MAX_CHOICE_VALUE
    assert length(AnswerRow.value) >= schema.MAX_CHOICE_VALUE
    assert {"come_back": length(InterviewFact.come_back)} == schema.MAX_VALUE_OF
