"""Theme taxonomy and a word-list classifier for free-text answers (en, nl).

Patterns are matched against normalised text (lowercase, accents folded, hyphens and
apostrophes removed, so "burn-out" reads "burnout"):

    "word"    the whole word only        ("baas" does not match "basis")
    "stem*"   a word starting with stem  ("promot*" matches "promotion", "promotie")
    "*part*"  anywhere inside a word     (catches Dutch compounds: "*werkdruk*")
    "*end"    a word ending in end
    "a b*"    a phrase of whole words; its later words may end in * as above

Dutch text is also checked against the English list (loanwords such as "burnout",
"remote", "manager"); English text is not checked against Dutch stems, which would
misfire ("kind of", "balloon").
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from .text import normalise

THEMES: tuple[str, ...] = (
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

THEME_LABELS: dict[str, dict[str, str]] = {
    "career_growth": {"en": "Career growth", "nl": "Doorgroeimogelijkheden"},
    "pay_benefits": {"en": "Pay and benefits", "nl": "Salaris en arbeidsvoorwaarden"},
    "manager": {"en": "My manager", "nl": "Mijn leidinggevende"},
    "workload": {"en": "Workload and work-life balance", "nl": "Werkdruk en balans werk-privé"},
    "work_itself": {"en": "The work itself", "nl": "Het werk zelf"},
    "culture": {"en": "Culture and colleagues", "nl": "Cultuur en collega's"},
    "wellbeing": {"en": "Wellbeing and health", "nl": "Welzijn en gezondheid"},
    "organisation": {"en": "Organisation and job security", "nl": "Organisatie en baanzekerheid"},
    "location": {
        "en": "Location, commute or remote work",
        "nl": "Locatie, reistijd of thuiswerken",
    },
    "personal": {"en": "Personal circumstances", "nl": "Persoonlijke omstandigheden"},
    "other": {"en": "Something else", "nl": "Iets anders"},
}

# fmt: off
_WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "career_growth": {
        "en": ("promot*", "career*", "growth", "grow", "growing", "progression", "advancement",
               "development", "develop myself", "learning", "learn", "training*", "courses",
               "opportunit*", "stagnat*", "dead end", "deadend", "next step", "ladder",
               "no future", "perspective"),
        "nl": ("*doorgroei*", "*groeimogelijk*", "promotie*", "carriere*", "*loopbaan*",
               "ontwikkeling", "ontwikkelen", "*ontwikkelmogelijk*", "*ontwikkelingsmogelijk*",
               "*opleiding*", "cursus*", "leren", "bijleren", "stilstand", "stilgestaan",
               "vastgelopen", "volgende stap", "perspectief", "groeien", "groei"),
    },
    "pay_benefits": {
        "en": ("salar*", "pay", "paid", "underpaid", "pay rise", "payrise", "wage*", "bonus*",
               "compensation", "benefits", "pension*", "a raise", "no raise", "money", "income",
               "paycheck*",
               "remuneration", "lease car", "perks", "overtime pay"),
        "nl": ("*salaris*", "*loon*", "*beloning*", "verloning", "bonus*", "*pensioenregeling*",
               "*arbeidsvoorwaarden*", "secundaire", "leaseauto", "*betaald*", "geld", "inkomen",
               "cao", "verhoging", "*vergoeding*", "opslag"),
    },
    "manager": {
        "en": ("manager*", "micromanag*", "management", "boss*", "supervisor*", "team lead*",
               "teamlead*", "line manager", "my lead", "leadership"),
        "nl": ("*leidinggevend*", "baas", "bazen", "*teamleider*", "teamlead*", "chef",
               "afdelingshoofd", "leiding"),
    },
    "workload": {
        "en": ("workload*", "work load", "overwork*", "overtime", "too much work", "long hours",
               "worklife*", "work life balance", "pressure", "deadline*", "understaff*",
               "overload*", "too busy", "busy", "too many hours", "swamped"),
        "nl": ("*werkdruk*", "*overuren*", "overwerk*", "te veel werk", "teveel werk", "druk",
               "te druk", "drukte", "*tijdsdruk*", "*prestatiedruk*", "werkprive", "balans",
               "*werklast*", "onderbezet*", "*personeelstekort*", "te veel uren", "deadline*"),
    },
    "work_itself": {
        "en": ("boring", "bored", "boredom", "the work itself", "challeng*", "meaningful",
               "meaningless", "repetitive", "monoton*", "purpose", "variety", "tedious",
               "interesting work", "my tasks", "the tasks"),
        "nl": ("saai*", "*verveel*", "eentonig*", "*uitdaging*", "taken", "werkzaamheden",
               "inhoud", "inhoudelijk*", "zinvol*", "zinloos", "het werk zelf", "afwisseling*",
               "routine*", "*werkinhoud*"),
    },
    "culture": {
        "en": ("culture", "toxic*", "colleague*", "coworker*", "team spirit", "atmosphere",
               "bully*", "bullied", "harass*", "office politics", "politics", "gossip*",
               "discriminat*", "inclusion", "inclusive", "values", "vibe"),
        "nl": ("*cultuur*", "*sfeer*", "*collega*", "pest*", "gepest", "giftig*", "toxisch*",
               "*teamgeest*", "samenwerk*", "roddel*", "intimidatie", "discriminatie",
               "politiek", "geen klik"),
    },
    "wellbeing": {
        "en": ("burnout*", "burned out", "burnt out", "stress*", "mental health", "health*",
               "sick*", "ill", "illness", "exhaust*", "anxiety", "anxious", "depress*",
               "wellbeing", "well being", "tired", "fatigue", "sleep*", "overwhelm*"),
        "nl": ("*burnout*", "*overspannen*", "stress*", "*gezondheid*", "ziek*", "uitgeput",
               "uitval", "mentaal", "mentale", "*welzijn*", "vermoeid*", "moe", "slaap*",
               "psychisch*", "depressie*", "angst*", "*gestrest*"),
    },
    "organisation": {
        "en": ("reorg*", "restructur*", "layoff*", "lay off*", "laid off", "redundan*",
               "job security", "insecur*", "uncertain*", "merger*", "acquisition*", "strategy",
               "direction", "bureaucra*", "red tape", "downsiz*", "cutback*", "budget cuts",
               "contract"),
        "nl": ("*reorganisatie*", "reorg*", "ontslagen", "*ontslagronde*", "gedwongen ontslag",
               "massaontslag", "*baanzekerheid*", "onzeker*", "fusie*", "overname*",
               "bezuinig*", "*herstructurering*", "koers", "strategie", "bureaucrat*",
               "*contract*", "directie"),
    },
    "location": {
        "en": ("commut*", "travel time", "travelling", "traveling", "remote*", "work from home",
               "working from home", "wfh", "home office", "hybrid*", "relocat*",
               "back to the office", "return to office", "rto", "distance", "traffic", "parking"),
        "nl": ("*reistijd*", "*woonwerk*", "reizen", "*thuiswerk*", "thuis werken",
               "hybride", "*kantoor*", "file", "files", "filevorming", "verhuiz*", "verhuisd",
               "afstand", "locatie", "forens*", "trein", "parkeren"),
    },
    "personal": {
        "en": ("personal reasons", "personal circumstances", "family", "my partner", "my wife",
               "my husband", "kids", "children", "child", "baby", "pregnan*", "moving abroad",
               "caregiv*", "care for", "caring for", "study", "studies", "university",
               "retire*", "sabbatical", "travel the world"),
        "nl": ("persoonlijke", "prive*", "*gezin*", "familie*", "mijn partner", "kinderen",
               "kind", "zwanger*", "*mantelzorg*", "studie", "studeren", "met pensioen",
               "pensionering", "buitenland", "emigr*", "wereldreis"),
    },
}
# fmt: on


@dataclass(frozen=True, slots=True)
class _Lexicon:
    """The word lists of some languages, indexed for matching token by token."""

    exact: dict[str, frozenset[str]]  # word -> themes
    prefixes: dict[str, frozenset[str]]  # stem -> themes
    prefix_lengths: tuple[int, ...]
    infixes: tuple[tuple[str, frozenset[str]], ...]  # part -> themes
    suffixes: tuple[tuple[str, frozenset[str]], ...]
    phrases: dict[str, tuple[tuple[tuple[str, ...], str], ...]]  # first word -> (rest, theme)

    def token_themes(self, token: str) -> frozenset[str]:
        found = set(self.exact.get(token, ()))
        for length in self.prefix_lengths:
            if length <= len(token):
                found.update(self.prefixes.get(token[:length], ()))
        for part, themes in self.infixes:
            if part in token:
                found.update(themes)
        for part, themes in self.suffixes:
            if token.endswith(part):
                found.update(themes)
        return frozenset(found)


def _word_matches(pattern: str, token: str) -> bool:
    return token.startswith(pattern[:-1]) if pattern.endswith("*") else token == pattern


def _add(index: dict[str, set[str]], key: str, theme: str) -> None:
    index.setdefault(key, set()).add(theme)


@lru_cache(maxsize=8)
def _lexicon(language: str) -> _Lexicon:
    langs = {"en": ("en",), "nl": ("nl", "en")}.get(language, ("en", "nl"))
    exact: dict[str, set[str]] = {}
    prefixes: dict[str, set[str]] = {}
    infixes: dict[str, set[str]] = {}
    suffixes: dict[str, set[str]] = {}
    phrases: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for theme, words in _WORDS.items():
        for pattern in (p for lang in langs for p in words.get(lang, ())):
            if " " in pattern:
                first, *rest = pattern.split()
                phrases.setdefault(first, []).append((tuple(rest), theme))
            elif pattern.startswith("*") and pattern.endswith("*"):
                _add(infixes, pattern.strip("*"), theme)
            elif pattern.startswith("*"):
                _add(suffixes, pattern[1:], theme)
            elif pattern.endswith("*"):
                _add(prefixes, pattern[:-1], theme)
            else:
                _add(exact, pattern, theme)
    return _Lexicon(
        exact={k: frozenset(v) for k, v in exact.items()},
        prefixes={k: frozenset(v) for k, v in prefixes.items()},
        prefix_lengths=tuple(sorted({len(k) for k in prefixes})),
        infixes=tuple((k, frozenset(v)) for k, v in infixes.items()),
        suffixes=tuple((k, frozenset(v)) for k, v in suffixes.items()),
        phrases={k: tuple(v) for k, v in phrases.items()},
    )


@lru_cache(maxsize=8192)
def _token_themes(token: str, language: str) -> frozenset[str]:
    return _lexicon(language).token_themes(token)


def classify(text: str, language: str) -> list[str]:
    """Theme ids found in `text`, sorted, no duplicates, never "other"."""
    tokens = normalise(text).split()
    if not tokens:
        return []
    lexicon = _lexicon(language)
    found: set[str] = set()
    for i, token in enumerate(tokens):
        if len(token) < 64:  # longer "words" are noise, and would bloat the cache
            found.update(_token_themes(token, language))
        for rest, theme in lexicon.phrases.get(token, ()):
            following = tokens[i + 1 : i + 1 + len(rest)]
            if len(following) == len(rest) and all(map(_word_matches, rest, following)):
                found.add(theme)
    return sorted(found)
