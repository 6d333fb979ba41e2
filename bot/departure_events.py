"""The departure webhook: Standard Webhooks (v1, symmetric) verification and the
departure payload schema.

Pure logic: the HTTP server reads the raw body and headers, calls
:func:`verify_signature` on the *raw bytes* first, and only then
:func:`parse_departure_event`.

Signing scheme (https://www.standardwebhooks.com/): headers ``webhook-id``,
``webhook-timestamp`` (integer Unix seconds) and ``webhook-signature`` (one or more
space-separated ``v1,<base64 HMAC-SHA256>`` entries) over
``"{id}.{timestamp}.{raw body}"``, keyed with the base64-decoded part of a
``whsec_`` secret. Several configured secrets (rotation) and several signatures in
one header are supported; comparisons are constant-time.

Nothing here logs or echoes secrets, e-mail addresses or names.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any, Final
from zoneinfo import available_timezones

__all__ = [
    "EVENT_TYPES",
    "KINDS",
    "MAX_BODY_BYTES",
    "MIN_SECRET_BYTES",
    "SECRET_PREFIX",
    "DepartureEvent",
    "Employee",
    "Manager",
    "PayloadError",
    "SignatureError",
    "parse_departure_event",
    "parse_secrets",
    "sign",
    "verify_signature",
]

logger = logging.getLogger(__name__)

SECRET_PREFIX: Final = "whsec_"
MIN_SECRET_BYTES: Final = 24  # Standard Webhooks: secrets are 24..64 random bytes
DEFAULT_TOLERANCE: Final = 300  # seconds either side of now
MAX_BODY_BYTES: Final = 64 * 1024  # the server answers 413 above this

HEADER_ID: Final = "webhook-id"
HEADER_TIMESTAMP: Final = "webhook-timestamp"
HEADER_SIGNATURE: Final = "webhook-signature"
_MAX_ID_LENGTH: Final = 256
_TIMESTAMP_RE: Final = re.compile(r"[0-9]{1,15}")

EVENT_TYPES: Final = ("departure.created", "departure.updated", "departure.cancelled")
KINDS: Final = ("resignation", "contract_end", "dismissal", "retirement", "other")

MAX_EMAIL_LENGTH: Final = 320
MAX_NAME_LENGTH: Final = 200
MAX_ID_LENGTH: Final = 100
MAX_DEPARTMENT_LENGTH: Final = 200
MAX_TIMEZONE_LENGTH: Final = 64
MAX_LANGUAGE_LENGTH: Final = 35


# ---------------------------------------------------------------------------
# Signatures
# ---------------------------------------------------------------------------


class SignatureError(Exception):
    """The request is not authentically signed; the message says why (safe to log
    and to return in a 401: it never contains secrets or signatures)."""


def _b64decode_strict(value: str) -> bytes:
    """Standard base64 (padding optional); raises ``binascii.Error`` on junk."""
    padded = value + "=" * (-len(value) % 4)
    return base64.b64decode(padded, validate=True)


def parse_secrets(value: str) -> list[bytes]:
    """HMAC keys from ``EXITBOT_WEBHOOK_SECRET``: one or more comma-separated
    ``whsec_<base64>`` secrets (several during rotation).

    Raises ``ValueError`` naming the problem and the secret's position, never its
    value.
    """
    items = [item.strip() for item in value.split(",")]
    if not any(items):
        raise ValueError("webhook secret is empty")
    keys: list[bytes] = []
    for position, item in enumerate(items, start=1):
        label = f"webhook secret #{position}"
        if not item:
            raise ValueError(f"{label} is empty (stray comma?)")
        if not item.startswith(SECRET_PREFIX):
            raise ValueError(f"{label} must start with {SECRET_PREFIX!r}")
        try:
            key = _b64decode_strict(item[len(SECRET_PREFIX) :])
        except (binascii.Error, ValueError):
            raise ValueError(f"{label} is not valid base64 after {SECRET_PREFIX!r}") from None
        if len(key) < MIN_SECRET_BYTES:
            raise ValueError(
                f"{label} is too short: {len(key)} bytes, at least {MIN_SECRET_BYTES} required"
            )
        keys.append(key)
    return keys


def _signature(key: bytes, msg_id: str, timestamp: str, body: bytes) -> bytes:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return hmac.new(key, signed, hashlib.sha256).digest()


def _candidate_signatures(header: str) -> list[bytes]:
    """The decoded ``v1`` signatures of a ``webhook-signature`` header.

    Entries of other versions (e.g. ``v1a`` asymmetric) are ignored, as the spec
    asks; the header is malformed when it holds no well-formed entry at all.
    """
    candidates: list[bytes] = []
    well_formed = 0
    for entry in header.split():
        version, sep, encoded = entry.partition(",")
        if not sep or not version or not encoded:
            continue
        try:
            decoded = _b64decode_strict(encoded)
        except (binascii.Error, ValueError):
            continue
        well_formed += 1
        if version == "v1":
            candidates.append(decoded)
    if not well_formed:
        raise SignatureError(f"malformed header {HEADER_SIGNATURE}")
    if not candidates:
        raise SignatureError(f"no v1 signature in header {HEADER_SIGNATURE}")
    return candidates


def verify_signature(
    headers: Mapping[str, str],
    body: bytes,
    secrets: Sequence[bytes],
    now: datetime | None = None,
    tolerance: int = DEFAULT_TOLERANCE,
) -> str:
    """Verify a Standard Webhooks signature over the raw ``body``; return the
    ``webhook-id`` (for de-duplication).

    ``headers`` are matched case-insensitively. Any ``v1`` signature in the header
    may match any of ``secrets``. Raises :class:`SignatureError`.
    """
    if not secrets:
        raise SignatureError("no webhook secret configured")
    pairs = [(name.lower(), value) for name, value in headers.items()]  # repeats included
    for name in (HEADER_ID, HEADER_TIMESTAMP, HEADER_SIGNATURE):
        if sum(1 for seen, _ in pairs if seen == name) > 1:
            # which one was signed? A second timestamp (added on the way) would otherwise
            # order this departure's events by a moment nobody signed
            raise SignatureError(f"header {name} given more than once")
    lowered = dict(pairs)
    values: dict[str, str] = {}
    for name in (HEADER_ID, HEADER_TIMESTAMP, HEADER_SIGNATURE):
        value = lowered.get(name, "").strip()
        if not value:
            raise SignatureError(f"missing header {name}")
        values[name] = value
    msg_id = values[HEADER_ID]
    timestamp = values[HEADER_TIMESTAMP]

    if len(msg_id) > _MAX_ID_LENGTH:
        raise SignatureError(f"header {HEADER_ID} is too long")
    if not msg_id.isprintable() or not msg_id.isascii():
        raise SignatureError(f"header {HEADER_ID} contains invalid characters")
    if not _TIMESTAMP_RE.fullmatch(timestamp):
        raise SignatureError(f"invalid header {HEADER_TIMESTAMP}: expected integer Unix seconds")

    current = datetime.now(UTC) if now is None else now
    if current.tzinfo is None:
        raise ValueError("now must be a timezone-aware datetime")
    age = current.timestamp() - int(timestamp)
    if age > tolerance:
        raise SignatureError("timestamp too old")
    if age < -tolerance:
        if int(timestamp) > 10**11:  # milliseconds (or micro-) since the epoch
            raise SignatureError("timestamp too far in the future: send Unix time in seconds")
        raise SignatureError("timestamp too far in the future")

    candidates = _candidate_signatures(values[HEADER_SIGNATURE])
    matched = False
    for key in secrets:
        expected = _signature(key, msg_id, timestamp, body)
        for candidate in candidates:
            # no early exit: the work done does not depend on which entry matches
            matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise SignatureError("no matching signature")
    logger.debug("webhook %s: signature verified", msg_id)
    return msg_id


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Headers of a signed request: ``webhook-id``, ``webhook-timestamp`` and
    ``webhook-signature``.

    ``secret`` is a ``EXITBOT_WEBHOOK_SECRET`` value; when it holds several
    secrets, the request carries one signature per secret (space-separated).
    """
    if not msg_id:
        raise ValueError("msg_id must not be empty")
    stamp = str(int(timestamp))
    signatures = [
        "v1," + base64.b64encode(_signature(key, msg_id, stamp, body)).decode("ascii")
        for key in parse_secrets(secret)
    ]
    return {HEADER_ID: msg_id, HEADER_TIMESTAMP: stamp, HEADER_SIGNATURE: " ".join(signatures)}


