"""The terminal channel: prints bot messages as text, or as JSON lines for scripts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TextIO

from adapters.base import Opened, Report, Unreachable
from conversations import OutMessage


def render_text(message: OutMessage) -> str:
    lines = [message.text]
    lines += [f"  {n}. {choice.label}" for n, choice in enumerate(message.choices, start=1)]
    return "\n".join(lines)


class ConsoleChannel:
    name = "console"

    def __init__(self, out: TextIO, *, as_json: bool = False) -> None:
        self.out = out
        self.as_json = as_json

    async def open_conversation(self, email: str) -> Opened:
        raise Unreachable("the terminal channel cannot start conversations")

    async def send(self, conversation_id: str, messages: Sequence[OutMessage], *, key: str) -> None:
        for message in messages:
            if self.as_json:
                self.out.write(json.dumps(message.to_json(), ensure_ascii=False) + "\n")
            else:
                self.out.write("\n" + render_text(message) + "\n")
        self.out.flush()

    async def post_report(self, target: str, report: Report) -> None:
        self.out.write(report.as_text() + "\n")
        self.out.flush()
