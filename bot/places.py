"""Answering in two places: an answer is only taken where the person saw what is asked.

One interview can be answered in a chat (Slack, Teams, the terminal) and on its web link.
What is asked now was shown where the interview's last turn was (`Interview.channel`: every
reply goes where its message came from), and in any place that showed it again since: a
web page opened on it, or a place the person switched to (both listed in the state under
`ALSO_SHOWN`). The engine writes its state afresh on every turn, without that key, so after
an ordinary turn only the place of that turn shows what is asked.

A message from another place (the chat after the web page moved on, or a web page left
open on an older question) is not taken as an answer: the person is told that the
conversation went on elsewhere and gets what is asked now, in the place they are in. Only
what does not depend on the question asked passes: "delete my answers", stop, pause, help,
and a clicked button that says whose it was (the engine tells an earlier question's
button from the current one's, as in one place).
"""

from __future__ import annotations

from collections.abc import Mapping

import conversations as conv
from adapters.base import Incoming
from bot import texts
from conversations.commands import Command, detect

# In the engine's state: the places, besides the interview's channel, that show what is
# asked now (a list of channel names). Dropped by the engine's next turn.
ALSO_SHOWN = "also_shown_in"
# Commands that mean the same whatever is asked now: taken from any place.
ANYWHERE: frozenset[Command] = frozenset({"delete", "stop", "pause", "help"})


def shown_in(state: Mapping[str, object], channel: str | None) -> list[str]:
    """The places that show what the interview asks now (empty: not known)."""
    places = [channel] if channel else []
    also = state.get(ALSO_SHOWN)
    if isinstance(also, list):
        places += [p for p in also if isinstance(p, str) and p not in places]
    return places


def without_places(state: Mapping[str, object]) -> dict[str, object]:
    """The engine's own state: what it would have written."""
    return {key: value for key, value in state.items() if key != ALSO_SHOWN}


def also_shown(state: Mapping[str, object], channel: str | None, place: str) -> dict[str, object]:
    """`state` once `place` shows what is asked now too (the interview's channel unchanged)."""
    others = [p for p in shown_in(state, channel) if p not in (channel, place)]
    return {**state, ALSO_SHOWN: [*others, place]}


def asks_here(state: Mapping[str, object], channel: str | None, place: str) -> bool:
    """Whether `place` shows what is asked now, or nothing is asked there to be mistaken:
    an interview not started ({}), one that has ended, or one whose place is not known."""
    if not state or state.get("phase") == "done":
        return True
    places = shown_in(state, channel)
    return not places or place in places


def moved_on(state: Mapping[str, object], channel: str | None, incoming: Incoming) -> bool:
    """Whether `incoming` comes from a place that does not show what is asked now, and would
    be taken as an answer to it."""
    if asks_here(state, channel, incoming.channel):
        return False
    if incoming.choice is not None:
        # a button that says whose it was: the engine decides (an earlier question's button
        # changes that answer); one that does not is taken as typed
        return not (incoming.choice_for or incoming.choice_on)
    return detect(incoming.text) not in ANYWHERE


def show_here(
    q: conv.Questionnaire, state: Mapping[str, object], channel: str | None, incoming: Incoming
) -> conv.Turn:
    """The turn for a message from another place (`moved_on`): nothing stored; where the
    conversation went on, and what is asked now, shown here. The caller makes the message's
    place the interview's channel (as for every turn); the other places keep showing it."""
    places = shown_in(state, channel)
    language = str(state.get("lang") or "en")
    others = [p for p in places if p != incoming.channel]  # the interview's channel first
    # Back after a pause, as any message is: no longer paused
    again = conv.resume(q, {**state, "paused": False}, greet=False)
    elsewhere = others[0] if others else None
    return conv.Turn(
        messages=(texts.moved_on(language, elsewhere, incoming.channel), *again.messages),
        state={**again.state, ALSO_SHOWN: others},
        status=again.status,
        ignored_click=incoming.choice is not None,
    )
