"""Personal data in free text is replaced by neutral tokens; ordinary text survives."""

from __future__ import annotations

import logging
import sys
import types
from dataclasses import dataclass

import pytest

from bot import scrub as scrub_module
from bot.scrub import TOKENS, Scrubber

KNOWN_NAMES = [
    "Anna de Vries",
    "Jan van der Berg",
    "José García",
    "Ben Bakker",
    "dhr. Pieter van 't Hek",
    "Bo de Groot-van Dijk",
    "Jan-Willem Smit (he/him)",
    "Yilmaz, Elif",
    None,
    "",
]


@pytest.fixture(scope="module")
def scrubber() -> Scrubber:
    return Scrubber.from_names(KNOWN_NAMES)


# --------------------------------------------------------------------------- checksums

VALID_BSNS = ["111222333", "319072356", "799642630", "578230859", "132845751", "570178216"]
INVALID_BSNS = ["111222334", "319072357", "799642631", "578230850", "123456789"]
VALID_IBANS = [
    "NL91ABNA0417164300",
    "GB82WEST12345698765432",
    "DE89370400440532013000",
    "BE68539007547034",
    "FR1420041010050500013M02606",
]
INVALID_IBANS = ["NL91ABNA0417164301", "GB82WEST12345698765433", "DE89370400440532013001"]


@pytest.mark.parametrize("bsn", VALID_BSNS)
@pytest.mark.parametrize(
    "template",
    ["Mijn BSN is {} en dat is geheim", "My citizen service number: {}.", "({})", "{}"],
)
def test_valid_bsn_is_replaced(scrubber: Scrubber, bsn: str, template: str) -> None:
    assert scrubber.scrub(template.format(bsn)) == template.format("[bsn]")


@pytest.mark.parametrize("written", ["111.222.333", "111 222 333", "1112.22.333", "3190.72.356"])
def test_bsn_with_separators_is_replaced(scrubber: Scrubber, written: str) -> None:
    assert scrubber.scrub(f"BSN {written} graag") == "BSN [bsn] graag"


@pytest.mark.parametrize("number", INVALID_BSNS)
def test_invalid_bsn_is_left_alone(scrubber: Scrubber, number: str) -> None:
    text = f"Mijn BSN is {number} toch?"
    assert scrubber.scrub(text) == text


@pytest.mark.parametrize("iban", VALID_IBANS)
def test_valid_iban_is_replaced(scrubber: Scrubber, iban: str) -> None:
    assert scrubber.scrub(f"Mijn IBAN {iban}, graag.") == "Mijn IBAN [iban], graag."
    grouped = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
    assert scrubber.scrub(f"IBAN: {grouped} (salary)") == "IBAN: [iban] (salary)"
    assert scrubber.scrub(f"iban {iban.lower()}") == "iban [iban]"


def test_grouped_iban_followed_by_capitals(scrubber: Scrubber) -> None:
    assert scrubber.scrub("NL91 ABNA 0417 1643 00 BIC ABNANL2A") == "[iban] BIC ABNANL2A"


@pytest.mark.parametrize("number", INVALID_IBANS)
def test_invalid_iban_is_left_alone(scrubber: Scrubber, number: str) -> None:
    text = f"IBAN {number} klopt niet"
    assert scrubber.scrub(text) == text


# --------------------------------------------------------------------------- table

