from __future__ import annotations

import base64
import copy
import json
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from bot.departure_events import (
    EVENT_TYPES,
    KINDS,
    DepartureEvent,
    Employee,
    Manager,
    PayloadError,
    SignatureError,
    parse_departure_event,
    parse_secrets,
    sign,
    verify_signature,
)

KEY_A = bytes(range(32))
KEY_B = bytes(range(100, 132))
SECRET_A = "whsec_" + base64.b64encode(KEY_A).decode()
SECRET_B = "whsec_" + base64.b64encode(KEY_B).decode()
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
TS = int(NOW.timestamp())
MSG_ID = "msg_2x7Yq"

EXAMPLE: dict[str, Any] = {
    "type": "departure.created",
    "departure": {
        "id": "hr-4711",
        "kind": "resignation",
        "last_working_day": "2026-12-18",
        "employee": {
            "id": "E1001",
            "email": "anna@example.com",
            "name": "Anna de Vries",
            "language": "nl",
            "timezone": "Europe/Amsterdam",
            "department": "Sales",
            "personal_email": "anna.devries@example.net",
            "manager": {"email": "jan@example.com", "name": "Jan Jansen"},
        },
    },
}
BODY = json.dumps(EXAMPLE).encode()


def verify(headers: dict[str, str], body: bytes = BODY, **kwargs: Any) -> str:
    kwargs.setdefault("now", NOW)
    return verify_signature(headers, body, [KEY_A], **kwargs)


def signature_of(secret: str, body: bytes = BODY, msg_id: str = MSG_ID, ts: int = TS) -> str:
    return sign(secret, msg_id, ts, body)["webhook-signature"]


# -- secrets -----------------------------------------------------------------------


def test_parse_secrets_single_and_rotation() -> None:
    assert parse_secrets(SECRET_A) == [KEY_A]
    assert parse_secrets(f" {SECRET_A} , {SECRET_B} ") == [KEY_A, KEY_B]


