"""The invite says exactly what HR will and will not see, and how long answers are kept."""

from __future__ import annotations

import pytest

import conversations as conv


@pytest.mark.parametrize(
    ("language", "sees", "never", "deleted", "delete_cmd"),
    [
        ("en", "What HR will see", "What HR will not see", "deleted 30 days", "delete my answers"),
        (
            "nl",
            "Wat HR te zien krijgt",
            "Wat HR niet ziet",
            "30 dagen",
            "verwijder mijn antwoorden",
        ),
    ],
)
def test_invite_privacy_text(
    language: str, sees: str, never: str, deleted: str, delete_cmd: str
) -> None:
    turn = conv.invite(conv.load_builtin(), language, min_group=7, retention_days=30)
    text = turn.messages[0].text
    assert sees in text and never in text
    assert "7" in text and deleted in text and delete_cmd in text
    assert "{" not in text  # every placeholder filled
    assert turn.state["retention_days"] == 30
    assert [c.value for c in turn.messages[-1].choices]  # Start / Later / No thanks
