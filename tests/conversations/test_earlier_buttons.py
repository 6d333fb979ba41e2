"""Chat keeps old messages on screen, buttons and all (Slack; Teams cards answered by typing).
A click on an earlier question's button changes that answer; it never answers the question
being asked now, and no other old button (invite, summary, confirmation) does either."""

from __future__ import annotations

from .driver import DETAILED_EN, Transcript, invited, started


def at_recommend() -> Transcript:
    """main_reason (culture), two text questions, manager_relationship 4; asking recommend."""
    t = started("en").run([("", "culture"), DETAILED_EN, DETAILED_EN, DETAILED_EN, "4"])
    assert t.last.messages[-1].question_id == "recommend"
    assert t.value("manager_relationship") == "4"
    return t


def test_a_scale_button_of_the_question_before_changes_that_answer_not_this_one():
    t = at_recommend()
    turn = t.click("2", "manager_relationship")  # both are scales: "2" fits either
    assert turn.discard == ("manager_relationship",)
    assert t.value("manager_relationship") == "2"
    assert ("recommend", 0) not in t.stored
    said, asked = turn.messages
    assert said.text == "I've changed your earlier answer to “2 (Poor)”."
    assert asked.question_id == "recommend" and asked.kind == "question"
    t.send("9")  # and the interview goes on from where it was
    assert t.value("recommend") == "9"


def test_an_earlier_choice_clicked_during_a_text_question_is_not_stored_as_its_text():
    t = started("en").run([("", "manager"), DETAILED_EN])
    assert t.last.messages[-1].question_id == "valued_most"
    assert t.seqs("main_reason") == [0, 1]  # the choice and its follow-up
    turn = t.click("pay_benefits", "main_reason")
    assert ("valued_most", 0) not in t.stored
    assert turn.discard == ("main_reason",)
    assert t.value("main_reason") == "pay_benefits"
    assert t.seqs("main_reason") == [0]  # the follow-up was about the old answer
    assert turn.messages[-1].question_id == "valued_most"


def test_a_skipped_question_answered_later_by_its_button():
    t = started("en").run(["skip"])
    turn = t.click("workload", "main_reason")
    assert t.value("main_reason") == "workload"
    assert "main_reason" not in t.last.state["skipped"]
    assert turn.messages[-1].question_id == "valued_most"


def test_the_current_questions_own_buttons_answer_it():
    t = started("en")
    t.click("manager", "main_reason")
    assert t.value("main_reason") == "manager"
    assert t.last.messages[-1].kind == "follow_up"


def test_a_button_of_the_question_being_followed_up_changes_the_answer_and_moves_on():
    t = started("en").run([("", "manager")])
    assert t.last.messages[-1].kind == "follow_up"
    turn = t.click("culture", "main_reason")
    assert t.value("main_reason") == "culture"
    assert turn.messages[0].text == "I've changed your earlier answer to “Culture and colleagues”."
    assert turn.messages[-1].question_id == "valued_most"


def test_buttons_that_change_nothing_ask_the_current_question_again():
    t = at_recommend()
    before = dict(t.stored)
    for value, question_id in [
        ("yes", "come_back"),  # not asked yet
        ("not_an_option", "main_reason"),
        ("9", "manager_relationship"),  # off its 1-5 scale
        ("x", "no_such_question"),  # removed in a newer form version
    ]:
        turn = t.click(value, question_id)
        assert turn.discard == () and turn.store == ()
        assert [m.question_id for m in turn.messages] == ["recommend"]
    assert t.stored == before


def test_an_earlier_button_during_the_summary_shows_the_summary_changed():
    t = at_recommend().run(["10", "yes", DETAILED_EN, "nee"])
    assert t.last.messages[-1].kind == "summary"
    assert "Would come back: Yes" in t.last.messages[-1].text
    turn = t.click("no", "come_back")
    assert t.value("come_back") == "no"
    assert turn.messages[-1].kind == "summary"
    assert "Would come back: No" in turn.messages[-1].text


def test_without_knowing_the_question_a_click_answers_as_before():
    t = at_recommend()
    t.send(("", "2"))  # a channel that cannot say which question (the web page)
    assert t.value("recommend") == "2"


TO_SUGGESTIONS = [("", "culture"), DETAILED_EN, DETAILED_EN, DETAILED_EN, "4", "10", "yes"]


def test_a_question_button_never_answers_the_delete_confirmation():
    for value in ("yes", "no"):  # come_back was typed: its Yes and No are still there
        t = started("en").run([*TO_SUGGESTIONS, "delete my answers"])
        assert t.last.state["phase"] == "confirm_delete"
        turn = t.click(value, "come_back")
        assert not turn.erase_all and turn.discard == () and turn.store == ()
        assert t.last.state["phase"] == "confirm_delete"  # asked again
        assert "delete all your answers" in turn.messages[-1].text
        assert t.value("come_back") == "yes"


def test_clicking_the_answer_already_given_keeps_the_typed_words_and_follow_ups():
    t = started("en").run(["my boss never had time for me and micromanaged everything"])
    typed = t.stored[("main_reason", 0)]
    assert typed.value == "manager" and t.last.messages[-1].kind == "follow_up"
    t.send("He cancelled every one-on-one for a year")
    turn = t.click("manager", "main_reason")
    assert turn.discard == () and turn.store == ()
    assert t.stored[("main_reason", 0)] == typed and t.seqs("main_reason") == [0, 1]
    assert all("changed" not in m.text for m in turn.messages)


def test_clicking_the_answer_just_typed_leaves_its_follow_up_waiting():
    t = started("en").run(["manager"])
    turn = t.click("manager", "main_reason")
    assert turn.store == () and turn.messages[-1].kind == "follow_up"


def test_old_buttons_of_other_messages_answer_nothing_now():
    t = started("en").run([("", "culture")])
    assert t.last.messages[-1].question_id == "valued_most"  # free text: any value would do
    before = dict(t.stored)
    for value, kind in [("later", "intro"), ("confirm", "summary"), ("yes", "info")]:
        turn = t.click(value, on=kind)
        assert turn.store == () and turn.discard == ()
        assert [m.question_id for m in turn.messages] == ["valued_most"]
    assert t.stored == before


def test_an_old_summarys_confirm_does_not_replace_a_reopened_answer():
    t = at_recommend().run(["10", "yes", DETAILED_EN, "nee"])
    t.run(["change", "2"])  # typed: the summary keeps its buttons
    assert t.last.messages[-1].question_id == "valued_most"
    turn = t.click("confirm", on="summary")
    assert turn.store == () and turn.discard == () and t.last.status != "completed"
    assert turn.messages[-1].question_id == "valued_most"


def test_the_buttons_of_what_is_asked_now_answer_it():
    t = at_recommend().run(["10", "yes", DETAILED_EN, "nee"])
    t.click("confirm", on="summary")
    assert t.last.status == "completed"
    t = invited("en")
    t.click("start", on="intro")
    assert t.last.messages[-1].question_id == "main_reason"


def test_an_earlier_button_while_choosing_what_to_change_shows_the_summary_changed():
    t = at_recommend().run(["10", "yes", DETAILED_EN, "nee", "change"])
    assert t.last.state["phase"] == "correcting"
    turn = t.click("no", "come_back")
    assert t.value("come_back") == "no"
    assert turn.messages[-1].kind == "summary" and "Would come back: No" in turn.messages[-1].text
    assert t.last.state["phase"] == "summary"
