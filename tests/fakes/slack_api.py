"""A fake Slack Web API that the *real* slack_sdk / slack_bolt talk to over HTTP on 127.0.0.1.

Usage::

    fake = FakeSlackAPI()
    await fake.start()
    client = AsyncWebClient(token="xoxb-test", base_url=fake.base_url)
    ...
    await fake.stop()

Every request is recorded as a :class:`SlackCall` in ``fake.calls`` (also failed / injected
ones, so a retried call shows up twice).

SDK facts verified against slack_sdk 3.48 / slack_bolt 1.30 (see tests/fakes_selftest):

* ``AsyncWebClient(base_url=...)`` must end with ``/`` -- the method name is appended
  verbatim (``base_url + "chat.postMessage"``).
* The token travels only in ``Authorization: Bearer xoxb-...`` (never in the body); the fake
  exposes it as ``SlackCall.token``.
* The wire format differs per method, so the fake merges *query string + form body + JSON
  body* into ``SlackCall.args``:
    - JSON body: chat.postMessage, chat.update, chat.postEphemeral, views.open.
    - Query string on a POST with an empty body (``params=``): auth.test, conversations.open,
      conversations.join, files.getUploadURLExternal, files.completeUploadExternal.
    - HTTP **GET** with a query string: users.lookupByEmail, users.info, conversations.info,
      team.info.
  Query/form values are strings (booleans become ``"1"``/``"0"``, ``users`` of
  conversations.open is a comma-joined string, ``length`` is ``"8"``). JSON-in-a-string
  values (``blocks``, ``attachments``, ``files``, ``view``, ``metadata``) are decoded back to
  lists/dicts in ``args`` so assertions look the same whatever the transport.
* ``files_upload_v2(channel=..., content=..., filename=...)`` makes three requests:
  ``files.getUploadURLExternal`` (args filename, length), a raw POST of the bytes to the
  returned ``upload_url`` (recorded here as method ``"upload"`` with ``file_id``/``content``;
  slack_sdk expects a ``text/plain`` answer such as ``OK - 8`` and raises
  ``SlackRequestError`` on non-200), then ``files.completeUploadExternal`` with
  ``files=[{"id": ..., "title": ...}]`` and ``channel_id``. It does *not* call files.info.
  ``title`` defaults to the filename.
* slack_sdk's default retry handlers only retry connection errors. With
  ``AsyncRateLimitErrorRetryHandler`` attached, a 429 is retried after sleeping
  ``Retry-After`` seconds (the whole header value, as an int). Without it the 429 surfaces as
  ``SlackApiError`` whose ``response.status_code == 429`` and ``response.headers["Retry-After"]``.
  An ``{"ok": false}`` body with HTTP 200 is *never* retried; it raises ``SlackApiError`` with
  ``e.response["error"]``.
* Bolt's per-request client (the one behind ``say``/``client``/``respond``) copies
  ``base_url`` and ``retry_handlers`` from ``AsyncApp(client=...)`` and adds the request's
  ``team_id`` as a default parameter, so e.g. ``say()`` posts JSON
  ``{"channel": ..., "text": ..., "team_id": "T1"}``.
* (From the source.) Passing both ``token=`` and ``client=`` to ``AsyncApp`` logs a warning
  and the client's token wins: give the token to the client only.
* A single-workspace ``AsyncApp`` calls ``auth.test`` lazily on the first incoming request
  (not at construction) and caches the result; the bot's own messages (``user`` == the
  auth.test ``user_id`` "UBOT", or ``bot_id`` "BBOT") are ignored by Bolt's
  ``IgnoringSelfEvents`` middleware.
* ``respond()`` / response_url posts are JSON bodies; the fake records them as method
  ``"response_url"`` (args = the JSON, plus ``"_response_url_id"``).
"""

from __future__ import annotations

import inspect
import itertools
import json
import time
import urllib.parse
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from ._http import LocalServer, poll_until

__all__ = [
    "BOT_ID",
    "BOT_USER_ID",
    "TEAM_ID",
    "FakeSlackAPI",
    "FakeSlackUser",
    "SlackCall",
    "block_action_payload",
    "dm_event",
    "signed_headers",
    "slash_command_body",
]

BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
TEAM_ID = "T1"
APP_ID = "A1"

