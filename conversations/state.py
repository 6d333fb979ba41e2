"""The interview state: plain JSON, the only memory of a conversation.

Everything refers to question ids, never positions, so a newer form version (questions
added, removed or reordered) continues an interview at the next unanswered question.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, cast

from .questionnaire import Questionnaire
from .types import Status

Phase = Literal[
    "invite", "question", "follow_up", "summary", "correcting", "confirm_delete", "done"
]
PHASES: tuple[str, ...] = (
    "invite",
    "question",
    "follow_up",
    "summary",
    "correcting",
    "confirm_delete",
    "done",
)
ENDINGS: tuple[str, ...] = ("completed", "stopped", "declined", "deleted")
STATE_VERSION = 1


@dataclass(slots=True)
class Given:
    """What the employee said for one question: the answer and their follow-up answers."""

    text: str
    value: str | None
    more: list[str] = field(default_factory=list)


@dataclass(slots=True)
class State:
    form: str
    form_version: str
    lang: str
    phase: Phase = "invite"
    question: str | None = None
    asked: int = 0  # probes put in the current answer round
    fired: list[str] = field(default_factory=list)  # their rule keys
    probe: str | None = None  # the probe awaiting an answer
    used_probes: dict[str, list[str]] = field(default_factory=dict)
    answers: dict[str, Given] = field(default_factory=dict)
    done: list[str] = field(default_factory=list)  # answered or skipped, in order
    skipped: list[str] = field(default_factory=list)
    paused: bool = False
    resume: Phase | None = None  # where to return after confirm_delete
    end: Status | None = None  # the final status once phase is "done"
    min_group: int = 5
    retention_days: int = 90
    counter: int = 0  # varies acknowledgement and probe wording

    @classmethod
    def new(
        cls, q: Questionnaire, language: str, min_group: int, retention_days: int = 90
    ) -> State:
        return cls(
            q.id,
            q.version,
            q.language(language),
            min_group=_int(min_group, 5),
            retention_days=_int(retention_days, 90),
        )

    @classmethod
    def from_json(cls, q: Questionnaire, raw: Mapping[str, object]) -> State:
        """Read a stored state defensively: wrong types fall back to safe defaults."""
        data = raw if type(raw) is dict else (dict(raw) if isinstance(raw, Mapping) else {})
        get = data.get
        phase, resume, end = get("phase"), get("resume"), get("end")
        answers: dict[str, Given] = {}
        raw_answers = get("answers")
        if type(raw_answers) is dict:
            for qid, given in raw_answers.items():
                if type(qid) is str and type(given) is dict:
                    value = given.get("value")
                    answers[qid] = Given(
                        _str(given.get("text")),
                        value if type(value) is str else None,
                        _strs(given.get("more")),
                    )
        used = get("used_probes")
        return cls(
            form=_str(get("form"), q.id),
            form_version=_str(get("form_version"), q.version),
            lang=q.language(get("lang")),
            phase=cast(Phase, phase) if phase in PHASES else "invite",
            question=_opt_str(get("question")),
            asked=_int(get("asked"), 0),
            fired=_strs(get("fired")),
            probe=_opt_str(get("probe")),
            used_probes={k: _strs(v) for k, v in used.items() if type(k) is str}
            if type(used) is dict
            else {},
            answers=answers,
            done=_strs(get("done")),
            skipped=_strs(get("skipped")),
            paused=get("paused") is True,
            resume=cast(Phase, resume) if resume in PHASES and resume != "confirm_delete" else None,
            end=cast(Status, end) if end in ENDINGS else None,
            min_group=_int(get("min_group"), 5),
            retention_days=_int(get("retention_days"), 90),
            counter=_int(get("counter"), 0),
        )

    def to_json(self) -> dict[str, object]:
        return {
            "v": STATE_VERSION,
            "form": self.form,
            "form_version": self.form_version,
            "lang": self.lang,
            "phase": self.phase,
            "question": self.question,
            "asked": self.asked,
            "fired": list(self.fired),
            "probe": self.probe,
            "used_probes": {k: list(v) for k, v in self.used_probes.items()},
            "answers": {
                k: {"text": g.text, "value": g.value, "more": list(g.more)}
                for k, g in self.answers.items()
            },
            "done": list(self.done),
            "skipped": list(self.skipped),
            "paused": self.paused,
            "resume": self.resume,
            "end": self.end,
            "min_group": self.min_group,
            "retention_days": self.retention_days,
            "counter": self.counter,
        }

    def status(self) -> Status:
        phase = self.resume if self.phase == "confirm_delete" else self.phase
        if phase == "done":
            return self.end or "stopped"
        if phase == "invite":
            return "invited"
        return "paused" if self.paused else "in_progress"

    def new_round(self, question_id: str | None) -> None:
        self.question = question_id
        self.asked = 0
        self.fired = []
        self.probe = None

    def next_unanswered(self, q: Questionnaire) -> str | None:
        finished = set(self.done)
        return next((x.id for x in q.questions if x.id not in finished), None)


def _str(value: object, default: str = "") -> str:
    return value if type(value) is str else default


def _opt_str(value: object) -> str | None:
    return value if type(value) is str else None


def _int(value: object, default: int) -> int:
    return value if type(value) is int and 0 <= value < 10**9 else default


def _strs(value: object) -> list[str]:
    if type(value) is not list:
        return []
    return [v for v in value if type(v) is str]
