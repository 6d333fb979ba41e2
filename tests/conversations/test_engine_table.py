"""Table-driven engine tests: (inputs so far, next input) -> effects."""

from __future__ import annotations

import pytest

from .driver import DETAILED_EN, Input, invited, started

# Reaching a point in the built-in form (en).
AT_MAIN: list[Input] = []
AT_VALUED: list[Input] = [("", "career_growth")]
AT_ROLE: list[Input] = [*AT_VALUED, DETAILED_EN]
AT_MANAGER: list[Input] = [*AT_ROLE, DETAILED_EN]
AT_RECOMMEND: list[Input] = [*AT_MANAGER, "4"]
AT_COME_BACK: list[Input] = [*AT_RECOMMEND, "9"]
AT_SUGGESTIONS: list[Input] = [*AT_COME_BACK, "yes"]
AT_ANYTHING: list[Input] = [*AT_SUGGESTIONS, DETAILED_EN]
AT_SUMMARY: list[Input] = [*AT_ANYTHING, "no"]

# (id, inputs before, input, message kinds, status, stored (qid, seq, value), discard)
CASES: list[tuple[str, list[Input], Input, list[str], str, list[tuple], tuple[str, ...]]] = [
    (
        "button choice",
        AT_MAIN,
        ("", "pay_benefits"),
        ["question"],
        "in_progress",
        [("main_reason", 0, "pay_benefits")],
        (),
    ),
    (
        "choice by number",
        AT_MAIN,
        "2",
        ["question"],
        "in_progress",
        [("main_reason", 0, "pay_benefits")],
        (),
    ),
    (
        "choice by label",
        AT_MAIN,
        "  pay AND benefits!! ",
        ["question"],
        "in_progress",
        [("main_reason", 0, "pay_benefits")],
        (),
    ),
    (
        "choice by prefix",
        AT_MAIN,
        "Organis",
        ["question"],
        "in_progress",
        [("main_reason", 0, "organisation")],
        (),
    ),
    (
        "choice by value id",
        AT_MAIN,
        "work_itself",
        ["question"],
        "in_progress",
        [("main_reason", 0, "work_itself")],
        (),
    ),
    (
        "choice by dutch label",
        AT_MAIN,
        "mijn leidinggevende",
        ["follow_up"],
        "in_progress",
        [("main_reason", 0, "manager")],
        (),
    ),
    (
        "manager probes",
        AT_MAIN,
        ("", "manager"),
        ["follow_up"],
        "in_progress",
        [("main_reason", 0, "manager")],
        (),
    ),
    (
        "other probes",
        AT_MAIN,
        "something else",
        ["follow_up"],
        "in_progress",
        [("main_reason", 0, "other")],
        (),
    ),
    ("choice out of range", AT_MAIN, "12", ["info"], "in_progress", [], ()),
    ("choice garbage", AT_MAIN, "🤷 ???!", ["info"], "in_progress", [], ()),
    ("choice unknown button", AT_MAIN, ("", "nonsense"), ["info"], "in_progress", [], ()),
    ("empty text", AT_VALUED, "   ", ["info"], "in_progress", [], ()),
    (
        "vague text probed",
        AT_VALUED,
        "fine",
        ["follow_up"],
        "in_progress",
        [("valued_most", 0, None)],
        (),
    ),
    (
        "detailed not probed",
        AT_VALUED,
        DETAILED_EN,
        ["question"],
        "in_progress",
        [("valued_most", 0, None)],
        (),
    ),
    (
        "theme probed",
        AT_ROLE,
        "Every week I had far too much work and too many overtime hours",
        ["follow_up"],
        "in_progress",
        [("role_improvement", 0, None)],
        (),
    ),
    (
        "scale number",
        AT_MANAGER,
        "4",
        ["question"],
        "in_progress",
        [("manager_relationship", 0, "4")],
        (),
    ),
    (
        "scale button",
        AT_MANAGER,
        ("", "5"),
        ["question"],
        "in_progress",
        [("manager_relationship", 0, "5")],
        (),
    ),
    (
        "scale label",
        AT_MANAGER,
        "very good",
        ["question"],
        "in_progress",
        [("manager_relationship", 0, "5")],
        (),
    ),
    (
        "low scale probed",
        AT_MANAGER,
        "2",
        ["follow_up"],
        "in_progress",
        [("manager_relationship", 0, "2")],
        (),
    ),
    ("scale out of range", AT_MANAGER, "6", ["info"], "in_progress", [], ()),
    ("scale negative", AT_MANAGER, "-2", ["info"], "in_progress", [], ()),
    ("scale decimal", AT_MANAGER, "3.5", ["info"], "in_progress", [], ()),
    ("scale two numbers", AT_MANAGER, "3 or 4", ["info"], "in_progress", [], ()),
    (
        "enps fraction",
        AT_RECOMMEND,
        "7/10",
        ["question"],
        "in_progress",
        [("recommend", 0, "7")],
        (),
    ),
    (
        "enps out of",
        AT_RECOMMEND,
        "I'd say 8 out of 10",
        ["question"],
        "in_progress",
        [("recommend", 0, "8")],
        (),
    ),
    # A fraction of another scale is no point on this one: 5/5 is a top mark, not a 5 of 10.
    ("enps top of five", AT_RECOMMEND, "5/5", ["info"], "in_progress", [], ()),
    ("enps 5 out of 5", AT_RECOMMEND, "5 out of 5", ["info"], "in_progress", [], ()),
    ("enps 5 van de 5", AT_RECOMMEND, "5 van de 5", ["info"], "in_progress", [], ()),
    ("enps out of 100", AT_RECOMMEND, "80/100", ["info"], "in_progress", [], ()),
    (
        "scale fraction",
        AT_MANAGER,
        "4/5",
        ["question"],
        "in_progress",
        [("manager_relationship", 0, "4")],
        (),
    ),
    (
        "scale van de",
        AT_MANAGER,
        "een 4 van de 5",
        ["question"],
        "in_progress",
        [("manager_relationship", 0, "4")],
        (),
    ),
    ("scale fraction of ten", AT_MANAGER, "4/10", ["info"], "in_progress", [], ()),
    ("enps word", AT_RECOMMEND, "zeven", ["question"], "in_progress", [("recommend", 0, "7")], ()),
    (
        "enps english word",
        AT_RECOMMEND,
        "nine",
        ["question"],
        "in_progress",
        [("recommend", 0, "9")],
        (),
    ),
    (
        "enps low probed",
        AT_RECOMMEND,
        "6",
        ["follow_up"],
        "in_progress",
        [("recommend", 0, "6")],
        (),
    ),
    ("enps zero", AT_RECOMMEND, "0", ["follow_up"], "in_progress", [("recommend", 0, "0")], ()),
    (
        "come back no probed",
        AT_COME_BACK,
        "nope",
        ["follow_up"],
        "in_progress",
        [("come_back", 0, "no")],
        (),
    ),
    (
        "come back dutch",
        AT_COME_BACK,
        "misschien",
        ["question"],
        "in_progress",
        [("come_back", 0, "maybe")],
        (),
    ),
    (
        "anything else no",
        AT_ANYTHING,
        "no",
        ["summary"],
        "in_progress",
        [("anything_else", 0, None)],
        (),
    ),
    ("skip", AT_VALUED, "Skip!", ["info", "question"], "in_progress", [], ()),
    ("skip dutch", AT_VALUED, "  overslaan. ", ["info", "question"], "in_progress", [], ()),
    ("pause", AT_VALUED, "pause", ["info"], "paused", [], ()),
    ("pause later", AT_VALUED, "Later", ["info"], "paused", [], ()),
    ("stop", AT_VALUED, "stop", ["outro"], "stopped", [], ()),
    ("stop dutch", AT_VALUED, "Ophouden", ["outro"], "stopped", [], ()),
    ("help", AT_VALUED, "help", ["info", "question"], "in_progress", [], ()),
    ("help question mark", AT_VALUED, "?", ["info", "question"], "in_progress", [], ()),
    ("back", AT_VALUED, "back", ["info", "question"], "in_progress", [], ()),
    ("back at first", AT_MAIN, "terug", ["info", "question"], "in_progress", [], ()),
    ("delete asks", AT_VALUED, "delete my answers", ["info"], "in_progress", [], ()),
    ("delete dutch asks", AT_VALUED, "Verwijder mijn antwoorden", ["info"], "in_progress", [], ()),
    ("summary confirm", AT_SUMMARY, ("", "confirm"), ["outro"], "completed", [], ()),
    ("summary typed yes", AT_SUMMARY, "Yes, that's right", ["outro"], "completed", [], ()),
    ("summary change", AT_SUMMARY, ("", "change"), ["summary"], "in_progress", [], ()),
    ("summary number", AT_SUMMARY, "3", ["info", "question"], "in_progress", [], ()),
    (
        "summary label",
        AT_SUMMARY,
        "change suggestions",
        ["info", "question"],
        "in_progress",
        [],
        (),
    ),
    ("summary garbage", AT_SUMMARY, "purple", ["info"], "in_progress", [], ()),
]


