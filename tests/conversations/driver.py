"""A tiny transcript driver for engine tests: feeds inputs, keeps every Turn, fakes storage."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import conversations as conv

Input = str | tuple[str, str]  # typed text, or ("", button value)


@dataclass
class Transcript:
    q: conv.Questionnaire
    turns: list[conv.Turn] = field(default_factory=list)
    stored: dict[tuple[str, int], conv.Answer] = field(default_factory=dict)

    @property
    def last(self) -> conv.Turn:
        return self.turns[-1]

    def apply(self, turn: conv.Turn) -> conv.Turn:
        """Apply effects the way the service does: erase_all, then discard, then store."""
        if turn.erase_all:
            self.stored.clear()
        for qid in turn.discard:
            for key in [k for k in self.stored if k[0] == qid]:
                del self.stored[key]
        for answer in turn.store:
            self.stored[(answer.question_id, answer.seq)] = answer
        self.turns.append(turn)
        return turn

    def send(self, item: Input, *, quiet_for: timedelta | None = None) -> conv.Turn:
        """`quiet_for`: how long the interview had been quiet before (None: not known)."""
        text, choice = (item[0], item[1]) if isinstance(item, tuple) else (item, None)
        state = json.loads(json.dumps(self.last.state))  # storage round-trip
        return self.apply(conv.advance(self.q, state, text, choice=choice, quiet_for=quiet_for))

    def click(
        self, value: str, question_id: str | None = None, *, on: str | None = None
    ) -> conv.Turn:
        """A button clicked on a message that may be an old one (chat keeps them on screen):
        `question_id`'s, or (`on`) a message of that kind that is not a question."""
        state = json.loads(json.dumps(self.last.state))
        turn = conv.advance(self.q, state, "", choice=value, choice_for=question_id, choice_on=on)
        return self.apply(turn)

    def run(self, inputs: Sequence[Input]) -> Transcript:
        for item in inputs:
            self.send(item)
        return self

    def kinds(self) -> list[str]:
        return [m.kind for m in self.last.messages]

    def text(self) -> str:
        return "\n".join(m.text for m in self.last.messages)

    def value(self, qid: str) -> str | None:
        return self.stored[(qid, 0)].value

    def seqs(self, qid: str) -> list[int]:
        return sorted(seq for (q, seq) in self.stored if q == qid)


def question(q: conv.Questionnaire, question_id: str) -> conv.Question:
    found = q.get(question_id)
    assert found is not None, question_id
    return found


def started(lang: str = "en", q: conv.Questionnaire | None = None) -> Transcript:
    form = q or conv.load_builtin()
    t = Transcript(form)
    t.apply(conv.start(form, lang))
    return t


def invited(lang: str = "en") -> Transcript:
    form = conv.load_builtin()
    t = Transcript(form)
    t.apply(conv.invite(form, lang))
    return t


# Twelve-plus words touching no theme: never probed.
DETAILED_EN = "I really enjoyed the projects with customers and the freedom to organise my own days"
DETAILED_NL = (
    "Ik vond de projecten met klanten heel leuk en de vrijheid om mijn eigen dagen in te delen"
)
