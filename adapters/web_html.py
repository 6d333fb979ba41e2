"""HTML of the web chat and its error pages, in Dutch and English. Everything is escaped here."""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING

from conversations import Choice, OutMessage
from conversations.text import MAX_ANSWER_CHARS

if TYPE_CHECKING:
    from adapters.web import View

STATIC = "/static/web"
# The answer box takes more than an answer keeps, so that a longer paste reaches the engine,
# which keeps MAX_ANSWER_CHARS and says so (as in Slack and Teams), never cut in silence.
MAX_TEXT = 2 * MAX_ANSWER_CHARS

UI: dict[str, dict[str, str]] = {
    "en": {
        "title": "Your exit interview",
        "skip": "Skip to the answer box",
        "private": "This page is private to you. Please don't share its link.",
        "conversation": "Conversation",
        "bot": "ExitBot",
        "you": "You",
        "choices": "Choose an answer, or type your own below",
        "answer": "Your answer",
        "send": "Send",
        "hint": (
            "You can type skip, back, pause, stop or help at any time, or "
            "\u201cdelete my answers\u201d to have everything removed."
        ),
        "enter": "Press Enter to send, Shift+Enter for a new line.",
        "sending": "Sending…",
        "failed": "Your message could not be sent. Check your connection and try again.",
        "refused": (
            "This message could not be taken: it may be too long or contain something "
            "unreadable. Please shorten it and try again."
        ),
        "stale": "This page is out of date. Please reload it and try again.",
        "ended": "This conversation has ended. Thank you! You can close this page now.",
        "footer": "ExitBot · no cookies, no tracking",
    },
    "nl": {
        "title": "Je exitgesprek",
        "skip": "Naar het antwoordveld",
        "private": "Deze pagina is alleen voor jou. Deel de link alsjeblieft niet.",
        "conversation": "Gesprek",
        "bot": "ExitBot",
        "you": "Jij",
        "choices": "Kies een antwoord, of typ hieronder zelf iets",
        "answer": "Je antwoord",
        "send": "Verstuur",
        "hint": (
            "Je kunt altijd overslaan, terug, pauze, stop of hulp typen, of "
            "\u201cverwijder mijn antwoorden\u201d om alles te laten wissen."
        ),
        "enter": "Druk op Enter om te versturen, Shift+Enter voor een nieuwe regel.",
        "sending": "Versturen…",
        "failed": (
            "Je bericht kon niet worden verstuurd. Controleer je verbinding en probeer het opnieuw."
        ),
        "refused": (
            "Dit bericht kon niet worden aangenomen: het is misschien te lang of bevat iets "
            "onleesbaars. Maak het korter en probeer het opnieuw."
        ),
        "stale": "Deze pagina is verouderd. Laad haar opnieuw en probeer het nog eens.",
        "ended": "Dit gesprek is afgerond. Dank je wel! Je kunt deze pagina nu sluiten.",
        "footer": "ExitBot · geen cookies, geen tracking",
    },
}

