"""Origins and Host values as the browser spells them: parsed once here, for the settings (which
validate PLAYGROUND_ALLOWED_ORIGINS) and the web layer's origin policy (playground/web/origins.py)."""

from __future__ import annotations

from urllib.parse import urlsplit

Origin = tuple[str, str, int]  # (scheme, host, port), lower case, the port always spelled out

DEFAULT_PORTS = {"http": 80, "https": 443}


def parse_origin(text: str) -> Origin | None:
    """`scheme://host[:port]` (http or https, no user, path, query or fragment) as an Origin, else
    None. Browsers never send anything else; the literal "null" (sandboxed frames, file pages) is
    never an allowed origin."""
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:  # a bad port or an unbalanced IPv6 bracket
        return None
    scheme = parts.scheme.lower()
    if (
        scheme not in DEFAULT_PORTS
        or not parts.hostname
        or parts.username is not None
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        return None
    return scheme, parts.hostname, port or DEFAULT_PORTS[scheme]


def parse_host(text: str) -> tuple[str, int | None] | None:
    """A Host (or X-Forwarded-Host) value: (host, port or None), or None if it is not one."""
    try:
        parts = urlsplit(f"//{text.strip()}")
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname or parts.username is not None or parts.path or parts.query or parts.fragment:
        return None
    return parts.hostname, port


def show(origin: Origin) -> str:
    scheme, host, port = origin
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}" + ("" if DEFAULT_PORTS[scheme] == port else f":{port}")
