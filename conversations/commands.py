"""Commands the employee can type at any moment, and the small yes/no vocabularies (en, nl)."""

from __future__ import annotations

from typing import Literal

from .text import normalise

Command = Literal["skip", "pause", "stop", "back", "help", "delete"]

# fmt: off
_TABLE: tuple[tuple[Command, tuple[str, ...]], ...] = (
    ("skip", ("skip", "skip this", "skip it", "skip question", "skip this question",
              "next question", "pass", "overslaan", "sla over", "sla deze over",
              "sla maar over", "deze overslaan", "vraag overslaan", "volgende vraag")),
    ("pause", ("pause", "pauze", "pauzeren", "pauzeer", "later", "not now", "niet nu",
               "take a break", "break", "even pauze", "pause please", "later verder")),
    ("stop", ("stop", "stoppen", "ophouden", "quit", "exit", "end", "stop interview",
              "stop the interview", "i want to stop", "ik wil stoppen", "ik stop",
              "stop maar", "ermee stoppen", "beeindigen", "afbreken")),
    ("back", ("back", "go back", "previous", "previous question", "undo", "terug",
              "ga terug", "vorige", "vorige vraag", "terug naar vorige vraag")),
    ("help", ("help", "hulp", "help me", "helpen", "commands", "what can i do",
              "wat kan ik doen", "how does this work", "hoe werkt dit", "opties")),
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


def detect(text: str) -> Command | None:
    """The command `text` is, if the whole message is one ("Skip!", "  overslaan. ")."""
    if len(text) > MAX_COMMAND_CHARS:
        return None
    stripped = text.strip()
    if stripped and set(stripped) <= {"?", "¿"}:
        return "help"
    return _COMMANDS.get(normalise(stripped))


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
# Words around a question name in "change the suggestions" / "ik wil 3 aanpassen".
CHANGE_FILLER = frozenset({
    "change", "edit", "fix", "correct", "i", "want", "to", "would", "like", "id", "the",
    "my", "answer", "answers", "question", "number", "nr", "no", "please",
    "aanpassen", "wijzigen", "wijzig", "verander", "veranderen", "ik", "wil", "graag", "de",
    "het", "mijn", "antwoord", "vraag", "nummer", "bij", "op", "nee", "about", "over",
})
# fmt: on
