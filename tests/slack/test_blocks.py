"""Block Kit rendering: escaping, buttons, fallbacks, answered messages, reports."""

from __future__ import annotations

from adapters.base import Report, ReportSection
from adapters.slack_blocks import (
    CHOICE_ACTION_PATTERN,
    answered_blocks,
    choice_block_id,
    clicked_origin,
    escape,
    fallback_text,
    message_blocks,
    messages_payload,
    plain_text,
    report_blocks,
    report_text,
)
from conversations import Choice, OutMessage

QUESTION = OutMessage(
    kind="question",
    text="How was <b>it</b> & why?",
    choices=(Choice("1", "Very poor"), Choice("2", "Poor <@U1>")),
    question_id="manager_relationship",
)


def test_mrkdwn_control_characters_are_escaped():
    assert escape("<!channel> & <@U123|boss>") == "&lt;!channel&gt; &amp; &lt;@U123|boss&gt;"
    [section, _] = message_blocks(QUESTION)
    assert section["text"] == {"type": "mrkdwn", "text": "How was &lt;b&gt;it&lt;/b&gt; &amp; why?"}


def test_an_injected_mention_never_reaches_slack_unescaped():
    message = OutMessage(kind="summary", text="Name: <!here> <@U999> <https://evil.example|x>")
    rendered = str(message_blocks(message)) + fallback_text(message)
    assert "<!here>" not in rendered and "<@U999>" not in rendered and "<https://" not in rendered


def test_question_with_choices_gets_buttons_and_a_numbered_fallback():
    section, actions = message_blocks(QUESTION)
    assert section["type"] == "section"
    assert actions["type"] == "actions"
    assert actions["block_id"] == "exitbot:q:manager_relationship"
    assert [e["value"] for e in actions["elements"]] == ["1", "2"]
    ids = [e["action_id"] for e in actions["elements"]]
    assert len(set(ids)) == 2 and all(CHOICE_ACTION_PATTERN.match(i) for i in ids)
    assert actions["elements"][1]["text"] == {
        "type": "plain_text",
        "text": "Poor <@U1>",  # plain_text is never parsed for mentions
        "emoji": True,
    }
    assert fallback_text(QUESTION) == (
        "How was &lt;b&gt;it&lt;/b&gt; &amp; why?\n1. Very poor\n2. Poor &lt;@U1&gt;"
    )


def test_a_clicked_block_says_which_message_its_buttons_were_on():
    many = OutMessage("question", "Pick", tuple(Choice(str(n), f"{n}") for n in range(30)), "q_7")
    block_ids = [b["block_id"] for b in message_blocks(many) if b["type"] == "actions"]
    assert len(block_ids) > 1  # more buttons than one block holds
    summary = OutMessage("summary", "Right?", (Choice("confirm", "Yes"),))
    _, payload = messages_payload([QUESTION, many, summary])  # ":<n>" added per message
    block_ids += [b["block_id"] for b in payload if b["type"] == "actions"]
    assert [clicked_origin(b) for b in block_ids] == [
        ("question", "q_7"),
        ("question", "q_7"),
        ("question", "manager_relationship"),
        ("question", "q_7"),
        ("question", "q_7"),
        ("summary", None),
    ], block_ids
    invite = OutMessage("intro", "Hi", (Choice("start", "Start"),))
    assert clicked_origin(choice_block_id(invite)) == ("intro", None)
    for foreign in (None, "exitbot:q:", "exitbot:nonsense", "some_app_block"):
        assert clicked_origin(foreign) == (None, None)


def test_other_kinds_are_plain_sections():
    message = OutMessage(kind="info", text="Thanks.")
    assert message_blocks(message) == [
        {"type": "section", "text": {"type": "mrkdwn", "text": "Thanks."}}
    ]
    assert fallback_text(message) == "Thanks."


