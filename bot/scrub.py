"""Replace personal data in free text with neutral tokens.

Everything that leaves the database as text (quotes in HR digests, ``exitbot scrub``)
goes through :class:`Scrubber` first. Replacements are fixed tokens so nothing of the
original survives: ``[name]``, ``[email]``, ``[phone]``, ``[iban]``, ``[bsn]``,
``[postcode]``, ``[url]``, ``[mention]``.

Detectors, applied in this order (each later pass never looks inside a token that an
earlier one wrote, which also makes ``scrub`` idempotent):

1. chat markup: Slack ``<@U123>``, ``<@U123|anna>``, ``<#C123|general>``, ``<!here>``,
   ``<https://…|label>``, ``<mailto:…>``; Teams ``<at>Anna de Vries</at>``;
2. URLs (``http(s)://…``, ``www.…``);
3. e-mail addresses (also ``anna(at)example.com`` / ``anna [at] example [dot] com`` and
   spaces around the ``@``: ``anna @ example.com``, ``anna@ example.com``,
   ``anna.de.vries @example.com``);
4. ``@handle`` mentions;
5. IBAN (any country, spaces allowed, mod-97 validated via ``stdnum.iban``);
6. BSN (9 digits, optionally ``123.456.789``, ``123 456 789`` or ``1234.56.789``,
   11-proef validated);
7. phone numbers: ``phonenumbers`` with the configured region (leniency VALID, which
   also finds ``+``/``00``-prefixed international numbers), then with NL, BE, GB and US
   (leniency STRICT_GROUPING), plus shape-only fallbacks for what the metadata rejects:
   ``+`` followed by 8-15 digits, US-style ``(555) 123-4567`` / ``555-123-4567`` /
   ``555.123.4567``, and 10-11 digits behind a trunk ``0`` (``07700 900123``);
8. Dutch postcodes (``1012 AB``, ``1012AB``, ``1012ab``; not SA/SD/SS);
9. known names (see :meth:`Scrubber.from_names`);
10. optionally unknown Dutch person names with ``deduce`` (``use_deduce=True``).

Checksummed identifiers with a wrong checksum are left alone on purpose: they are not
BSNs/IBANs and replacing every 9-digit number would wreck ordinary text.

The scrubber never logs the text it is given.
"""

from __future__ import annotations

import importlib
import logging
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from stdnum import iban as _iban

__all__ = ["TOKENS", "Scrubber"]

log = logging.getLogger(__name__)

TOKENS: tuple[str, ...] = (
    "[name]",
    "[email]",
    "[phone]",
    "[iban]",
    "[bsn]",
    "[postcode]",
    "[url]",
    "[mention]",
)
_TOKEN_SPLIT_RE = re.compile(r"(\[(?:name|email|phone|iban|bsn|postcode|url|mention)\])")

# --------------------------------------------------------------------------- markup, urls, e-mail

_SLACK_LINK_RE = re.compile(r"<(?P<target>(?:https?://|mailto:|tel:)[^<>|\s]*)(?:\|[^<>]*)?>", re.I)
_SLACK_MENTION_RE = re.compile(r"<[@#!][^<>\s]*(?:\|[^<>]*)?>")
_TEAMS_MENTION_RE = re.compile(r"<at\b[^<>]*>.*?</at\s*>", re.I | re.S)
_URL_RE = re.compile(r"(?<![\w@/.])(?:https?://|www\.)[^\s<>\"'`]+", re.I)
_URL_TRAILING = ".,;:!?)]}'\""
# "@" glued, with a space after it ("anna@ example.com", "anna @ example.com": a mention
# never has one), or obfuscated ("anna (at) example (dot) com").
_AT = r"(?:[ \t\u00a0]*@[ \t\u00a0]+|@|\s*[\[(]\s*(?:at|@)\s*[\])]\s*)"
_DOT = r"(?:\.|\s*[\[(]\s*(?:dot|punt)\s*[\])]\s*)"
_LOCAL = r"[\w][\w.+\-%']*"
# A space before a glued "@" looks like a mention ("ping @anna.devries"), so that form is
# only an address when the part before it looks like one: punctuation inside
# ("piet.jansen @gmail.com") or a digit. "so. @anna" and "ping @anna.devries" stay mentions.
_SPACED_LOCAL = r"(?:[^\W\d]*\d\w*|\w+(?:[.+\-%']\w+)+)[ \t\u00a0]+@"
_DOMAIN = rf"(?:[^\W_](?:[\w\-]*[^\W_])?{_DOT})+[^\W\d_]{{2,}}\b"
_EMAIL_RE = re.compile(
    rf"(?<![\w.+\-%])(?:{_LOCAL}{_AT}|{_SPACED_LOCAL}){_DOMAIN}",
    re.I,
)
_OBFUSCATED_AT_RE = re.compile(r"[\[(]\s*at\s*[\])]", re.I)
_HANDLE_RE = re.compile(r"(?<![\w@./])@[^\W\d_](?:[\w.\-]*\w)?")

