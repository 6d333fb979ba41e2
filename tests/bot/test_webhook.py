"""POST /webhooks/departures through real HTTP: signatures, schema, size, duplicates, order,
and storage outages, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot import departures
from bot.app import create_app
from bot.clock import FrozenClock, ShiftedClock
from bot.db import Database
from bot.models import Departure, Employee, Interview, Job, WebhookEvent
from bot.runtime import Runtime
from tests.support import pg
from tests.support.departures import (
    OTHER_SECRET,
    SECRET,
    WRONG_SECRET,
    Harness,
    departure,
    fast_database_url,  # noqa: F401  (overrides the shared, slower `database_url`)
    fast_sqlite_url_fixture,  # noqa: F401
    harness,
    settings_for,
    signed,
)

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # a Monday


@pytest.fixture
async def h(database_url: str) -> AsyncIterator[Harness]:
    """On both backends: for what storage does."""
    async with harness(database_url, NOW) as built:
        yield built


@pytest.fixture
async def sh(fast_sqlite_url: str) -> AsyncIterator[Harness]:
    """On SQLite only: for HTTP-level checks (signature, schema, size) before any storage."""
    async with harness(fast_sqlite_url, NOW) as built:
        yield built


async def raw_post(h: Harness, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    response = await h.client.post("/webhooks/departures", data=body, headers=headers)
    return response.status, await response.json()


async def nothing_stored(h: Harness) -> bool:
    return all(
        [
            await h.count(WebhookEvent) == 0,
            await h.count(Departure) == 0,
            await h.count(Employee) == 0,
            await h.count(Interview) == 0,
            await h.count(Job) == 0,
        ]
    )


# ---------------------------------------------------------------------- signatures


async def test_valid_signature_schedules_the_invite(h: Harness) -> None:
    status, answer = await h.post(departure())
    assert status == 202
    assert answer == {
        "status": "scheduled",
        "departure_id": "hr-4711",
        "invite_at": "2026-12-11T10:00:00Z",  # 5 business days before Fri 18 Dec, 10:00
        "expires_at": "2026-12-18T23:59:59.999999Z",
        "timezone": "UTC",
        "interview": "scheduled",
    }
    employee = await h.one(Employee)
    assert (employee.email, employee.name) == ("anna@example.com", "Anna de Vries")
    assert await h.count(Job, Job.kind == "invite") == 1
    assert h.metrics.webhooks.labels("scheduled")._value.get() == 1


async def test_one_valid_signature_among_several(sh: Harness) -> None:
    body = json.dumps(departure()).encode()
    headers = signed(body, NOW)
    bogus = "v1," + base64.b64encode(b"x" * 32).decode()
    headers["webhook-signature"] = f"{bogus} {headers['webhook-signature']} v1a,abcd"
    assert (await raw_post(sh, body, headers))[0] == 202


@pytest.mark.parametrize("signing_secret", [SECRET, OTHER_SECRET])
async def test_any_of_several_configured_secrets(fast_sqlite_url: str, signing_secret: str) -> None:
    async with harness(fast_sqlite_url, NOW, webhook_secret=f"{OTHER_SECRET}, {SECRET}") as h:
        status, _ = await h.post(departure(), secret=signing_secret)
        assert status == 202


async def test_tampered_body_is_refused(sh: Harness) -> None:
    body = json.dumps(departure()).encode()
    headers = signed(body, NOW)
    status, answer = await raw_post(sh, body.replace(b"hr-4711", b"hr-4712"), headers)
    assert (status, answer) == (401, {"error": "signature: no matching signature"})
    assert await nothing_stored(sh)
    assert sh.metrics.webhooks.labels("bad_signature")._value.get() == 1


async def test_wrong_secret_is_refused(sh: Harness) -> None:
    status, _ = await sh.post(departure(), secret=WRONG_SECRET)
    assert status == 401
    assert await nothing_stored(sh)


@pytest.mark.parametrize(
    ("age", "problem"),
    [
        (timedelta(minutes=5, seconds=1), "timestamp too old"),
        (timedelta(hours=3), "timestamp too old"),
        (-timedelta(minutes=6), "timestamp too far in the future"),
    ],
)
async def test_timestamp_outside_five_minutes_is_refused(
    sh: Harness, age: timedelta, problem: str
) -> None:
    status, answer = await sh.post(departure(), at=NOW - age)
    assert (status, answer["error"]) == (401, f"signature: {problem}")
    assert await nothing_stored(sh)


async def test_timestamp_within_five_minutes_is_accepted(sh: Harness) -> None:
    assert (await sh.post(departure(), at=NOW - timedelta(minutes=4, seconds=59)))[0] == 202


async def test_a_rehearsal_checks_freshness_against_the_real_time(fast_sqlite_url: str) -> None:
    """`exitbot serve --as-of` moves ExitBot's time, not the HR system's: its webhooks carry
    the real time and are accepted; one stamped with the rehearsal's time is refused."""
    rehearsal = datetime.now(UTC) + timedelta(days=40)
    runtime = Runtime.open(settings_for(fast_sqlite_url), clock=ShiftedClock(rehearsal))
    client = TestClient(TestServer(create_app(runtime), host="127.0.0.1"))
    await client.start_server()
    try:
        body = json.dumps(departure(last_day=(rehearsal + timedelta(days=20)).date().isoformat()))
        real = await client.post(
            "/webhooks/departures", data=body, headers=signed(body.encode(), datetime.now(UTC))
        )
        assert real.status == 202, await real.text()
        assert (await real.json())["status"] == "scheduled"
        moved = await client.post(
            "/webhooks/departures",
            data=body,
            headers=signed(body.encode(), runtime.clock.now()),
        )
        assert moved.status == 401
        assert (await moved.json())["error"] == "signature: timestamp too far in the future"
    finally:
        await client.close()
        await runtime.close()


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
async def test_missing_header_is_refused(sh: Harness, missing: str) -> None:
    body = json.dumps(departure()).encode()
    headers = signed(body, NOW)
    del headers[missing]
    status, answer = await raw_post(sh, body, headers)
    assert (status, answer["error"]) == (401, f"signature: missing header {missing}")
    assert await nothing_stored(sh)


