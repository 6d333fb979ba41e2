"""A fake Bot Framework Connector (the service behind an activity's ``serviceUrl``) that the
*real* botbuilder CloudAdapter / ConnectorClient / TeamsInfo talk to on 127.0.0.1.

Usage::

    fake = FakeBotConnector()
    await fake.start()
    fake.add_member("29:user1", "anna@example.com", "Anna")
    body = fake.message_activity("hi")          # serviceUrl = fake.service_url
    # POST body to the bot's /api/messages (CloudAdapter in anonymous mode) ...
    [reply] = await fake.wait_for_activities(1)

Every request is recorded in ``fake.calls``; the activity-carrying ones (POST/PUT/DELETE under
``/v3/conversations/{cid}/activities...`` and a create-conversation that carries an
``activity``) also in ``fake.activities`` -- including requests the fake failed on purpose
(see ``ConnectorCall.status``).

SDK facts verified against botbuilder 4.17.1 (see tests/fakes_selftest/test_fake_bot_connector.py):

* Anonymous mode = ``ConfigurationBotFrameworkAuthentication(cfg)`` with ``cfg.APP_ID = ""``
  and ``cfg.APP_PASSWORD = ""`` and APP_TYPE unset/"MultiTenant" (``APP_TYPE="SingleTenant"``
  with an empty id raises at construction). The config is read with ``getattr`` so any
  object with those attributes works. Inbound POSTs without ``Authorization`` are accepted;
  outbound connector calls carry **no** ``Authorization`` header (``ConnectorCall.authorization
  is None``).
* ``CloudAdapter.process`` answers **201** with an empty body for message /
  conversationUpdate / installationUpdate activities (200 + JSON only for invoke /
  expectReplies, per the source). A non-JSON content type -> 415; a JSON body without
  ``type`` -> 400 (both raised as aiohttp HTTP exceptions from ``process``).
  Exceptions in the bot propagate out of ``process`` (aiohttp answers 500) unless
  ``adapter.on_turn_error`` is set.
* In-turn ``turn_context.send_activity(...)`` is a *reply*: ``reply_to_id`` is the incoming
  activity id, so it POSTs to ``/v3/conversations/{cid}/activities/{incoming id}``. The
  incoming activity therefore needs an ``id`` (the helpers always set one).
* ``adapter.continue_conversation(ref, callback, bot_app_id=...)``: in anonymous mode ANY
  ``bot_app_id`` works (None, "", or some string) because the credential factory returns
  empty credentials whenever the configured APP_ID is empty, without comparing ids. With a
  real APP_ID configured, ``bot_app_id`` must equal it ("Invalid app_id" otherwise), so pass
  the configured APP_ID (== "" in anonymous mode) and the code works in both modes. (Verified:
  with APP_ID set, bot_app_id "", None or another id raises ``Exception("Invalid app_id")``
  before any network call.)
* The continuation turn sees an ``event`` activity named ``ContinueConversation`` whose ``id``
  is a *fresh uuid1* (``get_continuation_activity`` does not reuse ``ref.activity_id``). So
  every send in the callback is a reply: ``POST .../activities/{that uuid}`` with
  ``replyToId`` = the uuid -- whether or not the stored reference has an ``activity_id``.
  Likewise ``create_conversation`` runs the callback on an event whose id is the connector's
  ``activityId`` or a uuid4, so its sends are replies too. In practice CloudAdapter never
  uses plain ``POST .../activities`` (send_to_conversation) for turn-context sends.
* Conversation ids are URL-quoted by msrest (``a:conv1`` -> ``a%3Aconv1``); the fake
  unquotes each path segment, so ``ConnectorCall.conversation_id`` is the plain id.
* ``update_activity`` -> ``PUT .../activities/{activity.id}`` with the full activity JSON;
  ``delete_activity(activity_id)`` -> ``DELETE .../activities/{id}``.
* Attachments serialize as ``{"contentType": "application/vnd.microsoft.card.adaptive",
  "content": {...}}`` inside ``body["attachments"]``.
* ``TeamsInfo.get_member(ctx, user_id)`` ->
  ``GET /v3/conversations/{conversation.id}/members/{user_id}``
  (per the 4.17.1 source, also for team-scoped activities: it uses the *conversation* id
  there, not the team id -- not exercised by the selftests).
  Unknown member -> 404 -> ``botbuilder.schema.ErrorResponseException`` (msrest) whose
  ``.error.error.code`` is the code from the body (here ``MemberNotFoundInConversation``).
  The returned ``TeamsChannelAccount`` has ``.email``, ``.user_principal_name``,
  ``.aad_object_id``, ``.name``.
* A 429 from the connector raises ``ErrorResponseException``; botbuilder does not retry.
  ``e.response.status_code == 429`` and ``e.response.headers["Retry-After"]``.
* (From the source, not exercised.) ``TeamsInfo.get_team_details`` / ``get_team_channels`` /
  meeting helpers use the *synchronous* TeamsConnectorClient (a blocking ``requests`` call
  on the event loop). Against this in-loop fake they would dead-lock until the HTTP
  timeout; avoid them (or run them in an executor). The fake still serves
  ``GET /v3/teams/{tid}[/conversations]``.
"""

