"""What an engine text model spec says (`openai:<base URL>[#<model>]`), the engine's errors and
its finish reasons: no HTTP client here, so the registry and settings checks import it cheaply.
The client is `models.text_engine`."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from models.base import FinishReason, ModelError, ModelLoadError

ENGINE_PREFIX = "openai:"

# What servers call the end of a completion, in our three words. vLLM, SGLang, llama.cpp and
# Ollama say stop/length; TGI says eos_token/stop_sequence; vLLM says abort for a dropped request.
FINISH_REASONS: dict[str, FinishReason] = {
    "stop": "stop",
    "eos_token": "stop",
    "stop_sequence": "stop",
    "eos": "stop",
    "length": "length",
    "abort": "cancelled",
}


class EngineError(ModelError):
    """The text engine failed a request; the message names the engine's URL."""


class EngineUnreachableError(EngineError):
    """No answer from the engine: connection refused, unknown host, or a timeout."""


class EngineResponseError(EngineError):
    """The engine answered with an HTTP error or something that is not an OpenAI-style reply."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class InvalidEngineSpecError(ModelLoadError, ValueError):
    """A text model spec starts with `openai:` but is not `openai:<http(s) URL>[#model]`."""


def is_engine_spec(spec: str) -> bool:
    return spec.startswith(ENGINE_PREFIX)


@dataclass(frozen=True)
class EngineSpec:
    """Where the engine is (`base_url`, e.g. http://127.0.0.1:8000/v1) and which model to ask
    for (None: the one model the server lists)."""

    base_url: str
    model: str | None = None

    @classmethod
    def parse(cls, spec: str) -> EngineSpec:
        if not is_engine_spec(spec):
            raise InvalidEngineSpecError(f"{spec!r} is not an engine spec (openai:<URL>[#model])")
        url, _, model = spec[len(ENGINE_PREFIX) :].partition("#")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidEngineSpecError(
                f"{spec!r}: the engine URL must be http(s)://host[:port]/path, e.g. openai:http://127.0.0.1:8000/v1"
            )
        if parts.path.strip("/") == "":
            raise InvalidEngineSpecError(f"{spec!r}: give the API's base URL with its path, e.g. {url.rstrip('/')}/v1")
        if parts.query or parts.fragment:
            raise InvalidEngineSpecError(f"{spec!r}: the engine URL takes no query string")
        return cls(base_url=url.rstrip("/"), model=model.strip() or None)
