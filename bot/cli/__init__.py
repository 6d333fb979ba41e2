"""The `exitbot` command line. Each command group lives in its own module with `register`."""

from __future__ import annotations

import argparse
import logging
import os
import select
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
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
    missing = _missing_database(args, settings)
    if missing:
        print(f"exitbot: {missing}", file=sys.stderr)
        return 2
    logs.setup(settings.log_format, logging.DEBUG if args.verbose else logging.INFO)
    handler: Handler = args.handler
    try:
        code = handler(args, settings)
        sys.stdout.flush()  # here, not at exit: a reader gone (`| head`) is caught below
        return code
    except BrokenPipeError as exc:
        if not _stdout_gone():
            print(f"exitbot: {exc}", file=sys.stderr)
            return 1
        return _reader_gone()
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


# Commands that act on what a running server keeps. Run where its SQLite file is not (from
# cron, in another directory, without the .env that names the database) they made a new,
# empty database and key, then reported success: a tick that never sends anything,
# "re-encrypted 0 value(s)" before the old key is dropped, an invite no server ever sees.
# (`digest` and `export` on an empty database say that no interview is in.)
ON_EXISTING_DATA = frozenset({"tick", "invite", "approvals", "forget", "rotate-key", "links"})


def _missing_database(args: argparse.Namespace, settings: Settings) -> str | None:
    """Why this command must not run here: its SQLite database does not exist (yet)."""
    from sqlalchemy.engine import make_url

    if args.command not in ON_EXISTING_DATA or getattr(args, "new", False):
        return None  # `rotate-key --new` only prints a key
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    path = Path(url.database).expanduser()
    if path.exists():
        return None
    where = Path.cwd()
    env_file = "" if (where / ".env").is_file() else f", and there is no .env in {where}"
    return (
        f"no database at {path.absolute()} (EXITBOT_DATABASE_URL is {settings.database_url}"
        f"{env_file}): run `exitbot {args.command}` in the directory of the server's .env, "
        "or with its EXITBOT_DATABASE_URL and EXITBOT_ENCRYPTION_KEY set; "
        "`exitbot serve` or `exitbot db upgrade` makes a new database"
    )


# `exitbot chat | head`: once the reader has gone, stop quietly, as a Unix tool does when
# SIGPIPE ends it (a shell reports 128 + 13). Python ignores SIGPIPE (restoring it would
# let a dropped socket kill `exitbot serve`), so writing raises BrokenPipeError instead.
SIGPIPE_STATUS = 128 + 13


def _stdout_gone() -> bool:
    """Whether stdout is a pipe whose reader has closed it (poll reports an error on it)."""
    if not hasattr(select, "poll"):
        return True  # no way to tell (Windows): a broken pipe in a CLI command is stdout
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (OSError, ValueError, AttributeError):  # stdout closed or not a file
        return False


def _reader_gone() -> int:
    """No message and no traceback: what is still buffered for stdout goes nowhere (else
    Python's own flush at exit complains about the broken pipe)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass
    return SIGPIPE_STATUS


def _first_line(exc: BaseException) -> str:
    """What the driver said, without SQLAlchemy's statement and background link."""
    cause = getattr(exc, "orig", None) or exc.__cause__ or exc
    return (str(cause).strip().splitlines() or [type(cause).__name__])[0]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
