"""The web chat: a private page per interview (`/i/<token>`) and its small JSON API.

A thin translator like the other adapters: HTTP in, `Incoming` out; engine messages back as
HTML (works without JavaScript: a plain form POST) or JSON (for `static/chat.js`). It knows
nothing of storage; the plugin (`bot/web_plugin.py`) hands it `WebPorts`.

Cross-site requests are refused twice over: the browser's `Origin` / `Sec-Fetch-Site` must say
same-origin, and every POST carries a per-page CSRF token (an HMAC of the page's link token
under a server secret). The JSON API takes only `application/json` with the `X-CSRF-Token`
header, which a cross-site form cannot send.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeGuard, get_args
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from adapters import web_html
from adapters.base import Incoming, Opened, Report, Unreachable
from conversations import MessageKind, OutMessage
from conversations.schema import MAX_QUESTION_ID

if TYPE_CHECKING:
    from multidict import MultiDictProxy

log = logging.getLogger(__name__)

CHANNEL = "web"
STATIC_DIR = Path(__file__).with_name("static")
STATIC_PREFIX = "/static/web"
MAX_TEXT = web_html.MAX_TEXT
# MAX_TEXT characters of up to 3 UTF-8 bytes (Chinese, most symbols), percent-encoded by a
# form post without JavaScript: 9 bytes each, plus the other fields
MAX_BODY = 96 * 1024
_MESSAGE_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
_CHOICE = re.compile(r"[A-Za-z0-9_.-]{1,100}")
# where a clicked button was: its question's id (`conversations.schema`) and its message kind
_QUESTION = re.compile(rf"[a-z0-9_]{{1,{MAX_QUESTION_ID}}}")
_KINDS = frozenset(get_args(MessageKind))

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the link token is in the URL
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
PROTECTED_PREFIXES = ("/i/", STATIC_PREFIX + "/", "/playground")


# ---------------------------------------------------------------------- the ports


@dataclass(frozen=True, slots=True)
class LinkTarget:
    interview_id: int
    language: str


@dataclass(frozen=True, slots=True)
class View:
    """Where an interview stands, as the page shows it."""

    language: str
    messages: tuple[OutMessage, ...]
    open: bool  # still accepts answers


class LinkRefused(Exception):
    """404 for a token nobody issued, 410 for one whose interview closed or expired."""

    def __init__(self, status: int, language: str | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.language = language


class Unavailable(Exception):
    """Storage is down; the page says to try again shortly (503)."""


class WebPorts(Protocol):
    async def resolve(self, token: str) -> LinkTarget:
        """The interview a token opens; raise `LinkRefused`."""
        ...

    async def view(self, interview_id: int, *, retry: bool = False, peek: bool = False) -> View:
        """Where the interview stands (the invite, or the current question again), as the
        page will show it; `peek`: only looked at, not shown (the page shows it otherwise
        from now on, so what is typed on it is taken as an answer to it)."""
        ...

    async def handle(self, incoming: Incoming) -> View | None:
        """Process one message; the replies, or None when it was a redelivery."""
        ...

    def button_label(self, question_id: str, value: str, language: str) -> str | None:
        """The label of a question's button (one of an earlier question, clicked on a page
        left open); None when the question or the value is not in the form."""
        ...


class WebChannel:
    """The service's handle on the web channel: replies travel in the HTTP response."""

    name = CHANNEL

    async def open_conversation(self, email: str) -> Opened:
        raise Unreachable("the web channel cannot start conversations; issue a link instead")

    async def send(self, conversation_id: str, messages: Sequence[OutMessage], *, key: str) -> None:
        log.debug("web replies for %s go out in the HTTP response", key)

    async def post_report(self, target: str, report: Report) -> None:
        raise Unreachable("reports are not posted to the web channel")


# ---------------------------------------------------------------------- cross-site guard


class CsrfGuard:
    """Per-page CSRF tokens and same-origin checks."""

    def __init__(self, secret: bytes, public_url: str, also: Sequence[bytes] = ()) -> None:
        """`secret` signs; it and `also` (older secrets, e.g. while replicas roll to a new
        key) verify, so a page served by one replica is accepted by the next."""
        self._secret = secret
        self._verifiers = (secret, *also)
        self.public_origin = _origin_of(public_url)

    def token_for(self, scope: str) -> str:
        return hmac.new(self._secret, scope.encode(), hashlib.sha256).hexdigest()

    def token_ok(self, scope: str, presented: object) -> bool:
        if not isinstance(presented, str):
            return False
        return any(
            hmac.compare_digest(
                hmac.new(secret, scope.encode(), hashlib.sha256).hexdigest(), presented
            )
            for secret in self._verifiers
        )

    def same_origin(self, request: web.Request) -> bool:
        """The browser says the request comes from our own pages (or it says nothing)."""
        site = request.headers.get("Sec-Fetch-Site")
        if site is not None and site not in {"same-origin", "none"}:
            return False
        origin = request.headers.get("Origin")
        if origin is None or origin == "null":
            # No Origin (older browsers, scripts), or "null": what browsers send for a form
            # POST from a page with `Referrer-Policy: no-referrer`, ours included. The
            # Sec-Fetch-Site check above and the CSRF token still have to pass.
            return True
        allowed = {self.public_origin, f"{request.scheme}://{request.host}".lower()}
        return origin.lower() in allowed

    def allows(self, request: web.Request, scope: str, presented: object) -> bool:
        return self.same_origin(request) and self.token_ok(scope, presented)


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


