"""`EXITBOT_DIGEST_CRON` read as crontab reads it.

APScheduler 3's `CronTrigger.from_crontab` passes the weekday field on as its own
`day_of_week`, where 0 is Monday; in crontab 0 (and 7) is Sunday. "0 9 * * 1" would fire on
Tuesdays. Here the weekday field is turned into day names first (`sun`…`sat`, which both
read alike), so every number, range, list and step means what crontab(5) says.

One difference from crontab stays, on purpose: with both the day of the month and the weekday
restricted, both must match ("0 9 1-7 * 1": the first Monday of the month), where crontab
fires when either does.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger

# crontab's numbering: 0 and 7 are Sunday
_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _day(token: str) -> int:
    token = token.strip().lower()
    if token in _NAMES:
        return _NAMES.index(token)
    if not token.isdigit() or int(token) > 7:
        raise ValueError(f"weekday {token!r} is not 0-7 or a day name (sun, mon, ...)")
    return int(token) % 7


def _days(item: str) -> set[int]:
    """One comma-separated item of the weekday field: "*", "1", "mon-fri", "1-5/2", "*/2"."""
    span, _, step_text = item.partition("/")
    if step_text and not step_text.isdigit():
        raise ValueError(f"weekday step {step_text!r} is not a number")
    step = int(step_text) if step_text else 1
    if step < 1:
        raise ValueError("a weekday step must be at least 1")
    if span == "*":
        first, last = 0, 6
    elif "-" in span:
        low, _, high = span.partition("-")
        first, last = _day(low), _day(high)
        if high.strip() == "7" or (last == 0 and high.strip().lower().startswith("sun")):
            last = 7  # "5-7", "fri-sun": up to Sunday at the end of the week
        if last < first:
            raise ValueError(f"weekday range {span!r} runs backwards")
    else:
        first = last = _day(span)
    return {day % 7 for day in range(first, last + 1, step)}


def weekday_names(field: str) -> str:
    """The crontab weekday field as APScheduler day names ("*" stays "*")."""
    if field.strip() == "*":
        return "*"
    days: set[int] = set()
    for item in field.split(","):
        if not item.strip():
            raise ValueError(f"empty item in the weekday field {field!r}")
        days |= _days(item.strip())
    return ",".join(_NAMES[day] for day in sorted(days))


def cron_trigger(expression: str, zone: tzinfo) -> CronTrigger:
    """A trigger for a 5-field crontab expression (minute hour day month weekday); raises
    ValueError naming what is wrong."""
    from apscheduler.triggers.cron import CronTrigger

    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"wrong number of fields; got {len(fields)}, expected 5")
    minute, hour, day, month, weekday = fields
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=weekday_names(weekday),
        timezone=zone,
    )
