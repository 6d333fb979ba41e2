"""Commands the employee can type at any moment, and the small yes/no vocabularies (en, nl)."""

from __future__ import annotations

import re
from typing import Literal

from .text import normalise

Command = Literal["skip", "pause", "stop", "back", "help", "delete"]

# fmt: off
# Whole messages (after courtesy words are dropped, below), never words inside an answer:
# "next" skips, "Next time, please listen to your team" is an answer.
_TABLE: tuple[tuple[Command, tuple[str, ...]], ...] = (
    ("skip", ("skip", "skip this", "skip it", "skip question", "skip this question",
              "next question", "next", "pass", "i want to skip", "i want to skip this",
              "i want to skip this question", "id like to skip", "id like to skip this",
              "overslaan", "sla over", "sla deze over", "sla maar over", "deze overslaan",
              "vraag overslaan", "volgende vraag", "volgende", "sla deze vraag over",
              "sla die vraag over", "sla die over", "deze vraag overslaan",
              "ik wil overslaan", "ik wil deze overslaan", "ik wil deze vraag overslaan",
              # asked rather than said: a question back is never the answer
              "can i skip", "can i skip this", "can i skip this one", "can i skip this question",
              "may i skip this", "id rather not answer", "id rather not answer this",
              "id rather not answer this one", "i would rather not answer", "rather not say",
              "id rather not say", "i prefer not to answer", "prefer not to answer",
              "kan ik overslaan", "kan ik deze overslaan", "kan ik deze vraag overslaan",
              "mag ik overslaan", "mag ik deze overslaan", "mag ik deze vraag overslaan",
              "kan ik die overslaan", "mag ik die overslaan", "ik sla deze over",
              "ik sla deze vraag over", "zeg ik liever niet", "dat zeg ik liever niet",
              "beantwoord ik liever niet", "die beantwoord ik liever niet",
              "deze beantwoord ik liever niet")),
    ("pause", ("pause", "pauze", "pauzeren", "pauzeer", "later", "not now", "niet nu",
               "take a break", "break", "even pauze", "pause please", "later verder",
               "i want to pause", "can i continue later", "continue later",
               "ik wil pauzeren", "ik wil pauze", "ik wil een pauze", "kan ik later verder",
               "kan ik later verdergaan", "kan ik later verder gaan", "ik ga later verder",
               "later verdergaan", "later verder gaan",
               # "even stoppen" is a break, not the end: matched before "even" is dropped
               "even stoppen", "ik wil even stoppen", "ik stop even")),
    ("stop", ("stop", "stoppen", "ophouden", "quit", "exit", "end", "stop interview",
              "stop the interview", "i want to stop", "id like to stop", "i want to quit",
              "ik wil stoppen", "ik stop", "stop maar", "ermee stoppen", "beeindigen",
              "afbreken", "ik wil ophouden", "ik wil ermee stoppen")),
    ("back", ("back", "go back", "previous", "previous question", "undo", "terug",
              "ga terug", "vorige", "vorige vraag", "terug naar vorige vraag",
              "i want to go back", "go back to the previous question", "ik wil terug",
              "terug naar de vorige vraag")),
    ("help", ("help", "hulp", "help me", "helpen", "commands", "what can i do",
              "wat kan ik doen", "how does this work", "hoe werkt dit", "opties",
              # what a question means: asked again with the help, never stored as its answer
              "what do you mean", "what does that mean", "what does this mean",
              "i dont understand", "i dont understand the question",
              "i dont understand this question", "i dont get it", "i dont get the question",
              "wat bedoel je", "wat bedoel je daarmee", "hoe bedoel je", "wat betekent dat",
              "ik begrijp het niet", "ik begrijp de vraag niet", "ik snap het niet",
              "ik snap de vraag niet", "ik begrijp deze vraag niet", "ik snap deze vraag niet")),
    ("delete", ("delete my answers", "delete all my answers", "delete my data",
                "delete everything", "delete", "forget me", "erase my answers",
                "remove my answers", "verwijder mijn antwoorden", "verwijder al mijn antwoorden",
                "verwijder mijn gegevens", "verwijder alles", "verwijderen", "verwijder",
                "wis mijn antwoorden", "wis alles", "vergeet mij")),
)
# fmt: on
_COMMANDS: dict[str, Command] = {
    phrase: command for command, phrases in _TABLE for phrase in phrases
}

