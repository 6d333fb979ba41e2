"""The `exitbot` command line. Each command group lives in its own module with `register`."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from types import ModuleType

from sqlalchemy.exc import OperationalError

from bot import logs
from bot.config import ConfigError, Settings
from bot.crypto import CryptoKeyError
from bot.db import StorageUnavailable
from conversations.questionnaire import QuestionnaireError

log = logging.getLogger(__name__)

Handler = Callable[[argparse.Namespace, Settings], int]


def _modules() -> list[ModuleType]:
    from bot.cli import admin, chat, departures, hr, ops, serve, teams, web

    return [serve, chat, ops, admin, departures, web, hr, teams]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="exitbot",
        description="Exit interviews in Slack, Teams, the terminal and the browser.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in _modules():
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"exitbot: configuration error: {exc}", file=sys.stderr)
        return 2
    logs.setup(settings.log_format, logging.DEBUG if args.verbose else logging.INFO)
    handler: Handler = args.handler
    try:
        return handler(args, settings)
    except (ConfigError, CryptoKeyError) as exc:
        print(f"exitbot: {exc}", file=sys.stderr)
        return 2
    except QuestionnaireError as exc:
        print(f"exitbot: EXITBOT_QUESTIONNAIRE: {exc}", file=sys.stderr)
        return 2
    except (StorageUnavailable, OperationalError) as exc:
        print(f"exitbot: the database cannot be reached: {_first_line(exc)}", file=sys.stderr)
        return 1
    except OSError as exc:  # a port taken, a host unknown, a file that cannot be written
        print(f"exitbot: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _first_line(exc: BaseException) -> str:
    """What the driver said, without SQLAlchemy's statement and background link."""
    cause = getattr(exc, "orig", None) or exc.__cause__ or exc
    return (str(cause).strip().splitlines() or [type(cause).__name__])[0]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