from __future__ import annotations

import itertools
import json
import urllib.parse
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from ._http import LocalServer, poll_until

__all__ = [
    "BOT_ID",
    "BOT_NAME",
    "ConnectorCall",
    "FakeBotConnector",
    "conversation_update_activity",
    "installation_update_activity",
    "message_activity",
]

BOT_ID = "28:bot"
BOT_NAME = "ExitBot"


@dataclass
class ConnectorCall:
    verb: str
    path: str  # decoded, e.g. "/v3/conversations/a:conv1/activities/act-1"
    conversation_id: str | None
    activity_id: str | None
    body: dict[str, Any] | list | None
    status: int = 200  # what the fake answered
    authorization: str | None = None  # inbound Authorization header (None in anonymous mode)
    response: Any = None


@dataclass
class _Failure:
    status: int
    retry_after: int | None


def _error(
    code: str, message: str, status: int, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(
        {"error": {"code": code, "message": message}}, status=status, headers=headers
    )


class FakeBotConnector:
    """aiohttp server on 127.0.0.1:<ephemeral> implementing the Connector REST API subset
    botbuilder's ConnectorClient / TeamsInfo use."""

    def __init__(self) -> None:
        self.calls: list[ConnectorCall] = []
        self.activities: list[ConnectorCall] = []
        self.members: dict[str, dict[str, Any]] = {}
        # conversation id -> activity id -> latest activity JSON (after updates / deletes)
        self.conversations: dict[str, dict[str, dict[str, Any]]] = {}
        self.teams: dict[str, dict[str, Any]] = {}
        self._failures: deque[tuple[_Failure, str | None]] = deque()
        self._created: dict[tuple, str] = {}
        self._seq = itertools.count(1)
        self._server: LocalServer | None = None
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._app = app

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        if self._server is None:
            self._server = LocalServer(self._app)
        await self._server.start()

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop()

    async def __aenter__(self) -> FakeBotConnector:
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    @property
    def service_url(self) -> str:
        """``http://127.0.0.1:PORT/`` -- put into each activity's ``serviceUrl``."""
        assert self._server is not None, "call start() first"
        return self._server.root_url + "/"

    # ------------------------------------------------------------------ set-up
    def add_member(
        self,
        member_id: str,
        email: str,
        name: str,
        *,
        aad_object_id: str | None = None,
        tenant_id: str = "tenant1",
        given_name: str | None = None,
        surname: str | None = None,
        user_principal_name: str | None = None,
    ) -> dict[str, Any]:
        parts = name.split(" ", 1)
        member = {
            "id": member_id,
            "name": name,
            "aadObjectId": aad_object_id or str(uuid.uuid5(uuid.NAMESPACE_URL, member_id)),
            "givenName": given_name or parts[0],
            "surname": surname or (parts[1] if len(parts) > 1 else None),
            "email": email,
            "userPrincipalName": user_principal_name or email,
            "tenantId": tenant_id,
            "userRole": "user",
        }
        self.members[member_id] = member
        return member

    def add_team(
        self, team_id: str, name: str = "Fake Team", channels: list[dict] | None = None
    ) -> None:
        self.teams[team_id] = {
            "id": team_id,
            "name": name,
            "aadGroupId": str(uuid.uuid4()),
            "channels": channels or [{"id": team_id, "name": None}],
        }

    def fail_next(
        self, status: int = 429, retry_after: int = 1, *, path_contains: str | None = None
    ) -> None:
        """Fail the next request (optionally: the next whose path contains ``path_contains``)
        with ``status``; 429 carries ``Retry-After``. Stacks FIFO."""
        self._failures.append(
            (_Failure(status, retry_after if status == 429 else None), path_contains)
        )

    # ------------------------------------------------------------------ inspection
    async def wait_for_activities(
        self,
        count: int,
        timeout: float = 5.0,  # noqa: ASYNC109 (part of the test API)
    ) -> list[ConnectorCall]:
        """Wait until at least ``count`` activity calls are recorded; return them all."""
        return await poll_until(
            lambda: list(self.activities) if len(self.activities) >= count else None,
            timeout,
            lambda: f"wanted {count} activities, calls: {self._summary()}",
        )

    def _summary(self) -> list[tuple[str, str, int]]:
        return [(c.verb, c.path, c.status) for c in self.calls]

    def activities_in(self, conversation_id: str) -> list[ConnectorCall]:
        return [c for c in self.activities if c.conversation_id == conversation_id]

    # activity builders bound to this fake's service_url
    def message_activity(self, text: str | None, **kw: Any) -> dict[str, Any]:
        return message_activity(text, service_url=self.service_url, **kw)

    def installation_update_activity(self, **kw: Any) -> dict[str, Any]:
        return installation_update_activity(service_url=self.service_url, **kw)

    def conversation_update_activity(self, members_added: list, **kw: Any) -> dict[str, Any]:
        return conversation_update_activity(members_added, service_url=self.service_url, **kw)

    # ------------------------------------------------------------------ HTTP
    def _new_activity_id(self) -> str:
        return f"act-{next(self._seq)}"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw_segments = [s for s in request.raw_path.split("?", 1)[0].split("/") if s]
        seg = [urllib.parse.unquote(s) for s in raw_segments]
        body: Any = None
        raw = await request.read()
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = {"_raw": raw.decode(errors="replace")}
        verb = request.method
        cid = seg[2] if len(seg) >= 3 and seg[:2] == ["v3", "conversations"] else None
        aid = None
        if cid and len(seg) >= 5 and seg[3] == "activities" and seg[4] != "history":
            aid = seg[4]
        call = ConnectorCall(
            verb,
            "/" + "/".join(seg),
            cid,
            aid,
            body,
            authorization=request.headers.get("Authorization"),
        )
        self.calls.append(call)
        is_activity = (
            cid is not None
            and len(seg) >= 4
            and seg[3] == "activities"
            and verb != "GET"
            and not (len(seg) >= 6 and seg[5] == "members")
        )
        if is_activity or (
            verb == "POST"
            and seg == ["v3", "conversations"]
            and isinstance(body, dict)
            and body.get("activity")
        ):
            self.activities.append(call)

        for i, (failure, needle) in enumerate(self._failures):
            if needle is None or needle in call.path:
                del self._failures[i]
                call.status = failure.status
                headers = (
                    {"Retry-After": str(failure.retry_after)}
                    if failure.retry_after is not None
                    else None
                )
                code = "TooManyRequests" if failure.status == 429 else "ServiceError"
                return _error(code, f"injected failure {failure.status}", failure.status, headers)

        status, payload = self._route(verb, seg, cid, aid, body)
        call.status = status
        call.response = payload
        if payload is None:
            return web.Response(status=status)
        return web.json_response(payload, status=status)

    def _route(self, verb: str, seg: list[str], cid: str | None, aid: str | None, body: Any):
        n = len(seg)
        if seg[:2] == ["v3", "conversations"]:
            if n == 2 and verb == "POST":
                return self._create_conversation(body or {})
            if n == 2 and verb == "GET":
                return 200, {
                    "conversations": [{"id": c} for c in self.conversations],
                    "continuationToken": None,
                }
            assert cid is not None
            if n == 4 and seg[3] == "activities" and verb == "POST":
                return self._store(cid, self._new_activity_id(), body)
            if n == 5 and seg[3] == "activities" and seg[4] == "history" and verb == "POST":
                return 200, {"id": str(uuid.uuid4())}
            if n == 5 and seg[3] == "activities" and aid:
                if verb == "POST":  # reply
                    return self._store(cid, self._new_activity_id(), body)
                if verb == "PUT":
                    return self._store(cid, aid, body, status=200)
                if verb == "DELETE":
                    self.conversations.get(cid, {}).pop(aid, None)
                    return 200, None
            if n == 6 and seg[3] == "activities" and seg[5] == "members" and verb == "GET":
                return 200, list(self.members.values())
            if n == 4 and seg[3] == "members" and verb == "GET":
                return 200, list(self.members.values())
            if n == 4 and seg[3] == "pagedmembers" and verb == "GET":
                return 200, {"members": list(self.members.values()), "continuationToken": None}
            if n == 5 and seg[3] == "members":
                member = self._find_member(seg[4])
                if verb == "GET":
                    if member is None:
                        return 404, {
                            "error": {
                                "code": "MemberNotFoundInConversation",
                                "message": f"The member {seg[4]} is not found in the conversation",
                            }
                        }
                    return 200, member
                if verb == "DELETE":
                    if member is not None:
                        self.members.pop(member["id"], None)
                    return 200, None
            if n == 4 and seg[3] == "attachments" and verb == "POST":
                return 200, {"id": f"att-{next(self._seq)}"}
        if seg[:2] == ["v3", "teams"] and n >= 3 and verb == "GET":
            team = self.teams.get(seg[2])
            if team is None:
                return 404, {"error": {"code": "NotFound", "message": f"team {seg[2]} not found"}}
            if n == 3:
                return 200, {k: v for k, v in team.items() if k != "channels"}
            if n == 4 and seg[3] == "conversations":
                return 200, {"conversations": team["channels"]}
        return 404, {
            "error": {
                "code": "BadSyntax",
                "message": f"fake connector: no route {verb} /{'/'.join(seg)}",
            }
        }

    def _find_member(self, key: str) -> dict[str, Any] | None:
        if key in self.members:
            return self.members[key]
        for m in self.members.values():
            if key in (m.get("aadObjectId"), m.get("userPrincipalName"), m.get("email")):
                return m
        return None

    def _store(self, cid: str, aid: str, body: Any, status: int = 201):
        if isinstance(body, dict):
            self.conversations.setdefault(cid, {})[aid] = {**body, "id": aid}
        return status, {"id": aid}

    def _create_conversation(self, params: dict[str, Any]):
        members = tuple(sorted(m.get("id", "") for m in params.get("members") or []))
        channel = ((params.get("channelData") or {}).get("channel") or {}).get("id")
        key = (members, bool(params.get("isGroup")), channel)
        if key not in self._created:
            self._created[key] = f"conv-{next(self._seq)}"
        cid = self._created[key]
        self.conversations.setdefault(cid, {})
        result: dict[str, Any] = {"id": cid, "serviceUrl": self.service_url}
        if params.get("activity"):
            aid = self._new_activity_id()
            self._store(cid, aid, params["activity"])
            result["activityId"] = aid
        return 201, result


# ====================================================================== activity builders
def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _base_activity(
    type_: str,
    *,
    service_url: str,
    conversation_id: str,
    user_id: str,
    user_name: str,
    aad_object_id: str | None,
    activity_id: str | None,
    tenant_id: str,
    locale: str | None = "nl-NL",
) -> dict[str, Any]:
    act: dict[str, Any] = {
        "type": type_,
        "id": activity_id or f"in-{uuid.uuid4().hex[:12]}",
        "timestamp": _now(),
        "localTimestamp": datetime.now().astimezone().isoformat(),
        "serviceUrl": service_url,
        "channelId": "msteams",
        "from": {
            "id": user_id,
            "name": user_name,
            "aadObjectId": aad_object_id or str(uuid.uuid5(uuid.NAMESPACE_URL, user_id)),
        },
        "conversation": {
            "conversationType": "personal",
            "tenantId": tenant_id,
            "id": conversation_id,
        },
        "recipient": {"id": BOT_ID, "name": BOT_NAME},
        "channelData": {"tenant": {"id": tenant_id}},
    }
    if locale:
        act["locale"] = locale
    return act


def message_activity(
    text: str | None,
    *,
    service_url: str,
    conversation_id: str = "a:conv1",
    user_id: str = "29:user1",
    user_name: str = "Anna",
    aad_object_id: str | None = None,
    activity_id: str | None = None,
    locale: str = "nl-NL",
    value: Any = None,
    tenant_id: str = "tenant1",
) -> dict[str, Any]:
    """A Teams personal-chat message. For an Adaptive Card ``Action.Submit`` click pass
    ``value={...}`` and ``text=None`` (Teams sends no text then)."""
    act = _base_activity(
        "message",
        service_url=service_url,
        conversation_id=conversation_id,
        user_id=user_id,
        user_name=user_name,
        aad_object_id=aad_object_id,
        activity_id=activity_id,
        tenant_id=tenant_id,
        locale=locale,
    )
    act["textFormat"] = "plain"
    if text is not None:
        act["text"] = text
    if value is not None:
        act["value"] = value
        act["channelData"]["source"] = {"name": "message"}
        act["replyToId"] = f"card-{uuid.uuid4().hex[:8]}"
    act["entities"] = [
        {
            "locale": locale,
            "country": locale.split("-")[-1],
            "platform": "Web",
            "timezone": "Europe/Amsterdam",
            "type": "clientInfo",
        }
    ]
    return act


def installation_update_activity(
    *,
    service_url: str,
    action: str = "add",
    conversation_id: str = "a:conv1",
    user_id: str = "29:user1",
    user_name: str = "Anna",
    aad_object_id: str | None = None,
    activity_id: str | None = None,
    tenant_id: str = "tenant1",
) -> dict[str, Any]:
    """Personal-scope app install (``action="add"``) / uninstall (``"remove"``)."""
    act = _base_activity(
        "installationUpdate",
        service_url=service_url,
        conversation_id=conversation_id,
        user_id=user_id,
        user_name=user_name,
        aad_object_id=aad_object_id,
        activity_id=activity_id,
        tenant_id=tenant_id,
    )
    act["action"] = action
    act["channelData"]["source"] = None
    return act


def conversation_update_activity(
    members_added: list,
    *,
    service_url: str,
    conversation_id: str = "a:conv1",
    user_id: str = "29:user1",
    user_name: str = "Anna",
    aad_object_id: str | None = None,
    activity_id: str | None = None,
    tenant_id: str = "tenant1",
) -> dict[str, Any]:
    """``membersAdded``: ids (str) or ChannelAccount dicts, e.g. ``["28:bot", "29:user1"]``."""
    act = _base_activity(
        "conversationUpdate",
        service_url=service_url,
        conversation_id=conversation_id,
        user_id=user_id,
        user_name=user_name,
        aad_object_id=aad_object_id,
        activity_id=activity_id,
        tenant_id=tenant_id,
        locale=None,
    )
    act["membersAdded"] = [m if isinstance(m, dict) else {"id": m} for m in members_added]
    act["channelData"]["eventType"] = "teamMemberAdded"
    return act