# values that slack_sdk JSON-encodes into a string when a method is sent form/query encoded
_JSON_STRING_KEYS = {"blocks", "attachments", "files", "view", "metadata"}


@dataclass
class SlackCall:
    method: str  # "chat.postMessage", or the pseudo methods "upload" / "response_url"
    args: dict[str, Any]
    http_verb: str = "POST"
    token: str | None = None  # from "Authorization: Bearer ..."
    status: int = 200  # HTTP status the fake answered with
    response: Any = None  # JSON body the fake answered with (None for non-JSON answers)
    peer: tuple[str, int] | None = None  # the client's address: one per TCP connection


@dataclass
class FakeSlackUser:
    id: str
    email: str
    name: str
    tz: str = "Europe/Amsterdam"
    locale: str = "nl-NL"
    deleted: bool = False
    is_bot: bool = False
    team_id: str = TEAM_ID

    def to_json(self, include_locale: bool = False) -> dict[str, Any]:
        offset = datetime.now(ZoneInfo(self.tz)).utcoffset()
        data: dict[str, Any] = {
            "id": self.id,
            "team_id": self.team_id,
            "name": self.name.lower().replace(" ", "."),
            "deleted": self.deleted,
            "color": "9f69e7",
            "real_name": self.name,
            "tz": self.tz,
            "tz_label": self.tz,
            "tz_offset": int(offset.total_seconds()) if offset is not None else 0,
            "profile": {
                "email": self.email,
                "real_name": self.name,
                "real_name_normalized": self.name,
                "display_name": self.name,
                "display_name_normalized": self.name,
                "team": self.team_id,
            },
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "updated": 1700000000,
        }
        if include_locale:
            data["locale"] = self.locale
        return data


@dataclass
class _Failure:
    status: int
    retry_after: int | None
    error: str | None


@dataclass
class _Channel:
    id: str
    name: str
    is_member: bool = True
    is_im: bool = False
    user: str | None = None  # for IMs


Handler = Callable[[dict[str, Any]], "dict[str, Any] | Awaitable[dict[str, Any]]"]


def _truthy(v: Any) -> bool:
    return v in (True, 1, "1", "true", "True")


