"""The phases around the questions: invite, summary and corrections, deletion, the end."""

from __future__ import annotations

from . import commands
from .commands import Command
from .step import (
    Step,
    ask_next,
    finish,
    invite_choices,
    prompt,
    reopen,
    send_confirm_delete,
    unpack,
)
from .summary import find_target, summary_message, which_message
from .text import normalise

_CHANGE_WORDS = frozenset(
    {"change", "edit", "aanpassen", "wijzigen", "wijzig", "verander", "veranderen"}
)


def on_invite(step: Step, typed: str, clicked: str | None, command: Command | None) -> None:
    norm = normalise(typed) if clicked is None else ""
    if clicked == "start" or norm in commands.START or norm in step.labels("phrases.btn_start"):
        begin(step)
    elif (
        clicked == "later"
        or command == "pause"
        or norm in commands.LATER
        or norm in step.labels("phrases.btn_later")
    ):
        step.emit("info", step.say("phrases.later_ok"))
    elif (
        clicked == "decline"
        or command == "stop"
        or norm in commands.DECLINE
        or norm in step.labels("phrases.btn_decline")
    ):
        finish(step, "declined", "outro.declined")
    elif command == "delete":
        ask_delete(step)
    else:
        step.ignored_click = clicked is not None
        if command == "help":
            step.emit("info", step.help())
        step.emit("info", step.say("phrases.invite_reask"), invite_choices(step))


def begin(step: Step) -> None:
    step.emit("intro", step.say("intro.begin"))
    ask_next(step, "")


def on_done(step: Step, typed: str, clicked: str | None, command: Command | None) -> None:
    st = step.st
    step.ignored_click = clicked is not None  # unless it starts a declined interview, below
    if st.end == "deleted":
        step.emit("info", step.say("outro.deleted"))
    elif command == "delete":
        ask_delete(step)
    elif st.end == "declined" and (
        clicked == "start"
        or normalise(typed) in commands.RESTART | step.labels("phrases.btn_start")
    ):
        st.end = None
        step.ignored_click = False
        begin(step)
    else:
        step.emit("info", step.say("phrases.closed"))


def ask_delete(step: Step) -> None:
    st = step.st
    st.resume = st.phase if st.phase != "confirm_delete" else st.resume
    st.phase = "confirm_delete"
    send_confirm_delete(step)


def on_confirm_delete(step: Step, typed: str, clicked: str | None) -> None:
    st = step.st
    norm = normalise(typed) if clicked is None else ""
    if clicked == "yes" or norm in commands.DELETE_YES | step.labels("phrases.btn_delete_yes"):
        step.erase_all = True
        st.answers.clear()
        st.done.clear()
        st.skipped.clear()
        st.used_probes.clear()
        finish(step, "deleted", "outro.deleted")
    elif clicked == "no" or norm in commands.NO | step.labels("phrases.btn_delete_no"):
        st.phase = st.resume or "question"
        st.resume = None
        step.emit("info", step.say("phrases.delete_cancelled"))
        prompt(step)
    else:
        step.ignored_click = clicked is not None
        send_confirm_delete(step)


def on_summary(step: Step, typed: str, clicked: str | None) -> None:
    st = step.st
    norm = normalise(typed) if clicked is None else ""
    if clicked == "confirm" or norm in commands.YES | step.labels("phrases.btn_confirm"):
        finish(step, "completed", "outro.completed")
        return
    target = None if clicked in ("confirm", "change") else find_target(step.q, st, typed, clicked)
    if target is not None:
        reopen(step, target)
    elif (
        clicked == "change"
        or norm in commands.CHANGE | step.labels("phrases.btn_change")
        or _CHANGE_WORDS & set(norm.split())
    ):
        st.phase = "correcting"
        step.emit(*unpack(which_message(step.q, st)))
    else:
        step.ignored_click = clicked is not None
        step.emit("info", step.say("phrases.reask_summary"), summary_message(step.q, st).choices)


def on_correcting(step: Step, typed: str, clicked: str | None) -> None:
    st = step.st
    target = find_target(step.q, st, typed, clicked)
    if target is not None:
        reopen(step, target)
    elif clicked is None and normalise(typed) in commands.NO:
        st.phase = "summary"
        step.messages.append(summary_message(step.q, st))
    else:
        step.ignored_click = clicked is not None
        step.emit(*unpack(which_message(step.q, st, info=True)))
