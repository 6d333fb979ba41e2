"""Departure commands: `tick`, `invite`, `approvals`, `send-test-departure`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid
from datetime import UTC, date, datetime

import aiohttp

from bot import departures
from bot.app import create_app
from bot.clock import FrozenClock
from bot.config import KINDS, ConfigError, Settings
from bot.departure_events import EVENT_TYPES, sign
from bot.runtime import Runtime
from bot.tick import run_tick
from bot.webhook import PATH


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    tick = sub.add_parser("tick", help="run all due work once, print what it did")
    tick.add_argument(
        "--as-of",
        type=_moment,
        metavar="ISO_DATETIME",
        help="act as if it were this moment (testing; e.g. 2026-12-11T09:00:00Z)",
    )
    tick.set_defaults(handler=tick_cmd)

    invite = sub.add_parser("invite", help="an HR admin starts an exit interview by hand")
    invite.add_argument("email")
    invite.add_argument("--last-day", type=_day, required=True, metavar="YYYY-MM-DD")
    invite.add_argument(
        "--kind", choices=KINDS, help="departure kind (default: as known, or other)"
    )
    invite.add_argument("--lang", choices=["nl", "en"], help="interview language")
    invite.set_defaults(handler=invite_cmd)

    approvals = sub.add_parser("approvals", help="list and decide departures awaiting approval")
    decision = approvals.add_mutually_exclusive_group()
    decision.add_argument("--approve", metavar="DEPARTURE_ID", help="approve: invite them")
    decision.add_argument("--skip", metavar="DEPARTURE_ID", help="skip: no interview")
    approvals.set_defaults(handler=approvals_cmd)

    test = sub.add_parser(
        "send-test-departure",
        help="sign a departure event with the configured secret and post it to the server",
    )
    test.add_argument("--email", required=True, help="the (test) employee's work email")
    test.add_argument("--kind", choices=KINDS, default="resignation")
    test.add_argument("--last-day", type=_day, metavar="YYYY-MM-DD", help="default: ~2 weeks")
    test.add_argument("--type", choices=EVENT_TYPES, default="departure.created")
    test.add_argument("--id", dest="departure_id", help="departure id (default: a new test-…)")
    test.add_argument("--lang", choices=["nl", "en"], help="employee language")
    test.add_argument("--url", help=f"webhook URL (default: EXITBOT_PUBLIC_URL + {PATH})")
    test.set_defaults(handler=send_test_departure)


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {value!r}") from None


def _moment(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an ISO date-time, got {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _open(settings: Settings, as_of: datetime | None = None) -> Runtime:
    """A runtime with the chat channels the app's plugins register (the app is not started)."""
    runtime = Runtime.open(settings, clock=FrozenClock(as_of) if as_of else None)
    create_app(runtime)
    return runtime


# ---------------------------------------------------------------------- tick


def tick_cmd(args: argparse.Namespace, settings: Settings) -> int:
    async def go() -> list[str]:
        runtime = _open(settings, args.as_of)
        try:
            return (await run_tick(runtime)).lines()
        finally:
            await runtime.close()

    for line in asyncio.run(go()):
        print(line)
    return 0


# ---------------------------------------------------------------------- invite


def invite_cmd(args: argparse.Namespace, settings: Settings) -> int:
    async def go() -> tuple[departures.DepartureOutcome, date]:
        runtime = _open(settings)
        try:
            outcome = await departures.invite_by_hand(
                runtime, args.email, args.last_day, kind=args.kind, language=args.lang
            )
            return outcome, runtime.clock.now().date()
        finally:
            await runtime.close()

    outcome, today = asyncio.run(go())
    if outcome.reason_code == "web_link":
        print(_by_web_link("Recorded", outcome.departure_id, args.last_day, today))
        return 0
    day = args.last_day.isoformat()
    if outcome.status == "scheduled":
        if outcome.interview == "scheduled" and outcome.invite_at is not None:
            when = departures.describe_moment(outcome.invite_at, outcome.timezone)
            print(f"Scheduled: the invite goes out {when} (departure {outcome.departure_id}).")
        else:
            # not whether they started, paused or have yet to answer: that is their choice
            print(
                f"Already under way: the invite has gone out (departure {outcome.departure_id});"
                f" the interview's end moved to the new last day, {day}. {LINK_AFTER_THE_INVITE}"
            )
        return 0
    if outcome.after_the_invite:
        # the new last day is stored; its time to answer is over, whatever the person did
        print(
            f"Not invited again: departure {outcome.departure_id}'s last day is now {day}. Its "
            "invite had already gone out and its time to answer is over: HR's `status` "
            f"counts it as closed. {LINK_AFTER_THE_INVITE} How it went is not shared.",
            file=sys.stderr,
        )
        return 1
    print(f"Not invited: {outcome.reason or outcome.status}.", file=sys.stderr)
    return 1


# after a chat invite (`bot.fallback.offer_link`), as HR chat's `start` says it
LINK_AFTER_THE_INVITE = (
    "After a chat invite, a private web link after the last day goes to the person by email "
    "only, when the HR system gave their personal address and EXITBOT_SMTP_URL is set: never "
    "to HR admins, and `exitbot links` does not list it."
)


def _by_web_link(done: str, departure_id: str | None, last_day: date, today: date) -> str:
    """What `invite` or `approvals --approve` (`done`: "Recorded", "Approved") did for a last
    working day that has passed (`bot.fallback`): no chat invite; the tick makes the
    interview, by private web link, once that day is over."""
    when = (
        "The server's next tick (within a minute; or run `exitbot tick`)"
        if last_day < today  # as `bot.fallback` compares: UTC dates
        else "The server's first tick after that day (or `exitbot tick` then)"
    )
    return (
        f"{done} departure {departure_id}, without a chat invite: its last working day, "
        f"{last_day.isoformat()}, has passed. {when} makes an interview to hold by private "
        "web link. The link is emailed to the person's personal address when one is known "
        "and EXITBOT_SMTP_URL is set; otherwise HR admins get it in chat, and `exitbot links` "
        "lists it: forward it to the person privately."
    )


