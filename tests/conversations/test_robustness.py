"""Garbage never raises; state is plain JSON and round-trips with identical behaviour."""

from __future__ import annotations

import json
import random
import string

import conversations as conv

from .driver import DETAILED_EN, Input

ALPHABET = string.printable + "éëïöüçñß€ — “”‘’🙂👍🔥漢字\u200b\u202e\x00"
WORDS = [
    "skip",
    "back",
    "terug",
    "pause",
    "stop",
    "help",
    "?",
    "delete my answers",
    "yes",
    "ja",
    "no",
    "nee",
    "3",
    "7/10",
    "-1",
    "99999999999999999999999",
    "1e9",
    "change",
    "4",
    "ok",
    "start",
    "later",
    "nee bedankt",
    "overslaan",
    "",
    "   ",
    "NaN",
    "None",
    "{}",
    "{n}",
]


def _random_text(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.4:
        return rng.choice(WORDS)
    if roll < 0.5:
        return "".join(rng.choices(ALPHABET, k=rng.randint(5000, 20000)))
    return "".join(rng.choices(ALPHABET, k=rng.randint(0, 40)))


def test_random_inputs_never_raise():
    rng = random.Random(20240611)
    q = conv.load_builtin()
    for run in range(40):
        lang = rng.choice(["en", "nl", "fr", ""])
        turn = conv.invite(q, lang) if run % 2 else conv.start(q, lang)
        for _ in range(100):
            choice = rng.choice(
                [
                    None,
                    None,
                    None,
                    "start",
                    "confirm",
                    "change",
                    "yes",
                    "no",
                    "manager",
                    "7",
                    "42",
                    "main_reason",
                    "",
                    "\x00",
                ]
            )
            state = json.loads(json.dumps(turn.state))
            turn = conv.advance(q, state, _random_text(rng), choice=choice)
            assert turn.messages, "every input gets a reply"
            assert turn.status in (
                "invited",
                "in_progress",
                "paused",
                "completed",
                "stopped",
                "declined",
                "deleted",
            )
            for answer in turn.store:
                assert len(answer.text) <= 4000
            json.dumps(turn.state)
            for message in turn.messages:
                assert set(message.to_json()) == {"kind", "text", "choices"}


def test_corrupt_state_never_raises():
    q = conv.load_builtin()
    rng = random.Random(7)
    junk = [None, 1, "x", [], {}, {"a": 1}, True, -5, 10**20, ["main_reason", 3]]
    keys = [
        "phase",
        "question",
        "asked",
        "fired",
        "probe",
        "used_probes",
        "answers",
        "done",
        "skipped",
        "paused",
        "resume",
        "end",
        "min_group",
        "counter",
        "lang",
    ]
    base = conv.start(q, "en").state
    for _ in range(500):
        state = dict(base)
        for key in rng.sample(keys, rng.randint(1, 5)):
            state[key] = rng.choice(junk)
        state["phase"] = rng.choice(
            [
                "invite",
                "question",
                "follow_up",
                "summary",
                "correcting",
                "confirm_delete",
                "done",
                "??",
                None,
            ]
        )
        turn = conv.advance(q, state, rng.choice(WORDS), choice=rng.choice([None, "yes"]))
        assert turn.messages
    assert conv.advance(q, {}, "hello").status == "invited"


def test_state_is_json_and_round_trip_behaves_the_same():
    q = conv.load_builtin()
    inputs: list[Input] = [
        ("", "manager"),
        "meh",
        DETAILED_EN,
        "fine",
        "idk",
        "back",
        DETAILED_EN,
        "2",
    ]
    plain = conv.start(q, "en")
    tripped = conv.start(q, "en")
    for item in inputs:
        text, choice = (item[0], item[1]) if isinstance(item, tuple) else (item, None)
        assert json.loads(json.dumps(plain.state)) == plain.state
        plain = conv.advance(q, plain.state, text, choice=choice)
        tripped = conv.advance(q, json.loads(json.dumps(tripped.state)), text, choice=choice)
        assert plain == tripped


def test_state_records_ids_not_positions():
    q = conv.load_builtin()
    turn = conv.advance(q, conv.start(q, "nl").state, "", choice="culture")
    state = turn.state
    assert state["form"] == q.id and state["form_version"] == q.version
    assert state["lang"] == "nl"
    assert state["question"] == "valued_most"
    assert state["done"] == ["main_reason"]
    assert state["answers"] == {
        "main_reason": {"text": "Cultuur en collega's", "value": "culture", "more": []}
    }


def test_newer_form_without_current_or_answered_question():
    """State from a form version with an extra question, advanced with a form lacking it."""
    q = conv.load_builtin()
    extra = {
        "form": q.id,
        "form_version": "0.9",
        "lang": "en",
        "phase": "question",
        "question": "team_size",  # only in the old version
        "done": ["main_reason", "team_size_intro"],
        "answers": {
            "main_reason": {"text": "My manager", "value": "manager", "more": []},
            "team_size_intro": {"text": "12", "value": "12", "more": []},
        },
    }
    turn = conv.advance(q, extra, "about twelve people")
    assert turn.store == ()
    assert turn.messages[-1].question_id == "valued_most"
    # the removed question never shows up in the summary
    state = turn.state
    state["done"] = [x.id for x in q.questions] + ["team_size_intro"]
    state["answers"] = {
        x.id: {"text": "x", "value": None, "more": []} for x in q.questions if x.type == "text"
    }
    state["phase"], state["question"] = "summary", None
    summary = conv.resume(q, state).messages[-1]
    assert summary.kind == "summary"
    assert "team_size" not in summary.text