# ---------------------------------------------------------------------- responses


def html_response(body: str, status: int = 200) -> web.Response:
    return web.Response(
        text=body,
        status=status,
        content_type="text/html",
        charset="utf-8",
        headers={"Cache-Control": "no-store"},
    )


def error_page(status: int, language: str | None = None) -> web.Response:
    return html_response(web_html.error_page(status, language), status)


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    if request.path.startswith(PROTECTED_PREFIXES):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)


def messages_json(messages: Sequence[OutMessage]) -> list[dict[str, object]]:
    return [
        {
            "kind": m.kind,
            "text": m.text,
            "choices": [{"value": c.value, "label": c.label} for c in m.choices],
            "question_id": m.question_id,
        }
        for m in messages
    ]


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class UnreadableBody(Exception):
    """The request's body could not be decoded: bad UTF-8, or a Content-Encoding it lies about."""


async def read_form(
    request: web.Request,
) -> MultiDictProxy[str | bytes | bytearray | web.FileField]:
    try:
        return await request.post()
    except (UnicodeDecodeError, HttpProcessingError, RequestPayloadError, ValueError):
        raise UnreadableBody() from None


async def read_json(request: web.Request) -> object:
    """The JSON body; ValueError when it is no JSON, UnreadableBody when not even text."""
    try:
        raw = await request.read()
    except (HttpProcessingError, RequestPayloadError):
        raise UnreadableBody() from None
    try:
        text = raw.decode(request.charset or "utf-8")
    except (UnicodeDecodeError, LookupError):
        raise UnreadableBody() from None
    return json.loads(text)