@pytest.mark.parametrize(
    ("before", "item", "kinds", "status", "stored", "discard"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_engine_step(before, item, kinds, status, stored, discard):
    t = started("en").run(before)
    turn = t.send(item)
    assert [m.kind for m in turn.messages] == kinds
    assert turn.status == status
    assert [(a.question_id, a.seq, a.value) for a in turn.store] == stored
    assert turn.discard == discard
    assert not turn.erase_all


INVITE_CASES = [
    ("start button", ("", "start"), ["intro", "question"], "in_progress"),
    ("typed ja", "Ja", ["intro", "question"], "in_progress"),
    ("typed starten", "starten", ["intro", "question"], "in_progress"),
    ("later", "later", ["info"], "invited"),
    ("niet nu", "niet nu", ["info"], "invited"),
    ("no thanks", "No thanks", ["outro"], "declined"),
    ("nee bedankt", "nee, bedankt", ["outro"], "declined"),
    ("geen interesse", "geen interesse", ["outro"], "declined"),
    ("decline button", ("", "decline"), ["outro"], "declined"),
    ("unclear", "what is this?", ["info"], "invited"),
]


@pytest.mark.parametrize(
    ("item", "kinds", "status"), [c[1:] for c in INVITE_CASES], ids=[c[0] for c in INVITE_CASES]
)
def test_invite_step(item, kinds, status):
    t = invited("en")
    turn = t.send(item)
    assert [m.kind for m in turn.messages] == kinds
    assert turn.status == status
    if status == "invited":
        assert turn.state["phase"] == "invite"