def test_parse_secrets_accepts_unpadded_base64() -> None:
    key = bytes(range(25))  # 25 bytes: base64 needs padding
    encoded = base64.b64encode(key).decode()
    assert encoded.endswith("=")
    assert parse_secrets("whsec_" + encoded.rstrip("=")) == [key]


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", "empty"),
        ("   ", "empty"),
        (base64.b64encode(KEY_A).decode(), "#1 must start with 'whsec_'"),
        (f"{SECRET_A},{base64.b64encode(KEY_B).decode()}", "#2 must start with 'whsec_'"),
        (f"{SECRET_A},,{SECRET_B}", "#2 is empty"),
        ("whsec_not*base64!!", "#1 is not valid base64"),
        ("whsec_" + base64.b64encode(bytes(16)).decode(), "#1 is too short: 16 bytes"),
        ("whsec_" + base64.b64encode(bytes(23)).decode(), "at least 24"),
        ("whsec_", "too short: 0 bytes"),
    ],
)
def test_parse_secrets_errors(value: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as info:
        parse_secrets(value)
    secret_part = value.partition("whsec_")[2].split(",")[0]
    if len(secret_part) > 4:
        assert secret_part not in str(info.value)


def test_parse_secrets_never_echoes_the_secret() -> None:
    raw = base64.b64encode(KEY_A).decode()
    with pytest.raises(ValueError) as info:
        parse_secrets(raw)
    assert raw not in str(info.value)


# -- signing -------------------------------------------------------------------------


def test_spec_test_vector() -> None:
    # the Standard Webhooks reference test vector
    headers = sign(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        b'{"test": 2432232314}',
    )
    assert headers == {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }


def test_sign_with_several_secrets_signs_with_each() -> None:
    headers = sign(f"{SECRET_A},{SECRET_B}", MSG_ID, TS, BODY)
    entries = headers["webhook-signature"].split(" ")
    assert entries == [signature_of(SECRET_A), signature_of(SECRET_B)]
    assert verify_signature(headers, BODY, [KEY_B], now=NOW) == MSG_ID


# -- verification ----------------------------------------------------------------


def test_valid_signature_returns_the_webhook_id() -> None:
    assert verify(sign(SECRET_A, MSG_ID, TS, BODY)) == MSG_ID


def test_headers_are_case_insensitive() -> None:
    headers = {
        "Webhook-Id": MSG_ID,
        "WEBHOOK-TIMESTAMP": str(TS),
        "Webhook-Signature": signature_of(SECRET_A),
    }
    assert verify(headers) == MSG_ID


def test_one_valid_among_several_signatures() -> None:
    wrong = signature_of(SECRET_B)
    header = (
        f"v1a,{base64.b64encode(bytes(64)).decode()} {wrong}  v1,bm90LWl0 {signature_of(SECRET_A)}"
    )
    headers = {"webhook-id": MSG_ID, "webhook-timestamp": str(TS), "webhook-signature": header}
    assert verify(headers) == MSG_ID


def test_malformed_entries_are_skipped_when_another_matches() -> None:
    header = f"garbage v1, v1,%%% {signature_of(SECRET_A)}"
    headers = {"webhook-id": MSG_ID, "webhook-timestamp": str(TS), "webhook-signature": header}
    assert verify(headers) == MSG_ID


@pytest.mark.parametrize("signing_secret", [SECRET_A, SECRET_B])
def test_rotation_any_configured_secret_matches(signing_secret: str) -> None:
    headers = sign(signing_secret, MSG_ID, TS, BODY)
    assert (
        verify_signature(headers, BODY, parse_secrets(f"{SECRET_A},{SECRET_B}"), now=NOW) == MSG_ID
    )


def test_valid_under_second_secret_only() -> None:
    headers = sign(SECRET_B, MSG_ID, TS, BODY)
    assert verify_signature(headers, BODY, [KEY_A, KEY_B], now=NOW) == MSG_ID
    with pytest.raises(SignatureError, match="no matching signature"):
        verify_signature(headers, BODY, [KEY_A], now=NOW)


def test_tampered_body() -> None:
    headers = sign(SECRET_A, MSG_ID, TS, BODY)
    with pytest.raises(SignatureError, match="no matching signature"):
        verify(headers, BODY.replace(b"2026-12-18", b"2026-12-19"))


def test_wrong_secret() -> None:
    with pytest.raises(SignatureError, match="no matching signature"):
        verify(sign(SECRET_B, MSG_ID, TS, BODY))


def test_tampered_id_or_timestamp() -> None:
    headers = sign(SECRET_A, MSG_ID, TS, BODY)
    with pytest.raises(SignatureError, match="no matching signature"):
        verify({**headers, "webhook-id": "msg_other"})
    with pytest.raises(SignatureError, match="no matching signature"):
        verify({**headers, "webhook-timestamp": str(TS - 1)})


def test_reserialised_body_fails() -> None:
    # what a sender's framework might do: parse the JSON and dump it again
    raw = (
        b'{\n  "type": "departure.created",\n  "departure": {"id": "hr-1", "kind": "resignation",'
        b' "last_working_day": "2026-12-18",\n  "employee": {"email": "rene@example.com",'
        b' "name": "Ren\xc3\xa9"}}}'
    )
    reserialised = json.dumps(json.loads(raw)).encode()
    assert reserialised != raw
    headers = sign(SECRET_A, MSG_ID, TS, raw)
    assert verify(headers, raw) == MSG_ID
    with pytest.raises(SignatureError, match="no matching signature"):
        verify(headers, reserialised)


def test_raw_bytes_need_not_be_utf8() -> None:
    body = b"\xff\xfe not utf-8"
    assert verify(sign(SECRET_A, MSG_ID, TS, body), body) == MSG_ID


@pytest.mark.parametrize(
    ("offset", "outcome"),
    [
        (0, None),
        (300, None),  # exactly at the tolerance: accepted
        (-300, None),
        (301, "timestamp too old"),
        (3600, "timestamp too old"),
        (-301, "timestamp too far in the future"),
        (-3600, "timestamp too far in the future"),
    ],
)
def test_timestamp_tolerance(offset: int, outcome: str | None) -> None:
    headers = sign(SECRET_A, MSG_ID, TS, BODY)
    now = NOW + timedelta(seconds=offset)
    if outcome is None:
        assert verify(headers, now=now) == MSG_ID
    else:
        with pytest.raises(SignatureError, match=outcome):
            verify(headers, now=now)


def test_custom_tolerance() -> None:
    headers = sign(SECRET_A, MSG_ID, TS, BODY)
    with pytest.raises(SignatureError, match="too old"):
        verify(headers, now=NOW + timedelta(seconds=61), tolerance=60)


def test_timestamp_is_checked_before_the_signature() -> None:
    # an old replay is reported as old even with a correct signature
    headers = sign(SECRET_A, MSG_ID, TS - 3600, BODY)
    with pytest.raises(SignatureError, match="too old"):
        verify(headers)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header(missing: str) -> None:
    headers = sign(SECRET_A, MSG_ID, TS, BODY)
    del headers[missing]
    with pytest.raises(SignatureError, match=f"^missing header {missing}$"):
        verify(headers)


@pytest.mark.parametrize("empty", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_empty_header(empty: str) -> None:
    headers = {**sign(SECRET_A, MSG_ID, TS, BODY), empty: "  "}
    with pytest.raises(SignatureError, match=f"missing header {empty}"):
        verify(headers)


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ("garbage", "malformed header webhook-signature"),
        ("v1", "malformed header webhook-signature"),
        ("v1,", "malformed header webhook-signature"),
        (",abc=", "malformed header webhook-signature"),
        ("v1,!!!not-base64!!!", "malformed header webhook-signature"),
        ("v1;" + base64.b64encode(bytes(32)).decode(), "malformed header webhook-signature"),
        ("v2," + base64.b64encode(bytes(32)).decode(), "no v1 signature"),
        ("v1," + base64.b64encode(bytes(32)).decode(), "no matching signature"),
    ],
)
def test_malformed_signature_header(header: str, problem: str) -> None:
    headers = {"webhook-id": MSG_ID, "webhook-timestamp": str(TS), "webhook-signature": header}
    with pytest.raises(SignatureError, match=problem):
        verify(headers)