# --------------------------------------------------------------------------- numbers

# IBAN candidate: country, check digits, then 10..30 alphanumerics with optional single
# spaces. The candidate may run into a following word ("… 00 BIC"); the longest prefix
# ending on a group boundary that validates wins.
_IBAN_RE = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?:[ \u00a0]?[A-Za-z0-9]){10,30}")
_ALNUM = re.compile(r"[A-Za-z0-9]")

_BSN_RE = re.compile(
    r"(?<![\w.,\-/+])"
    r"(?<!\+\d )(?<!\+\d\d )(?<!\+\d\d\d )"  # not the rest of "+31 612345678"
    r"(?:\d{9}|\d{3}([ .])\d{3}\1\d{3}|\d{4}([ .])\d{2}\2\d{3})"
    r"(?![\w]|[.,\-/]\d)"
)
_DIGIT_RE = re.compile(r"\d")
_BSN_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2, -1)

# Cheap gates before running phonenumbers' matcher: at least 7 digits close together for
# the configured region, 9 for the others (the shortest BE, GB and US numbers), so that
# dates ("12-03-2024", 8 digits) cost one matcher, not five.
_PHONEISH_RE = re.compile(r"\d(?:[\s().\-/]{0,3}\d){6}")
_PHONEISH_LONG_RE = re.compile(r"\d(?:[\s().\-/]{0,3}\d){8}")
# Regions tried after the configured one. Leavers of a Dutch employer also write Belgian,
# British and American numbers, in either language, so the answer's language says
# nothing about which. STRICT_GROUPING (digits grouped as that country writes them)
# because VALID alone reads "1 2 3 4 5 6 7 8 9 10" as a US number. DE is left out: its
# variable-length plan makes "2019-2023" and "02-03-2024" valid German numbers.
_EXTRA_PHONE_REGIONS = ("NL", "BE", "GB", "US")
_PLUS_PHONE_RE = re.compile(r"(?<![\w+])\+\d(?:[ \u00a0\-.()]{0,2}\d){7,14}(?!\d)")
# Shape-only fallbacks for numbers phonenumbers' metadata rejects though they are somebody's
# number, or will be: ranges reserved for fiction (555-01xx, Ofcom's 07700 900xxx), ranges
# issued after the metadata was, a mistyped digit.
# NANP: "(415) 555-0132", or "415-555-0132" / "415.555.0132" with one separator.
_NANP_RE = re.compile(
    r"(?<![\w(])\(\d{3}\)[ \u00a0]?\d{3}[\-. \u00a0]\d{4}(?!\d)"
    r"|(?<![\w.\-/+])[2-9]\d{2}([\-.])[2-9]\d{2}\1\d{4}(?![\w]|[.\-/]\d)"
)
# A national number behind the trunk prefix 0 (NL, BE, GB, DE): 10 or 11 digits, written
# with one kind of separator at most; "01-03-2024 10" (a date and an hour) mixes two.
_TRUNK_PHONE_RE = re.compile(r"(?<![\w.,\-/+:])0[1-9](?:[ \u00a0\-.]?\d){8,9}(?![\w]|[.,\-/:]\d)")
_PHONE_SEPARATORS_RE = re.compile(r"[ \u00a0\-.]")
# A date and what follows it: "01-03-2024 10" (uur) is a valid Rotterdam number to
# phonenumbers. Its own date checks only know slashes.
_DATE_START_RE = re.compile(
    r"(?:\d{1,2}([\-./])\d{1,2}\1(?:19|20)\d{2}|(?:19|20)\d{2}([\-./])\d{1,2}\2\d{1,2})"
    r"(?!\d|[\-./]\d)"
)

