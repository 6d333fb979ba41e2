"""The Teams adapter's values and ports, free of botbuilder: credentials, who the bot saw,
and what the application provides (`TeamsPorts`, implemented in `bot.teams_plugin`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Protocol

from adapters.base import Incoming

APP_TYPES = {
    "singletenant": "SingleTenant",
    "multitenant": "MultiTenant",
    "userassignedmsi": "UserAssignedMSI",
}


class TeamsConfigError(ValueError):
    """The Teams credentials cannot work; the message names the variable."""


# ---------------------------------------------------------------------- values and ports


@dataclass(frozen=True, slots=True)
class TeamsCredentials:
    """The Azure Bot registration, in Bot Framework's own variable names."""

    app_id: str = ""  # MicrosoftAppId; empty = anonymous mode (local testing only)
    app_password: str = ""  # MicrosoftAppPassword
    app_type: str = "SingleTenant"  # MicrosoftAppType
    tenant_id: str = ""  # MicrosoftAppTenantId

    @property
    def anonymous(self) -> bool:
        return not self.app_id

    def sdk_config(self) -> SimpleNamespace:
        """The configuration object `ConfigurationBotFrameworkAuthentication` reads."""
        if self.anonymous:
            # APP_TYPE must stay unset: SingleTenant without an id raises in the SDK.
            return SimpleNamespace(APP_ID="", APP_PASSWORD="")
        app_type = APP_TYPES.get(self.app_type.strip().lower())
        if app_type is None:
            raise TeamsConfigError(
                "MicrosoftAppType must be SingleTenant, MultiTenant or UserAssignedMSI, "
                f"got {self.app_type!r}"
            )
        if app_type != "UserAssignedMSI" and not self.app_password:
            raise TeamsConfigError("MicrosoftAppPassword is required when MicrosoftAppId is set")
        if app_type != "MultiTenant" and not self.tenant_id:
            raise TeamsConfigError(
                f"MicrosoftAppTenantId is required for MicrosoftAppType={app_type}"
            )
        return SimpleNamespace(
            APP_ID=self.app_id,
            APP_PASSWORD=self.app_password,
            APP_TYPE=app_type,
            APP_TENANTID=self.tenant_id,
        )


@dataclass(frozen=True, slots=True)
class TeamsContact:
    """Someone the bot saw, and how to reach that conversation again."""

    user_id: str  # the Teams user id (29:...)
    conversation_id: str
    reference: dict[str, Any]  # ConversationReference JSON, with serviceUrl
    personal: bool  # a 1:1 chat with the bot (not a channel or group chat)
    tenant_id: str | None = None
    locale: str | None = None
    timezone: str | None = None
    email: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class KnownUser:
    """What the store knows to reach one person; `reference` may be of a team conversation."""

    user_id: str
    reference: dict[str, Any]
    locale: str | None = None
    timezone: str | None = None


@dataclass(frozen=True, slots=True)
class ReportTarget:
    """Where a report goes: a channel (new thread) or a conversation the bot was in."""

    service_url: str
    tenant_id: str | None = None
    reference: dict[str, Any] | None = None  # when known: a group chat is continued, not created


@dataclass(frozen=True, slots=True)
class Handled:
    """What the application did with one message."""

    duplicate: bool = False
    card_note: str | None = None  # replaces the chosen label on a clicked card
    ignored_click: bool = False  # the click changed nothing: the card shows no answer


class TeamsPorts(Protocol):
    """The application side of the Teams adapter (implemented in `bot.teams_plugin`)."""

    async def remember_user(self, contact: TeamsContact) -> None: ...

    async def remember_conversation(self, contact: TeamsContact) -> None: ...

    async def user_by_email(self, email: str) -> KnownUser | None: ...

    async def reference_for(self, conversation_id: str) -> dict[str, Any] | None: ...

    async def report_target(self, target: str) -> ReportTarget | None: ...

    async def delivered(self, keys: Sequence[str]) -> set[str]: ...

    async def mark_delivered(self, key: str) -> None: ...

    async def forget(self, conversation_id: str) -> None:
        """The app was removed there (uninstalled, or the bot left the team)."""
        ...

    async def handle_message(self, incoming: Incoming, *, personal: bool) -> Handled: ...


def is_personal(reference: dict[str, Any]) -> bool:
    return (reference.get("conversation") or {}).get("conversationType") == "personal"
