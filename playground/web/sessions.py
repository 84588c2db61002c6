"""A Gradio session_hash belongs to the identity cookie that used it first.

Why: Gradio keys an event's messages (/queue/data), its heartbeat and every gr.State by the
session_hash the browser makes up and sends in query strings, paths and bodies. Anyone who learns
one (a shared screen, a log, a proxy) could listen on /queue/data with it and receive the
victim's results, or call a direct route with it and run on the victim's gr.State. Our handlers
never trust it for identity (they read the cookie), but Gradio hands out what it keys by it.

So the first request that uses a session_hash *with* our cookie binds it to that cookie; a later
request naming it with another cookie, or with none, gets 403 and nothing else. A request with
no cookie and an unbound session_hash passes without binding it (it holds no identity to bind to,
and gets a fresh cookie from the guard). gradio_client keeps its cookie, so it passes.

Where Gradio 6.31 (gradio/routes.py) reads a session_hash, and so where it is checked here:
- the query string (`session_hash=`) of any /gradio_api/ route: /queue/data, /deep_link;
- the path of GET /gradio_api/heartbeat/{session_hash} and /gradio_api/stream/{session_hash}/...;
- the top-level `session_hash` of a JSON body posted under /gradio_api/: /queue/join, /cancel,
  /run/*, /api/*, /call/*, /component_server (its multipart form is refused: no component of this
  app uploads to a server function).

Runs inside GuardMiddleware, which has already limited the body to max_request_bytes (the body is
buffered here, read once, and replayed to Gradio) and tells us which cookie the client sent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from playground.web.reply import answer

# Set by GuardMiddleware: the valid identity token the client itself sent, or None.
SENT_TOKEN_SCOPE_KEY = "playground.sent_client_token"
DEFAULT_CAPACITY = 100_000
_API = "/gradio_api/"
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_IN_PATH = re.compile(r"^/gradio_api/(?:heartbeat/([^/]+)/?|stream/([^/]+)/[^/]+/[^/]+/.*)$")
_MULTIPART_REFUSED = ("/gradio_api/component_server",)
REFUSED = "This session belongs to another browser: reload the page to start your own."


class SessionOwners:
    """session_hash -> the cookie token that used it first; thread-safe, in memory, per process.

    Bounded: an LRU of `capacity` entries (about 100 bytes each: both sides are kept as SHA-256
    digests, so a client's long session_hash costs no more than a short one). The least recently
    used binding is forgotten first; a forgotten session_hash is unbound again (the next client
    with a cookie binds it), which only matters for one idle behind `capacity` newer sessions.
    Several replicas each keep their own map: route a browser to one replica (sticky sessions),
    as Gradio's own queue already requires.
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY):
        self.capacity = capacity
        self._owners: OrderedDict[bytes, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def admit(self, session_hashes: Iterable[str], token: str | None) -> bool:
        """True if `token` may use all of them (and binds the unbound ones to it); False, binding
        nothing, if any is bound to another token or the caller sent none."""
        keys = list(dict.fromkeys(_digest(h) for h in session_hashes))
        mine = _digest(token) if token is not None else None
        with self._lock:
            owners = [self._owners.get(key) for key in keys]
            if any(owner is not None and (mine is None or not hmac.compare_digest(owner, mine)) for owner in owners):
                return False
            for key, owner in zip(keys, owners, strict=True):
                if owner is not None:
                    self._owners.move_to_end(key)
                elif mine is not None:
                    self._owners[key] = mine
                    if len(self._owners) > self.capacity:
                        self._owners.popitem(last=False)
            return True

    def __len__(self) -> int:
        return len(self._owners)


class SessionBindingMiddleware:
    def __init__(self, app: ASGIApp, owners: SessionOwners):
        self.app = app
        self.owners = owners

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = _route_path(scope)
        if scope["type"] != "http" or not path.startswith(_API):
            return await self.app(scope, receive, send)
        hashes = _in_url(scope, path)
        if scope["method"] in _BODY_METHODS:
            if _content_type(scope).startswith(b"multipart/"):
                if path.rstrip("/") in _MULTIPART_REFUSED:
                    return await answer(send, 415, "This endpoint takes JSON here: no component of this app uploads files to it.")
            else:
                body = await _read_body(receive)
                if body is None:
                    return  # the client went away before its body arrived: nothing to answer
                try:
                    hashes += _in_body(body)
                except BadSessionHash as error:
                    return await answer(send, 400, str(error))
                receive = _replay(body, receive)
        if hashes and not self.owners.admit(hashes, scope.get(SENT_TOKEN_SCOPE_KEY)):
            return await answer(send, 403, REFUSED)
        await self.app(scope, receive, send)


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def _route_path(scope: Scope) -> str:
    """The path the router matches (without a root_path prefix, as Starlette does)."""
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def _in_url(scope: Scope, path: str) -> list[str]:
    # Parsed as Starlette parses it for FastAPI's Query(): latin-1, blank values kept. Every value
    # counts, so a second `session_hash=` cannot slip past whichever one Gradio reads.
    query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    hashes = [value for name, value in query if name == "session_hash"]
    match = _IN_PATH.match(path) if scope["method"] in ("GET", "HEAD") else None
    if match:
        hashes.append(match.group(1) or match.group(2))
    return hashes


class BadSessionHash(ValueError):
    """A session_hash that is not text (Gradio's pydantic model would refuse it too)."""


class _Object(dict[str, Any]):
    """A JSON object that remembers every value of its `session_hash` keys (duplicates too:
    json.loads, like Starlette's request.json(), keeps the last, and we check them all)."""

    session_hashes: list[Any]


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object(pairs)
    obj.session_hashes = [value for name, value in pairs if name == "session_hash"]
    return obj


def _in_body(body: bytes) -> list[str]:
    """The top-level session_hash value(s) of a JSON body; none if it is not JSON (then Gradio,
    which parses it with the same json.loads, refuses it too)."""
    try:
        parsed = json.loads(body, object_pairs_hook=_object)
    except ValueError:  # includes UnicodeDecodeError
        return []
    if not isinstance(parsed, _Object):
        return []
    values = [value for value in parsed.session_hashes if value is not None]
    if any(not isinstance(value, str) for value in values):
        raise BadSessionHash("session_hash must be text.")
    return values


def _content_type(scope: Scope) -> bytes:
    return next((v.lower() for k, v in scope.get("headers", []) if k.lower() == b"content-type"), b"")


async def _read_body(receive: Receive) -> bytes | None:
    """The whole body (GuardMiddleware's receive raises past max_request_bytes), or None if the
    client disconnected first."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """Hand Gradio the buffered body, then whatever the connection says next (a disconnect)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
