"""A lean HTTP/1.1 client for closed-loop load: one kept-alive connection per simulated client.

Why not httpx here: with 50 concurrent callers, httpx's connection pool is itself the limit on
2 cores. Against a bare FastAPI endpoint that only parses the JSON body, 50 httpx callers got
208 requests/s (p95 719 ms) and this client 2,715/s (p95 25 ms), in one run on the same machine
(docs/PERFORMANCE.md, "Rating over plain HTTP"). A rating benchmark with httpx as its client
measured httpx. This client writes the request bytes and reads the status, headers and a
Content-Length body; it sends no Accept-Encoding, so answers come uncompressed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit


class KeepAliveConnection:
    """One connection to `base_url`, opened on first use and reopened when the server closes it."""

    def __init__(self, base_url: str):
        self._host, self._port, self._prefix = _address(base_url)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post_json(self, path: str, body: Any, headers: dict[str, str]) -> tuple[int, bytes]:
        """POST `body` as JSON to `path` (relative to the base URL); the status and the body."""
        # 1. The request's bytes: the request line, the headers, the JSON.
        payload = json.dumps(body).encode()
        lines = [f"POST {self._prefix}/{path.lstrip('/')} HTTP/1.1", f"Host: {self._host}:{self._port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}", "", ""]
        request = "\r\n".join(lines).encode() + payload
        # 2. Sent on the open connection; one retry on a fresh one if the server had closed it.
        for attempt in (1, 2):
            reader, writer = await self._connection()
            try:
                writer.write(request)
                return await self._response(reader)
            except (ConnectionError, asyncio.IncompleteReadError):
                await self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        return self._reader, self._writer

    async def _response(self, reader: asyncio.StreamReader) -> tuple[int, bytes]:
        status, fields = await _read_head(reader)
        if "content-length" not in fields:
            raise ConnectionError(f"HTTP {status} without a Content-Length; this client reads only those")
        body = await reader.readexactly(int(fields["content-length"]))
        if fields.get("connection", "").lower() == "close":
            await self.close()
        return status, body


async def server_sent_events(base_url: str, path: str, headers: dict[str, str]) -> AsyncIterator[str]:
    """GET `path` on a connection of its own and yield each event's `data:` text as it arrives
    (chunked or not), until the server ends the response. For the same reason as above: 100
    httpx streams in one process cost the clients more CPU than the server they measure."""
    host, port, prefix = _address(base_url)
    reader, writer = await asyncio.open_connection(host, port)
    try:
        # 1. The request, and the response's status and headers.
        lines = [f"GET {prefix}/{path.lstrip('/')} HTTP/1.1", f"Host: {host}:{port}", "Accept: text/event-stream"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        writer.write(("\r\n".join([*lines, "", ""])).encode())
        status, fields = await _read_head(reader)
        if status != 200:
            raise ConnectionError(f"HTTP {status} for {path}")
        chunked = fields.get("transfer-encoding", "").lower() == "chunked"
        # 2. The body, chunk by chunk, split into events at blank lines.
        pending = b""
        while True:
            if chunked:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    return
                pending += (await reader.readexactly(size + 2))[:-2]
            else:
                piece = await reader.read(65536)
                if not piece:
                    return
                pending += piece
            *events, pending = pending.replace(b"\r\n", b"\n").split(b"\n\n")
            for event in events:
                for line in event.split(b"\n"):
                    if line.startswith(b"data:"):
                        yield line[5:].decode()
    finally:
        writer.close()


def _address(base_url: str) -> tuple[str, int, str]:
    """The host, port and path prefix of `base_url`."""
    parts = urlsplit(base_url)
    return parts.hostname or "127.0.0.1", parts.port or 80, parts.path.rstrip("/")


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    """A response's status and its header fields (names lower-cased)."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    fields = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in head[1:] if line)}
    return int(head[0].split()[1]), fields
