"""The anonymity rules and the schedule as pure functions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.config import ConfigError, Settings
from bot.crontab import cron_trigger
from bot.digest import DigestData, Group, Ranked, Ranking, Score, publishable, ranked
from bot.digest_post import (
    current_slot,
    due_slot,
    fires_more_than_monthly,
    latest_fire,
    schedule_warning,
)
from bot.digest_quotes import shorten

AMS = ZoneInfo("Europe/Amsterdam")


def test_groups_below_k_are_hidden() -> None:
    groups = {"Sales": 5, "Eng": 6, "Legal": 5, "HR": 2, "Ops": 3}
    assert publishable(groups, 21, 5) == {"Sales", "Eng", "Legal"}  # HR + Ops: "other" of 5


def test_what_the_shown_groups_leave_over_is_zero_or_at_least_k() -> None:
    # Sales 6 + Legal 3: showing Sales leaves 3 people computable by subtraction.
    assert publishable({"Sales": 6, "Legal": 3}, 9, 5) == set()
    # Sales 5, Eng 5, Legal 3: hiding Legal alone leaves 3; the smaller of the rest goes too,
    # (ties by name), leaving 8 in "other".
    assert publishable({"Sales": 5, "Eng": 5, "Legal": 3}, 13, 5) == {"Sales"}
    assert publishable({"Sales": 5, "Eng": 5, "Legal": 5}, 15, 5) == {"Sales", "Eng", "Legal"}
    assert publishable({"Sales": 7, "Eng": 2, "HR": 3}, 12, 5) == {"Sales"}  # other = 5
    assert publishable({"Sales": 5}, 5, 5) == {"Sales"}


def test_ranking_is_by_count_then_name_never_by_time() -> None:
    ranking = ranked({"workload": 2, "culture": 2, "pay_benefits": 5}, 9, None)
    assert [i.key for i in ranking.items] == ["pay_benefits", "culture", "workload"]
    assert all(i.change is None for i in ranking.items)
    before = Ranking(10, (Ranked("pay_benefits", 3), Ranked("manager", 7)))
    again = ranked({"pay_benefits": 5, "workload": 5}, 10, before)
    assert {i.key: i.change for i in again.items} == {"pay_benefits": 20, "workload": 50}


def test_digest_data_round_trips_through_json_without_quotes() -> None:
    data = DigestData(
        language="nl",
        k=5,
        through="2026-11",
        period_end=date(2026, 11, 30),
        window_end=datetime(2026, 11, 30, 23, tzinfo=UTC),
        count=12,
        reasons=Ranking(12, (Ranked("manager", 7, 3), Ranked("pay_benefits", 5))),
        enps=Score(-20, 11, 5.0),
        departments=(Group("Sales", 6, ("manager",)), Group("", 6)),
        withheld=("reason_themes",),
        quotes=("never stored",),
    )
    stored = data.to_json()
    assert "never stored" not in str(stored)
    assert stored["kind"] == "figures"
    assert DigestData.from_json(stored) == data


@pytest.mark.parametrize(
    ("cron", "more"),
    [
        ("0 9 1 * *", False),  # the default: monthly
        ("0 9 1 1,4,7,10 *", False),  # quarterly
        ("30 8 31 * *", False),  # only in months that have a 31st
        ("0 9 * * 1", True),  # weekly
        ("0 9 1,15 * *", True),
        ("0 9 28-31 * *", True),  # twice in most months
        ("*/15 * * * *", True),
    ],
)
def test_a_schedule_firing_more_than_monthly_is_warned_about(cron: str, more: bool) -> None:
    now = datetime(2026, 11, 28, tzinfo=UTC)
    assert fires_more_than_monthly(cron, AMS, now) is more
    warning = schedule_warning(Settings(digest_cron=cron, timezone="Europe/Amsterdam"), now)
    assert (warning is not None) is more
    if warning:
        assert f"EXITBOT_DIGEST_CRON {cron!r}" in warning
        assert "whole calendar months" in warning
        assert "only its first firing after a month ends" in warning


def test_latest_fire_of_the_default_cron_in_the_company_zone() -> None:
    # 1 December 09:00 in Amsterdam is 08:00 UTC.
    assert latest_fire("0 9 1 * *", AMS, datetime(2026, 12, 1, 7, 59, tzinfo=UTC)) == datetime(
        2026, 11, 1, 8, 0, tzinfo=UTC
    )
    assert latest_fire("0 9 1 * *", AMS, datetime(2026, 12, 1, 8, 0, tzinfo=UTC)) == datetime(
        2026, 12, 1, 8, 0, tzinfo=UTC
    )
    # Summer time: 1 July 09:00 CEST is 07:00 UTC.
    assert latest_fire("0 9 1 * *", AMS, datetime(2026, 7, 20, tzinfo=UTC)) == datetime(
        2026, 7, 1, 7, 0, tzinfo=UTC
    )
    assert latest_fire("*/15 * * * *", AMS, datetime(2026, 7, 20, 10, 7, tzinfo=UTC)) == datetime(
        2026, 7, 20, 10, 0, tzinfo=UTC
    )
    assert latest_fire("0 9 1 1 *", AMS, datetime(2026, 7, 20, tzinfo=UTC)) == datetime(
        2026, 1, 1, 8, 0, tzinfo=UTC
    )


def test_due_slot_covers_the_month_before() -> None:
    settings = Settings(timezone="Europe/Amsterdam")
    slot = due_slot(settings, datetime(2026, 12, 3, 12, tzinfo=UTC))
    assert slot is not None
    assert slot.id == "2026-12-01T09:00"
    assert slot.through == "2026-11"
    assert slot.period_end == date(2026, 11, 30)
    assert slot.window_end == datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    january = due_slot(settings, datetime(2027, 1, 1, 8, 0, tzinfo=UTC))
    assert january is not None and january.through == "2026-12"
    manual = current_slot(settings, datetime(2026, 12, 15, 9, 30, tzinfo=UTC))
    assert manual.id.startswith("manual:") and manual.through == "2026-12"


@pytest.mark.parametrize(
    ("weekday", "fires_on"),
    [
        ("1", {"Mon"}),
        ("mon", {"Mon"}),
        ("0", {"Sun"}),
        ("7", {"Sun"}),
        ("1-5", {"Mon", "Tue", "Wed", "Thu", "Fri"}),
        ("5-7", {"Fri", "Sat", "Sun"}),
        ("0,6", {"Sat", "Sun"}),
        ("*/2", {"Sun", "Tue", "Thu", "Sat"}),
        ("1-5/2", {"Mon", "Wed", "Fri"}),
    ],
)
def test_the_weekday_field_means_what_it_means_in_crontab(weekday: str, fires_on: set[str]) -> None:
    """APScheduler's own `from_crontab` counts 0 as Monday: "0 9 * * 1" fired on Tuesdays."""
    trigger = cron_trigger(f"0 9 * * {weekday}", AMS)
    fire = trigger.get_next_fire_time(None, datetime(2026, 11, 28, tzinfo=AMS))
    days = set()
    for _ in range(14):
        assert fire is not None and (fire.hour, fire.minute) == (9, 0)
        days.add(fire.strftime("%a"))
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    assert days == fires_on


