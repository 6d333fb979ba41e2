"""slack/manifest.yml asks for exactly the scopes the code uses, and wires what it serves."""

from __future__ import annotations

import re
from pathlib import Path

from adapters.slack_inbound import COMMAND

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = (ROOT / "slack" / "manifest.yml").read_text(encoding="utf-8")

# Web API methods → the bot scopes they need (api.slack.com/methods).
SCOPES_OF = {
    "users_lookupByEmail": {"users:read", "users:read.email"},
    "users_info": {"users:read", "users:read.email"},  # the email in the profile
    "conversations_open": {"im:write"},
    "conversations_history": {"im:history"},  # did a reply reach the DM before a crash?
    "chat_postMessage": {"chat:write"},
    "chat_update": {"chat:write"},
    "files_upload_v2": {"files:write"},
    "auth_test": set(),
    "send": set(),  # AsyncWebhookClient.send to a response_url: no scope
}


def listed(section: str) -> set[str]:
    """The `- item` lines of one YAML list (comments stripped)."""
    block = re.search(rf"^\s*{section}:\n((?:\s+- .*\n)+)", MANIFEST, re.MULTILINE)
    assert block, section
    return {line.split("#")[0].strip()[2:].strip() for line in block.group(1).splitlines()}


def called_methods() -> set[str]:
    sources = [(ROOT / "adapters" / name).read_text() for name in ("slack.py", "slack_inbound.py")]
    return {m for src in sources for m in re.findall(r"client\.(\w+)\(", src)}


def test_scopes_are_exactly_the_ones_used():
    methods = called_methods()
    assert methods <= SCOPES_OF.keys(), f"add the scopes of {methods - SCOPES_OF.keys()}"
    needed = set().union(*(SCOPES_OF[m] for m in methods))
    needed |= {"commands", "im:history"}  # the slash command; receiving message.im
    assert listed("bot") == needed


def test_events_command_and_interactivity():
    assert listed("bot_events") == {"message.im"}
    assert f"- command: {COMMAND}" in MANIFEST
    assert "should_escape: true" in MANIFEST
    urls = re.findall(r"(?:url|request_url): (\S+)", MANIFEST)
    assert len(urls) == 3 and all(u.endswith("/slack/events") for u in urls)
    assert re.search(r"interactivity:\n\s+is_enabled: true", MANIFEST)
    assert "socket_mode_enabled: false" in MANIFEST
    assert "messages_tab_enabled: true" in MANIFEST
