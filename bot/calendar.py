"""Business-day arithmetic for invite timing.

Pure logic: no I/O apart from the ``holidays`` package's built-in tables and the
IANA time zone database (``zoneinfo``).

Every function that returns a moment returns an *aware UTC* ``datetime``; every
function that takes a moment requires an aware one (a naive ``datetime`` is a bug
at the call site and raises ``ValueError``).

Conventions:

* A business day is Monday to Friday and not a public holiday of ``country``
  (``country=None``: weekends only).
* Working hours are ``[work_start, work_end)`` local time: 17:00 sharp is *after*
  hours.
* Local wall-clock times that do not exist (spring-forward gap) are moved forward by
  the length of the gap (02:30 on the switch day becomes 03:30 summer time); times
  that exist twice (autumn fold) resolve to the first, earlier, occurrence.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Final
from zoneinfo import ZoneInfo

import holidays

__all__ = [
    "INVITE_ASAP",
    "INVITE_LAST_DAY_PASSED",
    "INVITE_SCHEDULED",
    "BusinessCalendar",
    "InvitePlan",
    "plan_invite",
    "reminder_after",
]

logger = logging.getLogger(__name__)

INVITE_SCHEDULED: Final = "scheduled"
INVITE_ASAP: Final = "asap"
INVITE_LAST_DAY_PASSED: Final = "last_day_passed"

_ONE_DAY: Final = timedelta(days=1)
# The holidays tables are expanded lazily (one year at a time, on first lookup);
# that mutates a shared dict, so lookups are serialised.
_HOLIDAYS_LOCK: Final = threading.Lock()


@cache
def _holidays_for(country: str) -> holidays.HolidayBase:
    """The (cached, lazily year-expanding) public-holiday table of ``country``."""
    try:
        table = holidays.country_holidays(country, expand=True)
    except NotImplementedError:
        raise ValueError(
            f"unknown holiday country code {country!r}"
            " (expected an ISO 3166-1 alpha-2 code such as 'NL')"
        ) from None
    logger.debug("loaded public holidays for %s", country)
    return table


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """Which days are working days, and the working hours within them."""

    country: str | None = None
    work_start: time = time(9, 0)
    work_end: time = time(17, 0)
    invite_time: time = time(10, 0)

    def __post_init__(self) -> None:
        if self.country is not None:
            code = self.country.strip().upper()
            if not code:
                raise ValueError("holiday country code must not be empty")
            _holidays_for(code)  # validates: raises ValueError naming an unknown code
            object.__setattr__(self, "country", code)
        for name in ("work_start", "work_end", "invite_time"):
            if getattr(self, name).tzinfo is not None:
                raise ValueError(f"{name} must be a naive local time")
        if not self.work_start < self.work_end:
            raise ValueError("work_start must be before work_end")

    # -- days -------------------------------------------------------------------

    def is_holiday(self, d: date) -> bool:
        """Whether ``d`` is a public holiday of ``country`` (always False without one)."""
        if self.country is None:
            return False
        table = _holidays_for(self.country)
        with _HOLIDAYS_LOCK:
            return d in table

    def is_business_day(self, d: date) -> bool:
        return d.weekday() < 5 and not self.is_holiday(d)

    def add_business_days(self, d: date, n: int) -> date:
        """The date ``n`` business days after ``d`` (before it when ``n`` < 0).

        ``d`` itself need not be a business day and is never counted:
        Saturday + 1 is Monday, Saturday - 1 is Friday. ``n == 0`` returns ``d``.
        """
        step = _ONE_DAY if n >= 0 else -_ONE_DAY
        remaining = abs(n)
        current = d
        while remaining:
            current += step
            if self.is_business_day(current):
                remaining -= 1
        return current

    def business_days_before(self, d: date, n: int) -> date:
        return self.add_business_days(d, -n)

    def next_business_day(self, d: date) -> date:
        """The first business day strictly after ``d``."""
        return self.add_business_days(d, 1)

    # -- moments ----------------------------------------------------------------

    def at_local(self, d: date, t: time, tz: ZoneInfo) -> datetime:
        """Local wall-clock ``t`` on ``d`` in ``tz``, as aware UTC.

        Gap (time skipped by a spring-forward switch): moved forward by the gap.
        Fold (time repeated by an autumn switch): the first occurrence.
        """
        # With fold=0, zoneinfo interprets a time in a gap with the offset in force
        # *before* the switch, which lands the same distance after the switch:
        # 02:30 CET (+01:00) on 29 March 2026 is 01:30 UTC, i.e. 03:30 CEST.
        # For a repeated time fold=0 selects the earlier instant.
        local = datetime.combine(d, t.replace(tzinfo=None), tzinfo=tz).replace(fold=0)
        return local.astimezone(UTC)

    def end_of_day(self, d: date, tz: ZoneInfo) -> datetime:
        """23:59:59.999999 local on ``d``, as aware UTC."""
        return self.at_local(d, time.max, tz)

    def is_working_moment(self, moment: datetime, tz: ZoneInfo) -> bool:
        _require_aware(moment, "moment")
        local = moment.astimezone(tz)
        return (
            self.is_business_day(local.date()) and self.work_start <= local.time() < self.work_end
        )

    def next_working_moment(self, moment: datetime, tz: ZoneInfo) -> datetime:
        """``moment`` itself if it falls within working hours on a business day
        (local to ``tz``), else the start of the next working period; aware UTC."""
        _require_aware(moment, "moment")
        if self.is_working_moment(moment, tz):
            return moment.astimezone(UTC)
        local = moment.astimezone(tz)
        day = local.date()
        if self.is_business_day(day) and local.time() < self.work_start:
            return self.at_local(day, self.work_start, tz)
        return self.at_local(self.next_business_day(day), self.work_start, tz)


@dataclass(frozen=True, slots=True)
class InvitePlan:
    """When to send an interview invite.

    ``reason`` is one of ``"scheduled"`` (at the planned lead moment),
    ``"asap"`` (the lead moment has passed: at the next working moment) or
    ``"last_day_passed"`` (too late: ``invite_at`` is None).
    ``expires_at`` is the end of the last working day, local, plus the grace period.
    """

    invite_at: datetime | None
    reason: str
    expires_at: datetime | None


def plan_invite(
    cal: BusinessCalendar,
    last_day: date,
    lead_days: int,
    tz: ZoneInfo,
    now: datetime,
    grace: timedelta = timedelta(0),
) -> InvitePlan:
    """Plan the invite for a departure whose last working day is ``last_day``.

    The invite is planned at ``cal.invite_time`` local, ``lead_days`` business days
    before ``last_day``. If that moment has passed, it goes out at the next working
    moment from ``now``, provided that is not after the expiry (end of ``last_day``
    local + ``grace``); otherwise, or when the expiry itself has passed, nothing is
    sent.
    """
    _require_aware(now, "now")
    if lead_days < 0:
        raise ValueError("lead_days must not be negative")
    if grace < timedelta(0):
        raise ValueError("grace must not be negative")
    now_utc = now.astimezone(UTC)
    expires_at = cal.end_of_day(last_day, tz) + grace
    if now_utc >= expires_at:
        return InvitePlan(invite_at=None, reason=INVITE_LAST_DAY_PASSED, expires_at=expires_at)

    planned = cal.at_local(cal.business_days_before(last_day, lead_days), cal.invite_time, tz)
    if planned >= now_utc:
        return InvitePlan(invite_at=planned, reason=INVITE_SCHEDULED, expires_at=expires_at)

    asap = cal.next_working_moment(now_utc, tz)
    if asap > expires_at:
        return InvitePlan(invite_at=None, reason=INVITE_LAST_DAY_PASSED, expires_at=expires_at)
    return InvitePlan(invite_at=asap, reason=INVITE_ASAP, expires_at=expires_at)


def reminder_after(
    cal: BusinessCalendar, sent_at: datetime, business_days: int, tz: ZoneInfo
) -> datetime:
    """The same local clock time ``business_days`` business days after ``sent_at``,
    moved into working hours; aware UTC."""
    _require_aware(sent_at, "sent_at")
    if business_days < 0:
        raise ValueError("business_days must not be negative")
    local = sent_at.astimezone(tz)
    day = cal.add_business_days(local.date(), business_days)
    return cal.next_working_moment(cal.at_local(day, local.time(), tz), tz)
