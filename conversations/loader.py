"""Load and validate questionnaires written in TOML (format: see forms/model.toml)."""

from __future__ import annotations

import os
import re
import tomllib
from functools import lru_cache
from importlib import resources
from pathlib import Path

from .questionnaire import (
    Question,
    Questionnaire,
    QuestionnaireError,
    Variants,
)
from .schema import Checker
from .schema import question as parse_question

TEXT_KEYS: dict[str, tuple[str, ...]] = {
    "intro": ("invite", "start", "begin"),
    "outro": ("completed", "declined", "stopped", "deleted"),
    "phrases": (
        "btn_start",
        "btn_later",
        "btn_decline",
        "later_ok",
        "invite_reask",
        "ack",
        "reask_choice",
        "reask_scale",
        "reask_text",
        "help",
        "help_typed",
        "paused",
        "welcome_back",
        "skipped",
        "nothing_to_go_back",
        "going_back",
        "confirm_delete",
        "btn_delete_yes",
        "btn_delete_no",
        "delete_cancelled",
        "summary_intro",
        "summary_skipped",
        "summary_question",
        "btn_confirm",
        "btn_change",
        "which_change",
        "reask_summary",
        "answer_changed",
        "answer_cut",
        "closed",
    ),
}
# A sentence a custom form may leave out → the sentence of that form it then reads as: the
# help for a channel without buttons is the form's own help (worded for its own employees),
# not the built-in form's.
_WORDED_LIKE = {"phrases.help_typed": "phrases.help"}
_TOP_KEYS = (
    "id",
    "version",
    "default_language",
    "languages",
    "intro",
    "outro",
    "phrases",
    "questions",
)
_FORM_ID = re.compile(r"[A-Za-z0-9_.\-]+")
_LANG = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]+)?")


def _top(ck: Checker, data: dict[str, object]) -> tuple[str, str, str]:
    ck.unknown_keys(data, _TOP_KEYS, "(top level)")
    form_id = data.get("id")
    if not isinstance(form_id, str) or not _FORM_ID.fullmatch(form_id):
        ck.add("id", "required; letters, digits, '_', '-' or '.'")
        form_id = ""
    version = data.get("version")
    if not isinstance(version, str) or not version.strip():
        ck.add("version", 'required, a string such as version = "1.0"')
        version = str(version or "")
    languages = data.get("languages")
    if not isinstance(languages, list) or not languages:
        ck.add("languages", 'required, a non-empty list such as ["en", "nl"]')
        languages = []
    good: list[str] = []
    for i, lang in enumerate(languages):
        if not isinstance(lang, str) or not _LANG.fullmatch(lang):
            ck.add(f"languages[{i}]", f"{lang!r} is not a language code such as 'en'")
        elif lang in good:
            ck.add(f"languages[{i}]", f"duplicate language '{lang}'")
        else:
            good.append(lang)
    ck.languages = tuple(good)
    default = data.get("default_language")
    if not isinstance(default, str) or default not in good:
        ck.add("default_language", f"must be one of languages {good}")
        default = good[0] if good else "en"
    return form_id, version, default


def _sections(ck: Checker, data: dict[str, object], complete: bool) -> dict[str, Variants]:
    texts: dict[str, Variants] = {}
    for section, keys in TEXT_KEYS.items():
        table = data.get(section, {})
        if not isinstance(table, dict):
            ck.add(section, "must be a table")
            continue
        ck.unknown_keys(table, keys, section)
        for key in keys:
            if key in table:
                texts[f"{section}.{key}"] = ck.texts(table[key], section, key, variants=True)
            elif complete:
                ck.add(section, f"{key}: missing")
    return texts


def parse(text: str, *, complete: bool = False) -> Questionnaire:
    """Build a questionnaire from TOML text; raise QuestionnaireError listing every problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise QuestionnaireError([f"(toml): invalid TOML: {exc}"]) from None
    ck = Checker()
    form_id, version, default = _top(ck, data)
    texts = _sections(ck, data, complete)
    raw_questions = data.get("questions")
    questions: list[Question] = []
    if not isinstance(raw_questions, list) or not raw_questions:
        ck.add("questions", "required: at least one [[questions]]")
    else:
        seen: set[str] = set()
        for i, raw in enumerate(raw_questions):
            question = parse_question(ck, raw, i, seen)
            if question is not None:
                questions.append(question)
    if ck.problems:
        raise QuestionnaireError(ck.problems)
    in_english: dict[str, tuple[str, ...]] = {}
    if not complete:
        texts, in_english = _with_builtin_texts(texts, ck.languages)
    return Questionnaire(
        form_id, version, default, ck.languages, tuple(questions), texts, in_english
    )


def _with_builtin_texts(
    texts: dict[str, Variants], languages: tuple[str, ...]
) -> tuple[dict[str, Variants], dict[str, tuple[str, ...]]]:
    """Fill sentences a custom form leaves out from the built-in form (same language, else
    en); and, per language the built-in form lacks, which of them came in English."""
    builtin = load_builtin()
    merged = dict(texts)
    for key, own in _WORDED_LIKE.items():
        if key not in merged and own in merged:
            merged[key] = merged[own]  # the form's own wording, not the built-in one
    in_english: dict[str, list[str]] = {}
    for key, entry in builtin.texts.items():
        if key not in merged:
            merged[key] = {lang: entry.get(lang) or entry["en"] for lang in languages}
            for lang in languages:
                if lang not in entry:
                    in_english.setdefault(lang, []).append(key)
    return merged, {lang: tuple(keys) for lang, keys in in_english.items()}


def load_questionnaire(path_or_text: str | os.PathLike[str]) -> Questionnaire:
    """Load a form from a file path (a PathLike, or a str ending in .toml) or from TOML text."""
    if isinstance(path_or_text, os.PathLike) or (
        "\n" not in path_or_text and path_or_text.strip().endswith(".toml")
    ):
        path = Path(path_or_text)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise QuestionnaireError([f"{path}: cannot read: {exc}"]) from None
        return parse(text)
    return parse(path_or_text)


def in_english_notes(questionnaire: Questionnaire) -> list[str]:
    """One line per language whose employees would read some of the bot's sentences in
    English: the form leaves them out and the built-in form has only en and nl."""
    notes = []
    for lang, keys in questionnaire.in_english.items():
        table, name = keys[0].split(".", 1)
        notes.append(
            f"language {lang}: {len(keys)} of the bot's sentences are not in this form and come "
            f"in English from the built-in form: {', '.join(keys)} "
            f'(add them, e.g. {name}.{lang} = "..." under [{table}])'
        )
    return notes


def check_questionnaire(text: str, source: str) -> list[str]:
    """Every problem in `text`, each prefixed with `source`; empty when the form is valid."""
    try:
        parse(text)
    except QuestionnaireError as exc:
        return [f"{source}: {p}" for p in exc.problems]
    return []


@lru_cache(maxsize=1)
def load_builtin() -> Questionnaire:
    """The built-in model exit-interview form (en, nl)."""
    text = resources.files("conversations").joinpath("forms/model.toml").read_text("utf-8")
    return parse(text, complete=True)
