"""The one shape of every answer the ASGI layer gives itself: JSON `{"error": "<what to do>"}`.

Kept apart from web_guard (which imports Gradio, ~6 s) so that playground.core.settings can validate
origins with playground.web.origins without loading Gradio.
"""

from __future__ import annotations

import json

from starlette.types import Send


async def answer(send: Send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
