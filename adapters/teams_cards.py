"""Adaptive Cards for Teams as plain JSON: questions with buttons, answered cards, reports.

No botbuilder here; `adapters.teams` wraps these dicts into activities. Cards use schema
version 1.4 (rendered by Teams desktop, web and mobile). Every card carries `fallbackText`
(the question with numbered choices) for clients that cannot render it; typing an answer
always works too.
"""

from __future__ import annotations

import base64
from typing import Any

from adapters.base import Report
from conversations import OutMessage

CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = "1.4"

CHOICE_KEY = "exitbot_choice"  # the clicked value, in Action.Submit data / Input.ChoiceSet id
QUESTION_KEY = "question_id"
KIND_KEY = "exitbot_kind"  # the kind of message the card shows (intro, question, summary, info)
PROMPT_KEY = "exitbot_prompt"  # the card's text, so the answered card can repeat it
LABELS_KEY = "exitbot_labels"  # value -> label, so the answered card can show the label

MAX_BUTTONS = 6  # Teams shows at most 6 actions per action set
SHORT_LABEL = 12  # labels up to this length fit a row of buttons (scales: "0".."10")
MAX_IMAGE_BYTES = 1024 * 1024  # Teams' limit for one picture

Card = dict[str, Any]


def fallback_text(message: OutMessage) -> str:
    lines = [message.text]
    lines += [f"{n}. {choice.label}" for n, choice in enumerate(message.choices, start=1)]
    return "\n".join(lines)


def _card(
    body: list[dict[str, Any]], *, fallback: str, actions: list[dict[str, Any]] | None = None
) -> Card:
    card: Card = {
        "type": "AdaptiveCard",
        "$schema": SCHEMA,
        "version": VERSION,
        "fallbackText": fallback,
        "body": body,
    }
    if actions:
        card["actions"] = actions
    return card


def _text_blocks(text: str, **style: Any) -> list[dict[str, Any]]:
    """One TextBlock per paragraph: Adaptive Card markdown drops single line breaks."""
    blocks: list[dict[str, Any]] = []
    for number, paragraph in enumerate(p for p in text.split("\n") if p.strip()):
        block: dict[str, Any] = {"type": "TextBlock", "text": paragraph, "wrap": True, **style}
        if number:
            block["spacing"] = "Small"
        blocks.append(block)
    return blocks


def question_card(message: OutMessage) -> Card:
    """A message with choices: one Action.Submit per choice (a dropdown for long lists)."""
    labels = {choice.value: choice.label for choice in message.choices}
    base = {
        QUESTION_KEY: message.question_id,
        KIND_KEY: message.kind,
        PROMPT_KEY: message.text,
        LABELS_KEY: labels,
    }
    body = _text_blocks(message.text)
    fallback = fallback_text(message)

    def submit(value: str, label: str) -> dict[str, Any]:
        return {"type": "Action.Submit", "title": label, "data": {**base, CHOICE_KEY: value}}

    choices = message.choices
    if len(choices) <= MAX_BUTTONS:
        return _card(body, fallback=fallback, actions=[submit(c.value, c.label) for c in choices])
    if all(len(c.label) <= SHORT_LABEL for c in choices):
        for start in range(0, len(choices), MAX_BUTTONS):
            row = choices[start : start + MAX_BUTTONS]
            body.append({"type": "ActionSet", "actions": [submit(c.value, c.label) for c in row]})
        return _card(body, fallback=fallback)
    body.append(
        {
            "type": "Input.ChoiceSet",
            "id": CHOICE_KEY,
            "style": "expanded",
            "choices": [{"title": c.label, "value": c.value} for c in choices],
        }
    )
    return _card(
        body, fallback=fallback, actions=[{"type": "Action.Submit", "title": "OK", "data": base}]
    )