MAX_COMMAND_CHARS = 60
# "Delete my answers" only ever asks "are you sure?" first, so a short message that asks for
# it in other words ("can you please delete m'n antwoorden?") is safe to take as the
# command. A longer one is taken only when it is built as a request to the bot (below);
# other long messages are answers that happen to mention it.
MAX_DELETE_WORDS = 8
MAX_DELETE_CHARS = 240

# Courtesy around a command: "pauze aub", "skip please", "ik wil graag stoppen".
_COURTESY = re.compile(
    r"\b(?:a u b|aub|alsjeblieft|alstublieft|asjeblieft|graag|even|dank je wel|dank je|"
    r"dankjewel|dank u|bedankt|please|pls|plz|thanks|thank you|thx)\b"
)
# Only the employee's own answers: "delete the data they keep" is a suggestion for HR.
# "m'n" and "m’n" normalise to "mn" (the apostrophe joins); a stray quote leaves "m n".
_MY = r"(?:all |al |alle )?(?:of )?(?:my|mijn|mn|m n)"
_DATA = r"(?:answers|responses|replies|data|antwoorden|gegevens|reacties)"
_DELETE_PHRASE = re.compile(
    rf"\b(?:delete|erase|remove|wipe|forget|verwijder|verwijderen|wis|wissen) {_MY} {_DATA}\b"
    rf"|\b{_MY} {_DATA} (?:deleted|erased|removed|verwijderen|verwijderd|verwijdert|wissen"
    r"|gewist|weghalen)\b"
)
_NEGATIONS = frozenset({"dont", "not", "never", "niet", "nooit", "geen"})
# A longer request: (a word of address,) how one asks, the deletion, then at most a few words
# ("now", "uit dit gesprek") or a reason ("because ...", "want ik heb me bedacht").
# "I would like you to please delete all of my answers now"; "kun je alsjeblieft al mijn
# antwoorden verwijderen want ik heb me bedacht". Not: "my manager deleted my answers in the
# review tool", "HR said they would delete my answers after a while, which ...".
_ADDRESS = r"(?:(?:hi|hello|hey|hoi|hallo|ok|okay|oke|sorry|actually|so|eigenlijk|nou) )*"
_ASK = (
    r"(?:(?:can|could|would|will) you |i (?:would like|want|need) you to |id like you to "
    r"|i (?:would like|want|need) to |id like to |i (?:would like|want) |id like "
    r"|(?:kun|kan|wil|zou) je |(?:kunt|wilt|zou) u |ik wil (?:dat (?:je|jij|u) )?"
    r"|ik zou (?:willen )?(?:dat (?:je|jij|u) )?|mag ik )?"
)
_REQUEST = re.compile(rf"{_ADDRESS}{_ASK}(?P<phrase>.+)")
_REASONS = (
    "because", "since", "as", "cause", "cos", "i changed", "ive changed", "i have changed",
    "i dont", "i do not", "i no longer", "i want", "i would rather",
    "want", "omdat", "aangezien", "ik heb me", "ik wil", "ik heb er",
)  # fmt: skip
_FEW_WORDS = 3


def detect(text: str) -> Command | None:
    """The command `text` is, if the whole message is one ("Skip!", "  overslaan. ", "pauze
    aub"), or a request to delete the answers: short ("ik wil m'n antwoorden verwijderen"),
    or longer and built as one ("could you please delete all of my answers, I changed my
    mind")."""
    if len(text) > MAX_COMMAND_CHARS:
        if len(text) > MAX_DELETE_CHARS:
            return None
        polite = " ".join(_COURTESY.sub(" ", normalise(text)).split())
        return "delete" if _is_delete_request(polite) else None
    stripped = text.strip()
    if stripped and set(stripped) <= {"?", "¿"}:
        return "help"
    norm = normalise(stripped)
    polite = " ".join(_COURTESY.sub(" ", norm).split())
    command = _COMMANDS.get(norm) or _COMMANDS.get(polite)
    if command is None and _is_delete_request(polite):
        return "delete"
    return command


def _is_delete_request(norm: str) -> bool:
    words = norm.split()
    if (
        len(words) <= MAX_DELETE_WORDS
        and not _NEGATIONS & set(words)
        and _DELETE_PHRASE.search(norm) is not None
    ):
        return True
    return _asks_to_delete(norm)


