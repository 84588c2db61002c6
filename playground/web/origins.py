"""Which pages may act with a visitor's cookie: the app's own origin and PLAYGROUND_ALLOWED_ORIGINS.

Why: the identity cookie is SameSite=Lax, which keeps it out of other *sites'* requests but not
out of a sibling subdomain's (evil.example.com is the same site as playground.example.com) or
another port's on the same host. Gradio's CORS middleware answers any Origin with
`Access-Control-Allow-Origin: <that origin>` and `-Credentials: true` whenever the Host is not
localhost, so a page on a sibling origin could read a logged-in annotator's queue item.

`OriginMiddleware` runs outside Gradio's middleware (playground/web/server.py) and decides alone:
an allowed Origin gets a credentialed CORS answer; any other gets none (every Access-Control-*
header Gradio set is removed), its preflights are refused, and its state-changing requests
(POST, PUT, PATCH, DELETE) get 403 before Gradio sees them. A request without an Origin header
(gradio_client, curl) passes: browsers send Origin with every cross-origin request and every POST,
so such a request was not made by another page riding on the visitor's cookie.

No Gradio import (only Starlette's ASGI types). Origins are parsed by playground/core/origins.py,
which the settings also use to validate PLAYGROUND_ALLOWED_ORIGINS.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from playground.core.origins import DEFAULT_PORTS, Origin, parse_host, parse_origin, show
from playground.web.reply import answer

if TYPE_CHECKING:  # the settings are only read here; importing them stays the caller's business
    from playground.core.settings import Settings

log = logging.getLogger("playground.web")

_WEB_SCHEMES = {"http": "http", "https": "https", "ws": "http", "wss": "https"}
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_CORS_PREFIX = b"access-control-"
_SHOWN_ORIGIN_CHARS = 100  # an Origin header is the client's text: echo a bounded piece of it


@dataclass(frozen=True)
class OriginPolicy:
    """The app's own origin (from the request) plus the configured extra ones."""

    extra: frozenset[Origin] = frozenset()
    trust_forwarded: bool = False  # PLAYGROUND_TRUST_FORWARDED_FOR: X-Forwarded-Host names the app
    https: bool = False  # PLAYGROUND_SECURE_COOKIE: the visitor's page is https, whatever the proxy says

    @classmethod
    def from_settings(cls, settings: Settings) -> OriginPolicy:
        extra = {parse_origin(entry) for entry in settings.extra_origins}
        return cls(
            extra=frozenset(o for o in extra if o is not None), trust_forwarded=settings.trust_forwarded_for, https=settings.secure_cookie
        )

    def own(self, scope: Scope, headers: dict[bytes, list[bytes]]) -> set[Origin]:
        """The origins the request's own page has: its scheme (uvicorn sets it from
        X-Forwarded-Proto only for a trusted proxy) and Host - or, behind a trusted proxy, the
        right-most X-Forwarded-Host, the one our proxy wrote (a client may have sent others)."""
        host_header = headers.get(b"host", [b""])[-1]
        forwarded = headers.get(b"x-forwarded-host") if self.trust_forwarded else None
        if forwarded:
            host_header = b",".join(forwarded).split(b",")[-1]
        host = parse_host(host_header.decode("latin-1"))
        if host is None:
            return set()
        name, port = host
        schemes = {_WEB_SCHEMES.get(scope.get("scheme", "http"), "http")} | ({"https"} if self.https else set())
        return {(scheme, name, port or DEFAULT_PORTS[scheme]) for scheme in schemes}

    def allows(self, origin: str, scope: Scope, headers: dict[bytes, list[bytes]]) -> bool:
        parsed = parse_origin(origin)
        return parsed is not None and (parsed in self.extra or parsed in self.own(scope, headers))


class OriginMiddleware:
    def __init__(self, app: ASGIApp, policy: OriginPolicy):
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = _headers(scope["headers"])
        origins = headers.get(b"origin", [])
        if not origins:
            return await self.app(scope, receive, send)
        origin = origins[0].decode("latin-1")
        # Two Origin headers are no browser's: neither is believed.
        allowed = len(origins) == 1 and self.policy.allows(origin, scope, headers)
        if scope["type"] == "websocket":
            if allowed:
                return await self.app(scope, receive, send)
            return await send({"type": "websocket.close", "code": 1008})  # before accept: HTTP 403
        preflight = scope["method"] == "OPTIONS" and b"access-control-request-method" in headers
        if not allowed and (preflight or scope["method"] in STATE_CHANGING):
            shown = origin[:_SHOWN_ORIGIN_CHARS]
            log.info("refused: %s %s from origin %r", scope["method"], scope.get("path", ""), shown)
            own = sorted(show(o) for o in self.policy.own(scope, headers))
            return await answer(
                send,
                403,
                f"Requests from {shown} are not accepted: only pages of this "
                f"app ({', '.join(own) or 'its own address'}) and the origins in "
                "PLAYGROUND_ALLOWED_ORIGINS may send them.",
            )
        await self.app(scope, receive, _CORSHeaders(send, origin.encode("latin-1") if allowed else None).send)


class _CORSHeaders:
    """Replaces whatever CORS headers Gradio set: an allowed origin is named with credentials
    (Gradio's allowed methods and headers of a preflight are kept), any other gets none."""

    def __init__(self, send: Send, allowed_origin: bytes | None):
        self._send, self._origin = send, allowed_origin

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": _replace_cors(message.get("headers", []), self._origin)}
        await self._send(message)


def _replace_cors(headers: Iterable[tuple[bytes, bytes]], origin: bytes | None) -> list[tuple[bytes, bytes]]:
    kept = []
    for name, value in headers:
        lower = name.lower()
        if lower.startswith(_CORS_PREFIX) and (
            origin is None or lower in (b"access-control-allow-origin", b"access-control-allow-credentials")
        ):
            continue
        kept.append((name, value))
    if origin is not None:
        kept += [(b"access-control-allow-origin", origin), (b"access-control-allow-credentials", b"true")]
    # The answer depends on the Origin either way: a cache must not hand one origin's to another.
    if not any(name.lower() == b"vary" and b"origin" in value.lower() for name, value in kept):
        kept.append((b"vary", b"Origin"))
    return kept


def _headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[bytes, list[bytes]]:
    headers: dict[bytes, list[bytes]] = {}
    for name, value in raw:
        headers.setdefault(name.lower(), []).append(value)
    return headers