# (input, expected output)
REPLACED = [
    # BSN, IBAN together; order IBAN, BSN, phone
    (
        "Mijn BSN is 111222333 en mijn IBAN NL91ABNA0417164300",
        "Mijn BSN is [bsn] en mijn IBAN [iban]",
    ),
    # phone numbers, Dutch and international
    ("Call me on +31 6 12345678 or mail anna@example.com", "Call me on [phone] or mail [email]"),
    ("Bel me op 06-12345678 of 06 12 34 56 78.", "Bel me op [phone] of [phone]."),
    ("Kantoor: 020 123 4567", "Kantoor: [phone]"),
    ("London office +44 20 7946 0958", "London office [phone]"),
    ("via 0044 20 7946 0958 of +31612345678", "via [phone] of [phone]"),
    ("US: +1 (202) 456-1111 or (555) 123-4567", "US: [phone] or [phone]"),
    # US and UK numbers in national format, whatever the configured region (NL) says
    (
        "call 415-555-0132, 415.555.0132 or (415) 555-0132",
        "call [phone], [phone] or [phone]",
    ),
    ("my UK mobile 07700 900123 or +44 7700 900123", "my UK mobile [phone] or [phone]"),
    ("UK: 07911 123456, 020 7946 0958; BE: 0470 12 34 56", "UK: [phone], [phone]; BE: [phone]"),
    ("op 01-03-2024 bel ik 06-12345678", "op 01-03-2024 bel ik [phone]"),
    # e-mail
    ("Mail anna.de-vries+exit@example.co.uk!", "Mail [email]!"),
    ("schrijf naar anna (at) example (dot) com", "schrijf naar [email]"),
    ("mail piet.jansen @ gmail.com please", "mail [email] please"),
    ("mail piet.jansen @gmail.com or piet.jansen@ gmail.com", "mail [email] or [email]"),
    ("mail piet @ gmail.com or piet1987 @gmail.com", "mail [email] or [email]"),
    # URLs
    ("See https://example.com/u/anna?x=1. Or www.example.nl/profiel.", "See [url]. Or [url]."),
    ("(zie http://intranet/wiki/Team_(Sales))", "(zie [url])"),
    # chat mentions
    ("<@U12345|anna> said", "[mention] said"),
    ("<@U123ABC> and <#C123|general> and <!here>", "[mention] and [mention] and [mention]"),
    ("<at>Anna de Vries</at> knows", "[mention] knows"),
    ("ping @anna.devries about it", "ping [mention] about it"),
    ("Thanks. @anna.devries knows", "Thanks. [mention] knows"),  # a mention, not an address
    (
        "<https://example.com/x|example.com> <mailto:jan@example.com|jan@example.com>",
        "[url] [email]",
    ),
    # postcodes
    ("Ik woon op 1012 AB Amsterdam", "Ik woon op [postcode] Amsterdam"),
    ("Postcode 1012AB, ook 3511ab.", "Postcode [postcode], ook [postcode]."),
    # known names, every part
    ("Jan van der Berg was mijn leidinggevende", "[name] was mijn leidinggevende"),
    ("Talk to Van der Berg", "Talk to [name]"),
    ("talk to van der berg", "talk to [name]"),
    ("Anna's manager", "[name]'s manager"),
    ("Anna’s manager", "[name]’s manager"),
    ("Jan z'n aanpak", "[name] z'n aanpak"),
    ("De Vries en de Vries en Vries", "[name] en [name] en [name]"),
    (
        "Berg zei dat J. van der Berg en Jan Berg het wisten",
        "[name] zei dat [name] en [name] het wisten",
    ),
    ("jose garcia, José, JOSÉ GARCÍA and Garcia", "[name], [name], [name] and [name]"),
    ("Pieter van 't Hek, Van ’t Hek, Hek", "[name], [name], [name]"),
    ("Bo, de Groot, Groot-van Dijk, van Dijk", "[name], [name], [name], [name]"),
    ("Jan-Willem, Willem and Smit", "[name], [name] and [name]"),
    ("Elif Yilmaz and Elif", "[name] and [name]"),
    ("Ben zei het; Bakker ook", "[name] zei het; [name] ook"),
    ("Anna de Vries\u00a0en Anna", "[name]\u00a0en [name]"),
]