def friendly_errors(handler: Handler, *, api: bool = False) -> Handler:
    """Refusals and failures become friendly pages (or JSON errors), never tracebacks."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except LinkRefused as refused:
            if api:
                code = "expired" if refused.status == 410 else "unknown"
                return _api_error(refused.status, code)
            return error_page(refused.status, refused.language)
        except Unavailable:
            return _api_error(503, "unavailable") if api else error_page(503)
        except UnreadableBody:
            log.info("web request refused: unreadable body")
            return _api_error(400, "unreadable_body") if api else error_page(400)
        except web.HTTPException:
            raise  # redirects and aiohttp's own answers
        except Exception:
            log.exception("web request failed")
            return _api_error(500, "failed") if api else error_page(500)

    return wrapped


# ---------------------------------------------------------------------- the chat


class WebChat:
    """The routes of the private interview page."""

    def __init__(self, ports: WebPorts, guard: CsrfGuard) -> None:
        self.ports = ports
        self.guard = guard

    def setup(self, app: web.Application) -> None:
        app.router.add_get("/i/{token}", friendly_errors(self.page))
        app.router.add_post("/i/{token}", friendly_errors(self.post_form))
        app.router.add_post("/i/{token}/messages", friendly_errors(self.post_api, api=True))
        app.router.add_static(STATIC_PREFIX, STATIC_DIR, append_version=False)
        app.on_response_prepare.append(add_security_headers)

    # -------------------------------------------------------------- handlers

    async def page(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        target = await self.ports.resolve(token)
        view = await self.ports.view(target.interview_id)
        return html_response(self._render(token, view))

    async def post_form(self, request: web.Request) -> web.StreamResponse:
        """The no-JavaScript path: a plain form POST answered with the whole page."""
        token = request.match_info["token"]
        target = await self.ports.resolve(token)
        if (request.content_length or 0) > MAX_BODY:
            return error_page(413, target.language)
        form = await read_form(request)
        if not self.guard.allows(request, _scope(token), form.get("csrf")):
            return error_page(403, target.language)
        text, choice, message_id = _fields(form.get("text"), form.get("choice"), form.get("id"))
        if message_id is None or (not text.strip() and choice is None):
            return html_response(self._render(token, await self.ports.view(target.interview_id)))
        echo: str | None = text
        origin: _Origin = (None, None)
        if choice is not None:
            # a form rendered before the last answer (a second tab, the back button) posts
            # its own question's buttons: the engine is told whose they were
            origin = _origin(form.get("choice_on"), form.get("choice_for"))
            before = await self.ports.view(target.interview_id, peek=True)
            asked = before.messages[-1].question_id if before.messages else None
            if origin[1] is not None and origin[1] != asked:  # an earlier question's button
                echo = self.ports.button_label(origin[1], choice, target.language)
            else:
                echo = _label_of(before.messages, choice)
            text = text or echo or choice  # echoed only as a label: never a raw value
        view = await self._reply(target, text, choice, message_id, origin)
        return html_response(self._render(token, view, echo=echo))

    async def post_api(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        target = await self.ports.resolve(token)
        if request.content_type != "application/json":
            return _api_error(415, "json_only")
        if not self.guard.allows(request, _scope(token), request.headers.get("X-CSRF-Token")):
            return _api_error(403, "cross_site")
        if (request.content_length or 0) > MAX_BODY:
            return _api_error(413, "too_large")
        try:
            data = await read_json(request)
        except ValueError:
            return _api_error(400, "bad_json")
        if not isinstance(data, dict):
            return _api_error(400, "bad_json")
        if data.get("text") is not None and not isinstance(data["text"], str):
            return _api_error(400, "bad_text")  # a string, if any
        raw_choice = data.get("choice")
        if raw_choice is not None and not (
            isinstance(raw_choice, str) and _CHOICE.fullmatch(raw_choice)
        ):
            return _api_error(400, "bad_choice")  # a choice's value, as the page sent it
        for key, good in (("choice_on", _is_kind), ("choice_for", _is_question)):
            if data.get(key) not in (None, "") and not good(data[key]):
                return _api_error(400, f"bad_{key}")  # as the page got it with the buttons
        origin = _origin(data.get("choice_on"), data.get("choice_for"))
        text, choice, message_id = _fields(data.get("text"), data.get("choice"), data.get("id"))
        if message_id is None:
            return _api_error(400, "bad_id")
        if not text.strip() and choice is None:
            return _api_error(400, "empty")
        if choice is None:
            origin = (None, None)  # typed text: no button was clicked
        view = await self._reply(target, text, choice, message_id, origin)
        return web.json_response(
            {"messages": messages_json(view.messages), "open": view.open, "lang": view.language},
            headers={"Cache-Control": "no-store"},
        )

    # -------------------------------------------------------------- helpers

    async def _reply(
        self,
        target: LinkTarget,
        text: str,
        choice: str | None,
        message_id: str,
        origin: _Origin = (None, None),
    ) -> View:
        incoming = Incoming(
            channel=CHANNEL,
            user_id=f"interview:{target.interview_id}",
            conversation_id=f"interview:{target.interview_id}",
            text=text,
            # Prefixed so two pages can never collide on one client-made id.
            message_id=f"{target.interview_id}:{message_id}",
            choice=choice,
            choice_on=origin[0],
            choice_for=origin[1],
            locale=target.language,
            interview_id=target.interview_id,
        )
        view = await self.ports.handle(incoming)
        if view is None:  # a retry of a message already answered: show where things stand
            view = await self.ports.view(target.interview_id, retry=True)
        return view

    def _render(self, token: str, view: View, echo: str | None = None) -> str:
        return web_html.chat_page(
            view,
            action=f"/i/{token}",
            api=f"/i/{token}/messages",
            csrf=self.guard.token_for(_scope(token)),
            message_id=secrets.token_urlsafe(12),
            echo=echo,
        )


def _scope(token: str) -> str:
    return f"link:{token}"


def _fields(text: object, choice: object, message_id: object) -> tuple[str, str | None, str | None]:
    clean_text = text[:MAX_TEXT] if isinstance(text, str) else ""
    clean_choice = choice if isinstance(choice, str) and _CHOICE.fullmatch(choice) else None
    clean_id = (
        message_id if isinstance(message_id, str) and _MESSAGE_ID.fullmatch(message_id) else None
    )
    return clean_text, clean_choice, clean_id


_Origin = tuple[str | None, str | None]  # (kind of message, question) of a clicked button


def _is_kind(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and value in _KINDS


def _is_question(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and _QUESTION.fullmatch(value) is not None


def _origin(kind: object, question_id: object) -> _Origin:
    """Where the page said a clicked button was (hidden fields the page keeps with its
    buttons); None for what is missing, empty or not one of ours."""
    clean_kind = kind if _is_kind(kind) else None
    clean_question = question_id if _is_question(question_id) else None
    if clean_question is None and clean_kind in ("question", "follow_up"):
        return None, None  # a question's button that does not say which: as if unknown
    return clean_kind, clean_question


def _label_of(messages: Sequence[OutMessage], value: str) -> str | None:
    for message in reversed(messages):
        for choice in message.choices:
            if choice.value == value:
                return choice.label
    return None


def _api_error(status: int, code: str) -> web.Response:
    return web.json_response({"error": code}, status=status, headers={"Cache-Control": "no-store"})