def answered_card(prompt: str, answer: str | None) -> Card:
    """The card after a click: the question and the chosen answer, no buttons (`answer`
    None: the click changed nothing, the card just loses its buttons)."""
    body = _text_blocks(prompt)
    if answer is None:
        return _card(body, fallback=prompt)
    body.append(
        {
            "type": "TextBlock",
            "text": f"✓ {answer}",
            "wrap": True,
            "weight": "Bolder",
            "color": "Accent",
        }
    )
    return _card(body, fallback=f"{prompt}\n✓ {answer}")


def closed_card(prompt: str, note: str) -> Card:
    """A card that asked for something no longer asked (`TeamsChannel.mark_closed`): its
    text, no buttons, and `note` under it saying why."""
    body = _text_blocks(prompt)
    body.append({"type": "TextBlock", "text": note, "wrap": True, "weight": "Bolder"})
    return _card(body, fallback=f"{prompt}\n{note}")


def clicked(value: object) -> tuple[str | None, str | None, str | None]:
    """(choice, prompt, label) from a card's submitted `activity.value`; Nones when absent."""
    if not isinstance(value, dict):
        return None, None, None
    choice = value.get(CHOICE_KEY)
    if not isinstance(choice, str) or not choice:
        return None, None, None
    prompt = value.get(PROMPT_KEY)
    labels = value.get(LABELS_KEY)
    label = labels.get(choice) if isinstance(labels, dict) else None
    return (
        choice,
        prompt if isinstance(prompt, str) else None,
        label if isinstance(label, str) else choice,
    )


def clicked_origin(value: object) -> tuple[str | None, str | None]:
    """(kind of message, question) of a submitted card (`KIND_KEY`, `QUESTION_KEY` in its
    data); a card from before `KIND_KEY` says only its question; (None, None) when unknown."""
    if not isinstance(value, dict):
        return None, None
    kind, question_id = value.get(KIND_KEY), value.get(QUESTION_KEY)
    question_id = question_id if isinstance(question_id, str) and question_id else None
    if question_id is not None:
        return "question", question_id
    if isinstance(kind, str) and kind:
        return kind, None
    labels = value.get(LABELS_KEY)
    if QUESTION_KEY not in value or not isinstance(labels, dict):
        return None, None
    # a card from before KIND_KEY: what it was, from its buttons
    values = set(labels)
    if values == {"start", "later", "decline"}:
        return "intro", None
    if values == {"confirm", "change"}:
        return "summary", None
    if values == {"yes", "no"}:
        return "info", None
    return "summary", None  # the list of answers to change


def _fact(line: str) -> tuple[str, str] | None:
    title, sep, value = line.partition(": ")
    if not sep or not title.strip() or len(title) > 60:
        return None
    return title.strip(), value.strip()


def report_card(report: Report) -> Card:
    """A report (the HR digest): title, a FactSet or text per section, the chart, the footer."""
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": report.title,
            "size": "Large",
            "weight": "Bolder",
            "wrap": True,
        }
    ]
    for section in report.sections:
        body.append(
            {
                "type": "TextBlock",
                "text": section.heading,
                "weight": "Bolder",
                "wrap": True,
                "spacing": "Medium",
            }
        )
        facts = [_fact(line) for line in section.lines]
        if section.lines and all(fact is not None for fact in facts):
            body.append(
                {
                    "type": "FactSet",
                    "facts": [{"title": f[0], "value": f[1]} for f in facts if f is not None],
                }
            )
        else:
            body += [
                {"type": "TextBlock", "text": line, "wrap": True, "spacing": "None"}
                for line in section.lines
            ]
    if report.image_png and len(report.image_png) <= MAX_IMAGE_BYTES:
        data = base64.b64encode(report.image_png).decode("ascii")
        body.append(
            {
                "type": "Image",
                "url": f"data:image/png;base64,{data}",
                "altText": report.image_alt or report.title,
                "size": "Stretch",
            }
        )
    if report.footer:
        body += _text_blocks(report.footer, isSubtle=True, size="Small")
    return _card(body, fallback=report.as_text())