# Dutch postcode. Upper-case letters (with or without a space) or lower-case letters
# glued to the digits ("1012ab"); "in 2019 en" must stay. SA, SD and SS are never issued.
_POSTCODE_RE = re.compile(
    r"(?<![\w\-./,])([1-9]\d{3})(?:[ \u00a0]?([A-Z]{2})|([a-z]{2}))(?![\w\-])"
)
_POSTCODE_BAD_LETTERS = frozenset({"SA", "SD", "SS"})
# "In 2023 HR changed…", "at 1230 PM": two capitals after a spaced number are often an
# acronym. These pairs are only taken as a postcode when glued to the digits.
_POSTCODE_SPACED_ACRONYMS = frozenset(
    "AI AM BI BV CE CV EU HR ID IT MT NL NV OK PC PM PR QA TV UI UK US UX VS".split()
)

# --------------------------------------------------------------------------- names

# Words: runs of letters. Apostrophes and hyphens are separators, so "Anna's" is the
# name "Anna" followed by "'s", "van 't Hek" is van/t/hek and "Jansen-de Vries" is
# jansen/de/vries.
_WORD_RE = re.compile(r"[^\W\d_]+")
_WORD_SPLIT_RE = re.compile(r"([^\W\d_]+)")
# What may sit between two words of one name in running text.
_NAME_GAP_RE = re.compile(r"[\s\-\u2010\u2011'\u2019`.]{1,3}")

_PARTICLES = frozenset(
    "van de der den het te ten ter t in op uit aan bij s von vom zu du la le di da "
    "dos das del della des d".split()
)
_ARCHAIC_PARTICLES = frozenset({"der", "den", "ter", "ten"})
_TITLES = frozenset("mr mrs ms miss mx dr drs dhr mevr mw mej ir ing prof mr. sir dame".split())
_SUFFIXES = frozenset("jr sr ii iii iv msc bsc ma ba mba phd llm ra rc md".split())
# Tokens that are never replaced on their own even if a "name" contains them (service
# accounts and display-name decorations in a platform directory).
_NOT_NAMES_ALONE = frozenset(
    "hr it ict team bot exit exitbot slackbot workflow app people payroll office "
    "noreply info admin support service helpdesk account test user manager "
    "the and en of ooo".split()
)
# Names (first or last) that are also ordinary Dutch or English words. On their own they
# are only replaced when written with a capital ("Ben zei" yes, "ik ben" no; "Bakker"
# yes, "de bakker" no). Inside a full name they always match.
_COMMON_WORDS = frozenset(
    """
    ad al bo jo ed ben wil job lot jet mees roos floor iris merel lieve storm sterre noor
    els fleur puck dex sil bas kay joy grace hope faith rose may june april august mark
    will bill frank pat rob dean grant chase sky summer art don guy max rich sue gay
    bakker visser smit boer groot jong wit bruin klein koning mulder dekker kok bos berg
    vos haan hoek kuiper brink veen dijk water beek molen zwart lange schipper kramer
    timmer vink vogel hart brouwer schouten meer wolf beer leeuw hof kerk post graaf
    laan weg straat plein stad dam haven vliet kamp horst heuvel baker smith fisher
    miller taylor cook king young white brown green black wood hill stone long short
    price hunter page lane park bell bird fox gold fish walker turner cooper carter
    ward may jones
    """.split()
)


def _fold(word: str) -> str:
    """Case- and accent-insensitive form of one word ("José" -> "jose")."""
    if word.isascii():
        return word.lower()
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _words(text: str) -> list[str]:
    return [_fold(m.group()) for m in _WORD_RE.finditer(text)]


# A name variant: folded words -> per word "must be capitalised in the text".
_Variant = tuple[tuple[str, ...], tuple[bool, ...]]


def _clean_name(raw: str) -> str:
    name = raw.strip()
    if not name or "@" in name or any(c.isdigit() for c in name):
        return ""
    name = re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", name)  # "(she/her)", "[Sales]"
    name = re.split(r"\s[|\u2013\u2014]\s|\s-\s|\|", name)[0]  # "Anna | Sales", "Anna - OOO"
    if name.count(",") == 1:  # "Vries, Anna de" / "Anna de Vries, MSc"
        before, after = (p.strip() for p in name.split(","))
        if all(_fold(w.strip(".")) in _SUFFIXES | _TITLES for w in after.split()):
            name = before
        else:
            name = f"{after} {before}"
    return " ".join(name.split())