KEPT = [
    "I worked here 5 years",
    "de werkdruk was hoog",
    "salary was 3500 euro",
    "In 2026 I left, on 18-12-2026 to be precise.",
    "Last day 2026-12-18, 40 hours a week, 12.5% raise, version 1.2.3",
    "van de regen in de drup, de een en de ander, in 't algemeen",
    "ik ben moe en ik wil weg",  # "ben" is also a known first name
    "de bakker op de hoek, een berg werk",  # "Bakker", "Berg" are known last names
    "in 2019 en 2020 was het druk",  # not a postcode
    "In 2023 HR changed the policy",  # acronym, not a postcode
    "1234 SS is not a postcode",
    "Annadal is a place, and Berglaan a street",  # names only match whole words
    "order 12345678 and ticket #4711",
    "The team scored 9/10 and 7,5 out of 10",
    "mail me at the office",
    "lunch @ the canteen, drinks @ 5",
    # ordinary numbers, though phone numbers of some country are read as well
    "I joined in 2019 and left in 2023, after 3 years and 4 months",
    "from 2019-2023 and 2020-2024, 1999 2000 2001",
    "I'd give it 8/10, my manager 6/10",
    "salary € 3.500 bruto, later €4.200,00 and a budget of 1.500.000 euro",
    "a 15% raise, 2,5% bonus, 45000-50000 a year",
    "my last day was 12-03-2024, notice from 01-02-2024 tot 15-04-2024",
    "op 01-03-2024 10:00 en 31-12-2024 23:59, 2024-03-01 14 uur, 12/03/2024",
    "it took 10 minutes, 9 10 11 12 13 14 15 times",
    "rate it 1 2 3 4 5 6 7 8 9 10",
    "",
]


@pytest.mark.parametrize(("text", "expected"), REPLACED)
def test_planted_personal_data_is_replaced(scrubber: Scrubber, text: str, expected: str) -> None:
    assert scrubber.scrub(text) == expected


@pytest.mark.parametrize("text", KEPT)
def test_ordinary_text_is_left_intact(scrubber: Scrubber, text: str) -> None:
    assert scrubber.scrub(text) == text
    assert scrubber.scrub(text, language="nl") == text


@pytest.mark.parametrize(
    "text", [t for t, _ in REPLACED] + KEPT + [" ".join(TOKENS), "[name]'s [phone]"]
)
def test_idempotent(scrubber: Scrubber, text: str) -> None:
    once = scrubber.scrub(text)
    assert scrubber.scrub(once) == once


@pytest.mark.parametrize("particle", ["van", "de", "der", "den", "te", "ten", "ter", "'t", "in 't"])
def test_bare_particles_are_never_replaced(particle: str) -> None:
    names = ["Jan van der Berg", "Anna de Vries", "Kees ten Cate", "Piet in 't Veld"]
    s = Scrubber.from_names(names)
    text = f"Het ligt aan {particle} kant, {particle.capitalize()} ook."
    assert s.scrub(text) == text


def test_longest_match_wins() -> None:
    s = Scrubber.from_names(["Anna de Vries", "Anna Bakker"])
    assert s.scrub("Anna de Vries zei") == "[name] zei"
    assert s.scrub("Anna Bakker en Anna") == "[name] en [name]"


def test_two_letter_names_need_a_capital() -> None:
    s = Scrubber.from_names(["Ed Li"])
    assert s.scrub("ed li and Ed") == "[name] and [name]"
    assert s.scrub("ed") == "ed"
    assert s.scrub("Li") == "Li"  # last name alone needs 3 letters


def test_service_accounts_in_the_directory_are_not_names() -> None:
    s = Scrubber.from_names(["HR Team", "IT Support", "Exit Bot"])
    assert s.scrub("the hr team and IT support helped") == "the hr team and IT support helped"
    assert s.scrub("the exit interview with Exit Bot") == "the exit interview with Exit Bot"


def test_no_names_known() -> None:
    s = Scrubber()
    assert s.scrub("Anna de Vries 111222333") == "Anna de Vries [bsn]"


# --------------------------------------------------------------------------- API


def test_from_names_drops_empty_and_duplicate_names() -> None:
    s = Scrubber.from_names([None, "", "  ", "Anna  de Vries", "Anna de Vries", "Jan"], region="BE")
    assert s.known_names == ("Anna de Vries", "Jan")
    assert s.region == "BE"
    assert s.use_deduce is False


