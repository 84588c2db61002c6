"""Launch the real app in-process on a free port for client and browser tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from playground.serving.context import AppContext
from playground.web.app import build_app, start
from tests.ports import free_port


@contextmanager
def running_app(context: AppContext) -> Iterator[str]:
    """Serve the app for `context`; yield its URL; close it afterwards."""
    app = build_app(context)
    app.queue(max_size=context.settings.max_queue_size)
    port = _launch(app, context)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        app.close()


def _launch(app, context: AppContext, attempts: int = 3) -> int:
    """Launch on a free port. Gradio's start-up check (a HEAD request with a 3 s timeout) can
    time out on a saturated CI machine and then refuses to start: try again, up to `attempts`."""
    for attempt in range(1, attempts + 1):
        port = free_port()
        try:
            start(app, context.settings, server_port=port, prevent_thread_lock=True, quiet=True)
            return port
        except ValueError as error:
            app.close()
            if "localhost is not accessible" not in str(error) or attempt == attempts:
                raise
    raise AssertionError("unreachable")
