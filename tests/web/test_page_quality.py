"""The page's colours keep WCAG AA contrast in light and dark mode; the markup stays
accessible (language, labels, live region, viewport) and self-contained (no CDN)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from adapters import web_html
from adapters.web import STATIC_DIR, View
from conversations import Choice, OutMessage

CSS = (STATIC_DIR / "chat.css").read_text(encoding="utf-8")


def palette(block: str) -> dict[str, str]:
    return dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6})", block))


LIGHT = palette(CSS.split("@media (prefers-color-scheme: dark)")[0])
DARK = {**LIGHT, **palette(CSS.split("@media (prefers-color-scheme: dark)")[1].split("}\n}")[0])}


def luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


TEXT_PAIRS = [
    ("text", "bg"),
    ("text", "card"),
    ("text", "bot"),
    ("text", "choice-bg"),
    ("text", "choice-hover"),
    ("text", "note-bg"),
    ("muted", "bg"),
    ("muted", "card"),
    ("on-primary", "primary"),
    ("on-primary", "primary-hover"),
    ("danger", "card"),
]
# Non-text contrast (WCAG 1.4.11): focus ring and the choice buttons' borders.
UI_PAIRS = [
    ("focus", "bg"),
    ("focus", "card"),
    ("choice-line", "card"),
    ("choice-line", "choice-bg"),
    ("field-line", "card"),
]


@pytest.mark.parametrize("name, colours", [("light", LIGHT), ("dark", DARK)])
def test_colours_keep_aa_contrast(name: str, colours: dict[str, str]) -> None:
    for fg, bg in TEXT_PAIRS:
        ratio = contrast(colours[fg], colours[bg])
        assert ratio >= 4.5, f"{name}: {fg} on {bg} is {ratio:.2f}:1"
    for fg, bg in UI_PAIRS:
        ratio = contrast(colours[fg], colours[bg])
        assert ratio >= 3.0, f"{name}: {fg} against {bg} is {ratio:.2f}:1"


def test_motion_is_reduced_on_request() -> None:
    assert "@media (prefers-reduced-motion: reduce)" in CSS


def test_the_page_is_accessible_and_self_contained() -> None:
    view = View(
        "nl",
        (
            OutMessage("info", "Hallo <b>daar</b>"),
            OutMessage("question", "Hoe was het?", (Choice("a", "Goed"), Choice("b", "Slecht"))),
        ),
        open=True,
    )
    html = web_html.chat_page(view, action="/i/t", api="/i/t/messages", csrf="c", message_id="m")
    assert '<html lang="nl">' in html and 'name="viewport"' in html
    assert '<label for="text"' in html and 'id="text"' in html
    assert 'aria-live="polite"' in html and 'role="status"' in html
    assert "<legend>" in html and html.count('class="choice"') == 2
    assert "Hallo &lt;b&gt;daar&lt;/b&gt;" in html  # bot text is escaped
    assert not re.search(r"(src|href)=\"(https?:)?//", html)  # nothing from elsewhere
    for path in Path(STATIC_DIR).iterdir():
        text = path.read_text(encoding="utf-8")
        assert "@import" not in text and "fonts.googleapis" not in text
        assert not re.search(r"url\((['\"]?)(https?:)?//", text)
