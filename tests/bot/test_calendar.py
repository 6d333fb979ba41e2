from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.calendar import BusinessCalendar, InvitePlan, plan_invite, reminder_after

AMS = ZoneInfo("Europe/Amsterdam")
NYC = ZoneInfo("America/New_York")
PLAIN = BusinessCalendar()
NL = BusinessCalendar(country="NL")
US = BusinessCalendar(country="US")


def local(
    tz: ZoneInfo, year: int, month: int, day: int, hour: int = 0, minute: int = 0, *rest: int
) -> datetime:
    second, micro = (*rest, 0, 0)[:2]
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, *rest: int) -> datetime:
    second, micro = (*rest, 0, 0)[:2]
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


# -- construction --------------------------------------------------------------


def test_unknown_country_is_rejected_by_name() -> None:
    with pytest.raises(ValueError, match="'XX'"):
        BusinessCalendar(country="XX")


def test_country_code_is_normalised() -> None:
    assert BusinessCalendar(country=" nl ").country == "NL"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"country": ""},
        {"work_start": time(17), "work_end": time(9)},
        {"work_start": time(9), "work_end": time(9)},
        {"work_start": time(9, tzinfo=UTC)},
    ],
)
def test_invalid_calendar(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        BusinessCalendar(**kwargs)  # type: ignore[arg-type]


def test_calendar_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        NL.country = "BE"  # type: ignore[misc]


# -- business days -------------------------------------------------------------


@pytest.mark.parametrize(
    ("cal", "day", "expected"),
    [
        (PLAIN, date(2026, 3, 13), True),  # Friday
        (PLAIN, date(2026, 3, 14), False),  # Saturday
        (PLAIN, date(2026, 3, 15), False),  # Sunday
        (PLAIN, date(2026, 4, 27), True),  # Koningsdag, but no holiday country
        (NL, date(2026, 4, 27), False),  # Koningsdag (Monday)
        (NL, date(2026, 4, 28), True),
        (NL, date(2026, 4, 6), False),  # Easter Monday
        (NL, date(2026, 4, 3), False),  # Good Friday: in the holidays package's NL table
        (NL, date(2026, 5, 14), False),  # Ascension Day
        (NL, date(2026, 5, 25), False),  # Whit Monday
        (NL, date(2025, 12, 25), False),  # Christmas (Thursday)
        (NL, date(2025, 12, 26), False),  # Second Day of Christmas (Friday)
        (NL, date(2025, 12, 24), True),
        (NL, date(2026, 1, 1), False),  # New Year (Thursday)
        (NL, date(2027, 1, 1), False),  # New Year (Friday), next year: lazily expanded
        (NL, date(2026, 5, 5), True),  # Liberation Day: a day off only every fifth year
        (NL, date(2025, 5, 5), False),  # ... such as 2025
        (US, date(2026, 7, 3), False),  # Independence Day (observed)
        (US, date(2026, 11, 26), False),  # Thanksgiving
    ],
)
def test_is_business_day(cal: BusinessCalendar, day: date, expected: bool) -> None:
    assert cal.is_business_day(day) is expected


def test_koningsdag_2025_moved_to_saturday() -> None:
    # 27 April 2025 was a Sunday, so King's Day was Saturday 26 April.
    assert NL.is_holiday(date(2025, 4, 26))
    assert not NL.is_holiday(date(2025, 4, 27))
    assert NL.is_holiday(date(2026, 4, 27))
    assert not PLAIN.is_holiday(date(2026, 4, 27))


@pytest.mark.parametrize(
    ("cal", "start", "n", "expected"),
    [
        # weekends
        (PLAIN, date(2026, 3, 16), -5, date(2026, 3, 9)),  # Mon - 5 -> previous Mon
        (PLAIN, date(2026, 3, 9), 5, date(2026, 3, 16)),
        (PLAIN, date(2026, 3, 13), 1, date(2026, 3, 16)),  # Fri + 1 -> Mon
        (PLAIN, date(2026, 3, 16), -1, date(2026, 3, 13)),  # Mon - 1 -> Fri
        (PLAIN, date(2026, 3, 14), 1, date(2026, 3, 16)),  # Sat + 1 -> Mon
        (PLAIN, date(2026, 3, 14), -1, date(2026, 3, 13)),  # Sat - 1 -> Fri
        (PLAIN, date(2026, 3, 14), 0, date(2026, 3, 14)),  # 0 is the identity
        (PLAIN, date(2026, 3, 10), 0, date(2026, 3, 10)),
        (PLAIN, date(2026, 3, 16), -10, date(2026, 3, 2)),
        # Koningsdag 2026 (Monday 27 April)
        (PLAIN, date(2026, 4, 28), -1, date(2026, 4, 27)),
        (NL, date(2026, 4, 28), -1, date(2026, 4, 24)),
        (NL, date(2026, 4, 24), 1, date(2026, 4, 28)),
        # Easter 2026: Good Friday 3 April and Easter Monday 6 April
        (PLAIN, date(2026, 4, 10), -5, date(2026, 4, 3)),
        (NL, date(2026, 4, 10), -5, date(2026, 4, 1)),
        (NL, date(2026, 4, 7), -1, date(2026, 4, 2)),
        # Christmas 2025 (Thursday and Friday)
        (PLAIN, date(2025, 12, 29), -3, date(2025, 12, 24)),
        (NL, date(2025, 12, 29), -3, date(2025, 12, 22)),
        (NL, date(2025, 12, 24), 1, date(2025, 12, 29)),
        # Christmas and New Year 2026/27, across the year boundary
        (NL, date(2026, 12, 24), 1, date(2026, 12, 28)),
        (NL, date(2026, 12, 31), 1, date(2027, 1, 4)),
        (NL, date(2027, 1, 4), -1, date(2026, 12, 31)),
        (NL, date(2026, 1, 2), -1, date(2025, 12, 31)),
        # US: Independence Day observed on Friday 3 July 2026
        (US, date(2026, 7, 6), -1, date(2026, 7, 2)),
    ],
)
def test_add_business_days(cal: BusinessCalendar, start: date, n: int, expected: date) -> None:
    assert cal.add_business_days(start, n) == expected
    assert cal.business_days_before(start, -n) == expected


def test_business_days_before_is_negative_add() -> None:
    assert NL.business_days_before(date(2026, 4, 30), 5) == date(2026, 4, 22)
    assert NL.business_days_before(date(2026, 4, 30), -1) == date(2026, 5, 1)


# -- local moments and daylight saving ---------------------------------------------


@pytest.mark.parametrize(
    ("tz", "day", "at", "expected"),
    [
        # Europe/Amsterdam: CET (+1) until Sunday 29 March 2026, CEST (+2) until 25 Oct
        (AMS, date(2026, 3, 27), time(10), utc(2026, 3, 27, 9)),
        (AMS, date(2026, 3, 30), time(10), utc(2026, 3, 30, 8)),
        (AMS, date(2026, 10, 23), time(10), utc(2026, 10, 23, 8)),
        (AMS, date(2026, 10, 26), time(10), utc(2026, 10, 26, 9)),
        # the gap: 02:30 does not exist on 29 March, moved forward to 03:30 CEST
        (AMS, date(2026, 3, 29), time(2, 30), utc(2026, 3, 29, 1, 30)),
        # the fold: 02:30 happens twice on 25 October, the first (CEST) one wins
        (AMS, date(2026, 10, 25), time(2, 30), utc(2026, 10, 25, 0, 30)),
        # America/New_York: EDT from 8 March 2026, EST again from 1 November
        (NYC, date(2026, 3, 6), time(10), utc(2026, 3, 6, 15)),
        (NYC, date(2026, 3, 9), time(10), utc(2026, 3, 9, 14)),
        (NYC, date(2026, 10, 30), time(10), utc(2026, 10, 30, 14)),
        (NYC, date(2026, 11, 2), time(10), utc(2026, 11, 2, 15)),
        (NYC, date(2026, 3, 8), time(2, 30), utc(2026, 3, 8, 7, 30)),  # gap -> 03:30 EDT
        (NYC, date(2026, 11, 1), time(1, 30), utc(2026, 11, 1, 5, 30)),  # fold -> EDT
    ],
)
def test_at_local(tz: ZoneInfo, day: date, at: time, expected: datetime) -> None:
    result = PLAIN.at_local(day, at, tz)
    assert result == expected
    assert result.tzinfo is UTC


@pytest.mark.parametrize(
    ("tz", "day", "expected"),
    [
        (AMS, date(2026, 3, 29), utc(2026, 3, 29, 21, 59, 59, 999999)),
        (AMS, date(2026, 10, 25), utc(2026, 10, 25, 22, 59, 59, 999999)),
        (AMS, date(2026, 12, 18), utc(2026, 12, 18, 22, 59, 59, 999999)),
        (NYC, date(2026, 12, 18), utc(2026, 12, 19, 4, 59, 59, 999999)),
    ],
)
def test_end_of_day(tz: ZoneInfo, day: date, expected: datetime) -> None:
    result = PLAIN.end_of_day(day, tz)
    assert result == expected
    assert result.tzinfo is UTC


@pytest.mark.parametrize(
    ("cal", "tz", "moment", "expected"),
    [
        # Friday 17:30 -> Monday 09:00
        (PLAIN, AMS, local(AMS, 2026, 3, 13, 17, 30), utc(2026, 3, 16, 8)),
        (PLAIN, AMS, local(AMS, 2026, 3, 13, 17, 0), utc(2026, 3, 16, 8)),  # 17:00 is after hours
        (PLAIN, AMS, local(AMS, 2026, 3, 13, 16, 59), utc(2026, 3, 13, 15, 59)),  # itself
        (PLAIN, AMS, local(AMS, 2026, 3, 13, 9, 0), utc(2026, 3, 13, 8)),  # 09:00 is inside
        (PLAIN, AMS, local(AMS, 2026, 3, 16, 7, 45), utc(2026, 3, 16, 8)),  # early -> 09:00
        (PLAIN, AMS, local(AMS, 2026, 3, 14, 12, 0), utc(2026, 3, 16, 8)),  # Saturday
        (PLAIN, AMS, utc(2026, 3, 13, 12, 0), utc(2026, 3, 13, 12, 0)),  # UTC input
        # holiday: Koningsdag -> Tuesday 09:00 CEST
        (NL, AMS, local(AMS, 2026, 4, 27, 11, 0), utc(2026, 4, 28, 7)),
        (PLAIN, AMS, local(AMS, 2026, 4, 27, 11, 0), utc(2026, 4, 27, 9)),
        # Friday evening before the spring switch -> Monday 09:00 CEST
        (PLAIN, AMS, local(AMS, 2026, 3, 27, 18, 0), utc(2026, 3, 30, 7)),
        # Friday evening before the autumn switch -> Monday 09:00 CET
        (PLAIN, AMS, local(AMS, 2026, 10, 23, 18, 0), utc(2026, 10, 26, 8)),
        # Thursday evening before Easter -> Tuesday
        (NL, AMS, local(AMS, 2026, 4, 2, 18, 0), utc(2026, 4, 7, 7)),
        # New York: Friday 17:30 EST -> Monday 09:00 EDT
        (PLAIN, NYC, local(NYC, 2026, 3, 6, 17, 30), utc(2026, 3, 9, 13)),
        # 16:00 in New York is 22:00 in Amsterdam: the zone argument decides
        (PLAIN, NYC, local(AMS, 2026, 3, 3, 22, 0), utc(2026, 3, 3, 21)),
    ],
)
def test_next_working_moment(
    cal: BusinessCalendar, tz: ZoneInfo, moment: datetime, expected: datetime
) -> None:
    result = cal.next_working_moment(moment, tz)
    assert result == expected
    assert result.tzinfo is UTC


def test_naive_datetimes_are_rejected() -> None:
    naive = datetime(2026, 3, 13, 12, 0)
    with pytest.raises(ValueError, match="aware"):
        PLAIN.next_working_moment(naive, AMS)
    with pytest.raises(ValueError, match="aware"):
        plan_invite(PLAIN, date(2026, 3, 16), 5, AMS, now=naive)
    with pytest.raises(ValueError, match="aware"):
        reminder_after(PLAIN, naive, 2, AMS)


# -- plan_invite ------------------------------------------------------------------

END_MON_16_MARCH = utc(2026, 3, 16, 22, 59, 59, 999999)  # end of Monday 16 March, CET


@pytest.mark.parametrize(
    ("cal", "tz", "last_day", "lead", "now", "grace", "expected"),
    [
        # Monday last day, lead 5 -> previous Monday 10:00 CET (09:00 UTC)
        (
            PLAIN,
            AMS,
            date(2026, 3, 16),
            5,
            utc(2026, 3, 1),
            timedelta(0),
            InvitePlan(utc(2026, 3, 9, 9), "scheduled", END_MON_16_MARCH),
        ),
        # exactly at the planned moment still counts as scheduled
        (
            PLAIN,
            AMS,
            date(2026, 3, 16),
            5,
            utc(2026, 3, 9, 9),
            timedelta(0),
            InvitePlan(utc(2026, 3, 9, 9), "scheduled", END_MON_16_MARCH),
        ),
        # lead moment passed, now inside working hours -> now
        (
            PLAIN,
            AMS,
            date(2026, 3, 16),
            5,
            utc(2026, 3, 10, 13, 0),
            timedelta(0),
            InvitePlan(utc(2026, 3, 10, 13, 0), "asap", END_MON_16_MARCH),
        ),
        # lead moment passed, Friday evening -> Monday 09:00 (the last day itself)
        (
            PLAIN,
            AMS,
            date(2026, 3, 16),
            5,
            local(AMS, 2026, 3, 13, 20, 0),
            timedelta(0),
            InvitePlan(utc(2026, 3, 16, 8), "asap", END_MON_16_MARCH),
        ),
        # evening of the last day: the next working moment is after the expiry
        (
            PLAIN,
            AMS,
            date(2026, 3, 16),
            5,
            local(AMS, 2026, 3, 16, 18, 0),
            timedelta(0),
            InvitePlan(None, "last_day_passed", END_MON_16_MARCH),
        ),
        # ... unless a grace period covers it
        (
            PLAIN,
            AMS,
            date(2026, 3, 16),
            5,
            local(AMS, 2026, 3, 16, 18, 0),
            timedelta(days=1),
            InvitePlan(utc(2026, 3, 17, 8), "asap", END_MON_16_MARCH + timedelta(days=1)),
        ),
        # last day passed
        (
            PLAIN,
            AMS,
            date(2026, 3, 16),
            5,
            utc(2026, 3, 17, 9),
            timedelta(0),
            InvitePlan(None, "last_day_passed", END_MON_16_MARCH),
        ),
        (
            PLAIN,
            AMS,
            date(2026, 3, 16),
            5,
            END_MON_16_MARCH + timedelta(microseconds=1),
            timedelta(0),
            InvitePlan(None, "last_day_passed", END_MON_16_MARCH),
        ),
        # Koningsdag skipped: Thu 30 April, lead 5 -> Wed 22 April 10:00 CEST
        (
            NL,
            AMS,
            date(2026, 4, 30),
            5,
            utc(2026, 4, 1),
            timedelta(0),
            InvitePlan(utc(2026, 4, 22, 8), "scheduled", utc(2026, 4, 30, 21, 59, 59, 999999)),
        ),
        # Easter and the spring switch: Thu 9 April, lead 5 -> Tue 31 March 10:00 CEST,
        # planned while still in winter time
        (
            NL,
            AMS,
            date(2026, 4, 9),
            5,
            utc(2026, 3, 20, 12),
            timedelta(0),
            InvitePlan(utc(2026, 3, 31, 8), "scheduled", utc(2026, 4, 9, 21, 59, 59, 999999)),
        ),
        # the same without holidays: Thu 2 April
        (
            PLAIN,
            AMS,
            date(2026, 4, 9),
            5,
            utc(2026, 3, 20, 12),
            timedelta(0),
            InvitePlan(utc(2026, 4, 2, 8), "scheduled", utc(2026, 4, 9, 21, 59, 59, 999999)),
        ),
        # autumn switch: Fri 30 Oct, lead 5 -> Fri 23 Oct 10:00 CEST (08:00 UTC)
        (
            PLAIN,
            AMS,
            date(2026, 10, 30),
            5,
            utc(2026, 10, 1),
            timedelta(0),
            InvitePlan(utc(2026, 10, 23, 8), "scheduled", utc(2026, 10, 30, 22, 59, 59, 999999)),
        ),
        # Christmas: Tue 29 Dec 2026 with NL, lead 5 -> Mon 21 Dec (25 Dec is a Friday)
        (
            NL,
            AMS,
            date(2026, 12, 29),
            5,
            utc(2026, 12, 1),
            timedelta(0),
            InvitePlan(utc(2026, 12, 21, 9), "scheduled", utc(2026, 12, 29, 22, 59, 59, 999999)),
        ),
        # New York across its spring switch: Mon 16 March -> Mon 9 March 10:00 EDT
        (
            PLAIN,
            NYC,
            date(2026, 3, 16),
            5,
            utc(2026, 3, 1),
            timedelta(0),
            InvitePlan(utc(2026, 3, 9, 14), "scheduled", utc(2026, 3, 17, 3, 59, 59, 999999)),
        ),
        # New York, lead passed, Friday 18:00 EST -> Monday 09:00 EDT
        (
            PLAIN,
            NYC,
            date(2026, 3, 13),
            5,
            utc(2026, 3, 6, 23),
            timedelta(0),
            InvitePlan(utc(2026, 3, 9, 13), "asap", utc(2026, 3, 14, 3, 59, 59, 999999)),
        ),
        # lead 0: on the last day itself
        (
            PLAIN,
            AMS,
            date(2026, 3, 16),
            0,
            utc(2026, 3, 1),
            timedelta(0),
            InvitePlan(utc(2026, 3, 16, 9), "scheduled", END_MON_16_MARCH),
        ),
    ],
)
def test_plan_invite(
    cal: BusinessCalendar,
    tz: ZoneInfo,
    last_day: date,
    lead: int,
    now: datetime,
    grace: timedelta,
    expected: InvitePlan,
) -> None:
    plan = plan_invite(cal, last_day, lead, tz, now=now, grace=grace)
    assert plan == expected
    for moment in (plan.invite_at, plan.expires_at):
        assert moment is None or moment.tzinfo is UTC


def test_plan_invite_rejects_negative_lead_and_grace() -> None:
    with pytest.raises(ValueError, match="lead_days"):
        plan_invite(PLAIN, date(2026, 3, 16), -1, AMS, now=utc(2026, 3, 1))
    with pytest.raises(ValueError, match="grace"):
        plan_invite(PLAIN, date(2026, 3, 16), 5, AMS, now=utc(2026, 3, 1), grace=timedelta(-1))


# -- reminder_after ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("cal", "tz", "sent_at", "days", "expected"),
    [
        (PLAIN, AMS, utc(2026, 3, 10, 9), 2, utc(2026, 3, 12, 9)),  # Tue -> Thu 10:00
        (PLAIN, AMS, local(AMS, 2026, 3, 12, 14), 2, utc(2026, 3, 16, 13)),  # Thu -> Mon
        # same local clock time across the spring switch: 10:00 CET -> 10:00 CEST
        (PLAIN, AMS, local(AMS, 2026, 3, 27, 10), 1, utc(2026, 3, 30, 8)),
        # sent outside hours: the reminder moves into working hours
        (PLAIN, AMS, local(AMS, 2026, 3, 14, 20), 1, utc(2026, 3, 17, 8)),
        (PLAIN, AMS, local(AMS, 2026, 3, 10, 7, 30), 1, utc(2026, 3, 11, 8)),
        # Koningsdag skipped
        (NL, AMS, local(AMS, 2026, 4, 23, 11), 2, utc(2026, 4, 28, 9)),
        (PLAIN, AMS, local(AMS, 2026, 4, 23, 11), 2, utc(2026, 4, 27, 9)),
        # New York
        (PLAIN, NYC, local(NYC, 2026, 3, 6, 10), 1, utc(2026, 3, 9, 14)),
    ],
)
def test_reminder_after(
    cal: BusinessCalendar, tz: ZoneInfo, sent_at: datetime, days: int, expected: datetime
) -> None:
    result = reminder_after(cal, sent_at, days, tz)
    assert result == expected
    assert result.tzinfo is UTC


def test_reminder_after_rejects_negative_days() -> None:
    with pytest.raises(ValueError):
        reminder_after(PLAIN, utc(2026, 3, 10, 9), -1, AMS)
