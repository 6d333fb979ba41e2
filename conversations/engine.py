"""The interview engine: pure functions from (questionnaire, state, input) to a Turn.

Nothing here does I/O or keeps memory between calls; the caller stores `Turn.state`
(plain JSON) and passes it back with the next message. No user input makes it raise.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from . import commands
from .asking import go_back, on_answer, on_earlier_button, on_follow_up_answer, skip
from .closing import ask_delete, on_confirm_delete, on_correcting, on_done, on_invite, on_summary
from .commands import Command
from .questionnaire import Questionnaire
from .state import State
from .step import Step, ask_next, finish, prompt, reopen, send_invite, unpack
from .summary import summary_message, which_message
from .text import MAX_ANSWER_CHARS, SILENCE, is_greeting, was_cut
from .types import OutMessage, Turn


def invite(
    q: Questionnaire, language: str, *, min_group: int = 5, retention_days: int = 90
) -> Turn:
    """The invite DM: purpose, privacy, voluntary; Start / Later / No thanks."""
    step = Step(q, State.new(q, language, min_group, retention_days))
    send_invite(step)
    return step.turn()


def start(q: Questionnaire, language: str, *, min_group: int = 5, retention_days: int = 90) -> Turn:
    """A chat the employee opened themselves: the intro and the first question at once."""
    step = Step(q, State.new(q, language, min_group, retention_days))
    step.emit("intro", step.say("intro.start"))
    ask_next(step, "")
    return step.turn()


def resume(q: Questionnaire, state: Mapping[str, object], *, greet: bool = True) -> Turn:
    """Re-send where the interview stands (e.g. the employee reopened the chat); without
    `greet`, only what is asked now (a retry of a message already answered)."""
    step = Step(q, State.from_json(q, state))
    st = step.st
    if greet and st.phase not in ("invite", "done"):
        st.paused = False
        step.emit("info", step.say("phrases.welcome_back"))
    prompt(step)
    return step.turn()


def advance(
    q: Questionnaire,
    state: Mapping[str, object],
    text: str,
    *,
    choice: str | None = None,
    choice_for: str | None = None,
    choice_on: str | None = None,
    quiet_for: timedelta | None = None,
    buttons: bool = True,
) -> Turn:
    """One employee message: `text` as typed, `choice` the value of a clicked button.

    Chat keeps old messages on screen, buttons and all. When the channel can tell where a
    clicked button was (Slack, Teams and the web chat can), `choice_for` is the question it
    belonged to and `choice_on` the kind of message ("question", "intro", "summary", "info"):
    a button of an earlier question changes that answer, and any other button that does not
    belong to what is asked now changes nothing (what is asked now is asked again).

    `quiet_for`: how long the interview had been quiet before this message (since the
    employee's previous one; None: not known). After `SILENCE` a bare "continue" or
    "doorgaan" is someone coming back (`is_hello`); sooner, it answers the question.

    `buttons`: whether the channel shows choices as buttons; False where it lists them
    numbered to type from (the terminal), so that the help does not point to buttons."""
    step = Step(q, State.from_json(q, state))
    step.after_silence = quiet_for is not None and quiet_for >= SILENCE
    step.buttons = buttons
    typed = text if isinstance(text, str) else ""
    clicked = choice if isinstance(choice, str) and choice.strip() else None
    question_id = choice_for if isinstance(choice_for, str) and choice_for else None
    kind = choice_on if isinstance(choice_on, str) and choice_on else None
    if question_id is not None:
        kind = "question"
    if clicked is None or kind is None or not _elsewhere(step, clicked, kind, question_id):
        _dispatch(step, typed, clicked)
    if clicked is None and step.store and was_cut(typed):
        # Stored cut (as `clean` does): said first, before the thanks and what comes next.
        step.messages.insert(
            0, OutMessage("info", step.say("phrases.answer_cut", limit=MAX_ANSWER_CHARS))
        )
    return step.turn()


# The kinds of message whose buttons answer each phase (a question's: its own, below)
_BUTTONS_OF = {
    "invite": ("intro", "info"),  # the invite, its re-ask and the reminder (bot.invites)
    "summary": ("summary", "info"),  # the summary, its re-ask, the list of answers
    "correcting": ("summary", "info"),  # the list of answers to change (shown both ways)
    "confirm_delete": ("info",),
}
_ANSWERED = ("question", "follow_up", "summary", "correcting")


def _elsewhere(step: Step, clicked: str, kind: str, question_id: str | None) -> bool:
    """Handle a click on a button that is not one of those asked for now; False for one that
    is (and for any click once the interview is over: `on_done` answers those)."""
    st = step.st
    if st.phase == "done":
        return False
    current = st.phase == "question" and question_id == st.question
    if current or (question_id is None and kind in _BUTTONS_OF.get(st.phase, ())):
        st.paused = False  # a click on what is asked now answers it, paused or not
        return False
    if question_id is not None and st.phase in _ANSWERED:
        on_earlier_button(step, question_id, clicked)
    else:
        # e.g. an old summary's "Yes, that's right", or a question's "Yes" during "delete
        # all your answers?": not an answer to what is asked now
        step.ignored_click = True
        if st.paused:  # like any message while paused: welcome back, then what is asked
            st.paused = False
            step.emit("info", step.say("phrases.welcome_back"))
        prompt(step)
    return True


def _dispatch(step: Step, typed: str, clicked: str | None) -> None:
    st = step.st
    command = commands.detect(typed) if clicked is None else None
    if st.phase == "done":
        on_done(step, typed, clicked, command)
    elif st.phase == "confirm_delete":
        on_confirm_delete(step, typed, clicked)
    elif st.phase == "invite":
        on_invite(step, typed, clicked, command)
    elif st.paused and command == "pause":
        step.emit("info", step.say("phrases.paused"))
    elif st.paused and command is None:
        st.paused = False
        if clicked is None and is_greeting(typed):
            step.emit("info", step.say("phrases.welcome_back"))
            prompt(step)
        else:  # back with an answer to what was asked (as the pause message invites): taken
            _dispatch(step, typed, clicked)
    elif command is not None:
        st.paused = False
        _on_command(step, command)
    elif st.phase == "question":
        on_answer(step, typed, clicked)
    elif st.phase == "follow_up":
        on_follow_up_answer(step, typed, clicked)
    elif st.phase == "summary":
        on_summary(step, typed, clicked)
    else:
        on_correcting(step, typed, clicked)


def _on_command(step: Step, command: Command) -> None:
    st = step.st
    if command == "help":
        step.emit("info", step.help())
        prompt(step)
    elif command == "pause":
        st.paused = True
        step.emit("info", step.say("phrases.paused"))
    elif command == "stop":
        finish(step, "stopped", "outro.stopped")
    elif command == "delete":
        ask_delete(step)
    elif command == "skip":
        if st.phase == "question":
            skip(step)
        elif st.phase == "follow_up":
            step.emit("info", step.say("phrases.skipped", st.counter))
            ask_next(step, "")
        else:
            step.emit("info", step.say("phrases.reask_summary"))
            prompt(step)
    elif st.phase == "question":  # back
        go_back(step)
    elif st.phase == "follow_up":
        reopen(step, st.question)
    elif st.phase == "summary":
        st.phase = "correcting"
        step.emit(*unpack(which_message(step.q, st)))
    else:
        st.phase = "summary"
        step.messages.append(summary_message(step.q, st))