def _name_variants(raw: str) -> list[_Variant]:
    """Every way the name may be written in text, with capitalisation requirements."""
    name = _clean_name(raw)
    raw_words = [w for w in name.split() if _words(w)]
    while raw_words and _fold(raw_words[0].strip(".")) in _TITLES:
        raw_words.pop(0)
    while len(raw_words) > 1 and _fold(raw_words[-1].strip(".")) in _SUFFIXES:
        raw_words.pop()
    if not raw_words:
        return []

    def is_particle(word: str) -> bool:
        return all(w in _PARTICLES for w in _words(word))

    # Given names run up to the first particle or hyphenated word (not the first word),
    # else up to the last word.
    split = len(raw_words) - 1 if len(raw_words) > 1 else 1
    for i in range(1, len(raw_words) - 1):
        if is_particle(raw_words[i]) or "-" in raw_words[i]:
            split = i
            break
    given = [_words(w) for w in raw_words[:split]]
    surname_words = [w for rw in raw_words[split:] for w in _words(rw)]

    # Surname parts: [particles*, cores+], e.g. "van den Berg-van Dijk" ->
    # (van den, berg), (van, dijk).
    parts: list[tuple[list[str], list[str]]] = []
    particles: list[str] = []
    for idx, w in enumerate(surname_words):
        if w in _PARTICLES and idx < len(surname_words) - 1:
            particles.append(w)
        elif particles or not parts:
            parts.append((particles, [w]))
            particles = []
        else:
            parts[-1][1].append(w)
    cores = [c for _, cs in parts for c in cs]

    def alone(words: tuple[str, ...]) -> bool:
        return len(words) == 1 and (words[0] in _COMMON_WORDS or len(words[0]) <= 2)

    variants: list[_Variant] = []

    def add(words: Iterable[str], caps: Iterable[bool] | None = None) -> None:
        key = tuple(words)
        if not key or all(w in _PARTICLES or w in _NOT_NAMES_ALONE for w in key):
            return  # bare particles; service accounts such as "HR Team"
        if len(key) == 1 and (len(key[0]) < 2 or key[0] in _NOT_NAMES_ALONE):
            return
        flags = tuple(caps) if caps is not None else (False,) * len(key)
        if len(key) == 1 and alone(key):
            flags = (True,)
        variants.append((key, flags))

    all_given = [w for g in given for w in g]
    surname = tuple(surname_words)
    add((*all_given, *surname))  # full name
    if given:
        add((*given[0], *surname))  # without middle names
        add((*given[0], *cores))  # "Jan Berg"
        add((given[0][0][0], *surname), (True,) + (False,) * len(surname))  # "J. van der Berg"
        for g in given:
            add(g)  # "Jan-Willem"
            if len(g) > 1:
                for part in g:
                    add((part,))  # "Jan", "Willem"

    # Surname forms: "van der Berg", per part "de Vries", cores "Vries" (>= 3 letters).
    def common_caps(particles: Iterable[str], cores: Iterable[str]) -> tuple[bool, ...]:
        # "de bakker", "van de berg", "in 't veld" are ordinary phrases: their common-word
        # core needs a capital. "van der berg", "ten bos" are not, so no capital needed.
        ps = tuple(particles)
        relaxed = bool(ps) and any(p in _ARCHAIC_PARTICLES for p in ps)
        return (False,) * len(ps) + tuple(c in _COMMON_WORDS and not relaxed for c in cores)

    def add_surname(words: tuple[str, ...]) -> None:
        if len(words) == 1 and len(words[0]) < 3:
            return  # "Li", "Wu" alone: too short to replace on their own
        lead = 0
        while lead < len(words) - 1 and words[lead] in _PARTICLES:
            lead += 1
        add(words, common_caps(words[:lead], words[lead:]))

    if given or len(surname) > 1:
        add_surname(surname)
        bare = surname[len(parts[0][0]) :] if parts else ()
        if len(bare) > 1:
            add_surname(bare)  # "Groot-van Dijk" for "de Groot-van Dijk"
    for ps, cs in parts:
        add_surname((*ps, *cs))
        if len(parts) > 1 or ps or given:
            add_surname(tuple(cs))
    return variants


