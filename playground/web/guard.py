"""The ASGI layer in front of Gradio: the browser's identity cookie, body-size limits, draining
on shutdown, and honest status codes.

Why here and not in Gradio: Gradio's identity is its `session_hash` (made in the browser with
Math.random and sent in query strings), and `gr.BrowserState` encrypts with a secret it sends to
the browser in /config. We give every client one random 256-bit token in an HttpOnly, SameSite
cookie instead; handlers read it through `gr.Request` (see playground/services/identity.py). JavaScript
cannot read the cookie, other sites' requests do not carry it, and the database stores only its
keyed hash. gradio_client keeps the cookies of its first /config response, so API clients get
a stable identity too.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

from gradio.route_utils import FnIndexInferError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from playground.core.secret_key import new_token
from playground.web.reply import answer as _answer
from playground.web.sessions import SENT_TOKEN_SCOPE_KEY

log = logging.getLogger("playground.web")
COOKIE_NAME = "playground_client"
COOKIE_MAX_AGE_S = 400 * 24 * 3600  # the longest lifetime browsers accept
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")
# Endpoints answered directly (not via the queue): Gradio answers every error there with 500.
_DIRECT_ROUTES = ("/gradio_api/run/", "/run/", "/api/")
INTERNAL_ERROR_TITLE = "Internal error"
_STREAMS = ("/queue/data", "/heartbeat", "/stream")


@dataclass
class GuardState:
    """Shared with `launch`: SIGTERM sets `draining`, after which new requests get 503."""

    draining: bool = False
    in_flight: dict[int, str] = field(default_factory=dict)  # request -> path

    def busy(self) -> int:
        """Requests in flight, not counting the long-lived event streams of the queue."""
        return sum(1 for path in list(self.in_flight.values()) if not path.endswith(_STREAMS))


def client_token_from_cookie_header(header: str | None) -> str | None:
    if not header:
        return None
    cookie = SimpleCookie()
    try:
        cookie.load(header)
    except Exception:  # noqa: BLE001 - a malformed Cookie header is just "no cookie"
        return None
    morsel = cookie.get(COOKIE_NAME)
    return morsel.value if morsel is not None and _TOKEN.match(morsel.value) else None


class GuardMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, state: GuardState, secure_cookie: bool = False) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.state = state
        self.secure_cookie = secure_cookie

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if self.state.draining:
            return await _answer(send, 503, "The server is shutting down; try again in a moment.")
        headers = dict((k.lower(), v) for k, v in scope.get("headers", []))
        # 1. Refuse big bodies before anything parses them.
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
            return await _answer(send, 413, f"Request body larger than {self.max_body_bytes} bytes.")
        receive = self._limited(receive)
        # 2. Every client gets an identity cookie; a new one is visible to this very request.
        cookie_header = headers.get(b"cookie", b"").decode("latin-1")
        sent_token = client_token_from_cookie_header(cookie_header)
        set_cookie = None
        if sent_token is None:
            token = new_token()
            joined = f"{cookie_header}; {COOKIE_NAME}={token}" if cookie_header else f"{COOKIE_NAME}={token}"
            scope = {
                **scope,
                "headers": [(k, v) for k, v in scope["headers"] if k.lower() != b"cookie"] + [(b"cookie", joined.encode("latin-1"))],
            }
            set_cookie = self._cookie(token, scope)
        # Only a cookie the client itself sent can own a session_hash (playground/web/sessions.py).
        scope = {**scope, SENT_TOKEN_SCOPE_KEY: sent_token}
        direct = any(scope.get("path", "").startswith(prefix) for prefix in _DIRECT_ROUTES)
        key = id(scope)
        self.state.in_flight[key] = scope.get("path", "")
        responder = _Responder(send, set_cookie, direct)
        try:
            await self.app(scope, receive, responder.send)
        except BodyTooLarge as error:
            if responder.started:
                raise
            await _answer(send, 413, str(error))
        except (FnIndexInferError, KeyError):
            # Gradio looks the endpoint up (by api name, or fn_index in the body) outside its own
            # error handling: an unknown one escaped as a 500 with a traceback in the log.
            if responder.started or not _names_an_endpoint(scope.get("path", "")):
                raise
            log.info("refused: no such endpoint (%s)", scope.get("path", ""))
            await _answer(send, 404, "No such endpoint: /gradio_api/info lists them.")
        finally:
            self.state.in_flight.pop(key, None)

    def _cookie(self, token: str, scope: Scope) -> bytes:
        secure = self.secure_cookie or scope.get("scheme") == "https"
        parts = [f"{COOKIE_NAME}={token}", "Path=/", f"Max-Age={COOKIE_MAX_AGE_S}", "HttpOnly", "SameSite=Lax"] + (
            ["Secure"] if secure else []
        )
        return "; ".join(parts).encode("latin-1")

    def _limited(self, receive: Receive) -> Receive:
        seen = 0
        limit = self.max_body_bytes

        async def wrapped() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        return wrapped


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"Request body larger than {limit} bytes.")


class _Responder:
    """Adds the Set-Cookie header; turns a direct route's 500 caused by a user error into 422."""

    def __init__(self, send: Send, set_cookie: bytes | None, direct: bool) -> None:
        self._send, self._set_cookie, self._direct = send, set_cookie, direct
        self._held: Message | None = None
        self._body = b""
        self.started = False

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            if self._set_cookie is not None:
                message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", self._set_cookie)]}
            if self._direct and message["status"] == 500:
                self._held = message
                return
            return await self._send(message)
        if self._held is not None and message["type"] == "http.response.body":
            self._body += message.get("body", b"")
            if message.get("more_body"):
                return
            start = {**self._held, "status": _status_for_error_body(self._body)}
            self._held = None
            await self._send(start)
            return await self._send({"type": "http.response.body", "body": self._body})
        return await self._send(message)


def _names_an_endpoint(path: str) -> bool:
    return path.endswith(("/queue/join", "/queue/join/")) or any(path.startswith(p) for p in _DIRECT_ROUTES)


def _status_for_error_body(body: bytes) -> int:
    """422 for an error shown to the user (a gr.Error with a title), 500 for real faults."""
    try:
        payload = json.loads(body)
    except ValueError:
        return 500
    title = payload.get("title") if isinstance(payload, dict) else None
    return 422 if title and title != INTERNAL_ERROR_TITLE else 500
