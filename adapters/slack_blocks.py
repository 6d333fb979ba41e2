"""Block Kit rendering for Slack: engine messages, answered questions and reports.

Everything an employee, an HR system or the engine wrote is escaped (`&`, `<`, `>`) before it
goes into `mrkdwn`, so a name like `<!channel>` or `<@U123>` can never mention anyone. Every
message keeps a plain `text` fallback (notifications, screen readers) beside its blocks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, get_args

from adapters.base import Report
from conversations import MessageKind, OutMessage

Block = dict[str, Any]

CHOICE_ACTION = "exitbot.choice"  # action ids are f"{CHOICE_ACTION}.{n}"
CHOICE_ACTION_PATTERN = re.compile(rf"^{re.escape(CHOICE_ACTION)}\.[0-9.]+$")
APPROVAL_PREFIXES = ("approve#", "skip#", "approve:", "skip:")  # "#<round>:<id>", ":<id>"

MAX_SECTION_CHARS = 3000  # Block Kit: section text
MAX_BUTTONS = 25  # Block Kit: elements in one actions block
MAX_LABEL_CHARS = 75  # Block Kit: button text
MAX_HEADER_CHARS = 150
MAX_BLOCKS = 50  # Block Kit: blocks in one message
MAX_TEXT_CHARS = 39_000  # chat.postMessage truncates `text` at 40,000


def escape(text: str) -> str:
    """Escape the three characters Slack's `mrkdwn` treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_MARKUP = re.compile(r"<([^<>]*)>")


def _plain_markup(match: re.Match[str]) -> str:
    inner = match.group(1)
    target, _, label = inner.partition("|")
    if label:
        return label if target[:1] not in "@#" else target[0] + label
    if target.startswith("mailto:"):
        return target[len("mailto:") :]
    if target.startswith("!"):
        return "@" + target[1:].split("^")[0]
    return target


# Slack sends a typed emoji as its shortcode (👍 arrives as ":+1:", with a skin tone as
# ":+1::skin-tone-2:"). Left as text, the answer parser reads ":+1:" as the number 1 and
# ":two_hearts:" as "two", so shortcodes never reach the engine: the common ones become the
# emoji itself (kept in a stored answer, never a number), the rest are dropped. A shortcode
# touching a letter or digit is not one, which leaves times such as "10:30:00" alone.
_SHORTCODE = r"(?<!\w):([a-z0-9_+'-]+):(?::skin-tone-[2-6]:)?(?!\w)"
# fmt: off
_EMOJI = {
    "+1": "👍", "thumbsup": "👍", "-1": "👎", "thumbsdown": "👎", "ok_hand": "👌",
    "clap": "👏", "pray": "🙏", "raised_hands": "🙌", "muscle": "💪", "wave": "👋",
    "shrug": "🤷", "facepalm": "🤦", "eyes": "👀",
    "smile": "😄", "smiley": "😃", "grinning": "😀", "simple_smile": "🙂",
    "slightly_smiling_face": "🙂", "blush": "😊", "wink": "😉", "joy": "😂",
    "laughing": "😆", "sweat_smile": "😅", "heart_eyes": "😍", "star-struck": "🤩",
    "sunglasses": "😎", "relieved": "😌", "hugging_face": "🤗", "upside_down_face": "🙃",
    "thinking_face": "🤔", "neutral_face": "😐", "grimacing": "😬", "unamused": "😒",
    "confused": "😕", "slightly_frowning_face": "🙁", "disappointed": "😞", "pensive": "😔",
    "cry": "😢", "sob": "😭", "angry": "😠", "rage": "😡",
    "heart": "❤️", "broken_heart": "💔", "tada": "🎉", "fire": "🔥", "100": "💯",
    "rocket": "🚀", "star": "⭐", "white_check_mark": "✅", "heavy_check_mark": "✔️",
    "x": "❌",
}
# fmt: on


def _plain_piece(match: re.Match[str]) -> str:
    if match.group(1) is not None:
        return _plain_markup(match)
    return _EMOJI.get(match.group(2), "")


# Markup and shortcodes in one pass, so a link such as <https://x.example/:smile:> stays whole.
_PLAIN_PIECES = re.compile(rf"{_MARKUP.pattern}|{_SHORTCODE}")


def plain_text(slack_text: str) -> str:
    """What the employee typed, from Slack's wire format (links, mentions, entities and
    emoji shortcodes undone)."""
    text = _PLAIN_PIECES.sub(_plain_piece, slack_text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def fallback_text(message: OutMessage) -> str:
    """The `text` beside the blocks: the message, its choices as a numbered list."""
    lines = [escape(message.text)]
    lines += [f"{n}. {escape(c.label)}" for n, c in enumerate(message.choices, start=1)]
    return "\n".join(lines)[:MAX_TEXT_CHARS]


def _chunks(text: str, size: int = MAX_SECTION_CHARS) -> Iterator[str]:
    """Split at line breaks where possible; a section holds at most `size` characters."""
    while len(text) > size:
        cut = text.rfind("\n", 0, size)
        cut = cut if cut > 0 else size
        yield text[:cut]
        text = text[cut:].lstrip("\n")
    if text:
        yield text


def section(mrkdwn: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn}}