@pytest.mark.parametrize("name", ["webhook-id", "webhook-timestamp", "webhook-signature"])
@pytest.mark.parametrize("first", [True, False])
async def test_a_signing_header_given_twice_is_refused(sh: Harness, name: str, first: bool) -> None:
    """Which one was signed? Verification read one, the ordering of events another: a
    non-numeric extra timestamp was a 500, a far-future one (added on the way to a validly
    signed request) would have made every later event of that departure look stale."""
    from multidict import CIMultiDict

    body = json.dumps(departure()).encode()
    headers = CIMultiDict(signed(body, NOW))
    extra = "99999999999" if name == "webhook-timestamp" else headers[name]
    twice = CIMultiDict()
    for key, value in headers.items():
        if key.lower() == name and first:
            twice.add(key, extra)
        twice.add(key, value)
        if key.lower() == name and not first:
            twice.add(key, extra)
    response = await sh.client.post("/webhooks/departures", data=body, headers=twice)
    assert response.status == 401
    assert (await response.json())["error"] == f"signature: header {name} given more than once"
    assert await nothing_stored(sh)


async def test_body_parsed_and_reserialised_is_refused(sh: Harness) -> None:
    original = json.dumps(departure(), indent=2).encode()
    headers = signed(original, NOW)
    reserialised = json.dumps(json.loads(original)).encode()  # what a JSON proxy would do
    assert reserialised != original and json.loads(reserialised) == json.loads(original)
    assert (await raw_post(sh, reserialised, headers))[0] == 401
    assert (await raw_post(sh, original, headers))[0] == 202


async def test_without_a_configured_secret_everything_is_refused(fast_sqlite_url: str) -> None:
    async with harness(fast_sqlite_url, NOW, webhook_secret=None) as h:
        status, answer = await h.post(departure())
        assert status == 401
        assert "not configured" in answer["error"]
        assert await nothing_stored(h)


# ---------------------------------------------------------------------- schema


def _without(path: str) -> dict[str, Any]:
    document: dict[str, Any] = departure()
    *parents, last = path.split(".")
    target = document
    for part in parents:
        target = target[part]
    del target[last]
    return document


def _with(path: str, value: object) -> dict[str, Any]:
    document: dict[str, Any] = departure()
    *parents, last = path.split(".")
    target = document
    for part in parents:
        target = target[part]
    target[last] = value
    return document


