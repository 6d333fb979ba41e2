"""Operations: questionnaire check, themes, scrub, db upgrade, forget, rotate-key."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

import conversations as conv
from bot import keys, migrate
from bot.config import Settings
from bot.db import Database
from bot.runtime import Runtime


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    q = sub.add_parser("questionnaire", help="questionnaire tools")
    qsub = q.add_subparsers(dest="questionnaire_command", required=True)
    check = qsub.add_parser("check", help="validate a questionnaire file")
    check.add_argument("path", type=Path)
    check.set_defaults(handler=questionnaire_check)

    themes = sub.add_parser("themes", help="classify answers (one per line) into theme ids")
    themes.add_argument("--lang", choices=["nl", "en"], default=None)
    themes.set_defaults(handler=themes_cmd)

    db = sub.add_parser("db", help="database tools")
    dbsub = db.add_subparsers(dest="db_command", required=True)
    up = dbsub.add_parser("upgrade", help="apply pending schema migrations")
    up.set_defaults(handler=db_upgrade)

    forget = sub.add_parser("forget", help="erase everything stored about one employee")
    forget.add_argument("email")
    forget.set_defaults(handler=forget_cmd)

    rotate = sub.add_parser(
        "rotate-key", help="re-encrypt stored answers with the first key of EXITBOT_ENCRYPTION_KEY"
    )
    rotate.add_argument("--new", action="store_true", help="only print a fresh key")
    rotate.set_defaults(handler=rotate_key)


def questionnaire_check(args: argparse.Namespace, settings: Settings) -> int:
    path: Path = args.path
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        print(f"{path}: cannot read: {exc.strerror}", file=sys.stderr)
        return 2
    problems = conv.check_questionnaire(text, str(path))
    if problems:
        for problem in problems:
            print(problem)
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 1
    questionnaire = conv.load_questionnaire(text)
    print(
        f"{path}: OK ({questionnaire.id} version {questionnaire.version}, "
        f"{len(questionnaire.questions)} questions, languages {', '.join(questionnaire.languages)})"
    )
    for line in conv.in_english_notes(questionnaire):
        print(f"{path}: note: {line}")
    return 0


def themes_cmd(args: argparse.Namespace, settings: Settings) -> int:
    language = args.lang or settings.language
    for line in sys.stdin:
        print(json.dumps(conv.classify(line.rstrip("\r\n"), language)), flush=True)
    return 0


def db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    revision = migrate.upgrade(Database(settings.database_url))
    print(f"database schema at revision {revision}")
    return 0


def forget_cmd(args: argparse.Namespace, settings: Settings) -> int:
    async def go() -> bool:
        runtime = Runtime.open(settings)
        try:
            return await runtime.service.forget(args.email)
        finally:
            await runtime.close()

    if asyncio.run(go()):
        print("Erased everything stored about that person.")
        return 0
    print("Nobody with that email address is stored.", file=sys.stderr)
    return 1


def rotate_key(args: argparse.Namespace, settings: Settings) -> int:
    if args.new:
        print(keys.new_key())
        return 0
    runtime = Runtime.open(settings)
    try:
        count = keys.rotate(runtime.db, runtime.cipher)
    finally:
        asyncio.run(runtime.close())
    print(f"re-encrypted {count} value(s) with the newest key")
    return 0