@pytest.mark.parametrize("stamp", ["abc", "1.5e9", f"{TS}.0", f"-{TS}", "", "1" * 20])
def test_invalid_timestamp_header(stamp: str) -> None:
    headers = {**sign(SECRET_A, MSG_ID, TS, BODY), "webhook-timestamp": stamp}
    with pytest.raises(SignatureError, match="webhook-timestamp"):
        verify(headers)


def test_invalid_webhook_id() -> None:
    headers = sign(SECRET_A, MSG_ID, TS, BODY)
    with pytest.raises(SignatureError, match="webhook-id is too long"):
        verify({**headers, "webhook-id": "x" * 300})
    with pytest.raises(SignatureError, match="webhook-id contains invalid characters"):
        verify({**headers, "webhook-id": "msg\x00"})


def test_no_secret_configured_fails_closed() -> None:
    with pytest.raises(SignatureError, match="no webhook secret configured"):
        verify_signature(sign(SECRET_A, MSG_ID, TS, BODY), BODY, [], now=NOW)


def test_naive_now_is_rejected() -> None:
    with pytest.raises(ValueError, match="aware"):
        verify(sign(SECRET_A, MSG_ID, TS, BODY), now=datetime(2026, 3, 10, 12))


def test_default_now_is_the_clock() -> None:
    ts = int(time.time())
    assert verify_signature(sign(SECRET_A, MSG_ID, ts, BODY), BODY, [KEY_A]) == MSG_ID