SCHEMA_ERRORS = [
    (_without("type"), "type"),
    (_with("type", "departure.deleted"), "type"),
    (_without("departure"), "departure"),
    (_with("departure", []), "departure"),
    (_without("departure.id"), "departure.id"),
    (_with("departure.id", ""), "departure.id"),
    (_without("departure.kind"), "departure.kind"),
    (_with("departure.kind", "sabbatical"), "departure.kind"),
    (_without("departure.last_working_day"), "departure.last_working_day"),
    (_with("departure.last_working_day", "18-12-2026"), "departure.last_working_day"),
    (_with("departure.last_working_day", "2026-02-30"), "departure.last_working_day"),
    (_without("departure.employee"), "departure.employee"),
    (_without("departure.employee.email"), "departure.employee.email"),
    (_with("departure.employee.email", "anna.example.com"), "departure.employee.email"),
    (_with("departure.employee.language", "Nederlands"), "departure.employee.language"),
    (_with("departure.employee.timezone", "Mars/Olympus"), "departure.employee.timezone"),
    (_with("departure.employee.name", 42), "departure.employee.name"),
    (_with("departure.employee.personal_email", "x@"), "departure.employee.personal_email"),
    (_with("departure.employee.manager", "Jan"), "departure.employee.manager"),
    (
        _with("departure.employee.manager", {"email": "jan"}),
        "departure.employee.manager.email",
    ),
]


@pytest.mark.parametrize(("document", "field"), SCHEMA_ERRORS)
async def test_schema_error_names_the_field(
    sh: Harness, document: dict[str, Any], field: str
) -> None:
    status, answer = await sh.post(document)
    assert status == 400
    assert answer["field"] == field
    assert answer["error"].startswith(field + ":")
    assert "anna" not in answer["error"]  # personal data is never echoed
    assert await nothing_stored(sh)


@pytest.mark.parametrize(
    "body", [b"", b"not json", b"[]", b'{"type": "departure.created", "type": "x"}', b"NaN"]
)
async def test_a_body_that_is_no_event_is_a_400_for_body(sh: Harness, body: bytes) -> None:
    status, answer = await sh.post(body)
    assert (status, answer["field"]) == (400, "body")


# ---------------------------------------------------------------------- size


async def test_over_64_kib_is_413_by_content_length(sh: Harness) -> None:
    document = departure(department="x" * 100)
    body = json.dumps({**document, "padding": "p" * (64 * 1024)}).encode()
    status, answer = await raw_post(sh, body, signed(body, NOW))
    assert status == 413
    assert "64" in answer["error"] or "65536" in answer["error"]
    assert await nothing_stored(sh)


async def test_over_64_kib_is_413_when_streamed_without_length(sh: Harness) -> None:
    body = json.dumps({**departure(), "padding": "p" * (64 * 1024)}).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 8192):
            yield body[start : start + 8192]

    response = await sh.client.post(
        "/webhooks/departures", data=chunks(), headers=signed(body, NOW)
    )
    assert response.status == 413
    assert await nothing_stored(sh)


async def test_exactly_64_kib_is_accepted(sh: Harness) -> None:
    base = json.dumps({**departure(), "padding": ""}).encode()
    body = json.dumps({**departure(), "padding": "p" * (64 * 1024 - len(base))}).encode()
    assert len(body) == 64 * 1024
    status, _ = await raw_post(sh, body, signed(body, NOW))
    assert status == 202


# ---------------------------------------------------------------------- duplicates and order


async def test_repeated_webhook_id_is_a_duplicate_and_changes_nothing(h: Harness) -> None:
    assert (await h.post(departure(), msg_id="msg_1"))[0] == 202
    before = await h.one(Departure)
    cancel = departure("departure.cancelled")
    status, answer = await h.post(cancel, msg_id="msg_1", at=NOW + timedelta(seconds=30))
    assert (status, answer) == (202, {"status": "duplicate", "departure_id": "hr-4711"})
    after = await h.one(Departure)
    assert (after.status, after.event_at, after.updated_at) == (
        before.status,
        before.event_at,
        before.updated_at,
    )
    assert await h.count(Interview, Interview.status == "scheduled") == 1
    assert await h.count(WebhookEvent) == 1