# ---------------------------------------------------------------------------
# Payload
# ---------------------------------------------------------------------------


class PayloadError(Exception):
    """The body does not match the departure schema. ``field`` is the dotted path
    of the first bad field (``"body"`` for the document as a whole)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Manager:
    email: str | None
    name: str | None


@dataclass(frozen=True, slots=True)
class Employee:
    email: str
    id: str | None = None
    name: str | None = None
    language: str | None = None
    timezone: str | None = None
    department: str | None = None
    personal_email: str | None = None
    manager: Manager | None = None


@dataclass(frozen=True, slots=True)
class DepartureEvent:
    type: str
    departure_id: str
    kind: str
    last_working_day: date
    employee: Employee
    # When the change happened in the HR system (optional `occurred_at`): orders the events
    # of one departure, also when a retry is signed afresh, minutes or days later
    occurred_at: datetime | None = None


_EMAIL_LOCAL_RE: Final = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
)
_DOMAIN_LABEL_RE: Final = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_TLD_RE: Final = re.compile(r"[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59}")
_DATE_RE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_LANGUAGE_RE: Final = re.compile(r"([A-Za-z]{2})(?:[-_][A-Za-z0-9]{1,8})*")
_TIMEZONE_RE: Final = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+)*")
_NOT_TIMEZONES: Final = frozenset({"localtime", "posixrules", "Factory"})
_MIN_YEAR: Final = 2000
_MAX_YEAR: Final = 2100


def _show(value: object, limit: int = 40) -> str:
    """A short repr of a rejected value for an error message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _object(value: object, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PayloadError(field, f"expected an object, got {_type_name(value)}")
    return value


def _text(
    obj: Mapping[str, Any],
    key: str,
    path: str,
    *,
    required: bool,
    max_length: int,
    allow_int: bool = False,
) -> str | None:
    """A trimmed string field; None when absent/null/blank and not required."""
    field = f"{path}.{key}" if path else key
    value = obj.get(key)
    if allow_int and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if value is None:
        if required:
            raise PayloadError(field, "is required")
        return None
    if not isinstance(value, str):
        raise PayloadError(field, f"expected a string, got {_type_name(value)}")
    value = value.strip()
    if not value:
        if required:
            raise PayloadError(field, "must not be empty")
        return None
    if len(value) > max_length:
        raise PayloadError(field, f"too long: at most {max_length} characters")
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value):
        raise PayloadError(field, "contains control characters")
    return value


