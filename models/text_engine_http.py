"""The HTTP side of the text engine client: plain JSON calls, streamed chat completion chunks,
and errors that name the engine's URL (`models.text_engine.EngineTextGenerator` uses it).

httpx, not the openai SDK: it is already installed (Gradio uses it), the SSE stream is a few
lines to read, closing the response is the whole of "cancel", and the fields we need beyond the
OpenAI schema (`repetition_penalty`, the LoRA endpoints) would be `extra_body` and raw POSTs in
the SDK anyway. The SDK would add jiter, a compiled dependency, for none of that.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import httpx

from models.text_engine_spec import EngineResponseError, EngineUnreachableError


@dataclass(frozen=True)
class EngineTimeouts:
    """Seconds to wait for the engine. `read` is between two streamed chunks, so it covers the
    prefill of a long prompt on a busy server, not the whole completion."""

    connect: float = 5.0
    read: float = 120.0
    write: float = 10.0
    pool: float = 60.0


class EngineHTTP:
    """One engine's base URL (`http://host:port/v1`) and a pooled connection to it."""

    def __init__(self, base_url: str, timeouts: EngineTimeouts):
        self.url = base_url
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeouts.read, connect=timeouts.connect, write=timeouts.write, pool=timeouts.pool),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=16),
        )

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One plain request; the reply's JSON (or text) or an EngineError naming the URL."""
        try:
            response = self._client.request(method, self.url + path, json=body)
        except httpx.HTTPError as error:
            raise self._unreachable(error) from error
        self._raise_for_status(response)
        try:
            return response.json()
        except ValueError:
            return response.text  # vLLM answers the LoRA endpoints with a plain sentence

    def stream(self, path: str, body: dict[str, Any]) -> Generator[dict[str, Any], None, None]:
        """The JSON chunks of one streamed completion, up to `[DONE]`. Closing the iterator
        closes the HTTP stream, which is how the engine learns to stop (cancel). Raises
        EngineError (unreachable, an HTTP error status, a chunk that is not JSON or an error)."""
        try:
            with self._client.stream("POST", self.url + path, json=body) as response:
                self._raise_for_status(response)
                for line in response.iter_lines():
                    data = _sse_data(line)
                    if data == "[DONE]":
                        return
                    if data is not None:
                        yield self._parse_chunk(data)
        except httpx.HTTPError as error:
            raise self._unreachable(error) from error

    def close(self) -> None:
        self._client.close()

    def _unreachable(self, error: httpx.HTTPError) -> EngineUnreachableError:
        what = "timed out" if isinstance(error, httpx.TimeoutException) else "is not reachable"
        return EngineUnreachableError(f"the text engine at {self.url} {what}: {error or type(error).__name__}")

    def _raise_for_status(self, response: httpx.Response) -> None:
        if response.status_code < 400:
            return
        response.read()
        try:
            detail = _error_text(response.json())
        except ValueError:
            detail = response.text[:300]
        raise EngineResponseError(
            f"the text engine at {self.url} answered {response.status_code} to {response.request.url.path}: {detail}",
            status=response.status_code,
        )

    def _parse_chunk(self, data: str) -> dict[str, Any]:
        try:
            chunk = json.loads(data)
        except json.JSONDecodeError as exc:
            raise EngineResponseError(f"the text engine at {self.url} streamed something that is not JSON: {data[:120]!r}") from exc
        if not isinstance(chunk, dict):
            raise EngineResponseError(f"the text engine at {self.url} streamed {data[:120]!r}")
        if "error" in chunk:  # vLLM reports errors after the stream started as a data line
            raise EngineResponseError(f"the text engine at {self.url} failed the request: {_error_text(chunk)}")
        return chunk


def _sse_data(line: str) -> str | None:
    """The payload of an SSE `data:` line; None for comments, event names and blank lines."""
    if not line.startswith("data:"):
        return None
    return line[5:].strip()


def _error_text(reply: Any) -> str:
    """The message of an OpenAI-style error ({"error": {"message"}}, or vLLM's {"message"})."""
    if isinstance(reply, dict):
        error = reply.get("error", reply)
        if isinstance(error, dict) and "message" in error:
            return str(error["message"])
        if isinstance(error, str):
            return error
    return json.dumps(reply)[:300]
