"""The HTTP calls a browser makes to a Gradio app, as a small asyncio client for load benchmarks.

A browser runs an un-queued event (`queue=False`: our rating widgets and `/rate_*`) with one
POST to `/gradio_api/run/<api_name>`, and a queued one (generation) by joining the queue and
reading the session's server-sent events until `process_completed`. gradio_client joins the
queue for every endpoint, un-queued ones included; `via_queue=True` makes that call instead.
Each simulated browser has its own identity cookie and Gradio session hash, so the app's
per-session state (the candidates on screen) is the browser's own.
"""

from __future__ import annotations

import json
import math
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx

COOKIE_NAME = "playground_client"  # playground/web/guard.py
API = "gradio_api"
# How long a client keeps an idle connection: under uvicorn's 5 s. At httpx's default (also 5 s)
# a connection idle that long could be reused just as the server closed it: the request then
# failed with a ReadError (5 of 100 streams in one run), a client artefact, not the server's.
KEEPALIVE_S = 2.0


class CallFailed(Exception):
    """The app answered a call with an error (HTTP status or a failed event)."""


@dataclass
class Browser:
    """One simulated browser: its cookie token and Gradio session hash."""

    token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    session_hash: str = field(default_factory=lambda: secrets.token_hex(6))

    @property
    def headers(self) -> dict[str, str]:
        return {"cookie": f"{COOKIE_NAME}={self.token}"}


@dataclass
class GradioHTTP:
    """Calls to one running app; `fn_ids` maps api names to the config's dependency ids."""

    base_url: str
    http: httpx.AsyncClient
    fn_ids: dict[str, int] = field(default_factory=dict)

    async def load_config(self) -> None:
        response = await self.http.get(f"{self.base_url}config")
        response.raise_for_status()
        for dependency in response.json()["dependencies"]:
            if dependency.get("api_name"):
                self.fn_ids[dependency["api_name"]] = dependency["id"]

    def event_body(self, browser: Browser, api_name: str, data: list[Any]) -> dict[str, Any]:
        """What both kinds of call post: the event's inputs, which event, and whose session."""
        return {
            "data": data,
            "fn_index": self.fn_ids[api_name],
            "session_hash": browser.session_hash,
            "event_data": None,
            "trigger_id": None,
        }

    async def run(self, browser: Browser, api_name: str, data: list[Any], via_queue: bool = False) -> Any:
        """Call an un-queued endpoint the browser's way (one POST), or gradio_client's (queue)."""
        if via_queue:
            return await self.queued(browser, api_name, data)
        body = self.event_body(browser, api_name, data)
        response = await self.http.post(f"{self.base_url}{API}/run/{api_name}", json=body, headers=browser.headers)
        if response.status_code != 200:
            raise CallFailed(f"{api_name}: HTTP {response.status_code}: {response.text[:200]}")
        return response.json()["data"]

    async def queued(self, browser: Browser, api_name: str, data: list[Any], on_update=None) -> Any:
        """Join the queue, then read this session's event stream until the event completes.

        `on_update(output)` is called for every streamed update (e.g. a generation's tokens)."""
        body = self.event_body(browser, api_name, data)
        joined = await self.http.post(f"{self.base_url}{API}/queue/join", json=body, headers=browser.headers)
        if joined.status_code != 200:
            raise CallFailed(f"{api_name}: join HTTP {joined.status_code}: {joined.text[:200]}")
        event_id = joined.json()["event_id"]
        url = f"{self.base_url}{API}/queue/data"
        async with self.http.stream("GET", url, params={"session_hash": browser.session_hash}, headers=browser.headers) as stream:
            data = (line[5:] async for line in stream.aiter_lines() if line.startswith("data:"))
            return await event_result(data, event_id, api_name, on_update)


async def event_result(data: AsyncIterator[str], event_id: str, api_name: str, on_update=None) -> Any:
    """Read a session's event stream (each event's `data:` text) until event `event_id`
    completes; its output data, or CallFailed. `on_update(output)` sees each streamed update."""
    async for text in data:
        message = json.loads(text)
        if message.get("event_id") not in (None, event_id):
            continue
        kind = message.get("msg")
        if kind == "process_generating" and on_update is not None:
            on_update(message["output"])
        elif kind == "process_completed":
            output = message.get("output") or {}
            if not message.get("success", False) or "error" in output:
                raise CallFailed(f"{api_name}: {output.get('error') or message}")
            return output.get("data")
        elif kind in ("queue_full", "unexpected_error"):
            raise CallFailed(f"{api_name}: {kind}: {message.get('message')}")
    raise CallFailed(f"{api_name}: the event stream closed before the event completed")


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by the nearest-rank method; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def now() -> float:
    return time.perf_counter()
