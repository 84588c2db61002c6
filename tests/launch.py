"""Launch the real app in-process on a free port for client and browser tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import gradio as gr

from models.base import ImageGenerator, TextGenerator
from playground.core.database import open_database
from playground.core.settings import Settings
from playground.serving.context import AppContext, build_context
from playground.web.app import build_app, start
from playground.web.server import close_app
from tests.ports import free_port


@contextmanager
def running_app(context: AppContext) -> Iterator[str]:
    """Serve the app for `context`; yield its URL; close it afterwards."""
    app = build_app(context)
    app.queue(max_size=context.settings.max_queue_size)
    with serving(app, context.settings) as url:
        yield url


@contextmanager
def serving(app: gr.Blocks, settings: Settings) -> Iterator[str]:
    """Launch `app` with `start` on a free port; yield its URL; close it afterwards (for a test
    that needs the Blocks itself, which `running_app` keeps to itself)."""
    port = free_port()
    start(app, settings, server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        close_app(app)


@contextmanager
def app_on(
    data_dir: Path, text_factory: Callable[[], TextGenerator], image_factory: Callable[[], ImageGenerator]
) -> Iterator[tuple[str, AppContext]]:
    """Serve the app on these generators (fakes, in browser tests) over a fresh data dir; yield
    its URL and context."""
    settings = Settings(data_dir=data_dir, device="cpu")
    database = open_database(settings)
    try:
        context = build_context(settings, database, text_factory=text_factory, image_factory=image_factory)
        with running_app(context) as url:
            yield url, context
    finally:
        database.engine.dispose()