# ---------------------------------------------------------------------- approvals


def approvals_cmd(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_approvals(args, settings))


async def _approvals(args: argparse.Namespace, settings: Settings) -> int:
    runtime = _open(settings)
    try:
        if args.approve or args.skip:
            result = await departures.decide(
                runtime, args.approve or args.skip, bool(args.approve), None
            )
            print(_decided(result, runtime))
            return 0 if result.status in ("scheduled", "skipped", "not_invited") else 1
        pending = await departures.pending_approvals(runtime)
        if not pending:
            print("No departures are awaiting approval.")
            return 0
        print(f"{len(pending)} departure(s) awaiting approval:")
        for item in pending:
            print("  " + _describe(item))
        if not sys.stdin.isatty():
            print("Decide with: exitbot approvals --approve ID | --skip ID")
            return 0
        for item in pending:
            answer = await asyncio.to_thread(
                _ask, f"{item.departure_id}: [a]pprove, [s]kip, or Enter to decide later? "
            )
            if answer in ("a", "approve", "s", "skip"):
                # the departure may have changed while the prompt waited: the decision is
                # for what was listed, or nothing (`replaced`)
                result = await departures.decide(
                    runtime,
                    item.departure_id,
                    answer.startswith("a"),
                    None,
                    round_number=item.round_number,
                )
                print("  " + _decided(result, runtime))
        return 0
    finally:
        await runtime.close()


def _decided(result: departures.DecisionResult, runtime: Runtime) -> str:
    """What a decision did; an approval after the last working day (within the fallback's
    days) says what follows, as `invite` does."""
    if (
        result.outcome is not None
        and result.outcome.reason_code == "web_link"
        and result.last_day is not None
    ):
        today = runtime.clock.now().date()
        return _by_web_link("Approved", result.outcome.departure_id, result.last_day, today)
    return result.message


def _describe(item: departures.PendingApproval) -> str:
    who = item.employee_name or "(name unknown)"
    if item.department:
        who += f" ({item.department})"
    return (
        f"{item.departure_id}  {item.kind.replace('_', ' ')}  "
        f"last day {item.last_working_day or '?'}  {who}"
    )


def _ask(prompt: str) -> str:
    try:
        return input(prompt).strip().lower()
    except EOFError:
        return ""


# ---------------------------------------------------------------------- test event


def test_event(args: argparse.Namespace, settings: Settings) -> tuple[str, bytes]:
    """The departure id and JSON body of the test event `args` describe."""
    last_day = args.last_day
    if last_day is None:
        today = datetime.now(settings.zone).date()
        cal = departures.calendar_for(settings.holidays)
        last_day = cal.add_business_days(today, settings.invite_lead_days + 5)
    departure_id = args.departure_id or f"test-{uuid.uuid4().hex[:10]}"
    employee: dict[str, object] = {"email": args.email, "name": "ExitBot test"}
    if args.lang:
        employee["language"] = args.lang
    document = {
        "type": args.type,
        "departure": {
            "id": departure_id,
            "kind": args.kind,
            "last_working_day": last_day.isoformat(),
            "employee": employee,
        },
    }
    return departure_id, json.dumps(document).encode()


def send_test_departure(args: argparse.Namespace, settings: Settings) -> int:
    if args.type != "departure.created" and not args.departure_id:
        # a new made-up id would be accepted as a departure of its own: the test departure
        # meant stays scheduled while IT believes it withdrawn
        print(
            f"exitbot: --type {args.type} needs --id: the id of the test departure to change "
            "(printed when it was created)",
            file=sys.stderr,
        )
        return 2
    if not settings.webhook_secret:
        raise ConfigError("EXITBOT_WEBHOOK_SECRET is not set: there is nothing to sign with")
    departure_id, body = test_event(args, settings)
    try:
        headers = sign(
            settings.webhook_secret,
            f"msg_{uuid.uuid4().hex}",
            int(datetime.now(UTC).timestamp()),
            body,
        )
    except ValueError as exc:
        raise ConfigError(f"EXITBOT_WEBHOOK_SECRET: {exc}") from None
    url = args.url or settings.public_url.rstrip("/") + PATH
    headers["Content-Type"] = "application/json"
    print(f"POST {url}  ({args.type}, departure {departure_id})")
    try:
        status, answer = asyncio.run(_post(url, body, headers))
    except (aiohttp.ClientError, TimeoutError) as exc:
        print(f"could not reach the server: {type(exc).__name__}: {exc}", file=sys.stderr)
        if not args.url:
            print(
                "(the address comes from EXITBOT_PUBLIC_URL; pass --url if the server listens "
                "elsewhere)",
                file=sys.stderr,
            )
        return 1
    print(f"HTTP {status}")
    print(answer)
    if status == 202 and args.type != "departure.cancelled":
        print(
            "This is a real departure: withdraw it with "
            f"`exitbot send-test-departure --email {args.email} --type departure.cancelled "
            f"--id {departure_id}`."
        )
    return 0 if status == 202 else 1


async def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    timeout = aiohttp.ClientTimeout(total=15)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.post(url, data=body, headers=headers) as response,
    ):
        text = await response.text()
    try:
        text = json.dumps(json.loads(text), indent=2)
    except ValueError:
        pass
    return response.status, text