def test_interoperates_with_the_standardwebhooks_package() -> None:
    standardwebhooks = pytest.importorskip("standardwebhooks")
    hook = standardwebhooks.Webhook(SECRET_A)
    ts = int(time.time())
    ours = sign(SECRET_A, MSG_ID, ts, BODY)
    assert hook.verify(BODY, ours) == EXAMPLE
    theirs = hook.sign(MSG_ID, datetime.fromtimestamp(ts, UTC), BODY.decode())
    assert theirs == ours["webhook-signature"]
    headers = {"webhook-id": MSG_ID, "webhook-timestamp": str(ts), "webhook-signature": theirs}
    assert verify_signature(headers, BODY, [KEY_A]) == MSG_ID


# -- payload ----------------------------------------------------------------------


def body_with(mutate: Callable[[dict[str, Any]], object]) -> bytes:
    data = copy.deepcopy(EXAMPLE)
    mutate(data)
    return json.dumps(data).encode()


def test_parse_full_example() -> None:
    assert parse_departure_event(BODY) == DepartureEvent(
        type="departure.created",
        departure_id="hr-4711",
        kind="resignation",
        last_working_day=date(2026, 12, 18),
        employee=Employee(
            email="anna@example.com",
            id="E1001",
            name="Anna de Vries",
            language="nl",
            timezone="Europe/Amsterdam",
            department="Sales",
            personal_email="anna.devries@example.net",
            manager=Manager(email="jan@example.com", name="Jan Jansen"),
        ),
    )


def test_parse_minimal() -> None:
    body = json.dumps(
        {
            "type": "departure.updated",
            "departure": {
                "id": "hr-1",
                "kind": "contract_end",
                "last_working_day": "2026-06-30",
                "employee": {"email": "piet@example.com"},
            },
        }
    ).encode()
    event = parse_departure_event(body)
    assert event.type == "departure.updated"
    assert event.kind == "contract_end"
    assert event.employee == Employee(email="piet@example.com")
    assert event.employee.manager is None


@pytest.mark.parametrize("event_type", EVENT_TYPES)
@pytest.mark.parametrize("kind", KINDS)
def test_all_types_and_kinds(event_type: str, kind: str) -> None:
    def mutate(d: dict[str, Any]) -> None:
        d["type"] = event_type
        d["departure"]["kind"] = kind

    event = parse_departure_event(body_with(mutate))
    assert (event.type, event.kind) == (event_type, kind)


def test_cancelled_event() -> None:
    event = parse_departure_event(body_with(lambda d: d.update(type="departure.cancelled")))
    assert event.type == "departure.cancelled"
    assert event.departure_id == "hr-4711"


def test_unknown_fields_are_ignored() -> None:
    def mutate(d: dict[str, Any]) -> None:
        d["version"] = 2
        d["departure"]["reason_code"] = {"x": [1, 2]}
        d["departure"]["employee"]["cost_center"] = "CC-9"
        d["departure"]["employee"]["manager"]["phone"] = "+31 20 123 4567"

    assert parse_departure_event(body_with(mutate)) == parse_departure_event(BODY)


def test_normalisation() -> None:
    def mutate(d: dict[str, Any]) -> None:
        d["departure"]["id"] = 4711
        d["departure"]["kind"] = " Resignation "
        employee = d["departure"]["employee"]
        employee["email"] = " Anna.de.Vries@Example.COM "
        employee["language"] = "nl-NL"
        employee["id"] = 1001
        employee["name"] = "   "
        employee["department"] = None
        employee["manager"] = {"email": None, "name": ""}

    event = parse_departure_event(body_with(mutate))
    assert event.departure_id == "4711"
    assert event.kind == "resignation"
    assert event.employee.email == "anna.de.vries@example.com"
    assert event.employee.language == "nl"
    assert event.employee.id == "1001"
    assert event.employee.name is None
    assert event.employee.department is None
    assert event.employee.manager is None