async def test_update_before_create_acts_as_create(h: Harness) -> None:
    update = departure("departure.updated", last_day="2026-12-18")
    status, answer = await h.post(update, at=NOW)
    assert (status, answer["status"], answer["invite_at"]) == (
        202,
        "scheduled",
        "2026-12-11T10:00:00Z",
    )
    # The older create arrives late: it must not undo the update's last day.
    create = departure(last_day="2026-12-31")
    status, answer = await h.post(create, at=NOW - timedelta(seconds=60))
    assert (status, answer["status"], answer["stale"]) == (202, "scheduled", True)
    stored = await h.one(Departure)
    assert str(stored.last_working_day) == "2026-12-18"
    assert await h.count(Interview) == 1


async def test_cancel_before_create_stays_cancelled(h: Harness) -> None:
    status, answer = await h.post(departure("departure.cancelled"), at=NOW)
    assert (status, answer["status"]) == (202, "cancelled")
    status, answer = await h.post(departure(), at=NOW - timedelta(seconds=5))
    assert (status, answer["status"], answer["stale"]) == (202, "cancelled", True)
    # Equal timestamps: the cancellation still wins.
    status, answer = await h.post(departure("departure.updated"), at=NOW)
    assert answer["status"] == "cancelled"
    assert (await h.one(Departure)).status == "cancelled"
    assert await h.count(Interview) == 0
    assert await h.count(Employee) == 0  # nothing kept about a withdrawn departure


async def test_stale_update_after_newer_changes_nothing(h: Harness) -> None:
    await h.post(departure(), at=NOW - timedelta(seconds=100))
    await h.post(departure("departure.updated", last_day="2026-12-23"), at=NOW)
    status, answer = await h.post(
        departure("departure.updated", last_day="2027-01-29", department="Sales"),
        at=NOW - timedelta(seconds=50),
    )
    assert (status, answer["stale"], answer["invite_at"]) == (202, True, "2026-12-16T10:00:00Z")
    assert str((await h.one(Departure)).last_working_day) == "2026-12-23"
    assert (await h.one(Employee)).department is None
    job = await h.one(Job, Job.kind == "invite")
    assert job.due_at == datetime(2026, 12, 16, 10, tzinfo=UTC)


async def test_newer_event_after_cancel_reactivates(h: Harness) -> None:
    await h.post(departure(), at=NOW - timedelta(seconds=10))
    await h.post(departure("departure.cancelled"), at=NOW - timedelta(seconds=5))
    assert await h.count(Interview, Interview.status == "cancelled") == 1
    status, answer = await h.post(departure("departure.updated"), at=NOW)
    assert (status, answer["status"]) == (202, "scheduled")
    assert await h.count(Interview, Interview.status == "scheduled") == 1


# ---------------------------------------------------------------------- storage down