class FakeSlackAPI:
    """aiohttp server on 127.0.0.1:<ephemeral> answering ``/api/<method>`` like Slack's Web API.

    Extra routes: ``POST /upload/<file_id>`` (files_upload_v2 step 2) and
    ``POST /response/<n>`` (response_url; get one from :meth:`new_response_url`).
    """

    def __init__(self, team_id: str = TEAM_ID, team_name: str = "Fake Team") -> None:
        self.team_id = team_id
        self.team_name = team_name
        self.calls: list[SlackCall] = []
        self.users: dict[str, FakeSlackUser] = {}
        self.channels: dict[str, _Channel] = {}
        # channel id -> ts -> message dict (everything posted / updated through the fake)
        self.messages: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        # file id -> {"filename", "length", "content", "title", "channel_id"}
        self.files: dict[str, dict[str, Any]] = {}
        # None: any token accepted (but a missing token answers "not_authed")
        self.valid_tokens: set[str] | None = None
        # chat.update on an unknown ts answers message_not_found only when strict
        self.strict_updates = False
        self._failures: dict[str, deque[_Failure]] = defaultdict(deque)
        self._custom: dict[str, Handler] = {}
        self._seq = itertools.count(1)
        self._ts_base = int(time.time())
        self._server: LocalServer | None = None

        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/upload/{file_id}", self._handle_upload)
        app.router.add_post("/response/{rid}", self._handle_response_url)
        self._app = app

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        if self._server is None:
            self._server = LocalServer(self._app)
        await self._server.start()

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop()

    async def __aenter__(self) -> FakeSlackAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    @property
    def root_url(self) -> str:
        assert self._server is not None, "call start() first"
        return self._server.root_url

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/api/`` -- pass as ``AsyncWebClient(base_url=...)``."""
        return f"{self.root_url}/api/"

    # ------------------------------------------------------------------ set-up helpers
    def add_user(
        self,
        id: str,
        email: str,
        name: str,
        tz: str = "Europe/Amsterdam",
        locale: str = "nl-NL",
        deleted: bool = False,
        is_bot: bool = False,
    ) -> FakeSlackUser:
        user = FakeSlackUser(id, email, name, tz, locale, deleted, is_bot, self.team_id)
        self.users[id] = user
        return user

    def add_channel(self, id: str, name: str, is_member: bool = True) -> None:
        """Register a public/private channel. With ``is_member=False`` posting and file
        sharing answer ``not_in_channel`` until ``conversations.join``."""
        self.channels[id] = _Channel(id, name, is_member)

    def dm_channel_id(self, user_id: str) -> str:
        """Stable IM channel id for a user: ``"D" + user_id[1:]`` (U123 -> D123)."""
        return "D" + user_id[1:]

    def fail_next(
        self, method: str, status: int = 429, retry_after: int = 1, error: str | None = None
    ) -> None:
        """Make the next call to ``method`` fail (calls stack up, FIFO).

        ``error=None``: HTTP ``status`` (429 by default, with ``Retry-After: retry_after``)
        and body ``{"ok": false, "error": "ratelimited"}``.
        ``error="account_inactive"`` etc.: HTTP 200 with ``{"ok": false, "error": error}``.
        """
        if error is not None:
            self._failures[method].append(_Failure(200, None, error))
        else:
            self._failures[method].append(
                _Failure(status, retry_after if status == 429 else None, None)
            )

    def set_handler(self, method: str, handler: Handler) -> None:
        """Override/add a method: ``handler(args) -> response dict`` (sync or async)."""
        self._custom[method] = handler

    def new_response_url(self) -> str:
        return f"{self.root_url}/response/{next(self._seq)}"

    def block_action_payload(
        self,
        user: str,
        channel: str,
        message_ts: str,
        action_id: str,
        value: str,
        block_id: str = "b",
        **kw: Any,
    ) -> str:
        """Like the module function, with ``response_url`` pointing at this fake."""
        kw.setdefault("response_url", self.new_response_url())
        kw.setdefault("team", self.team_id)
        return block_action_payload(user, channel, message_ts, action_id, value, block_id, **kw)

    def slash_command_body(
        self, user_id: str, command: str, text: str, channel_id: str = "C1", **kw: Any
    ) -> str:
        kw.setdefault("response_url", self.new_response_url())
        kw.setdefault("team", self.team_id)
        return slash_command_body(user_id, command, text, channel_id, **kw)

    # ------------------------------------------------------------------ inspection
    def calls_to(self, method: str) -> list[SlackCall]:
        return [c for c in self.calls if c.method == method]

    async def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 (part of the test API)
    ) -> list[SlackCall]:
        """Wait until at least ``count`` calls of ``method`` are recorded; return them all."""

        def ready():
            got = self.calls_to(method)
            return got if len(got) >= count else None

        return await poll_until(
            ready,
            timeout,
            lambda: f"wanted {count}x {method}, recorded: {[c.method for c in self.calls]}",
        )

    def reset(self) -> None:
        self.calls.clear()

    # ------------------------------------------------------------------ HTTP handlers
    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)
        raw = await request.read()
        ctype = request.content_type
        if raw:
            if ctype == "application/json":
                body = json.loads(raw)
                if isinstance(body, dict):
                    args.update(body)
            elif ctype == "application/x-www-form-urlencoded":
                args.update(dict(urllib.parse.parse_qsl(raw.decode(), keep_blank_values=True)))
            else:
                # e.g. legacy multipart files.upload (retired): keep only the size
                args["_body_size"] = len(raw)
        for key in _JSON_STRING_KEYS & args.keys():
            if isinstance(args[key], str):
                try:
                    args[key] = json.loads(args[key])
                except ValueError:
                    pass
        token = None
        auth = request.headers.get("Authorization", "")
        if auth.lower().startswith("bearer "):
            token = auth[7:].strip()
        elif "token" in args:
            token = args.pop("token")
        peer = request.transport.get_extra_info("peername") if request.transport else None
        call = SlackCall(method, args, request.method, token, peer=tuple(peer) if peer else None)
        self.calls.append(call)

        if self._failures.get(method):
            f = self._failures[method].popleft()
            if f.error is not None:
                return self._answer(call, {"ok": False, "error": f.error})
            headers = {"Retry-After": str(f.retry_after)} if f.retry_after is not None else {}
            err = "ratelimited" if f.status == 429 else "fatal_error"
            return self._answer(call, {"ok": False, "error": err}, status=f.status, headers=headers)

        if method in self._custom:
            result = self._custom[method](args)
            if inspect.isawaitable(result):
                result = await result
            return self._answer(call, result)

        if token is None:
            return self._answer(call, {"ok": False, "error": "not_authed"})
        if self.valid_tokens is not None and token not in self.valid_tokens:
            return self._answer(call, {"ok": False, "error": "invalid_auth"})

        handler = self._HANDLERS.get(method)
        if handler is None:
            return self._answer(call, {"ok": False, "error": "unknown_method"})
        return self._answer(call, handler(self, args))

    def _answer(
        self,
        call: SlackCall,
        body: dict[str, Any],
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> web.Response:
        if body.get("ok") is not False:
            body = {"ok": True, **body}
        call.status = status
        call.response = body
        return web.json_response(body, status=status, headers=headers)

    async def _handle_upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        content = await request.read()
        call = SlackCall(
            "upload",
            {"file_id": file_id, "content": content, "size": len(content)},
            "POST",
            None,
            200,
        )
        self.calls.append(call)
        if file_id not in self.files:
            call.status = 404
            return web.Response(status=404, text="file_not_found", content_type="text/plain")
        self.files[file_id]["content"] = content
        return web.Response(text=f"OK - {len(content)}", content_type="text/plain")

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            args = json.loads(raw) if raw else {}
        except ValueError:
            args = dict(urllib.parse.parse_qsl(raw.decode()))
        args = {**args, "_response_url_id": request.match_info["rid"]}
        self.calls.append(SlackCall("response_url", args, "POST", None, 200, {"ok": True}))
        return web.json_response({"ok": True})

    # ------------------------------------------------------------------ Web API methods
    def _new_ts(self) -> str:
        return f"{self._ts_base}.{next(self._seq):06d}"

    def _resolve_channel(self, channel: str) -> str:
        # posting to a user id goes to the app's IM with that user (Slack behaviour)
        if channel[:1] in ("U", "W"):
            return self._open_im(channel).id
        return channel

    def _open_im(self, user_id: str) -> _Channel:
        cid = self.dm_channel_id(user_id)
        ch = self.channels.get(cid)
        if ch is None:
            ch = self.channels[cid] = _Channel(cid, cid, True, True, user_id)
        return ch

    def _channel_error(self, channel: str) -> str | None:
        ch = self.channels.get(channel)
        if ch is not None and not ch.is_member:
            return "not_in_channel"
        return None

    def _auth_test(self, args):
        return {
            "url": "https://fake.slack.com/",
            "team": self.team_name,
            "user": "exitbot",
            "team_id": self.team_id,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _users_lookup_by_email(self, args):
        email = str(args.get("email", "")).lower()
        for u in self.users.values():
            if u.email.lower() == email:
                return {"user": u.to_json()}
        return {"ok": False, "error": "users_not_found"}

    def _users_info(self, args):
        u = self.users.get(str(args.get("user", "")))
        if u is None:
            return {"ok": False, "error": "user_not_found"}
        return {"user": u.to_json(include_locale=_truthy(args.get("include_locale")))}

    def _conversations_open(self, args):
        if args.get("channel"):
            cid = str(args["channel"])
            return {"channel": {"id": cid}}
        users = [u for u in str(args.get("users", "")).split(",") if u]
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        for uid in users:
            if self.users and uid not in self.users:
                return {"ok": False, "error": "user_not_found"}
            if uid in self.users and self.users[uid].deleted:
                return {"ok": False, "error": "user_disabled"}
        if len(users) > 1:
            cid = "G" + "".join(sorted(u[1:] for u in users))
            self.channels.setdefault(cid, _Channel(cid, cid, True))
            return {"channel": {"id": cid}}
        ch = self._open_im(users[0])
        body: dict[str, Any] = {"channel": {"id": ch.id}}
        if _truthy(args.get("return_im")):
            body["channel"].update({"is_im": True, "user": ch.user, "is_open": True})
        return body

    def _message(self, args, ts: str) -> dict[str, Any]:
        msg: dict[str, Any] = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": self.team_id,
            "ts": ts,
            "text": args.get("text", ""),
        }
        for key in ("blocks", "attachments", "metadata", "thread_ts"):
            if args.get(key) is not None:
                msg[key] = args[key]
        return msg

    def _chat_post_message(self, args):
        channel = args.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not (args.get("text") or args.get("blocks") or args.get("attachments")):
            return {"ok": False, "error": "no_text"}
        channel = self._resolve_channel(str(channel))
        if err := self._channel_error(channel):
            return {"ok": False, "error": err}
        ts = self._new_ts()
        msg = self._message(args, ts)
        self.messages[channel][ts] = msg
        return {"channel": channel, "ts": ts, "message": msg}

    def _conversations_history(self, args):
        channel = args.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        channel = self._resolve_channel(str(channel))
        limit = int(args.get("limit") or 100)
        newest_first = sorted(self.messages[channel].values(), key=lambda m: m["ts"], reverse=True)
        keep_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        history = [
            m if keep_metadata else {k: v for k, v in m.items() if k != "metadata"}
            for m in newest_first[:limit]
        ]
        return {"messages": history, "has_more": len(newest_first) > limit}

    def _chat_update(self, args):
        channel, ts = args.get("channel"), args.get("ts")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not ts:
            return {"ok": False, "error": "message_not_found"}
        channel = self._resolve_channel(str(channel))
        existing = self.messages[channel].get(str(ts))
        if existing is None and self.strict_updates:
            return {"ok": False, "error": "message_not_found"}
        msg = dict(existing or {}) | self._message(args, str(ts))
        self.messages[channel][str(ts)] = msg
        return {"channel": channel, "ts": str(ts), "text": msg.get("text", ""), "message": msg}

    def _chat_post_ephemeral(self, args):
        if not args.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        if not args.get("user"):
            return {"ok": False, "error": "user_not_in_channel"}
        return {"message_ts": self._new_ts()}

    def _views_open(self, args):
        view = args.get("view")
        if not args.get("trigger_id") and not args.get("interactivity_pointer"):
            return {"ok": False, "error": "invalid_arguments"}
        if not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}
        vid = f"V{next(self._seq):08d}"
        return {
            "view": {
                **view,
                "id": vid,
                "team_id": self.team_id,
                "app_id": APP_ID,
                "bot_id": BOT_ID,
                "hash": f"{self._ts_base}.{vid}",
            }
        }

    def _files_get_upload_url(self, args):
        if not args.get("filename") or not args.get("length"):
            return {"ok": False, "error": "invalid_arguments"}
        fid = f"F{next(self._seq):08d}"
        self.files[fid] = {
            "filename": args["filename"],
            "length": int(args["length"]),
            "content": None,
            "title": None,
            "channel_id": None,
        }
        return {"upload_url": f"{self.root_url}/upload/{fid}", "file_id": fid}

    def _files_complete_upload(self, args):
        files = args.get("files")
        if not isinstance(files, list) or not files:
            return {"ok": False, "error": "invalid_arguments"}
        channel = args.get("channel_id") or args.get("channels")
        if channel and (err := self._channel_error(str(channel))):
            return {"ok": False, "error": err}
        out = []
        for f in files:
            rec = self.files.get(f.get("id"))
            if rec is None or rec["content"] is None:
                return {"ok": False, "error": "file_not_found"}
            rec["title"] = f.get("title") or rec["filename"]
            rec["channel_id"] = channel
            out.append(
                {
                    "id": f["id"],
                    "name": rec["filename"],
                    "title": rec["title"],
                    "size": len(rec["content"]),
                    "user": BOT_USER_ID,
                    "channels": [channel] if channel else [],
                }
            )
        return {"files": out}

    def _conversations_info(self, args):
        ch = self.channels.get(str(args.get("channel", "")))
        if ch is None:
            return {"ok": False, "error": "channel_not_found"}
        data: dict[str, Any] = {
            "id": ch.id,
            "name": ch.name,
            "is_im": ch.is_im,
            "is_channel": not ch.is_im,
            "is_member": ch.is_member,
            "is_private": False,
            "is_archived": False,
        }
        if ch.is_im:
            data["user"] = ch.user
        return {"channel": data}

    def _conversations_join(self, args):
        ch = self.channels.get(str(args.get("channel", "")))
        if ch is None:
            return {"ok": False, "error": "channel_not_found"}
        if ch.is_im:
            return {"ok": False, "error": "method_not_supported_for_channel_type"}
        already = ch.is_member
        ch.is_member = True
        body: dict[str, Any] = {"channel": {"id": ch.id, "name": ch.name, "is_member": True}}
        if already:
            body["warning"] = "already_in_channel"
        return body

    def _team_info(self, args):
        return {
            "team": {
                "id": self.team_id,
                "name": self.team_name,
                "domain": "fake",
                "email_domain": "example.com",
                "icon": {"image_default": True},
            }
        }

    _HANDLERS: dict[str, Callable[[FakeSlackAPI, dict[str, Any]], dict[str, Any]]] = {
        "auth.test": _auth_test,
        "users.lookupByEmail": _users_lookup_by_email,
        "users.info": _users_info,
        "conversations.open": _conversations_open,
        "chat.postMessage": _chat_post_message,
        "conversations.history": _conversations_history,
        "chat.update": _chat_update,
        "chat.postEphemeral": _chat_post_ephemeral,
        "views.open": _views_open,
        "files.getUploadURLExternal": _files_get_upload_url,
        "files.completeUploadExternal": _files_complete_upload,
        "conversations.info": _conversations_info,
        "conversations.join": _conversations_join,
        "team.info": _team_info,
    }


# ====================================================================== request builders
def signed_headers(
    signing_secret: str,
    body: bytes | str,
    timestamp: int | None = None,
    content_type: str = "application/json",
) -> dict[str, str]:
    """Headers Slack sends: ``X-Slack-Request-Timestamp`` + ``X-Slack-Signature``
    (``v0=`` HMAC-SHA256 of ``v0:{ts}:{body}``). Sign the *exact* bytes you POST.
    Form bodies (block_actions, slash commands) need
    ``content_type="application/x-www-form-urlencoded"``."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    sig = SignatureVerifier(signing_secret).generate_signature(timestamp=str(ts), body=body)
    assert sig is not None
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": sig,
    }


