"""The app starts on the foundation alone and serves its page and status."""

import json
import urllib.request

from gradio_client import Client

from playground.serving.context import build_context
from playground.web.app import build_app, start, status_markdown
from playground.web.server import close_app
from tests.ports import free_port


def test_status_counts_feedback(settings, database):
    text = status_markdown(settings, database)
    assert "0 requests, 0 rated outputs, 0 scores" in text
    assert "`embedded`" in text


def test_app_serves_its_page(settings, database):
    context = build_context(settings, database)  # models load lazily: not here
    app = build_app(context)
    port = free_port()
    start(app.queue(), settings, server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as response:
            assert response.status == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/config", timeout=30) as response:
            config = json.loads(response.read())
        assert config["title"] == "Playground"
        assert any("What your ratings do" in str(c.get("props", {}).get("value")) for c in config["components"])
        assert Client(f"http://127.0.0.1:{port}/", verbose=False) is not None
    finally:
        close_app(app)