def _asks_to_delete(norm: str) -> bool:
    """A request to the bot, however long: asking words, the deletion, then little else."""
    request = _REQUEST.fullmatch(norm)
    phrase = _DELETE_PHRASE.match(request.group("phrase")) if request else None
    if phrase is None:
        return False
    rest = phrase.string[phrase.end() :].split()
    if not rest:
        return True
    if len(rest) <= _FEW_WORDS and not _NEGATIONS & set(rest):
        return True
    tail = " ".join(rest)
    return any(tail == reason or tail.startswith(reason + " ") for reason in _REASONS)


# fmt: off
YES = frozenset({
    "yes", "y", "yeah", "yep", "yup", "sure", "ok", "okay", "okey", "correct", "right",
    "thats right", "yes thats right", "yes please", "confirm", "looks good", "all good",
    "that is right",
    "ja", "j", "jazeker", "zeker", "klopt", "ja klopt", "ja hoor", "prima", "akkoord",
    "dat klopt", "ja dat klopt", "bevestig", "ja graag", "goed zo", "helemaal goed",
    # "Oké" folds to "oke"; Dutch also writes it "oke", "okee" and "oké hoor".
    "oke", "okee", "oke hoor", "ok hoor",
})
NO = frozenset({
    "no", "n", "nope", "nah", "no thanks", "no thank you", "cancel", "keep", "keep them",
    "dont", "do not", "never mind", "nevermind",
    "nee", "neen", "nee bedankt", "nee dank je", "annuleer", "annuleren", "niet", "liever niet",
    "bewaren", "houden", "laat maar", "toch niet",
})
DELETE_YES = YES | {"delete", "delete them", "yes delete", "yes delete them", "verwijder",
                    "verwijderen", "ja verwijder", "ja verwijderen", "ja verwijder ze"}
START = frozenset({
    "start", "begin", "starten", "beginnen", "lets go", "lets start", "lets begin", "go",
    "start interview", "yes", "y", "yeah", "sure", "ok", "okay", "okey", "yes please",
    "yes lets go", "ok lets go", "okay lets go", "lets do it",
    "ja", "j", "ja graag", "ja hoor", "prima", "goed", "is goed", "we beginnen", "start maar",
    "begin maar", "oke", "okee", "oke hoor", "ok hoor",
})
# What starts an interview the employee declined: words that name starting, or the Start
# button. Not the agreeing words of START: an "ok" or "ja" after "no thanks" acknowledges the
# goodbye, it does not take the decline back.
RESTART = frozenset({
    "start", "begin", "starten", "beginnen", "lets go", "lets start", "lets begin",
    "start interview", "yes lets go", "ok lets go", "okay lets go", "lets do it",
    "we beginnen", "start maar", "begin maar", "start anyway", "toch starten",
    "alsnog starten", "toch beginnen", "alsnog beginnen",
})
LATER = frozenset({
    "later", "not now", "maybe later", "another time", "later please", "remind me later",
    "niet nu", "misschien later", "een andere keer", "straks", "later graag", "pause", "pauze",
})
DECLINE = frozenset({
    "no", "no thanks", "no thank you", "not interested", "nope", "n", "decline", "stop",
    "nee", "nee bedankt", "nee dank je", "nee dankjewel", "geen interesse", "liever niet",
    "niet", "neen",
})
CHANGE = frozenset({
    "change", "change something", "i want to change something", "edit", "fix", "correct it",
    "not quite", "thats not right", "incorrect", "wrong", "no", "nope", "n", "back",
    "aanpassen", "iets aanpassen", "ik wil iets aanpassen", "wijzigen", "wijzig", "verander",
    "veranderen", "klopt niet", "dat klopt niet", "niet helemaal", "nee", "terug",
})
# Words around a question name in "change the suggestions" / "ik wil 3 aanpassen". "iets"
# (something) is one too: "ik wil iets aanpassen" names no answer, not "Verder nog iets".
CHANGE_FILLER = frozenset({
    "change", "edit", "fix", "correct", "i", "want", "to", "would", "like", "id", "the",
    "my", "answer", "answers", "question", "number", "nr", "no", "please",
    "aanpassen", "wijzigen", "wijzig", "verander", "veranderen", "ik", "wil", "graag", "de",
    "het", "mijn", "antwoord", "vraag", "nummer", "bij", "op", "nee", "about", "over",
    "something", "iets",
})
# fmt: on