async def test_storage_down_sqlite_is_503_and_nothing_is_stored(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    url = f"sqlite:///{folder / 'exitbot.db'}"
    async with harness(url, NOW) as h:
        await h.runtime.db.engine.dispose()  # no pooled connection outlives the volume
        shutil.move(folder, tmp_path / "away")  # the volume disappears under the server
        status, answer = await h.post(departure(), msg_id="msg_down")
        assert status == 503
        assert "retry" in answer["error"]
        assert h.metrics.webhooks.labels("storage_unavailable")._value.get() == 1
        shutil.rmtree(folder, ignore_errors=True)  # anything created while it was away
        shutil.move(tmp_path / "away", folder)
        assert await nothing_stored(h)
        # The sender retries with the same webhook-id: now it is stored, not a duplicate.
        status, answer = await h.post(departure(), msg_id="msg_down")
        assert (status, answer["status"]) == (202, "scheduled")


@pytest.mark.postgres
async def test_storage_down_postgres_is_503_and_nothing_is_stored() -> None:
    if pg.admin_url() is None:
        pytest.skip(f"PostgreSQL tests need {pg.ENV}")
    url = pg.create_database()
    try:
        real = Runtime.open(settings_for(url), clock=FrozenClock(NOW))
        await real.close()
        unreachable = Database("postgresql://postgres@127.0.0.1:1/nowhere")
        runtime = Runtime(
            real.settings, unreachable, real.cipher, real.questionnaire, real.service, real.clock
        )
        client = TestClient(TestServer(create_app(runtime), host="127.0.0.1"))
        await client.start_server()
        try:
            body = json.dumps(departure()).encode()
            response = await client.post(
                "/webhooks/departures", data=body, headers=signed(body, NOW)
            )
            assert response.status == 503
        finally:
            await client.close()
        check = Database(url)
        async with check.sessions() as session:
            assert (await session.scalars(select(WebhookEvent))).all() == []
            assert (await session.scalars(select(Departure))).all() == []
        await check.dispose()
    finally:
        pg.drop_database(url)


async def test_failure_mid_transaction_leaves_nothing_half_stored(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.db import StorageUnavailable

    async def broken(*args: object, **kwargs: object) -> None:
        raise StorageUnavailable("connection lost")

    monkeypatch.setattr(departures, "schedule", broken)
    status, _ = await h.post(departure(), msg_id="msg_half")
    assert status == 503
    assert await nothing_stored(h)  # webhook id, employee, departure all rolled back
    monkeypatch.undo()
    status, answer = await h.post(departure(), msg_id="msg_half")
    assert (status, answer["status"]) == (202, "scheduled")


async def test_one_person_gets_one_interview_whatever_the_departure_ids(h: Harness) -> None:
    """Two departure records for one person (or one sent twice under two ids) would count
    that person twice in a digest; the second is not invited and says why."""
    status, first = await h.post(departure(id_="hr-a"))
    assert (status, first["status"]) == (202, "scheduled")
    status, second = await h.post(departure(id_="hr-b", last_day="2026-12-22"))
    assert status == 202
    assert second["status"] == "not_invited"
    assert (second["reason"], second["reason_code"]) == (
        "the employee has or had an exit interview for another departure (one at a time, "
        "and one in 365 days); how it went is not shared",
        "interview_elsewhere",
    )
    assert await h.count(Interview) == 1
    assert await h.count(Job, Job.kind == "invite") == 1
    # Once the first departure is cancelled, the second one is invited (without waiting for
    # its next event).
    status, cancelled = await h.post(departure("departure.cancelled", id_="hr-a"))
    assert (status, cancelled["status"]) == (202, "cancelled")
    assert await h.count(Interview, Interview.status == "scheduled") == 1
    status, again = await h.post(departure("departure.updated", id_="hr-b", last_day="2026-12-22"))
    assert (status, again["status"], again["interview"]) == (202, "scheduled", "scheduled")
    assert await h.count(Interview, Interview.status == "scheduled") == 1
    # Someone else is of course invited as usual.
    status, other = await h.post(departure(id_="hr-c", email="bram@example.com"))
    assert (status, other["status"]) == (202, "scheduled")


def occurring(document: dict[str, object], moment: datetime) -> dict[str, object]:
    return {**document, "occurred_at": moment.isoformat().replace("+00:00", "Z")}


async def test_occurred_at_orders_events_whose_retries_are_signed_afresh(h: Harness) -> None:
    """A sender retrying after minutes signs the retry with a new webhook-timestamp (and an
    old one would be refused as too old): `occurred_at` keeps the HR system's own order."""
    update = departure("departure.updated", last_day="2027-01-29")
    status, answer = await h.post(occurring(update, NOW - timedelta(seconds=240)))
    assert (status, answer["status"], answer["invite_at"]) == (
        202,
        "scheduled",
        "2027-01-22T10:00:00Z",
    )
    # The earlier "created", delivered only now, signed now: older by what happened in HR
    created = occurring(departure(last_day="2026-12-18"), NOW - timedelta(seconds=360))
    status, answer = await h.post(created)
    assert (status, answer["stale"], answer["invite_at"]) == (202, True, "2027-01-22T10:00:00Z")
    assert str((await h.one(Departure)).last_working_day) == "2027-01-29"


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("yesterday", "not an RFC 3339 date-time"),
        ("2026-11-30", "needs a date, a time and an offset"),
        ("2026-11-30T09:00:00", "needs a date, a time and an offset"),
        ("2026-12-01T12:00:00Z", "is in the future"),
        (1764500000, "expected a string"),
    ],
)
async def test_a_bad_occurred_at_is_a_400_naming_it(sh: Harness, value: object, says: str) -> None:
    status, answer = await sh.post({**departure(), "occurred_at": value})
    assert status == 400 and answer["field"] == "occurred_at", answer
    assert says in answer["error"]
    assert await nothing_stored(sh)


