"""Answering questions and follow-ups; skip and back."""

from __future__ import annotations

from . import followups
from .parsing import parse_answer
from .questionnaire import Question
from .state import Given
from .step import Step, ask, ask_next, prompt, reopen
from .text import clean, is_hello
from .themes import classify
from .types import Answer


def on_answer(step: Step, typed: str, clicked: str | None) -> None:
    st = step.st
    question = step.q.get(st.question)
    if question is None:  # removed in a newer form version
        ask_next(step, "")
        return
    answer = parse_answer(question, typed, clicked, st.lang)
    hello = clicked is None and is_hello(typed, after_silence=step.after_silence)
    if hello and (answer is None or question.type == "text"):
        welcome_back(step)
        return
    if answer is None:
        step.ignored_click = clicked is not None  # not one of this question's options
        reask(step, question)
        return
    if question.id in st.answers:
        step.discard.append(question.id)
    st.answers[question.id] = Given(answer.text, answer.value)
    if question.id not in st.done:
        st.done.append(question.id)
    if question.id in st.skipped:
        st.skipped.remove(question.id)
    step.store.append(answer)
    probe_or_next(step, question, answer)


def on_earlier_button(step: Step, question_id: str, clicked: str) -> None:
    """A button of a question asked before (chat keeps old messages, buttons and all): the
    employee changes that answer. It is stored like any answer (the old one and its
    follow-ups discarded), said back, and what was being asked is asked again. A button of a
    question not asked yet or no longer in the form, a value that is not one of its options,
    or the answer already given changes nothing: the question of the moment is asked again."""
    st = step.st
    st.paused = False
    question = step.q.get(question_id)
    asked = question_id in st.done or question_id in st.skipped
    answer = None
    if question is not None and question.type != "text" and asked:
        answer = parse_answer(question, "", clicked, st.lang)
    given = st.answers.get(question_id)
    if question is None or answer is None or answer.value != clicked:
        step.ignored_click = True
        prompt(step)
        return
    if given is not None and given.value == answer.value:
        prompt(step)  # the answer it already has (typed, it keeps its words and follow-ups)
        return
    if question.id in st.answers:
        step.discard.append(question.id)
    st.answers[question.id] = Given(answer.text, answer.value)
    if question.id in st.skipped:
        st.skipped.remove(question.id)
    step.store.append(answer)
    step.emit("info", step.say("phrases.answer_changed", answer=answer.text))
    if st.phase == "follow_up" and st.question == question.id:
        ask_next(step, "")  # its follow-up asked about the answer just replaced
        return
    if st.phase == "correcting":
        st.phase = "summary"  # changed by its button: show the summary with the change
    prompt(step)


def on_follow_up_answer(step: Step, typed: str, clicked: str | None) -> None:
    st = step.st
    question = step.q.get(st.question)
    if question is None:
        ask_next(step, "")
        return
    if clicked is None and is_hello(typed, after_silence=step.after_silence):
        welcome_back(step)
        return
    text = clean(typed) or clean(clicked or "")
    if not text:
        step.emit("info", step.say("phrases.reask_text"))
        prompt(step)
        return
    answer = Answer(question.id, st.asked, text, None, tuple(classify(text, st.lang)))
    st.answers.setdefault(question.id, Given("", None)).more.append(text)
    step.store.append(answer)
    probe_or_next(step, question, answer)


def probe_or_next(step: Step, question: Question, answer: Answer) -> None:
    st = step.st
    probe = followups.pick(
        question,
        answer,
        st.lang,
        step.q.default_language,
        asked=st.asked,
        fired=st.fired,
        used=st.used_probes.get(question.id, ()),
        rotation=st.counter,
    )
    ack = step.ack()
    if probe is None:
        ask_next(step, ack)
        return
    st.phase = "follow_up"
    st.asked += 1
    st.fired.append(probe.rule.key)
    st.used_probes.setdefault(question.id, []).append(probe.key)
    st.probe = probe.key
    step.emit("follow_up", f"{ack} {probe.text}", (), question.id)


def welcome_back(step: Step) -> None:
    """Someone back after a silence says hello first (the idle reminder asks them to "just
    send a message"): greeted, and asked again; a hello (`is_hello`) is never stored as an
    answer."""
    step.emit("info", step.say("phrases.welcome_back"))
    prompt(step)


def reask(step: Step, question: Question) -> None:
    if question.type == "choice":
        lead = step.say("phrases.reask_choice")
    elif question.scale is not None:
        lead = step.say("phrases.reask_scale", min=question.scale.min, max=question.scale.max)
    else:
        lead = step.say("phrases.reask_text")
    ask(step, question, kind="info", lead=lead)


def skip(step: Step) -> None:
    st = step.st
    qid = st.question
    if qid is not None:
        if st.answers.pop(qid, None) is not None:
            step.discard.append(qid)
        if qid not in st.done:
            st.done.append(qid)
        if qid not in st.skipped:
            st.skipped.append(qid)
    step.emit("info", step.say("phrases.skipped", st.counter))
    ask_next(step, "")


def go_back(step: Step) -> None:
    st = step.st
    history = [x for x in st.done if step.q.get(x) is not None]
    if st.question in history:
        position = history.index(st.question)
        target = history[position - 1] if position > 0 else None
    else:
        target = history[-1] if history else None
    if target is None:
        step.emit("info", step.say("phrases.nothing_to_go_back"))
        prompt(step)
    else:
        reopen(step, target)