def test_a_weekly_digest_cron_fires_on_the_day_named() -> None:
    """Mondays at 09:00, Amsterdam time: the latest firing before Wednesday 2 December 2026 is
    Monday 30 November (not Tuesday 1 December)."""
    fire = latest_fire("0 9 * * 1", AMS, datetime(2026, 12, 2, 12, 0, tzinfo=UTC))
    assert fire == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    first_monday = latest_fire("0 9 1-7 * 1", AMS, datetime(2026, 12, 31, tzinfo=UTC))
    assert first_monday == datetime(2026, 12, 7, 8, 0, tzinfo=UTC)  # both fields must match


def test_a_bad_cron_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="EXITBOT_DIGEST_CRON"):
        due_slot(Settings(digest_cron="every monday"), datetime(2026, 12, 3, tzinfo=UTC))


def test_quotes_are_shortened_on_a_word_boundary() -> None:
    text = "word " * 60
    short = shorten(text.strip())
    assert len(short) <= 160 and short.endswith("…") and not short.endswith(" …")
    assert shorten("short and sweet") == "short and sweet"


def test_dutch_rendering() -> None:
    from bot.digest_render import render_report

    waiting = DigestData(
        language="nl",
        k=5,
        through="2026-11",
        period_end=date(2026, 11, 30),
        window_end=datetime(2026, 11, 30, 23, tzinfo=UTC),
        waiting=4,
    )
    text = render_report(waiting).as_text()
    assert "overzicht t/m 30 november 2026" in text
    assert "Nog minder dan 5 gesprekken; cijfers verschijnen zodra er 5 zijn." in text
    assert "4 gesprekken" not in text
    figures = DigestData(
        language="nl",
        k=5,
        through="2026-11",
        period_end=date(2026, 11, 30),
        window_end=datetime(2026, 11, 30, 23, tzinfo=UTC),
        count=6,
        reasons=Ranking(6, (Ranked("workload", 6),)),
        manager=Score(2.8, 6, -0.3),
        departments=(Group("Sales", 6, ("workload",)),),
    )
    report = render_report(figures)
    assert "Relatie met leidinggevende: 2,8 / 5 (▼ 0,3), 6 antwoorden" in report.as_text()
    english = render_report(replace(figures, language="en")).as_text()
    assert "Relationship with their manager: 2.8 / 5 (▼ 0.3), 6 answers" in english
    assert "Werkdruk en balans werk-privé: 6 (100%)" in report.as_text()
    assert "Sales: 6 · meest genoemd: Werkdruk en balans werk-privé" in report.as_text()
    assert report.image_png is not None and "Staafdiagram" in report.image_alt