def test_scrubber_is_frozen_and_comparable() -> None:
    a = Scrubber.from_names(["Anna de Vries"])
    assert a == Scrubber(known_names=("Anna de Vries",))
    with pytest.raises(AttributeError):
        a.region = "US"  # type: ignore[misc]


def test_region_drives_phone_detection() -> None:
    us = Scrubber(region="US")
    assert us.scrub("call 202-456-1111 now") == "call [phone] now"
    assert Scrubber(region="NL").scrub("020 123 4567") == "[phone]"


@pytest.mark.parametrize("region", ["NL", "BE", "GB", "US"])
@pytest.mark.parametrize("language", ["en", "nl"])
def test_foreign_numbers_are_found_whatever_the_region_or_language(
    region: str, language: str
) -> None:
    s = Scrubber(region=region)
    text = "bel 06-12345678, 415-555-0132, 07911 123456, 0470 12 34 56 of +44 7700 900123"
    assert s.scrub(text, language) == "bel [phone], [phone], [phone], [phone] of [phone]"
    kept = "in 2019, 3 years, 8/10, € 3.500, 12%, 12-03-2024, 10 minutes"
    assert s.scrub(kept, language) == kept


def test_scrubber_does_not_log_text(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    Scrubber.from_names(["Anna de Vries"]).scrub("Anna de Vries, anna@example.com, 111222333")
    assert "anna" not in caplog.text.lower()


# --------------------------------------------------------------------------- deduce


@pytest.fixture
def fresh_deduce(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scrub_module, "_deduce_state", {})


def test_deduce_absent_degrades_with_one_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, fresh_deduce: None
) -> None:
    monkeypatch.setitem(sys.modules, "deduce", None)  # import deduce -> ImportError
    s = Scrubber.from_names(["Anna de Vries"], use_deduce=True)
    assert scrub_module._deduce_state == {}  # not loaded by construction
    caplog.set_level(logging.WARNING, logger="bot.scrub")
    text = "Anna de Vries en Pieter Pietersen, 111222333"
    assert s.scrub(text, language="nl") == "[name] en Pieter Pietersen, [bsn]"
    assert s.scrub(text, language="nl") == "[name] en Pieter Pietersen, [bsn]"
    assert s.warm_up() is False
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "deduce" in warnings[0].getMessage()
    assert "Pieter" not in caplog.text


def test_deduce_not_used_unless_opted_in(
    monkeypatch: pytest.MonkeyPatch, fresh_deduce: None
) -> None:
    monkeypatch.setitem(sys.modules, "deduce", None)
    Scrubber.from_names(["Anna de Vries"]).scrub("Pieter Pietersen", language="nl")
    assert scrub_module._deduce_state == {}


@dataclass
class _FakeAnnotation:
    text: str
    start_char: int
    end_char: int
    tag: str


def test_deduce_person_annotations_become_name_tokens(
    monkeypatch: pytest.MonkeyPatch, fresh_deduce: None
) -> None:
    built: list[int] = []

    class FakeDeduce:
        def __init__(self) -> None:
            built.append(1)

        def deidentify(self, text: str) -> types.SimpleNamespace:
            anns = []
            for word, tag in (("Pieter Pietersen", "persoon"), ("Utrecht", "locatie")):
                start = text.find(word)
                if start >= 0:
                    anns.append(_FakeAnnotation(word, start, start + len(word), tag))
            return types.SimpleNamespace(annotations=anns)

    monkeypatch.setitem(sys.modules, "deduce", types.SimpleNamespace(Deduce=FakeDeduce))
    s = Scrubber.from_names(["Anna de Vries"], use_deduce=True)
    assert s.warm_up() is True
    text = "Anna en Pieter Pietersen in Utrecht"
    assert s.scrub(text, language="nl") == "[name] en [name] in Utrecht"
    assert s.scrub(text, language="en") == "[name] en Pieter Pietersen in Utrecht"
    assert built == [1]  # built once per process