ERRORS: dict[int, dict[str, tuple[str, str]]] = {
    404: {
        "en": (
            "This link doesn't work",
            "The link may be incomplete or mistyped. Please open the full link you received, "
            "or ask HR for a new one.",
        ),
        "nl": (
            "Deze link werkt niet",
            "De link is misschien onvolledig of verkeerd overgenomen. Open de volledige link "
            "die je hebt ontvangen, of vraag HR om een nieuwe.",
        ),
    },
    410: {
        "en": (
            "This link is no longer active",
            "The interview it belonged to has ended or expired. Thank you for your time. "
            "If you think this is a mistake, please contact HR.",
        ),
        "nl": (
            "Deze link is niet meer actief",
            "Het gesprek waar hij bij hoorde is afgerond of verlopen. Dank je wel voor je tijd. "
            "Denk je dat dit niet klopt? Neem dan contact op met HR.",
        ),
    },
    403: {
        "en": (
            "This request was blocked",
            "For your safety this page only accepts answers sent from the page itself. "
            "Please go back, reload the page and try again.",
        ),
        "nl": (
            "Dit verzoek is geblokkeerd",
            "Voor je veiligheid accepteert deze pagina alleen antwoorden die vanaf de pagina "
            "zelf zijn verstuurd. Ga terug, laad de pagina opnieuw en probeer het nog eens.",
        ),
    },
    400: {
        "en": (
            "That could not be read",
            "What your browser sent was not a readable form. Please go back, reload the page "
            "and try again.",
        ),
        "nl": (
            "Dat konden we niet lezen",
            "Wat je browser stuurde was geen leesbaar formulier. Ga terug, laad de pagina "
            "opnieuw en probeer het nog eens.",
        ),
    },
    413: {
        "en": ("That message is too long", "Please send a shorter answer."),
        "nl": ("Dat bericht is te lang", "Stuur alsjeblieft een korter antwoord."),
    },
    503: {
        "en": (
            "Please try again in a moment",
            "ExitBot cannot reach its storage right now. Your earlier answers are safe.",
        ),
        "nl": (
            "Probeer het zo nog eens",
            "ExitBot kan zijn opslag nu even niet bereiken. Je eerdere antwoorden zijn veilig.",
        ),
    },
    500: {
        "en": (
            "Something went wrong",
            "Sorry, that did not work. Your earlier answers are safe; please try again later.",
        ),
        "nl": (
            "Er ging iets mis",
            "Sorry, dat lukte niet. Je eerdere antwoorden zijn veilig; probeer het later nog eens.",
        ),
    },
}


def ui(language: str | None) -> dict[str, str]:
    return UI.get(language or "en", UI["en"])


def page(
    title: str,
    language: str,
    body: str,
    *,
    scripts: Sequence[str] = (),
    body_class: str = "",
) -> str:
    """The shell every page shares: no inline script or style (the CSP forbids both)."""
    script_tags = "".join(
        f'<script src="{STATIC}/{escape(name)}" defer></script>' for name in scripts
    )
    return (
        "<!doctype html>\n"
        f'<html lang="{escape(language)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="robots" content="noindex, nofollow">\n'
        '<meta name="color-scheme" content="light dark">\n'
        f"<title>{escape(title)}</title>\n"
        f'<link rel="stylesheet" href="{STATIC}/chat.css">\n'
        f'<link rel="icon" href="{STATIC}/icon.svg" type="image/svg+xml">\n'
        f"{script_tags}\n</head>\n"
        f'<body class="{escape(body_class)}">\n{body}\n</body>\n</html>\n'
    )


def brand_header(subtitle: str = "") -> str:
    extra = f' <span class="brand-sub">{escape(subtitle)}</span>' if subtitle else ""
    return (
        '<header class="top"><div class="top-inner">'
        f'<span class="brand"><img src="{STATIC}/icon.svg" alt="" width="24" height="24">'
        f"ExitBot</span>{extra}</div></header>"
    )


def message_item(message: OutMessage, who: str) -> str:
    return (
        f'<li class="msg msg-bot msg-{escape(message.kind)}">'
        f'<span class="who">{escape(who)}</span>'
        f'<div class="bubble">{escape(message.text)}</div></li>'
    )


def echo_item(text: str, who: str) -> str:
    return (
        f'<li class="msg msg-you"><span class="who">{escape(who)}</span>'
        f'<div class="bubble">{escape(text)}</div></li>'
    )


def choice_buttons(choices: Sequence[Choice]) -> str:
    return "".join(
        f'<button type="submit" class="choice" name="choice" value="{escape(c.value)}">'
        f"{escape(c.label)}</button>"
        for c in choices
    )


def current_choices(messages: Sequence[OutMessage]) -> tuple[Choice, ...]:
    """Buttons belong to the last message only; earlier ones were answered already."""
    return messages[-1].choices if messages else ()


