"""The terminal channel: prints bot messages as text, or as JSON lines for scripts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO

from adapters.base import Opened, Report, Unreachable
from conversations import OutMessage


def numbered(message: OutMessage) -> bool:
    """Whether the terminal numbers the choices, so that typing the number picks one. A
    scale's are not: its labels start with the number to type ("0 – Not at all likely" …
    "10"), and "8" means 8, not the 8th of 0–10."""
    return not all(
        c.value.isdigit() and (c.label == c.value or c.label.startswith(f"{c.value} "))
        for c in message.choices
    )


def render_text(message: OutMessage) -> str:
    lines = [message.text]
    if numbered(message):
        lines += [f"  {n}. {choice.label}" for n, choice in enumerate(message.choices, start=1)]
    else:
        lines += [f"  {choice.label}" for choice in message.choices]
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Picked:
    """The choice a typed number picked from the list shown last, as a click reports it."""

    value: str
    label: str
    kind: str
    question_id: str | None


class ConsoleChannel:
    name = "console"

    def __init__(self, out: TextIO, *, as_json: bool = False) -> None:
        self.out = out
        self.as_json = as_json
        self._shown: OutMessage | None = None  # the last message, when its choices are numbered

    async def open_conversation(self, email: str) -> Opened:
        raise Unreachable("the terminal channel cannot start conversations")

    async def send(self, conversation_id: str, messages: Sequence[OutMessage], *, key: str) -> None:
        for message in messages:
            if self.as_json:
                self.out.write(json.dumps(message.to_json(), ensure_ascii=False) + "\n")
            else:
                self.out.write("\n" + render_text(message) + "\n")
        if messages:
            last = messages[-1]
            self._shown = last if last.choices and numbered(last) else None
        self.out.flush()

    def picked(self, typed: str) -> Picked | None:
        """The choice numbered `typed` in the list shown last ("1" under a summary is its
        "Yes, that's right", not the summary's first line), or None."""
        number = typed.strip().rstrip(".")
        shown = self._shown
        if shown is None or not number.isdigit() or len(number) > 3:
            return None
        if not 1 <= int(number) <= len(shown.choices):
            return None
        choice = shown.choices[int(number) - 1]
        return Picked(choice.value, choice.label, shown.kind, shown.question_id)

    async def post_report(self, target: str, report: Report) -> None:
        self.out.write(report.as_text() + "\n")
        self.out.flush()
