"""`exitbot serve`, optionally with Slack's client-side pacing switched off.

    python bench/load/serve.py [--pacing on|off] [exitbot serve options...]

With `--pacing on` this is exactly `exitbot serve`. With `--pacing off` (what the load
benchmark uses) the Slack channel gets `Limits.unlimited()`, as the Slack test harness does.
What that changes is the set-up, not the turns: `adapters.slack_pacing` holds
users.lookupByEmail / conversations.open to Slack's Tier 3 (50 per minute), so the invites
for a pool of 800 employees would take 16 minutes instead of under one. The replies of a turn
(chat.postMessage, 1 per second per DM with bursts of 4, plus a workspace-wide guard) are not
held back at this load: a steady run with pacing on gave the same turns/s. Nothing else is
changed: same settings from the environment, same app, same scheduler.
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    pacing = "off"
    if len(argv) >= 2 and argv[0] == "--pacing":
        pacing, argv = argv[1], argv[2:]
    if pacing not in ("on", "off"):
        print("--pacing must be on or off", file=sys.stderr)
        return 2
    if pacing == "off":
        import bot.slack_plugin as slack_plugin
        from adapters.slack_pacing import Limits, Pacer

        def unlimited(limits: Limits | None = None) -> Pacer:
            return Pacer(limits or Limits.unlimited())

        slack_plugin.Pacer = unlimited  # type: ignore[misc,assignment]  # used by build()

    from bot.cli import main as exitbot

    return exitbot(["serve", *argv])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
