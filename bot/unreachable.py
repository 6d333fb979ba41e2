"""Why a chat platform could not reach an employee, in words for the HR admins who are told.

The adapters raise `adapters.base.Unreachable` with the platform's own reason: Slack's API
error ("users_not_found", "user_disabled", ...), the Teams adapter's sentence ("app not
installed for this user (403)"). That raw reason stays in the interview's note for
operators; an HR admin reads it worded here, in English or Dutch. A reason not known here
is shown as the platform gave it, after the platform's name.
"""

from __future__ import annotations

from collections.abc import Sequence

PLATFORM_NAMES = {"slack": "Slack", "teams": "Teams"}

# platform → the reason it reports → a key of `_WORDS`
_KNOWN: dict[str, dict[str, str]] = {
    "slack": {
        "users_not_found": "slack_no_account",
        "user_not_found": "slack_no_account",
        "user_disabled": "slack_deactivated",
        "account_inactive": "slack_deactivated",
        "deactivated": "slack_deactivated",  # users.lookupByEmail found a deleted user
        "cannot_dm_bot": "slack_bot",
        "not_a_person": "slack_bot",  # users.lookupByEmail found a bot
        "channel_not_found": "slack_no_dm",
        "is_archived": "slack_archived",
        "user_not_visible": "slack_not_visible",
    },
    "teams": {
        # without the connector's status or error code after it: "(403)", "(NotFound)"
        "app not installed for this user": "teams_not_installed",
        "no stored reference for this Teams conversation": "teams_no_conversation",
    },
}

_WORDS: dict[str, dict[str, str]] = {
    "slack_no_account": {
        "en": "Slack has no account with their email address",
        "nl": "Slack heeft geen account met het e-mailadres van deze persoon",
    },
    "slack_deactivated": {
        "en": "their Slack account is deactivated",
        "nl": "het Slack-account van deze persoon is gedeactiveerd",
    },
    "slack_bot": {
        "en": "their email address belongs to a bot in Slack, not to a person",
        "nl": "het e-mailadres hoort in Slack bij een bot, niet bij een persoon",
    },
    "slack_no_dm": {
        "en": "Slack could not open a direct message with them",
        "nl": "Slack kon geen privégesprek met deze persoon openen",
    },
    "slack_archived": {
        "en": "their direct messages with ExitBot in Slack are archived",
        "nl": "het privégesprek met ExitBot in Slack is gearchiveerd",
    },
    "slack_not_visible": {
        "en": "Slack does not let ExitBot see their account (for instance in another workspace)",
        "nl": "Slack laat ExitBot het account van deze persoon niet zien (bijvoorbeeld in een "
        "andere workspace)",
    },
    "teams_not_installed": {
        "en": "the ExitBot app is not installed for them in Teams",
        "nl": "de ExitBot-app is in Teams niet voor deze persoon geïnstalleerd",
    },
    "teams_no_conversation": {
        "en": "ExitBot no longer has a conversation with them in Teams",
        "nl": "ExitBot heeft in Teams geen gesprek meer met deze persoon",
    },
    "unknown": {"en": "{platform} reported: {reason}", "nl": "{platform} meldde: {reason}"},
    "none_given": {
        "en": "{platform} could not reach them",
        "nl": "{platform} kon deze persoon niet bereiken",
    },
}


def _known(platform: str, reason: str) -> str | None:
    known = _KNOWN.get(platform, {})
    return known.get(reason) or known.get(reason.split(" (", 1)[0])


def worded(platform: str, reason: str, language: str) -> str:
    """One platform's reason as an HR admin reads it ("en", else "nl"; English otherwise)."""
    lang = language if language in ("en", "nl") else "en"
    key = _known(platform, reason)
    if key is not None:
        return _WORDS[key][lang]
    name = PLATFORM_NAMES.get(platform, platform.capitalize())
    readable = " ".join(reason.replace("_", " ").split())
    return _WORDS["unknown" if readable else "none_given"][lang].format(
        platform=name, reason=readable
    )


def worded_all(reasons: Sequence[tuple[str, str]], language: str) -> str:
    """Each platform's reason, worded, in the order the platforms were tried."""
    words: list[str] = []
    for platform, reason in reasons:
        said = worded(platform, reason, language)
        if said not in words:
            words.append(said)
    return "; ".join(words)


def raw(reasons: Sequence[tuple[str, str]]) -> str:
    """The reasons as the platforms gave them ("slack: user_disabled"), for the note."""
    return "; ".join(f"{platform}: {reason}" for platform, reason in reasons)