@dataclass(frozen=True, slots=True)
class _NameIndex:
    table: dict[tuple[str, ...], tuple[bool, ...]]
    max_len_by_first: dict[str, int]

    @classmethod
    def build(cls, names: Iterable[str]) -> _NameIndex:
        table: dict[tuple[str, ...], tuple[bool, ...]] = {}
        for name in names:
            for key, caps in _name_variants(name):
                old = table.get(key)
                # Two people may share a form; the less demanding requirement wins.
                if old is not None:
                    caps = tuple(a and b for a, b in zip(old, caps, strict=True))
                table[key] = caps
        max_len: dict[str, int] = {}
        for key in table:
            max_len[key[0]] = max(max_len.get(key[0], 0), len(key))
        return cls(table, max_len)

    def sub(self, text: str) -> str:
        if not self.table:
            return text
        # pieces: gap, word, gap, word, ..., gap (words at odd indices)
        pieces = _WORD_SPLIT_RE.split(text)
        words = pieces[1::2]
        folded = [w.lower() for w in words] if text.isascii() else [_fold(w) for w in words]
        first = self.max_len_by_first
        starts = [i for i, w in enumerate(folded) if w in first]
        if not starts:
            return text
        n = len(words)
        free = 0  # words before this index are already part of a replaced name
        for i in starts:
            if i < free:
                continue
            for length in range(min(first[folded[i]], n - i), 0, -1):
                caps = self.table.get(tuple(folded[i : i + length]))
                if caps is None:
                    continue
                if any(
                    not _NAME_GAP_RE.fullmatch(pieces[2 * j + 2]) for j in range(i, i + length - 1)
                ):
                    continue
                if any(need and not words[i + k][0].isupper() for k, need in enumerate(caps)):
                    continue
                pieces[2 * i + 1] = "[name]"
                for k in range(2 * i + 2, 2 * (i + length)):
                    pieces[k] = ""
                free = i + length
                break
        return "".join(pieces)


# --------------------------------------------------------------------------- deduce (optional)

_deduce_lock = threading.Lock()
_deduce_state: dict[str, Any] = {}  # "instance" -> Deduce() or None when unavailable


def _load_deduce() -> Any | None:
    """Import and build ``deduce.Deduce`` once per process; None when unavailable."""
    with _deduce_lock:
        if "instance" not in _deduce_state:
            try:
                module = importlib.import_module("deduce")
                _deduce_state["instance"] = module.Deduce()
            except Exception as exc:  # ImportError, or its lookup structures failed
                log.warning(
                    "deduce is not available (%s); unknown person names are not scrubbed",
                    type(exc).__name__,
                )
                _deduce_state["instance"] = None
        return _deduce_state["instance"]


def _deduce_person_spans(engine: Any, text: str) -> list[tuple[int, int]]:
    doc = engine.deidentify(text)
    spans = []
    for ann in getattr(doc, "annotations", ()):
        tag = str(getattr(ann, "tag", "")).lower()
        if any(t in tag for t in ("persoon", "patient", "person", "naam", "name")):
            spans.append((int(ann.start_char), int(ann.end_char)))
    return spans


# --------------------------------------------------------------------------- helpers


def _bsn_valid(digits: str) -> bool:
    if len(digits) != 9 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits, _BSN_WEIGHTS, strict=True))
    return total != 0 and total % 11 == 0


