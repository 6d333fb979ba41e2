"""Old buttons, engine level, continued: the messages that carry the invite's or the summary's
buttons under another kind (the reminder, the re-asks), a pause, and a click that changes
nothing in every phase."""

from __future__ import annotations

from .driver import DETAILED_EN, invited, started

TO_SUMMARY = [
    ("", "culture"),
    DETAILED_EN,
    DETAILED_EN,
    DETAILED_EN,
    "4",
    "10",
    "yes",
    DETAILED_EN,
    "nee",
]


def test_start_on_the_invite_reask_or_reminder_starts():
    t = invited("en")
    t.send("what is this?")
    assert [c.value for c in t.last.messages[-1].choices] == ["start", "later", "decline"]
    assert t.last.messages[-1].kind == "info"  # like bot.invites.remind_invite's reminder
    turn = t.click("start", on="info")
    assert not turn.ignored_click
    assert turn.messages[-1].question_id == "main_reason"


def test_confirm_on_the_summary_reask_completes():
    t = started("en").run([*TO_SUMMARY, "hmm"])
    assert t.last.messages[-1].kind == "info" and t.last.messages[-1].choices
    turn = t.click("confirm", on="info")
    assert turn.status == "completed" and not turn.ignored_click


def test_a_typed_answer_after_an_ignored_click_while_paused_is_kept():
    t = started("en").run([("", "culture"), "pause"])
    t.click("later", on="intro")  # an old invite button: ignored, valued_most asked again
    t.send("The people I worked with and the freedom to experiment")
    assert ("valued_most", 0) in t.stored
    assert t.last.status == "in_progress"


def test_a_click_that_changes_nothing_is_ignored_in_every_phase():
    t = started("en").run([*TO_SUMMARY, "change"])  # correcting; the summary kept its buttons
    for value, on in [("confirm", "summary"), ("yes", "info"), ("decline", "info")]:
        turn = t.click(value, on=on)
        assert turn.store == () and t.last.state["phase"] == "correcting"
        assert turn.ignored_click, (value, on)
    t = started("en").run([*TO_SUMMARY, "delete"])
    turn = t.click("confirm", on="info")  # the summary's re-ask during "delete everything?"
    assert t.last.state["phase"] == "confirm_delete" and turn.ignored_click
