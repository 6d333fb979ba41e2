"""HR commands for the anonymised digest: `digest [--dry-run]`, `export --anonymised`, `scrub`."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import sys
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from bot import texts
from bot.config import Settings
from bot.db import Database
from bot.models import Employee
from bot.runtime import Runtime
from bot.scrub import Scrubber

DRY_RUN_CAUTION = (
    "exitbot: a dry run shows the figures before they are posted, for operators who can read "
    "the database anyway: two dry runs compared show what the interviews completed in between "
    "said. For HR, the chat's 'digest preview' shows no figures before a digest is posted."
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    digest = sub.add_parser(
        "digest", help="build the anonymised HR digest now and post it to the HR channel"
    )
    digest.add_argument(
        "--dry-run",
        action="store_true",
        help="print the digest instead; record nothing. For operators, who can read the "
        "database anyway: two dry runs compared show what the interviews completed in between "
        "said; HR's 'digest preview' in chat shows no figures before they are posted",
    )
    digest.set_defaults(handler=digest_cmd)

    export = sub.add_parser(
        "export", help="write per-interview aggregates (no text, no identity) as CSV"
    )
    export.add_argument(
        "--anonymised", metavar="FILE.csv", type=Path, required=True, help="where to write"
    )
    export.set_defaults(handler=export_cmd)

    scrub = sub.add_parser(
        "scrub", help="read lines on stdin, print them with personal data replaced"
    )
    scrub.add_argument("--lang", choices=["nl", "en"], default=None)
    scrub.add_argument(
        "--deduce",
        action="store_true",
        help="also find unknown Dutch names with deduce (if installed; slow to load)",
    )
    scrub.set_defaults(handler=scrub_cmd)


def _open(settings: Settings) -> Runtime:
    """A runtime with the chat channels the app's plugins register (the app is not started)."""
    from bot.app import create_app

    runtime = Runtime.open(settings)
    create_app(runtime)
    return runtime


def digest_cmd(args: argparse.Namespace, settings: Settings) -> int:
    from bot import digest_post
    from bot.digest_render import render_text

    async def dry_run() -> str:
        runtime = Runtime.open(settings)
        try:
            data = await digest_post.preview(runtime, actor="cli:digest")
        finally:
            await runtime.close()
        if not data.quotes:
            return render_text(data)
        # Drawn afresh each time (a seed kept between runs would be one more secret to keep):
        # saying so keeps HR from reading meaning into which quotes appear.
        return f"{render_text(data)}\n\n{texts.dry_run_quotes(data.language)}"

    async def post() -> digest_post.PostResult:
        runtime = _open(settings)
        try:
            return await digest_post.post_digest_now(runtime)
        finally:
            await runtime.close()

    if args.dry_run:
        print(asyncio.run(dry_run()))
        # Figures before they are posted move with every interview: compared, two runs give
        # the person in between away. Said where only the operator reads it.
        print(DRY_RUN_CAUTION, file=sys.stderr)
        return 0
    if not settings.hr_channel:
        print("exitbot: EXITBOT_HR_CHANNEL is not set; nothing posted", file=sys.stderr)
        return 1
    result = asyncio.run(post())
    messages = {
        "posted": "Digest posted to the HR channel.",
        "waiting": "Posted: too few interviews yet; the digest says how many are waiting.",
        "empty": "Nothing to report: no interviews since the last digest.",
    }
    if result.status in messages:
        print(messages[result.status])
        return 0
    reasons = {
        "pending": "the HR channel's chat platform is not configured",
        "failed": "the chat platform refused the post (see the log); the tick retries it",
        "busy": "another process is posting a digest right now",
    }
    print(
        f"exitbot: digest not posted: {reasons.get(result.status, result.status)}", file=sys.stderr
    )
    return 1


def export_cmd(args: argparse.Namespace, settings: Settings) -> int:
    from bot import export
    from bot.departures import describe_moment
    from bot.digest_post import next_fire

    async def go() -> tuple[list[dict[str, str]], int, datetime]:
        runtime = Runtime.open(settings)
        try:
            rows = await export.anonymised_rows(runtime.db)
            return rows, await export.waiting(runtime.db), runtime.clock.now()
        finally:
            await runtime.close()

    rows, waiting, now = asyncio.run(go())
    export.write_csv(args.anonymised, rows)
    print(f"wrote {len(rows)} published interview(s) to {args.anonymised}")
    if waiting:
        # An empty file with interviews completed looks like a fault: say why, and when.
        due = next_fire(settings.digest_cron, settings.zone, now)
        when = describe_moment(due, settings.timezone) if due else "never (EXITBOT_DIGEST_CRON)"
        print(
            f"{waiting} completed interview(s) are not in it yet: only interviews a posted "
            f"digest has published are exported. The next digest is due {when}; it "
            "publishes those completed in the months before it, once at least "
            f"{settings.min_group_size} are in (EXITBOT_MIN_GROUP_SIZE)."
        )
    elif not rows:
        print("No exit interview has been completed yet.")
    return 0


def scrub_cmd(args: argparse.Namespace, settings: Settings) -> int:
    language = args.lang or settings.language
    use_deduce = bool(args.deduce) and importlib.util.find_spec("deduce") is not None
    if args.deduce and not use_deduce:
        print("exitbot: deduce is not installed; unknown names are not scrubbed", file=sys.stderr)
    scrubber = Scrubber.from_names(asyncio.run(known_names(settings)), use_deduce=use_deduce)
    scrubber.warm_up()
    for line in sys.stdin:
        print(scrubber.scrub(line.rstrip("\r\n"), language), flush=True)
    return 0


async def known_names(settings: Settings) -> list[str]:
    """Every employee and manager name stored; none when there is no database yet."""
    db = Database(settings.database_url)
    if db.is_sqlite and (db.sqlite_path is None or not db.sqlite_path.exists()):
        return []
    try:
        async with db.sessions() as session:
            rows = (await session.execute(select(Employee.name, Employee.manager_name))).all()
    except SQLAlchemyError:
        return []
    finally:
        await db.dispose()
    return [name for pair in rows for name in pair if name]