def _sub_iban(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        cand = m.group()
        # Try the longest prefix that ends on an alphanumeric followed by a non-alnum
        # (or the end), so "NL91 ABNA 0417 1643 00 BIC" still finds the IBAN.
        for end in range(len(cand), 14, -1):
            if not _ALNUM.match(cand[end - 1]):
                continue
            if end < len(cand) and _ALNUM.match(cand[end]):
                continue
            compact = re.sub(r"[ \u00a0]", "", cand[:end]).upper()
            # mod-97 and the country's length/format; national bank-account checks are
            # skipped on purpose (a real IBAN that fails one is still personal data)
            if _iban.is_valid(compact, check_country=False):
                return "[iban]" + cand[end:]
        return cand

    return _IBAN_RE.sub(repl, text)


def _sub_bsn(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        digits = re.sub(r"[ .]", "", m.group())
        return "[bsn]" if _bsn_valid(digits) else m.group()

    return _BSN_RE.sub(repl, text)


def _match_phones(text: str, regions: Iterable[str], leniency: int) -> str:
    """``text`` with every number phonenumbers finds for any of ``regions`` replaced."""
    # Each region reads the same text; overlapping finds merge in _replace_spans.
    spans = [
        (m.start, m.end)
        for region in regions
        for m in phonenumbers.PhoneNumberMatcher(text, region, leniency=leniency)
        if not _DATE_START_RE.match(m.raw_string)
    ]
    return _replace_spans(text, spans, "[phone]")


def _sub_trunk_phone(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        if len(set(_PHONE_SEPARATORS_RE.findall(m.group()))) > 1:
            return m.group()
        return "[phone]"

    return _TRUNK_PHONE_RE.sub(repl, text)


def _sub_postcode(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        letters = m.group(2) or (m.group(3) or "").upper()
        if letters in _POSTCODE_BAD_LETTERS:
            return m.group()
        spaced = m.group(2) is not None and len(m.group()) > 6
        if spaced and letters in _POSTCODE_SPACED_ACRONYMS:
            return m.group()
        return "[postcode]"

    return _POSTCODE_RE.sub(repl, text)


def _sub_url(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        url = m.group()
        stripped = url.rstrip(_URL_TRAILING)
        # keep a closing bracket that belongs to the URL, e.g. wiki links "(foo)"
        while (
            stripped != url
            and url[len(stripped)] == ")"
            and stripped.count("(") > stripped.count(")")
        ):
            stripped += ")"
        return "[url]" + url[len(stripped) :]

    return _URL_RE.sub(repl, text)


def _sub_slack_link(m: re.Match[str]) -> str:
    target = m.group("target").lower()
    if target.startswith("mailto:"):
        return "[email]"
    if target.startswith("tel:"):
        return "[phone]"
    return "[url]"


def _on_plain_text(text: str, fn: Callable[[str], str]) -> str:
    """Apply ``fn`` to the stretches of ``text`` that are not already tokens."""
    if "[" not in text:
        return fn(text)
    pieces = _TOKEN_SPLIT_RE.split(text)
    for i in range(0, len(pieces), 2):
        if pieces[i]:
            pieces[i] = fn(pieces[i])
    return "".join(pieces)


# --------------------------------------------------------------------------- public API


@dataclass(frozen=True, slots=True)
class Scrubber:
    """Replaces personal data in free text with neutral tokens.

    Build one per digest (or per process) and reuse it: the constructor indexes the
    known names once; :meth:`scrub` is then a handful of regex passes plus one dict
    lookup per word (tens of microseconds for a sentence, independent of how many names
    are known).

    ``known_names`` are full names seen from the HR system or platform directory
    (employees, managers). Each is matched as a full name and in its parts, Dutch
    particles included: "Jan van der Berg" also matches "Jan", "Jan Berg",
    "J. van der Berg", "van der Berg", "Van der Berg" and "Berg"; bare particles
    ("van", "de") are never replaced alone, last names alone need at least 3 letters.
    Matching is case- and accent-insensitive ("jose" matches "José") and word-bounded;
    a part that is also an ordinary word ("Ben", "Bakker", "Berg", "Will") is only
    replaced alone when written with a capital. The longest form wins.

    ``region`` is the country whose national phone numbers are read most leniently (any
    valid number, however grouped); NL, BE, GB and US numbers are found whatever it is,
    when grouped the way that country writes them.

    ``use_deduce=True`` additionally runs the optional ``deduce`` package (Dutch,
    rule-based) to find person names that are not in ``known_names``, on Dutch text.
    It is imported and built lazily, once per process, on first use or by
    :meth:`warm_up`; building it takes seconds to minutes, so it must never happen on a
    request path: only opt in from scheduled work (the digest job) and call
    :meth:`warm_up` at start-up of that job. When deduce is not installed or fails to
    load, a single warning is logged and scrubbing continues without it.
    """

    known_names: tuple[str, ...] = ()
    region: str = "NL"
    use_deduce: bool = False
    _names: _NameIndex = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "known_names", tuple(self.known_names))
        object.__setattr__(self, "_names", _NameIndex.build(self.known_names))

    @classmethod
    def from_names(
        cls, names: Iterable[str | None], region: str = "NL", *, use_deduce: bool = False
    ) -> Scrubber:
        """A scrubber for these names; ``None``, blanks and duplicates are dropped."""
        seen: dict[str, None] = {}
        for name in names:
            if name and name.strip():
                seen.setdefault(" ".join(name.split()), None)
        return cls(known_names=tuple(seen), region=region, use_deduce=use_deduce)

    def warm_up(self) -> bool:
        """Load deduce now if opted in; returns whether it is available."""
        return self.use_deduce and _load_deduce() is not None

    def scrub(self, text: str, language: str = "en") -> str:
        """``text`` with personal data replaced by tokens; ``language`` is "nl" or "en"."""
        if not text:
            return text
        text = _SLACK_LINK_RE.sub(_sub_slack_link, text)
        if "<" in text:
            text = _TEAMS_MENTION_RE.sub("[mention]", text)
            text = _SLACK_MENTION_RE.sub("[mention]", text)
        text = _on_plain_text(text, self._scrub_plain)
        if self.use_deduce and language.lower().startswith("nl"):
            text = self._scrub_deduce(text)
        return text

    def _scrub_plain(self, text: str) -> str:
        if "://" in text or "www." in text.lower():
            text = _on_plain_text(text, _sub_url)
        if "@" in text or _OBFUSCATED_AT_RE.search(text):
            text = _on_plain_text(text, lambda t: _EMAIL_RE.sub("[email]", t))
        if "@" in text:
            text = _on_plain_text(text, lambda t: _HANDLE_RE.sub("[mention]", t))
        if _DIGIT_RE.search(text):
            text = _on_plain_text(text, _sub_iban)
            text = _on_plain_text(text, _sub_bsn)
            text = _on_plain_text(text, self._sub_phone)
            text = _on_plain_text(text, _sub_postcode)
        return _on_plain_text(text, self._names.sub)

    def _sub_phone(self, text: str) -> str:
        if not _PHONEISH_RE.search(text):
            return text
        text = _match_phones(text, (self.region,), phonenumbers.Leniency.VALID)
        # The other regions only read what the configured one left (usually no long run of
        # digits any more): each matcher costs more than all the other passes together.
        if _PHONEISH_LONG_RE.search(text):
            others = [r for r in _EXTRA_PHONE_REGIONS if r != self.region]
            strict = phonenumbers.Leniency.STRICT_GROUPING
            text = _on_plain_text(text, lambda t: _match_phones(t, others, strict))
        text = _on_plain_text(text, lambda t: _PLUS_PHONE_RE.sub("[phone]", t))
        text = _on_plain_text(text, lambda t: _NANP_RE.sub("[phone]", t))
        return _on_plain_text(text, _sub_trunk_phone)

    def _scrub_deduce(self, text: str) -> str:
        engine = _load_deduce()
        if engine is None:
            return text
        try:
            spans = _deduce_person_spans(engine, text)
        except Exception as exc:  # never let an optional helper break a digest
            log.warning("deduce failed (%s); skipped", type(exc).__name__)
            return text
        tokens = [(m.start(), m.end()) for m in _TOKEN_SPLIT_RE.finditer(text)]
        spans = [(s, e) for s, e in spans if not any(s < te and ts < e for ts, te in tokens)]
        return _replace_spans(text, spans, "[name]")


def _replace_spans(text: str, spans: Iterable[tuple[int, int]], token: str) -> str:
    out: list[str] = []
    pos = 0
    for start, end in sorted(spans):
        if start < pos:  # overlapping; already covered
            pos = max(pos, end)
            continue
        out.append(text[pos:start])
        out.append(token)
        pos = end
    if not out:
        return text
    out.append(text[pos:])
    return "".join(out)


if __name__ == "__main__":  # micro-benchmark: python -m bot.scrub
    import random
    import timeit

    rng = random.Random(7)
    particles = ["de", "van der", "van 't", "ter", "", "", ""]
    syllables = ["an", "bo", "ca", "de", "el", "fi", "go", "ha", "jo", "ke", "li", "mo", "ru"]

    def word() -> str:
        return "".join(rng.choice(syllables) for _ in range(3)).title()

    names = [f"{word()} {rng.choice(particles)} {word()}" for _ in range(1000)]
    s = Scrubber.from_names([*names, "Anna de Vries", "Jan van der Berg"])
    sentence = (
        "I really enjoyed working with the team here but Jan van der Berg never gave me "
        "any feedback and in the end the workload was simply too high for me to stay"
    )
    n = 5000
    t = min(timeit.repeat(lambda: s.scrub(sentence), number=n, repeat=7))
    print(f"{len(sentence.split())} words, {len(s.known_names)} names: {t / n * 1e6:.1f} us/scrub")
    print(s.scrub(sentence))
