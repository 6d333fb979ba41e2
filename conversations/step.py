"""One engine step under construction, and the helpers every phase uses to reply."""

from __future__ import annotations

from . import followups
from .questionnaire import Question, Questionnaire
from .state import State
from .summary import summary_message, which_message
from .text import normalise
from .types import Answer, Choice, MessageKind, OutMessage, Status, Turn


class Step:
    """One turn being built: the working state plus the effects collected so far."""

    def __init__(self, q: Questionnaire, st: State) -> None:
        self.q = q
        self.st = st
        self.messages: list[OutMessage] = []
        self.store: list[Answer] = []
        self.discard: list[str] = []
        self.erase_all = False
        self.ignored_click = False
        self.after_silence = False  # the interview was quiet a while before this message
        self.buttons = True  # the channel shows choices as buttons (else a numbered list)

    def say(self, key: str, variant: int = 0, **values: object) -> str:
        return self.q.say(
            key,
            self.st.lang,
            variant,
            min_group=self.st.min_group,
            retention_days=self.st.retention_days,
            n=len(self.q.questions),
            **values,
        )

    def labels(self, key: str) -> set[str]:
        """Normalised phrasings of a button label, to recognise it when typed."""
        return {normalise(t) for t in self.q.variants(key, self.st.lang)}

    def emit(
        self,
        kind: MessageKind,
        text: str,
        choices: tuple[Choice, ...] = (),
        question_id: str | None = None,
    ) -> None:
        self.messages.append(OutMessage(kind, text, choices, question_id))

    def help(self) -> str:
        """The help, worded for how this channel shows choices (buttons or a numbered list)."""
        return self.say("phrases.help" if self.buttons else "phrases.help_typed")

    def ack(self) -> str:
        self.st.counter += 1
        return self.say("phrases.ack", self.st.counter)

    def turn(self) -> Turn:
        status: Status = self.st.status()
        return Turn(
            tuple(self.messages),
            self.st.to_json(),
            status,
            tuple(self.store),
            tuple(dict.fromkeys(self.discard)),
            self.erase_all,
            self.ignored_click,
        )


def choices_for(question: Question, language: str) -> tuple[Choice, ...]:
    return question.buttons(language)


def ask(
    step: Step,
    question: Question,
    prefix: str = "",
    kind: MessageKind = "question",
    lead: str = "",
) -> None:
    text = question.text_in(step.st.lang, step.q.default_language)
    body = "\n".join(part for part in (lead, text) if part)
    step.emit(
        kind,
        f"{prefix} {body}" if prefix else body,
        choices_for(question, step.st.lang),
        question.id,
    )


def ask_next(step: Step, prefix: str) -> None:
    """Ask the first question in form order not yet answered or skipped, else summarise."""
    st = step.st
    following = st.next_unanswered(step.q)
    st.new_round(following)
    question = step.q.get(following)
    if question is None:
        st.phase = "summary"
        step.messages.append(summary_message(step.q, st, prefix))
    else:
        st.phase = "question"
        ask(step, question, prefix)


def prompt(step: Step) -> None:
    """Repeat whatever the employee is expected to answer now."""
    st = step.st
    question = step.q.get(st.question)
    if st.phase == "invite":
        send_invite(step)
    elif st.phase == "done":
        step.emit("info", step.say("phrases.closed"))
    elif st.phase == "confirm_delete":
        send_confirm_delete(step)
    elif st.phase == "summary":
        step.messages.append(summary_message(step.q, st))
    elif st.phase == "correcting":
        step.emit(*unpack(which_message(step.q, st)))
    elif question is None:
        ask_next(step, "")
    elif st.phase == "follow_up":
        text = followups.phrasing(question, st.probe, st.lang, step.q.default_language)
        if text is None:
            ask_next(step, "")
        else:
            step.emit("follow_up", text, (), question.id)
    else:
        ask(step, question)


def reopen(step: Step, question_id: str | None) -> None:
    """Ask an answered question again; its old answers are discarded once it is re-answered."""
    st = step.st
    question = step.q.get(question_id)
    if question is None:
        ask_next(step, "")
        return
    st.phase = "question"
    st.new_round(question.id)
    step.emit("info", step.say("phrases.going_back"))
    ask(step, question)


def finish(step: Step, end: Status, key: str) -> None:
    st = step.st
    st.phase, st.end, st.paused, st.resume = "done", end, False, None
    st.new_round(None)
    step.emit("outro", step.say(key))


def invite_choices(step: Step) -> tuple[Choice, ...]:
    return (
        Choice("start", step.say("phrases.btn_start")),
        Choice("later", step.say("phrases.btn_later")),
        Choice("decline", step.say("phrases.btn_decline")),
    )


def send_invite(step: Step) -> None:
    step.emit("intro", step.say("intro.invite"), invite_choices(step))


def send_confirm_delete(step: Step) -> None:
    step.emit(
        "info",
        step.say("phrases.confirm_delete"),
        (
            Choice("yes", step.say("phrases.btn_delete_yes")),
            Choice("no", step.say("phrases.btn_delete_no")),
        ),
    )


def unpack(message: OutMessage) -> tuple[MessageKind, str, tuple[Choice, ...]]:
    return message.kind, message.text, message.choices
