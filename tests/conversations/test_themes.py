"""classify(): word lists per language, robust to Dutch compounds; negatives stay empty."""

from __future__ import annotations

import pytest

import conversations as conv

CASES = [
    ("werkdruk", "nl", ["workload"]),
    ("De werkdruk was enorm hoog", "nl", ["workload"]),
    ("doorgroeimogelijkheden", "nl", ["career_growth"]),
    ("Ik miste doorgroeimogelijkheden", "nl", ["career_growth"]),
    ("geen salarisverhoging gekregen", "nl", ["pay_benefits"]),
    ("mijn leidinggevende", "nl", ["manager"]),
    ("te veel overuren", "nl", ["workload"]),
    ("ik zat tegen een burn-out aan", "nl", ["wellbeing"]),
    ("de reistijd van twee uur per dag", "nl", ["location"]),
    ("ik wil meer thuiswerken", "nl", ["location"]),
    ("na de reorganisatie", "nl", ["organisation"]),
    ("de sfeer op de afdeling", "nl", ["culture"]),
    ("Carrière maken was onmogelijk", "nl", ["career_growth"]),
    ("mijn collega's waren top", "nl", ["culture"]),
    ("mijn baas", "nl", ["manager"]),
    ("I never got a promotion", "en", ["career_growth"]),
    ("the salary was too low", "en", ["pay_benefits"]),
    ("my boss micromanaged everything", "en", ["manager"]),
    ("the workload was crazy", "en", ["workload"]),
    ("I was close to a burnout", "en", ["wellbeing"]),
    ("Burn-out", "en", ["wellbeing"]),
    ("a two-hour commute", "en", ["location"]),
    ("no remote work allowed", "en", ["location"]),
    ("the layoffs scared everyone", "en", ["organisation"]),
    ("toxic culture", "en", ["culture"]),
    ("too much workload and a toxic boss", "en", ["culture", "manager", "workload"]),
    ("burn-out door de werkdruk", "nl", ["wellbeing", "workload"]),
    # negatives
    ("de basis was goed", "nl", []),
    ("ik heb zelf ontslag genomen", "nl", []),
    ("ik had een goede indruk", "nl", []),
    ("it was kind of nice", "en", []),
    ("a balloon", "en", []),
    ("nothing really", "en", []),
    ("", "en", []),
    ("🙂🙂", "nl", []),
]


@pytest.mark.parametrize(("text", "lang", "expected"), CASES)
def test_classify(text, lang, expected):
    assert conv.classify(text, lang) == expected


def test_themes_taxonomy():
    assert conv.THEMES == (
        "career_growth",
        "pay_benefits",
        "manager",
        "workload",
        "work_itself",
        "culture",
        "wellbeing",
        "organisation",
        "location",
        "personal",
        "other",
    )


def test_classify_never_returns_other_and_is_sorted_unique():
    found = conv.classify("salary salary promotion boss werkdruk", "nl")
    assert found == sorted(set(found))
    assert "other" not in found


def test_dutch_text_also_matches_english_loanwords():
    assert conv.classify("veel stress en een slechte work-life balance", "nl") == [
        "wellbeing",
        "workload",
    ]