def valid_email(value: str) -> str | None:
    """`value` as ExitBot stores an address (lower case), or None when it is not one."""
    try:
        return _email(value.strip(), "email")
    except PayloadError:
        return None


def _email(value: str | None, field: str) -> str | None:
    """A lower-cased address; the value is never echoed (it is personal data)."""
    if value is None:
        return None
    local, sep, domain = value.rpartition("@")
    labels = domain.split(".")
    valid = (
        bool(sep)
        and 0 < len(local) <= 64
        and _EMAIL_LOCAL_RE.fullmatch(local) is not None
        and len(domain) <= 253
        and len(labels) >= 2
        and all(_DOMAIN_LABEL_RE.fullmatch(label) for label in labels)
        and _TLD_RE.fullmatch(labels[-1]) is not None
    )
    if not valid:
        raise PayloadError(field, "not a valid email address")
    return value.lower()


def _choice(value: str | None, field: str, allowed: Sequence[str]) -> str:
    normalised = (value or "").lower()
    if normalised not in allowed:
        raise PayloadError(field, f"expected one of {', '.join(allowed)}, got {_show(value)}")
    return normalised


def _date(value: str | None, field: str) -> date:
    if value is None:
        raise PayloadError(field, "is required")
    problem = f"expected a date YYYY-MM-DD, got {_show(value)}"
    if not _DATE_RE.fullmatch(value):
        raise PayloadError(field, problem)
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise PayloadError(field, f"not a valid calendar date: {_show(value)}") from None
    if not _MIN_YEAR <= parsed.year <= _MAX_YEAR:
        raise PayloadError(field, f"date out of range ({_MIN_YEAR}-{_MAX_YEAR}): {_show(value)}")
    return parsed


def _language(value: str | None, field: str) -> str | None:
    """A 2-letter ISO 639-1 code, lower-cased; a region suffix ("nl-NL", "en_GB")
    is accepted and dropped."""
    if value is None:
        return None
    match = _LANGUAGE_RE.fullmatch(value)
    if match is None:
        raise PayloadError(
            field, f"expected a 2-letter language code such as 'nl' or 'en', got {_show(value)}"
        )
    return match.group(1).lower()


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(available_timezones()) - _NOT_TIMEZONES


