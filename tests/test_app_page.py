"""The app starts on the foundation alone and serves its page and status."""

import json
import urllib.request

from gradio_client import Client

from playground.serving.context import build_context
from playground.web.app import status_markdown
from tests.launch import running_app


def test_status_counts_feedback(settings, database):
    text = status_markdown(settings, database)
    assert "0 requests, 0 rated outputs, 0 scores" in text
    assert "`embedded`" in text


def test_app_serves_its_page(settings, database):
    context = build_context(settings, database)  # models load lazily: not here
    with running_app(context) as url:
        with urllib.request.urlopen(url, timeout=30) as response:
            assert response.status == 200
        with urllib.request.urlopen(f"{url}config", timeout=30) as response:
            config = json.loads(response.read())
        assert config["title"] == "Playground"
        assert any("What your ratings do" in str(c.get("props", {}).get("value")) for c in config["components"])
        assert Client(url, verbose=False) is not None
