"""The end-of-interview summary (samenvatten) and picking which answer to change."""

from __future__ import annotations

from .commands import CHANGE_FILLER
from .questionnaire import Question, Questionnaire
from .state import Given, State
from .text import VAGUE_ANSWERS, normalise, shorten
from .types import Choice, OutMessage

LINE_CHARS = 100


def summarised(q: Questionnaire, st: State) -> list[Question]:
    """The questions the summary lists, in form order: every answered or skipped one."""
    finished = set(st.done)
    return [x for x in q.questions if x.id in finished]


def render(question: Question, given: Given, language: str) -> str:
    """One answer as the employee would recognise it, follow-up answers appended."""
    main = given.text
    if question.type == "choice":
        option = question.option(given.value)
        if option is not None:
            typed = normalise(given.text) not in question.match_index  # inferred from free text
            main = option.label(language) + (f" ({given.text})" if typed else "")
    elif question.type == "scale" and question.scale and given.value is not None:
        label = question.scale.label(int(given.value), language) if given.value.isdigit() else None
        main = f"{given.value}/{question.scale.max}" + (f" ({label})" if label else "")
    extra = [m for m in given.more if normalise(m) not in VAGUE_ANSWERS]  # skip "ok", "idk"
    return " — ".join([main, *extra])


def summary_message(q: Questionnaire, st: State, prefix: str = "") -> OutMessage:
    lang = st.lang
    lines = [f"{prefix} {q.say('phrases.summary_intro', lang)}".strip()]
    for number, question in enumerate(summarised(q, st), start=1):
        given = st.answers.get(question.id)
        if given is None or question.id in st.skipped:
            answer = q.say("phrases.summary_skipped", lang)
        else:
            answer = render(question, given, lang)
        lines.append(
            shorten(
                f"{number}. {question.short_in(lang, q.default_language)}: {answer}", LINE_CHARS
            )
        )
    lines.append(q.say("phrases.summary_question", lang))
    choices = (
        Choice("confirm", q.say("phrases.btn_confirm", lang)),
        Choice("change", q.say("phrases.btn_change", lang)),
    )
    return OutMessage("summary", "\n".join(lines), choices)


def which_message(q: Questionnaire, st: State, *, info: bool = False) -> OutMessage:
    lang = st.lang
    choices = tuple(Choice(x.id, x.short_in(lang, q.default_language)) for x in summarised(q, st))
    text = q.say("phrases.which_change", lang)
    return OutMessage("info" if info else "summary", text, choices)


def find_target(q: Questionnaire, st: State, typed: str, choice: str | None) -> str | None:
    """The question id the employee wants to change: button, number, short label or id."""
    listed = summarised(q, st)
    if choice is not None and any(x.id == choice for x in listed):
        return choice
    words = [w for w in normalise(typed).split() if w not in CHANGE_FILLER]
    if not words:
        return None
    wanted = " ".join(words)
    if wanted.isdigit() and len(wanted) <= 3:
        index = int(wanted)
        return listed[index - 1].id if 1 <= index <= len(listed) else None
    hits = []
    for question in listed:
        names = {normalise(question.id.replace("_", " "))}
        names.update(normalise(s) for s in question.short.values())
        if wanted in names or (
            len(wanted) >= 3
            and any(n.startswith(wanted) or f" {wanted} " in f" {n} " for n in names)
        ):
            hits.append(question.id)
    return hits[0] if len(hits) == 1 else None