def choice_block_id(message: OutMessage, part: int = 0) -> str:
    """`exitbot:q:<question id>` (or the message kind), unique within one message."""
    base = f"exitbot:q:{message.question_id}" if message.question_id else f"exitbot:{message.kind}"
    return (base if part == 0 else f"{base}:{part}")[:255]


_KINDS = frozenset(get_args(MessageKind))


def clicked_origin(block_id: object) -> tuple[str | None, str | None]:
    """(kind of message, question) of the buttons a clicked block held (`choice_block_id`):
    ("question", its id) for a question's, (kind, None) for another message's, (None, None)
    for a block ExitBot did not make."""
    if not isinstance(block_id, str) or not block_id.startswith("exitbot:"):
        return None, None
    parts = block_id.split(":")  # question ids and kinds hold no ':'
    if parts[1] == "q":
        return ("question", parts[2]) if len(parts) > 2 and parts[2] else (None, None)
    return (parts[1], None) if parts[1] in _KINDS else (None, None)


def message_blocks(message: OutMessage) -> list[Block]:
    """Section(s) with the text; with choices, actions block(s) of buttons."""
    blocks = [section(chunk) for chunk in _chunks(escape(message.text))]
    choices = list(message.choices)
    for part, start in enumerate(range(0, len(choices), MAX_BUTTONS)):
        buttons = [
            {
                "type": "button",
                "text": {"type": "plain_text", "text": _label(c.label), "emoji": True},
                "value": c.value,
                "action_id": f"{CHOICE_ACTION}.{n}",
            }
            for n, c in enumerate(choices[start : start + MAX_BUTTONS], start=start)
        ]
        blocks.append(
            {"type": "actions", "block_id": choice_block_id(message, part), "elements": buttons}
        )
    return blocks[:MAX_BLOCKS]


def _label(label: str) -> str:
    label = label.strip() or "…"
    return label if len(label) <= MAX_LABEL_CHARS else label[: MAX_LABEL_CHARS - 1] + "…"


def answered_blocks(
    message: Mapping[str, Any], chosen: str | None, block_id: str | None = None
) -> list[Block]:
    """The clicked message with "✔ <chosen>" instead of its buttons (`chosen` None: without
    them, and nothing in their place: the click changed nothing).

    With `block_id`, only that actions block is replaced (a list of approvals keeps the
    others' buttons); otherwise every actions block goes and the context line comes last.
    """
    blocks = list(message.get("blocks") or [])
    if not blocks and message.get("text"):
        blocks = [section(chunk) for chunk in _chunks(str(message["text"]))]
    if chosen is None:
        return [b for b in blocks if b.get("type") != "actions"][:MAX_BLOCKS]
    context = {"type": "context", "elements": [{"type": "mrkdwn", "text": f"✔ {escape(chosen)}"}]}
    if block_id is not None and any(b.get("block_id") == block_id for b in blocks):
        return [context if b.get("block_id") == block_id else b for b in blocks]
    kept = [b for b in blocks if b.get("type") != "actions"]
    return [*kept[: MAX_BLOCKS - 1], context]


def closed_blocks(text: str, note: str) -> list[Block]:
    """A message that asked for something no longer asked (`SlackChannel.mark_closed`):
    its text, no buttons, and `note` under it saying why."""
    blocks = [section(chunk) for chunk in _chunks(escape(text))][: MAX_BLOCKS - 1]
    note_text = escape(note)[:MAX_SECTION_CHARS]
    return [*blocks, {"type": "context", "elements": [{"type": "mrkdwn", "text": note_text}]}]


def button_label(action: Mapping[str, Any]) -> str:
    """The label of a clicked button (Slack sends it back as `text.text`)."""
    text = action.get("text")
    if isinstance(text, Mapping) and isinstance(text.get("text"), str):
        return str(text["text"])
    return str(action.get("value", ""))


def report_blocks(report: Report) -> list[Block]:
    """A header, one section per report section, the footer as context."""
    blocks: list[Block] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": report.title[:MAX_HEADER_CHARS] or "ExitBot"},
        }
    ]
    for part in report.sections:
        body = "\n".join(f"• {escape(line)}" for line in part.lines)
        text = f"*{escape(part.heading)}*" + (f"\n{body}" if body else "")
        blocks += [section(chunk) for chunk in _chunks(text)]
    if report.footer:
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": escape(report.footer)[:MAX_SECTION_CHARS]}],
            }
        )
    if len(blocks) > MAX_BLOCKS:
        blocks = [*blocks[: MAX_BLOCKS - 1], section("_(shortened: the full text is above)_")]
    return blocks


def report_text(report: Report) -> str:
    return escape(report.as_text())[:MAX_TEXT_CHARS]


def messages_payload(messages: Sequence[OutMessage]) -> tuple[str, list[Block]]:
    """Several engine messages as one Slack message (for ephemeral command replies)."""
    text = "\n\n".join(fallback_text(m) for m in messages)[:MAX_TEXT_CHARS]
    blocks: list[Block] = []
    for n, message in enumerate(messages):
        for block in message_blocks(message):
            if block["type"] == "actions":
                elements = [{**e, "action_id": f"{e['action_id']}.{n}"} for e in block["elements"]]
                block = {
                    **block,
                    "block_id": f"{block['block_id']}:{n}"[:255],
                    "elements": elements,
                }
            blocks.append(block)
    return text, blocks[:MAX_BLOCKS]
