"""Values the engine exchanges with the rest of ExitBot."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MessageKind = Literal["intro", "question", "follow_up", "summary", "info", "outro"]
Status = Literal["invited", "in_progress", "paused", "completed", "stopped", "declined", "deleted"]


@dataclass(frozen=True, slots=True)
class Choice:
    """One button: `value` is what a click sends back, `label` what is shown."""

    value: str
    label: str


@dataclass(frozen=True, slots=True)
class OutMessage:
    """A message from the bot; adapters render `choices` as buttons or a numbered list."""

    kind: MessageKind
    text: str
    choices: tuple[Choice, ...] = ()
    question_id: str | None = None

    def to_json(self) -> dict[str, object]:
        return {"kind": self.kind, "text": self.text, "choices": [c.label for c in self.choices]}


@dataclass(frozen=True, slots=True)
class Answer:
    """One stored answer: seq 0 answers the question, 1..2 answer its follow-ups."""

    question_id: str
    seq: int
    text: str
    value: str | None
    themes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Turn:
    """The effects of one step. Apply `erase_all`, then `discard`, then `store`; keep `state`."""

    messages: tuple[OutMessage, ...]
    state: dict[str, object]
    status: Status
    store: tuple[Answer, ...] = ()
    discard: tuple[str, ...] = ()
    erase_all: bool = False
    ignored_click: bool = False  # a clicked button changed nothing: show no answer on it