def _timezone(value: str | None, field: str) -> str | None:
    if value is None:
        return None
    if not _TIMEZONE_RE.fullmatch(value) or value not in _timezones():
        raise PayloadError(
            field, f"expected an IANA time zone such as 'Europe/Amsterdam', got {_show(value)}"
        )
    return value


def _manager(obj: Mapping[str, Any], path: str) -> Manager | None:
    field = f"{path}.manager"
    raw = obj.get("manager")
    if raw is None:
        return None
    data = _object(raw, field)
    email = _email(
        _text(data, "email", field, required=False, max_length=MAX_EMAIL_LENGTH), f"{field}.email"
    )
    name = _text(data, "name", field, required=False, max_length=MAX_NAME_LENGTH)
    if email is None and name is None:
        return None
    return Manager(email=email, name=name)


def _employee(value: object, path: str) -> Employee:
    data = _object(value, path)
    email = _email(
        _text(data, "email", path, required=True, max_length=MAX_EMAIL_LENGTH), f"{path}.email"
    )
    assert email is not None  # required above
    return Employee(
        email=email,
        id=_text(data, "id", path, required=False, max_length=MAX_ID_LENGTH, allow_int=True),
        name=_text(data, "name", path, required=False, max_length=MAX_NAME_LENGTH),
        language=_language(
            _text(data, "language", path, required=False, max_length=MAX_LANGUAGE_LENGTH),
            f"{path}.language",
        ),
        timezone=_timezone(
            _text(data, "timezone", path, required=False, max_length=MAX_TIMEZONE_LENGTH),
            f"{path}.timezone",
        ),
        department=_text(
            data, "department", path, required=False, max_length=MAX_DEPARTMENT_LENGTH
        ),
        personal_email=_email(
            _text(data, "personal_email", path, required=False, max_length=MAX_EMAIL_LENGTH),
            f"{path}.personal_email",
        ),
        manager=_manager(data, path),
    )


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise PayloadError("body", f"duplicate key {_show(key)}")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise PayloadError("body", f"not valid JSON: {name} is not allowed")


def _load_json(body: bytes) -> object:
    if len(body) > MAX_BODY_BYTES:
        raise PayloadError("body", f"too large: at most {MAX_BODY_BYTES} bytes")
    try:
        return json.loads(
            body, object_pairs_hook=_reject_duplicate_keys, parse_constant=_reject_constant
        )
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise PayloadError("body", "not valid JSON") from None


def parse_departure_event(body: bytes) -> DepartureEvent:
    """Parse and validate a departure webhook body (verify its signature first).

    Raises :class:`PayloadError` naming the first bad field. Unknown fields are
    ignored. ``departure.id``, ``departure.kind``, ``departure.last_working_day``
    and ``departure.employee.email`` are required for every event type, including
    ``departure.cancelled``.
    """
    document = _object(_load_json(body), "body")
    event_type = _choice(
        _text(document, "type", "", required=True, max_length=MAX_ID_LENGTH), "type", EVENT_TYPES
    )
    if document.get("departure") is None:
        raise PayloadError("departure", "is required")
    departure = _object(document["departure"], "departure")
    departure_id = _text(
        departure, "id", "departure", required=True, max_length=MAX_ID_LENGTH, allow_int=True
    )
    assert departure_id is not None
    kind = _choice(
        _text(departure, "kind", "departure", required=True, max_length=MAX_ID_LENGTH),
        "departure.kind",
        KINDS,
    )
    last_day = _date(
        _text(departure, "last_working_day", "departure", required=True, max_length=MAX_ID_LENGTH),
        "departure.last_working_day",
    )
    if "employee" not in departure or departure["employee"] is None:
        raise PayloadError("departure.employee", "is required")
    employee = _employee(departure["employee"], "departure.employee")
    occurred = _text(document, "occurred_at", "", required=False, max_length=MAX_ID_LENGTH)
    return DepartureEvent(
        type=event_type,
        departure_id=departure_id,
        kind=kind,
        last_working_day=last_day,
        employee=employee,
        occurred_at=_moment(occurred, "occurred_at") if occurred is not None else None,
    )


def _moment(value: str, field: str) -> datetime:
    """An RFC 3339 date-time with its offset (`2026-11-27T09:30:00Z`), as UTC."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise PayloadError(field, "not an RFC 3339 date-time, e.g. 2026-11-27T09:30:00Z") from None
    if moment.tzinfo is None or "T" not in value.upper():
        raise PayloadError(field, "needs a date, a time and an offset, e.g. 2026-11-27T09:30:00Z")
    return moment.astimezone(UTC)
