"""The pure conversation core of ExitBot: questionnaire model and loader, engine, themes.

Standard library only, no I/O beyond reading the packaged form, no async. Adapters and the
bot service talk to it through `start` / `invite` / `advance` / `resume`, which return a
`Turn` of effects (messages to send, answers to store or discard, the next state).
"""

from __future__ import annotations

from .engine import advance, invite, resume, start
from .loader import check_questionnaire, in_english_notes, load_builtin, load_questionnaire
from .questionnaire import (
    ChoiceOption,
    FollowUpRule,
    Question,
    Questionnaire,
    QuestionnaireError,
    Scale,
)
from .themes import THEME_LABELS, THEMES, classify
from .types import Answer, Choice, MessageKind, OutMessage, Status, Turn

__all__ = [
    "THEMES",
    "THEME_LABELS",
    "Answer",
    "Choice",
    "ChoiceOption",
    "FollowUpRule",
    "MessageKind",
    "OutMessage",
    "Question",
    "Questionnaire",
    "QuestionnaireError",
    "Scale",
    "Status",
    "Turn",
    "advance",
    "check_questionnaire",
    "classify",
    "in_english_notes",
    "invite",
    "load_builtin",
    "load_questionnaire",
    "resume",
    "start",
]