@pytest.mark.parametrize("language", ["EN", "en_GB", "nl-BE", "de"])
def test_language_codes(language: str) -> None:
    def mutate(d: dict[str, Any]) -> None:
        d["departure"]["employee"]["language"] = language

    assert parse_departure_event(body_with(mutate)).employee.language == language[:2].lower()


def _set(path: str, value: object) -> Callable[[dict[str, Any]], None]:
    def mutate(d: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = d
        for key in parents:
            target = target[key]
        target[last] = value

    return mutate


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(d: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = d
        for key in parents:
            target = target[key]
        del target[last]

    return mutate


E = "departure.employee"


@pytest.mark.parametrize(
    ("mutate", "field", "fragment"),
    [
        # missing required fields
        (_drop("type"), "type", "is required"),
        (_drop("departure"), "departure", "is required"),
        (_set("departure", None), "departure", "is required"),
        (_drop("departure.id"), "departure.id", "is required"),
        (_drop("departure.kind"), "departure.kind", "is required"),
        (_drop("departure.last_working_day"), "departure.last_working_day", "is required"),
        (_drop("departure.employee"), E, "is required"),
        (_drop(f"{E}.email"), f"{E}.email", "is required"),
        (_set(f"{E}.email", None), f"{E}.email", "is required"),
        (_set(f"{E}.email", "  "), f"{E}.email", "must not be empty"),
        (_set("departure.id", ""), "departure.id", "must not be empty"),
        # wrong types
        (_set("type", 5), "type", "expected a string, got number"),
        (_set("departure", ["hr-1"]), "departure", "expected an object, got array"),
        (_set("departure", "hr-1"), "departure", "expected an object, got string"),
        (_set("departure.id", ["hr-1"]), "departure.id", "expected a string, got array"),
        (_set("departure.id", True), "departure.id", "expected a string, got boolean"),
        (_set("departure.kind", 1), "departure.kind", "expected a string"),
        (_set("departure.last_working_day", 20261218), "departure.last_working_day", "string"),
        (_set("departure.employee", "anna@example.com"), E, "expected an object, got string"),
        (_set(f"{E}.email", 42), f"{E}.email", "expected a string, got number"),
        (_set(f"{E}.name", {"first": "Anna"}), f"{E}.name", "expected a string, got object"),
        (_set(f"{E}.manager", "Jan"), f"{E}.manager", "expected an object, got string"),
        (_set(f"{E}.manager.name", 7), f"{E}.manager.name", "expected a string"),
        # bad values
        (_set("type", "departure.deleted"), "type", "expected one of departure.created"),
        (_set("type", "created"), "type", "expected one of"),
        (_set("departure.kind", "fired"), "departure.kind", "expected one of resignation"),
        (_set("departure.last_working_day", "2026-02-30"), "departure.last_working_day", "valid"),
        (
            _set("departure.last_working_day", "2026-12-18T00:00:00"),
            "departure.last_working_day",
            "YYYY-MM-DD",
        ),
        (
            _set("departure.last_working_day", "20261218"),
            "departure.last_working_day",
            "YYYY-MM-DD",
        ),
        (_set("departure.last_working_day", "1900-01-01"), "departure.last_working_day", "range"),
        (_set(f"{E}.email", "not-an-email"), f"{E}.email", "not a valid email address"),
        (_set(f"{E}.email", "anna@localhost"), f"{E}.email", "not a valid email address"),
        (_set(f"{E}.email", "anna de vries@example.com"), f"{E}.email", "not a valid email"),
        (_set(f"{E}.email", "anna@@example.com"), f"{E}.email", "not a valid email address"),
        (_set(f"{E}.email", "anna..x@example.com"), f"{E}.email", "not a valid email address"),
        (_set(f"{E}.email", "anna@-example.com"), f"{E}.email", "not a valid email address"),
        (_set(f"{E}.email", "a" * 310 + "@example.com"), f"{E}.email", "too long"),
        (_set(f"{E}.personal_email", "anna at home"), f"{E}.personal_email", "valid email"),
        (_set(f"{E}.manager.email", "jan@"), f"{E}.manager.email", "not a valid email"),
        (_set(f"{E}.timezone", "Mars/Olympus_Mons"), f"{E}.timezone", "IANA time zone"),
        (_set(f"{E}.timezone", "CET+1"), f"{E}.timezone", "IANA time zone"),
        (_set(f"{E}.timezone", "../../etc/passwd"), f"{E}.timezone", "IANA time zone"),
        (_set(f"{E}.timezone", "localtime"), f"{E}.timezone", "IANA time zone"),
        (_set(f"{E}.timezone", "/usr/share/zoneinfo/UTC"), f"{E}.timezone", "IANA time zone"),
        (_set(f"{E}.language", "english"), f"{E}.language", "2-letter language code"),
        (_set(f"{E}.language", "n"), f"{E}.language", "2-letter language code"),
        (_set(f"{E}.language", "12"), f"{E}.language", "2-letter language code"),
        (_set(f"{E}.language", "nl;DROP"), f"{E}.language", "2-letter language code"),
        (_set(f"{E}.name", "Anna\x00"), f"{E}.name", "control characters"),
        (_set(f"{E}.name", "Anna\nde Vries"), f"{E}.name", "control characters"),
        (_set(f"{E}.name", "A" * 201), f"{E}.name", "too long: at most 200"),
        (_set(f"{E}.id", "E" * 101), f"{E}.id", "too long: at most 100"),
        (_set("departure.id", "x" * 101), "departure.id", "too long: at most 100"),
    ],
)
def test_schema_errors(
    mutate: Callable[[dict[str, Any]], object], field: str, fragment: str
) -> None:
    with pytest.raises(PayloadError) as info:
        parse_departure_event(body_with(mutate))
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")
    assert fragment in str(info.value)


def test_bad_date_message() -> None:
    with pytest.raises(PayloadError) as info:
        parse_departure_event(body_with(_set("departure.last_working_day", "18-12-2026")))
    assert info.value.field == "departure.last_working_day"
    assert str(info.value) == (
        "departure.last_working_day: expected a date YYYY-MM-DD, got '18-12-2026'"
    )


def test_email_errors_do_not_echo_the_address() -> None:
    with pytest.raises(PayloadError) as info:
        parse_departure_event(body_with(_set(f"{E}.email", "anna.devries#example.com")))
    assert "anna" not in str(info.value)


def test_first_bad_field_is_named() -> None:
    def mutate(d: dict[str, Any]) -> None:
        d["departure"]["kind"] = "fired"
        d["departure"]["employee"]["email"] = "nope"

    with pytest.raises(PayloadError) as info:
        parse_departure_event(body_with(mutate))
    assert info.value.field == "departure.kind"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"", "not valid JSON"),
        (b"not json", "not valid JSON"),
        (b'{"type": "departure.created",', "not valid JSON"),
        (b"\xff\xfe\x00", "not valid JSON"),
        (b'{"type": NaN}', "NaN is not allowed"),
        (b'[{"type": "departure.created"}]', "expected an object, got array"),
        (b'"departure.created"', "expected an object, got string"),
        (b"null", "expected an object, got null"),
        (b"42", "expected an object, got number"),
        (b'{"type": "departure.created", "type": "departure.cancelled"}', "duplicate key 'type'"),
        (b"[" * 100_000 + b"]" * 100_000, "too large"),
        (b"[" * 30_000 + b"]" * 30_000, "not valid JSON"),
    ],
)
def test_body_errors(body: bytes, fragment: str) -> None:
    with pytest.raises(PayloadError) as info:
        parse_departure_event(body)
    assert info.value.field == "body"
    assert fragment in str(info.value)


def test_a_timestamp_in_milliseconds_is_told_to_use_seconds() -> None:
    headers = sign(SECRET_A, MSG_ID, TS * 1000, BODY)
    with pytest.raises(SignatureError, match="send Unix time in seconds"):
        verify(headers, now=NOW)