def test_long_texts_and_many_choices_respect_block_kit_limits():
    long_text = "\n".join("x" * 90 for _ in range(100))  # 9,099 characters
    scale = tuple(Choice(str(n), f"{n} " + "y" * 100) for n in range(30))
    message = OutMessage(kind="question", text=long_text, choices=scale, question_id="q")
    blocks = message_blocks(message)
    sections = [b for b in blocks if b["type"] == "section"]
    actions = [b for b in blocks if b["type"] == "actions"]
    assert all(len(b["text"]["text"]) <= 3000 for b in sections)
    assert "".join(b["text"]["text"] for b in sections).replace("\n", "") == long_text.replace(
        "\n", ""
    )
    assert [len(b["elements"]) for b in actions] == [25, 5]
    assert len({b["block_id"] for b in actions}) == 2
    assert all(len(e["text"]["text"]) <= 75 for b in actions for e in b["elements"])


def test_answered_message_keeps_the_question_and_drops_the_buttons():
    posted = {"text": "fallback", "blocks": message_blocks(QUESTION)}
    blocks = answered_blocks(posted, "Poor <@U1>")
    assert [b["type"] for b in blocks] == ["section", "context"]
    assert blocks[0] == message_blocks(QUESTION)[0]
    assert blocks[1]["elements"][0]["text"] == "✔ Poor &lt;@U1&gt;"


def test_answered_message_without_blocks_falls_back_to_its_text():
    blocks = answered_blocks({"text": "Start now?"}, "Start")
    assert blocks[0]["text"]["text"] == "Start now?"


def test_one_of_several_approvals_keeps_the_others_buttons():
    approvals = [
        OutMessage("info", f"Departure {n}", (Choice(f"approve:{n}", "Approve"),))
        for n in ("a", "b")
    ]
    _, blocks = messages_payload(approvals)
    second = [b for b in blocks if b["type"] == "actions"][1]
    updated = answered_blocks({"blocks": blocks}, "Approve: done", second["block_id"])
    assert [b["type"] for b in updated] == ["section", "actions", "section", "context"]
    ids = [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert len(set(ids)) == 2 and all(CHOICE_ACTION_PATTERN.match(i) for i in ids)


def test_typed_text_comes_back_plain():
    typed = "Tom &amp; Jerry &lt;3 <@U123|tom> <https://x.example|site> <mailto:a@b.nl|a@b.nl>"
    assert plain_text(typed) == "Tom & Jerry <3 @tom site a@b.nl"
    assert plain_text("<!here> <#C1|hr>") == "@here #hr"


def test_emoji_shortcodes_are_never_numbers():
    """Slack sends a typed 👍 as ":+1:"; the parser must not see the 1 (or "two")."""
    assert plain_text(":+1:") == "👍"
    assert plain_text(":+1::skin-tone-2:") == "👍"
    assert plain_text("Great team :thumbsup::smile:") == "Great team 👍😄"
    assert plain_text(":100: :two_hearts: :keycap_ten:") == "💯  "  # unknown ones dropped
    assert plain_text("at 10:30:00, ratio 3:1:") == "at 10:30:00, ratio 3:1:"
    assert plain_text("<https://x.example/:smile:|site> Reasons: pay: low") == (
        "site Reasons: pay: low"
    )


def test_report_blocks():
    report = Report(
        title="Exit digest November 2026",
        sections=(
            ReportSection("Reasons", ("Career growth: 3", "Pay <& benefits>: 2")),
            ReportSection("Empty", ()),
        ),
        footer="Groups under 5 are not shown.",
    )
    blocks = report_blocks(report)
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Exit digest November 2026"},
    }
    assert (
        blocks[1]["text"]["text"]
        == "*Reasons*\n• Career growth: 3\n• Pay &lt;&amp; benefits&gt;: 2"
    )
    assert blocks[2]["text"]["text"] == "*Empty*"
    assert blocks[3]["type"] == "context"
    assert "Career growth: 3" in report_text(report)
    assert "&lt;&amp;" in report_text(report)