def dm_event(
    user: str,
    text: str,
    channel: str,
    event_id: str,
    ts: str,
    team: str = TEAM_ID,
    **event_extra: Any,
) -> dict[str, Any]:
    """An Events API envelope for a user's DM to the bot (``json.dumps`` it, sign, POST)."""
    event = {
        "type": "message",
        "channel_type": "im",
        "user": user,
        "text": text,
        "ts": ts,
        "event_ts": ts,
        "channel": channel,
        "team": team,
        "client_msg_id": f"cmid-{event_id}",
        "blocks": [
            {
                "type": "rich_text",
                "block_id": "rt",
                "elements": [
                    {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}
                ],
            }
        ],
        **event_extra,
    }
    return {
        "token": "verification-token",
        "team_id": team,
        "context_team_id": team,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(float(ts)),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{event_id}",
    }


def block_action_payload(
    user: str,
    channel: str,
    message_ts: str,
    action_id: str,
    value: str,
    block_id: str = "b",
    *,
    response_url: str = "http://127.0.0.1:9/response/0",
    team: str = TEAM_ID,
    trigger_id: str = "trigger-1",
    message: dict[str, Any] | None = None,
) -> str:
    """Form body ``payload=<urlencoded json>`` for a button click (``block_actions``).
    Use :meth:`FakeSlackAPI.block_action_payload` to get a response_url on the fake."""
    action_ts = f"{int(time.time())}.000100"
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team},
        "api_app_id": APP_ID,
        "token": "verification-token",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "trigger_id": trigger_id,
        "team": {"id": team, "domain": "fake"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": "directmessage"},
        "message": message
        or {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "ts": message_ts,
            "text": "",
            "blocks": [],
        },
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id,
                "value": value,
                "type": "button",
                "action_ts": action_ts,
                "text": {"type": "plain_text", "text": value, "emoji": True},
            }
        ],
    }
    return "payload=" + urllib.parse.quote(json.dumps(payload))


def slash_command_body(
    user_id: str,
    command: str,
    text: str,
    channel_id: str = "C1",
    *,
    response_url: str = "http://127.0.0.1:9/response/0",
    team: str = TEAM_ID,
    trigger_id: str = "trigger-1",
) -> str:
    """Form-encoded slash command body as Slack POSTs it."""
    return urllib.parse.urlencode(
        {
            "token": "verification-token",
            "team_id": team,
            "team_domain": "fake",
            "channel_id": channel_id,
            "channel_name": "directmessage" if channel_id.startswith("D") else "general",
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
    )
