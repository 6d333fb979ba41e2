"""The pure parts of the Teams adapter: cards, text cleaning, retry decisions."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from botbuilder.schema import Activity, ErrorResponseException
from msrest.exceptions import ClientRequestError

from adapters import teams_cards as cards
from adapters.base import Report, ReportSection
from adapters.teams import classify, clean_text
from adapters.teams_retry import RetryPolicy, Transient, parse_retry_after, with_retry
from conversations import Choice, OutMessage


def message(n: int, label: str = "Option") -> OutMessage:
    choices = tuple(Choice(str(i), f"{label} {i}" if label else str(i)) for i in range(n))
    return OutMessage("question", "Pick one\nplease", choices, question_id="q1")


def test_few_choices_are_buttons_with_the_value_and_question() -> None:
    card = cards.question_card(message(3))
    assert card["version"] == "1.4" and card["type"] == "AdaptiveCard"
    assert [b["text"] for b in card["body"]] == ["Pick one", "please"]
    first = card["actions"][0]
    assert first["type"] == "Action.Submit" and first["title"] == "Option 0"
    assert first["data"]["exitbot_choice"] == "0"
    assert first["data"]["question_id"] == "q1"
    assert card["fallbackText"] == "Pick one\nplease\n1. Option 0\n2. Option 1\n3. Option 2"


def test_a_scale_becomes_rows_of_buttons() -> None:
    card = cards.question_card(message(11, label=""))
    rows = [b for b in card["body"] if b["type"] == "ActionSet"]
    assert [len(r["actions"]) for r in rows] == [6, 5]
    assert "actions" not in card


def test_many_long_choices_become_a_choice_set() -> None:
    card = cards.question_card(message(8, label="A fairly long option"))
    [choice_set] = [b for b in card["body"] if b["type"] == "Input.ChoiceSet"]
    assert choice_set["id"] == "exitbot_choice" and len(choice_set["choices"]) == 8
    [submit] = card["actions"]
    submitted = {**submit["data"], "exitbot_choice": "5"}  # what Teams sends back
    assert cards.clicked(submitted) == ("5", "Pick one\nplease", "A fairly long option 5")


@pytest.mark.parametrize("value", [None, "text", {}, {"exitbot_choice": ""}, {"other": 1}])
def test_clicked_ignores_other_values(value: Any) -> None:
    assert cards.clicked(value) == (None, None, None)


def test_answered_card_has_no_buttons() -> None:
    card = cards.answered_card("Pick one", "Option 2")
    assert "actions" not in card
    assert card["body"][-1]["text"] == "✓ Option 2"


def test_report_card_facts_text_image_and_footer() -> None:
    report = Report(
        "Digest",
        (
            ReportSection("In short", ("Interviews: 6", "Period: November")),
            ReportSection("Notes", ("Shown once at least 10 people have answered.",)),
        ),
        footer="Groups of at least 5",
        image_png=b"\x89PNG fake",
        image_alt="a chart",
    )
    body = cards.report_card(report)["body"]
    kinds = [b["type"] for b in body]
    assert kinds == [
        "TextBlock",
        "TextBlock",
        "FactSet",
        "TextBlock",
        "TextBlock",
        "Image",
        "TextBlock",
    ]
    assert body[4]["text"] == "Shown once at least 10 people have answered."
    assert body[2]["facts"][0] == {"title": "Interviews", "value": "6"}
    assert body[5]["url"].startswith("data:image/png;base64,")
    too_big = Report("Digest", (), image_png=b"x" * (cards.MAX_IMAGE_BYTES + 1))
    assert all(b["type"] != "Image" for b in cards.report_card(too_big)["body"])


def activity(text: str, entities: list[dict[str, Any]] | None = None) -> Activity:
    act: Activity = Activity().deserialize(
        {"type": "message", "text": text, "recipient": {"id": "28:bot"}, "entities": entities or []}
    )
    return act


def test_clean_text_removes_the_bot_mention_and_keeps_others_as_ids() -> None:
    bot = {"type": "mention", "text": "<at>ExitBot</at>", "mentioned": {"id": "28:bot"}}
    anna = {"type": "mention", "text": "<at>Anna</at>", "mentioned": {"id": "29:anna"}}
    text = "<at>ExitBot</at> start <at>Anna</at> 2026-12-18"
    assert clean_text(activity(text, [bot, anna])) == "start <@29:anna> 2026-12-18"


def test_clean_text_unwraps_light_html_and_entities() -> None:
    text = '<p>start <a href="mailto:a@example.com">a@example.com</a>&nbsp;2026-12-18</p>'
    assert clean_text(activity(text)) == "start a@example.com 2026-12-18"
    assert clean_text(activity("line one<br>line  two &amp; more")) == "line one\nline two & more"
    assert clean_text(activity("I <3 this team")) == "I <3 this team"


def http_error(status: int, headers: dict[str, str] | None = None) -> ErrorResponseException:
    exc = ErrorResponseException.__new__(ErrorResponseException)
    exc.response = SimpleNamespace(status_code=status, headers=headers or {})
    return exc


def test_classify() -> None:
    assert classify(http_error(429, {"Retry-After": "7"})) == Transient("HTTP 429", 7.0)
    assert classify(http_error(503)) == Transient("HTTP 503", None)
    assert classify(http_error(400)) is None
    assert classify(http_error(403)) is None
    assert classify(ClientRequestError("connection refused")) == Transient("ClientRequestError")
    assert classify(ValueError("bug")) is None


def test_parse_retry_after() -> None:
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("Tue, 01 Dec 2026 09:00:30 GMT", now) == 30.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("-5") == 0.0


async def test_with_retry_gives_up_and_never_retries_other_errors() -> None:
    waits: list[float] = []
    calls = 0

    async def sleep(delay: float) -> None:
        waits.append(delay)

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        raise http_error(429, {"Retry-After": "120"})

    with pytest.raises(ErrorResponseException):
        await with_retry(flaky, classify, policy=RetryPolicy(attempts=3, max_delay=30), sleep=sleep)
    assert calls == 3 and waits == [30.0, 30.0]  # capped at max_delay

    async def broken() -> str:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        await with_retry(broken, classify, sleep=sleep)
    assert len(waits) == 2


def test_a_submitted_card_says_what_it_was_also_from_before_cards_said_their_kind() -> None:
    def data(labels: dict[str, str], **extra: object) -> dict[str, object]:
        return {"question_id": None, "exitbot_labels": labels, "exitbot_choice": "x", **extra}

    assert cards.clicked_origin(data({"confirm": "Yes"}, exitbot_kind="summary")) == (
        "summary",
        None,
    )
    assert cards.clicked_origin({**data({}), "question_id": "q1"}) == ("question", "q1")
    legacy = {
        "intro": {"start": "Start", "later": "Later", "decline": "No thanks"},
        "summary": {"confirm": "Yes, that's right", "change": "Change"},
        "info": {"yes": "Yes, delete them", "no": "No, keep them"},
    }
    for kind, labels in legacy.items():
        assert cards.clicked_origin(data(labels)) == (kind, None)
    assert cards.clicked_origin(data({"valued_most": "Valued most"})) == ("summary", None)
    assert cards.clicked_origin({"exitbot_choice": "x"}) == (None, None)  # not ExitBot's card
    assert cards.clicked_origin("text") == (None, None)
