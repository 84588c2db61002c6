"""A page on another origin of the same site cannot act with a visitor's cookie (docs/SECURITY.md).

127.0.0.1:<app port> and 127.0.0.1:<other port> are the same *site*: Chromium sends the
SameSite=Lax identity cookie with the other page's requests. The app must still refuse them:
no credentialed CORS answer to read, and no state-changing request carried out - here a log-in
CSRF that would switch the visitor's browser to another account.

The app runs on fast fake generators: what is tested is the web boundary, not a model.
"""

from __future__ import annotations

import http.server
import threading

import pytest

from feedback_db.users import create_user
from playground.core.database import open_database
from playground.core.settings import Settings
from playground.serving.context import build_context
from tests.fakes import FakeImageGenerator, FakeTextGenerator
from tests.launch import free_port, running_app

pytestmark = pytest.mark.e2e
PASSWORD = "adminpass123"
EVIL_PAGE = b"<!doctype html><title>elsewhere</title><p>another origin of the same site</p>"


@pytest.fixture(scope="module")
def app_and_other_origin(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("origin-data"), device="cpu")
    database = open_database(settings)
    with database.sessions.begin() as session:
        create_user(session, name="ann", role="annotator", password=PASSWORD)
        create_user(session, name="admin1", role="admin", password=PASSWORD)
    text, image = FakeTextGenerator(), FakeImageGenerator()
    context = build_context(settings, database, text_factory=lambda: text, image_factory=lambda: image)

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the stdlib's name
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.end_headers()
            self.wfile.write(EVIL_PAGE)

        def log_message(self, *args):
            pass

    other = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Page)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    with running_app(context) as url:
        yield url, f"http://127.0.0.1:{other.server_address[1]}/"
    other.shutdown()
    database.engine.dispose()


CALL = """async ([url, name, data, mode]) => {
  try {
    const reply = await fetch(url + 'gradio_api/run/' + name, {method: 'POST', credentials: 'include', mode,
      headers: mode === 'no-cors' ? {'content-type': 'text/plain'} : {'content-type': 'application/json'},
      body: JSON.stringify({data})});
    return mode === 'no-cors' ? 'sent' : (reply.status + ' ' + await reply.text());
  } catch (error) { return 'blocked: ' + error.name; }
}"""


def test_a_same_site_page_on_another_origin_can_neither_read_nor_act(browser, app_and_other_origin):
    app_url, other_url = app_and_other_origin
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(60_000)
    # 1. The visitor logs in as an annotator on the app's own page.
    page.goto(app_url)
    page.wait_for_selector("#text-prompt textarea")
    assert "Logged in as **ann**" in page.evaluate(CALL, [app_url, "annotate_login", ["ann", PASSWORD], "cors"])
    assert "Only admins" in page.evaluate(CALL, [app_url, "annotate_agreement", [], "cors"])
    # 2. The same browser visits a page on another port of the same host: the cookie goes along.
    page.goto(other_url)
    read = page.evaluate(CALL, [app_url, "annotate_next", [], "cors"])
    assert read.startswith("blocked: TypeError"), read  # no credentialed CORS answer: nothing to read
    # A "simple" request needs no preflight: the browser sends it, the app must refuse to act on it.
    assert page.evaluate(CALL, [app_url, "annotate_login", ["admin1", PASSWORD], "no-cors"]) == "sent"
    # 3. Back on the app: still ann, not switched to admin1 by the other page.
    page.goto(app_url)
    page.wait_for_selector("#text-prompt textarea")
    after = page.evaluate(CALL, [app_url, "annotate_agreement", [], "cors"])
    assert "Only admins" in after and "Krippendorff" not in after, after
    # The control: the same log-in from the app's own page does switch the account.
    assert "Logged in as **admin1**" in page.evaluate(CALL, [app_url, "annotate_login", ["admin1", PASSWORD], "cors"])
    assert "Krippendorff" in page.evaluate(CALL, [app_url, "annotate_agreement", [], "cors"])
    context.close()
