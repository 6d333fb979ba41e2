"""The few sentences the application says outside an interview, in both languages."""

from __future__ import annotations

from conversations import Choice, OutMessage

_NO_INTERVIEW = {
    "en": (
        "Hi! I'm ExitBot. I hold short, private exit interviews with colleagues who are "
        "leaving. There's no interview open for you right now, so there is nothing you need "
        "to do. If you expected one, please contact HR."
    ),
    "nl": (
        "Hoi! Ik ben ExitBot. Ik voer korte, vertrouwelijke exitgesprekken met collega's die "
        "vertrekken. Er staat op dit moment geen gesprek voor je klaar, dus je hoeft niets te "
        "doen. Verwachtte je er wel een? Neem dan contact op met HR."
    ),
}

_RESTART_OFFER = {
    "en": (
        "You said no thanks earlier, and that's completely fine. If you've changed your mind, "
        'you can still take part: click {start} or type "start".'
    ),
    "nl": (
        "Je gaf eerder aan liever niet mee te doen, en dat is helemaal goed. Bedenk je je? "
        'Dan kun je alsnog meedoen: klik op {start} of typ "start".'
    ),
}

# The same offer where the choices are a numbered list to type from (the terminal)
_RESTART_OFFER_TYPED = {
    "en": (
        "You said no thanks earlier, and that's completely fine. If you've changed your mind, "
        'you can still take part: type "start".'
    ),
    "nl": (
        "Je gaf eerder aan liever niet mee te doen, en dat is helemaal goed. Bedenk je je? "
        'Dan kun je alsnog meedoen: typ "start".'
    ),
}

# Said first by `exitbot chat` in a try-out (`Interview.tryout`): {email} is the address it
# was opened under, or a placeholder for one
_TRYOUT = {
    "en": (
        "This is a try-out: HR's reports do not count it, and it does not stand in the way of "
        "a real exit interview for this address. To hold a real one in the terminal, first "
        "record the departure with `exitbot invite {email} --last-day YYYY-MM-DD`, then run "
        "`exitbot chat --as {email}`."
    ),
    "nl": (
        "Dit is een proefgesprek: de overzichten voor HR tellen het niet mee, en het staat een "
        "echt exitgesprek voor dit adres niet in de weg. Een echt gesprek in de terminal? Leg "
        "dan eerst het vertrek vast met `exitbot invite {email} --last-day JJJJ-MM-DD` en start "
        "daarna `exitbot chat --as {email}`."
    ),
}
_SOME_EMAIL = {"en": "EMAIL", "nl": "E-MAILADRES"}

_NOT_ADMIN = {
    "en": "Sorry, these commands are only for HR admins.",
    "nl": "Sorry, deze opdrachten zijn alleen voor HR-beheerders.",
}


_PRIVATE_ONLY = {
    "en": (
        "HR commands only work in a 1:1 chat with ExitBot: their answers are for you, not "
        "for everyone in this channel."
    ),
    "nl": (
        "HR-opdrachten werken alleen in een 1-op-1-chat met ExitBot: de antwoorden zijn voor "
        "jou, niet voor iedereen in dit kanaal."
    ),
}

_DRY_RUN_QUOTES = {
    "en": (
        "(The quotes are drawn at random on every run: another dry run, and the digest when it "
        "is posted, may show other ones.)"
    ),
    "nl": (
        "(De citaten worden elke keer willekeurig gekozen: een volgende proefrun, en het "
        "overzicht zodra het geplaatst wordt, kan andere laten zien.)"
    ),
}


def no_interview(language: str) -> OutMessage:
    return OutMessage(kind="info", text=_NO_INTERVIEW.get(language, _NO_INTERVIEW["en"]))


def restart_offer(language: str, start_label: str, *, buttons: bool = True) -> OutMessage:
    """What an interview the employee declined says when they open it again (the web link,
    `exitbot chat`) while they may still start it after all; without `buttons`, for a
    channel that lists the choice numbered instead of showing a button to click."""
    offers = _RESTART_OFFER if buttons else _RESTART_OFFER_TYPED
    text = offers.get(language, offers["en"]).format(start=start_label)
    return OutMessage(kind="info", text=text, choices=(Choice("start", start_label),))


def tryout_note(language: str, email: str | None) -> OutMessage:
    """What `exitbot chat` says first in a try-out: that HR's reports do not count it, and
    how to hold a real interview in the terminal (for `email`, or a placeholder)."""
    lang = language if language in _TRYOUT else "en"
    return OutMessage(kind="info", text=_TRYOUT[lang].format(email=email or _SOME_EMAIL[lang]))


def not_admin(language: str) -> str:
    return _NOT_ADMIN.get(language, _NOT_ADMIN["en"])


def private_only(language: str) -> str:
    return _PRIVATE_ONLY.get(language, _PRIVATE_ONLY["en"])


def dry_run_quotes(language: str) -> str:
    """The line under `exitbot digest --dry-run` when it shows quotes."""
    return _DRY_RUN_QUOTES.get(language, _DRY_RUN_QUOTES["en"])


# Where a conversation is held, as the sentence below names it ("went on {place}")
_PLACES = {
    "en": {
        "slack": "in Slack",
        "teams": "in Teams",
        "web": "on the web page",
        "console": "in the terminal",
    },
    "nl": {
        "slack": "in Slack",
        "teams": "in Teams",
        "web": "op de webpagina",
        "console": "in de terminal",
    },
}
_SOMEWHERE_ELSE = {"en": "somewhere else", "nl": "ergens anders"}

_MOVED_ON = {
    "en": (
        "In the meantime this conversation went on {elsewhere}, so I haven't saved your last "
        "message as an answer. You can carry on here{here}; this is where we are now:"
    ),
    "nl": (
        "Dit gesprek is intussen {elsewhere} verdergegaan, dus ik heb je laatste bericht niet "
        "als antwoord bewaard. Je kunt hier{here} verder; dit is waar we nu zijn:"
    ),
}


def place(language: str, channel: str | None) -> str | None:
    """Where a conversation is held, as a sentence names it ("in Slack", "op de webpagina");
    None for a place without a name."""
    return _PLACES.get(language, _PLACES["en"]).get(channel or "")


def moved_on(language: str, elsewhere: str | None, here: str) -> OutMessage:
    """Said before what is asked now to a message from a place that did not show it
    (`bot.places`): where the conversation went on, and that it goes on here."""
    lang = language if language in _MOVED_ON else "en"
    places = _PLACES[lang]
    there = places.get(elsewhere or "", _SOMEWHERE_ELSE[lang])
    this = f" {places[here]}" if here in places else ""
    return OutMessage(kind="info", text=_MOVED_ON[lang].format(elsewhere=there, here=this))
