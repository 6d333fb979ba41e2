"""`exitbot chat`: an interview in the terminal, stored like any other; resumable.

With no departure behind it (none recorded for `--as`, or no `--as`) it is a try-out, which
HR's reports do not count (`Interview.tryout`); after `exitbot invite EMAIL --last-day DATE`,
`exitbot chat --as EMAIL` holds that departure's interview, which counts."""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid

from adapters.base import Incoming
from adapters.console import ConsoleChannel
from bot import texts
from bot.config import Settings
from bot.departure_events import valid_email
from bot.runtime import Runtime
from bot.service import OPEN_STATUSES, REOPENABLE_STATUSES


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "chat",
        help="hold an interview in the terminal (resume with the same --as); a try-out, which "
        "HR's reports do not count, unless `exitbot invite` recorded a departure for --as",
    )
    p.add_argument("--lang", choices=["nl", "en"], help="interview language")
    p.add_argument(
        "--as", dest="email", type=_email, metavar="EMAIL", help="who you are (to resume later)"
    )
    p.add_argument("--json", action="store_true", help="print each bot message as a JSON line")
    p.set_defaults(handler=run)


def _email(value: str) -> str:
    """`--as` as typed, when it is an email address (argparse names the option otherwise)."""
    if valid_email(value) is None:
        raise argparse.ArgumentTypeError(
            f"expected your email address (e.g. anna@example.com), got {value!r}"
        )
    return value


def run(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_chat(args, settings))


async def _chat(args: argparse.Namespace, settings: Settings) -> int:
    channel = ConsoleChannel(sys.stdout, as_json=args.json)
    runtime = Runtime.open(settings, channels={"console": channel})
    email = args.email or f"terminal-{uuid.uuid4().hex[:12]}@exitbot.invalid"
    interactive = sys.stdin.isatty() and not args.json
    try:
        outcome = await runtime.service.begin_chat(
            channel="console", email=email, conversation_id=email, language=args.lang
        )
        messages = outcome.messages
        if outcome.tryout:  # nobody leaving: the terminal says so, and how to hold a real one
            note = texts.tryout_note(outcome.language or settings.language, args.email)
            messages = [note, *messages]
        await channel.send(email, messages, key="begin")
        status = outcome.status
        # A finished interview reopened (for "delete my answers"): input until it is deleted.
        # So after "stop" too: its message says to type that (a completion's does not).
        reopened = status in REOPENABLE_STATUSES
        # Declined, and it may still start: the chat says so, and reads on for "start".
        offered = status == "declined"
        while (
            status in OPEN_STATUSES
            or status == "stopped"
            or (reopened and status in REOPENABLE_STATUSES)
            or (offered and status == "declined")
        ):
            line = await asyncio.to_thread(_read_line, interactive)
            if line is None:
                break
            picked = channel.picked(line)  # a number from the list shown: as a click
            result = await runtime.service.handle(
                Incoming(
                    channel="console",
                    user_id=email,
                    conversation_id=email,
                    text=line if picked is None else picked.label,
                    message_id=uuid.uuid4().hex,
                    choice=None if picked is None else picked.value,
                    choice_for=None if picked is None else picked.question_id,
                    choice_on=None if picked is None else picked.kind,
                )
            )
            status = result.status or status
    finally:
        await runtime.close()
    return 0


def _read_line(interactive: bool) -> str | None:
    if interactive:
        try:
            return input("\n> ")
        except EOFError:
            return None
    line = sys.stdin.readline()
    return None if line == "" else line.rstrip("\r\n")
