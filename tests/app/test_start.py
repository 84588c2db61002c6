"""`start` serves once the server answers, however long the first page takes to build.

Gradio's launch HEADs the page with a 3-second timeout after the server is up and stops the launch
when that times out; on a loaded CI machine the page (the whole config, built per request) took
longer, and a test failed with no fault of the app's. `start` leaves that notebook check out.
"""

from __future__ import annotations

import gradio as gr
import gradio.networking
import httpx

from tests.launch import serving


def test_a_page_slower_than_gradios_localhost_check_still_starts(settings, monkeypatch):
    # 1. Gradio's localhost check fails as a 3-second timeout makes it fail.
    checked: list[str] = []

    def timed_out(url: str) -> bool:
        checked.append(url)
        return False

    monkeypatch.setattr(gradio.networking, "url_ok", timed_out)
    with gr.Blocks() as app:
        gr.Markdown("served")
    # 2. The launch (`start`) goes on, and the page is served.
    with serving(app, settings) as url:
        response = httpx.get(f"{url}config", timeout=30)
        assert response.status_code == 200
        assert any(c.get("props", {}).get("value") == "served" for c in response.json()["components"])
        assert checked == []