@pytest.mark.parametrize("size", [100, 20_000])
async def test_a_body_that_cannot_be_read_is_a_400_before_anything_else(
    sh: Harness, caplog: pytest.LogCaptureFixture, size: int
) -> None:
    """A false Content-Encoding: refused as unreadable (it was a 500), nothing stored; and no
    ERROR traceback in the log when aiohttp reads out the rest of the body (anyone could
    send these)."""
    body = json.dumps({**departure(), "padding": "x" * size}).encode()
    headers = {**signed(body, NOW), "Content-Encoding": "gzip"}
    with caplog.at_level(logging.INFO):
        status, answer = await raw_post(sh, body, headers)
        await asyncio.sleep(0.1)  # the connection's clean-up after the answer
    assert (status, answer["field"]) == (400, "body")
    assert "Content-Encoding" in answer["error"]
    assert await nothing_stored(sh)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


async def test_a_language_the_interview_is_not_held_in_is_ignored(h: Harness) -> None:
    """ "fr" would have pinned the employee to the default language and hidden the chat
    profile's; it is stored as unknown, so the profile (else EXITBOT_LANGUAGE) decides."""
    status, _ = await h.post(departure(language="fr"))
    assert status == 202
    assert (await h.one(Employee)).language is None
    status, _ = await h.post(departure("departure.updated", language="nl-NL"))
    assert status == 202
    assert (await h.one(Employee)).language == "nl"


async def test_a_webhook_id_of_256_characters_is_accepted_on_every_backend(
    database_url: str,
) -> None:
    """The documented limit (docs/webhook-openapi.yaml); the column held 200, so on
    PostgreSQL such an event was answered 503 and retried for ever. Once, then a duplicate."""
    async with harness(database_url, NOW) as h:
        body = json.dumps(departure()).encode()
        headers = signed(body, NOW, msg_id="msg_" + "x" * 252)
        assert (await raw_post(h, body, headers))[0] == 202
        status, answer = await raw_post(h, body, headers)
        assert (status, answer["status"]) == (202, "duplicate")


async def test_after_forget_the_hr_systems_next_event_invites_nobody(database_url: str) -> None:
    """`exitbot forget` erases the person and their departures. The HR system's routine
    `departure.updated` then re-created them and scheduled a new invite, even after they had
    asked to be erased. A tombstone (a SHA-256 of the departure id, nothing personal) now
    makes its later events change nothing; a new departure of the same person is new."""
    from bot.models import ErasedDeparture, erased_ref

    async with harness(database_url, NOW) as h:
        status, answer = await h.post(departure())
        assert (status, answer["status"]) == (202, "scheduled")
        assert await h.runtime.service.forget("anna@example.com")
        assert (await h.count(Employee), await h.count(Departure), await h.count(Job)) == (0, 0, 0)
        [tombstone] = (await h.one(ErasedDeparture),)
        assert tombstone.ref_hash == erased_ref("hr-4711")  # no name, no address

        status, answer = await h.post(departure("departure.updated", last_day="2026-12-23"))
        assert status == 202 and answer["status"] == "not_invited"
        assert "erased on request" in answer["reason"]
        status, answer = await h.post(departure("departure.cancelled"))
        assert (status, answer["status"]) == (202, "cancelled")
        assert (await h.count(Employee), await h.count(Departure), await h.count(Interview)) == (
            0,
            0,
            0,
        )
        assert await h.count(Job) == 0

        status, answer = await h.post(departure(id_="hr-9000"))  # leaving again, years on
        assert (status, answer["status"]) == (202, "scheduled")


def test_every_reason_code_is_documented() -> None:
    """IT builds on `reason_code`: each one the answers can carry is in docs/webhook.md's
    table and in the OpenAPI enum."""
    docs = Path(__file__).resolve().parents[2] / "docs"
    guide = (docs / "webhook.md").read_text()
    spec = (docs / "webhook-openapi.yaml").read_text()
    for code in departures.REASONS.keys() - {"invalid_email"}:  # the webhook answers 400
        assert f"| `{code}` |" in guide, code
        assert f"            - {code}\n" in spec, code