def choices_origin(messages: Sequence[OutMessage]) -> str:
    """Hidden fields saying whose buttons the page shows (the last message's kind and
    question): a page left open in another tab, or reached with the back button, may post
    an earlier question's button, and the engine must know it for one (as on Slack)."""
    last = messages[-1] if messages else None
    kind = last.kind if last is not None and last.choices else ""
    question = (last.question_id or "") if last is not None and last.choices else ""
    return (
        f'<input type="hidden" id="choice-on" name="choice_on" value="{escape(kind)}">'
        f'<input type="hidden" id="choice-for" name="choice_for" value="{escape(question)}">'
    )


def chat_page(
    view: View,
    *,
    action: str,
    api: str,
    csrf: str,
    message_id: str,
    echo: str | None = None,
) -> str:
    t = ui(view.language)
    items = [echo_item(echo, t["you"])] if echo else []
    items += [message_item(m, t["bot"]) for m in view.messages]
    choices = current_choices(view.messages) if view.open else ()
    strings = {k: t[k] for k in ("bot", "you", "sending", "failed", "refused", "stale", "ended")}
    form = (
        f'<form id="reply" class="reply" method="post" action="{escape(action)}"'
        f' data-api="{escape(api)}" data-csrf="{escape(csrf)}"'
        f' data-strings="{escape(json.dumps(strings, ensure_ascii=False))}"'
        f"{'' if view.open else ' hidden'}>"
        f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
        f'<input type="hidden" name="id" value="{escape(message_id)}">'
        f'<fieldset id="choices" class="choices"{"" if choices else " hidden"}>'
        f"<legend>{escape(t['choices'])}</legend>"
        f'<div class="choice-row" id="choice-row">{choice_buttons(choices)}</div>'
        f"{choices_origin(view.messages if choices else ())}</fieldset>"
        f'<label for="text" class="answer-label">{escape(t["answer"])}</label>'
        '<div class="compose">'
        f'<textarea id="text" name="text" rows="2" maxlength="{MAX_TEXT}" autocomplete="off"'
        ' aria-describedby="hint"></textarea>'
        f'<button type="submit" class="send">{escape(t["send"])}</button></div>'
        f'<p id="hint" class="hint">{escape(t["hint"])}'
        f' <span class="js-only" hidden>{escape(t["enter"])}</span></p>'
        '<p id="status" class="status" role="status"></p>'
        "</form>"
    )
    ended = (
        f'<p id="ended" class="ended"{"" if not view.open else " hidden"}>{escape(t["ended"])}</p>'
    )
    body = (
        f'<a class="skip-link" href="#text">{escape(t["skip"])}</a>'
        f"{brand_header()}"
        '<main class="chat" id="main">'
        f"<h1>{escape(t['title'])}</h1>"
        f'<p class="private">{escape(t["private"])}</p>'
        f'<h2 class="visually-hidden" id="log-title">{escape(t["conversation"])}</h2>'
        '<ol id="log" class="log" aria-live="polite" aria-relevant="additions"'
        f' aria-labelledby="log-title">{"".join(items)}</ol>'
        f"{form}{ended}</main>"
        f'<footer class="foot">{escape(t["footer"])}</footer>'
    )
    return page(f"{t['title']} · ExitBot", view.language, body, scripts=("chat.js",))


def error_page(status: int, language: str | None = None) -> str:
    """A friendly page; without a known language it speaks both."""
    texts = ERRORS.get(status, ERRORS[500])
    languages = [language] if language in texts else ["en", "nl"]
    sections = "".join(
        f'<section lang="{lang}" class="card"><h1>{escape(texts[lang][0])}</h1>'
        f"<p>{escape(texts[lang][1])}</p></section>"
        for lang in languages
    )
    body = f'{brand_header()}<main class="chat notice" id="main">{sections}</main>'
    return page(f"{texts[languages[0]][0]} · ExitBot", languages[0], body)
