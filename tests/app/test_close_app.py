"""Closing the served app while heartbeat streams wait on its stop event.

Gradio's own close() sets that asyncio.Event from the calling thread; a stream that starts waiting
at that moment makes it fail with "RuntimeError: deque mutated during iteration" (seen once in
a test run). `close_app` sets the event on the event loop's own thread first.
"""

from __future__ import annotations

import threading

import httpx

from playground.web.app import build_app, start
from playground.web.server import close_app
from tests.ports import free_port

STREAMS = 8


def test_close_app_ends_waiting_heartbeats_from_another_thread(context):
    app = build_app(context)
    app.queue(max_size=context.settings.max_queue_size)
    port = free_port()
    start(app, context.settings, server_port=port, prevent_thread_lock=True, quiet=True)
    # 1. Heartbeat streams, each waiting on the stop event (their first line has arrived).
    ended: list[str] = []
    opened = threading.Barrier(STREAMS + 1, timeout=60)

    def heartbeat(index: int) -> None:
        with httpx.Client(timeout=60) as client, client.stream("GET", f"http://127.0.0.1:{port}/gradio_api/heartbeat/s{index}") as response:
            lines = response.iter_lines()
            first = next(lines)
            opened.wait()
            ended.append(first + "|" + "".join(lines))  # ends when the server ends the stream

    threads = [threading.Thread(target=heartbeat, args=(i,), daemon=True) for i in range(STREAMS)]
    for thread in threads:
        thread.start()
    opened.wait()
    # The event is bound to the server's loop, so close_app takes its thread-safe path (a Gradio
    # or asyncio that stops binding it that way fails here, not silently).
    assert getattr(app.app.stop_event, "_loop", None) is not None
    # 2. Closed from this thread, as a shutdown or a test does: no error, and every stream ends.
    close_app(app)
    for thread in threads:
        thread.join(timeout=30)
    assert app.app.stop_event.is_set()
    assert len(ended) == STREAMS, ended
    assert all(line.startswith("data: ALIVE") for line in ended), ended
