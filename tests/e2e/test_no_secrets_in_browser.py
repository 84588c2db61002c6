"""In headless Chromium: after an annotator logs in and out, the browser's storage holds no
password and the identity cookie is out of JavaScript's reach."""

from __future__ import annotations

import pytest

from feedback_db.users import create_user
from playground.core.database import open_database
from playground.core.settings import Settings
from playground.serving.context import build_context
from playground.web.guard import COOKIE_NAME
from tests.fakes import FakeImageGenerator, FakeTextGenerator
from tests.launch import running_app

pytestmark = pytest.mark.e2e
PASSWORD = "adminpass123"
STORAGE = """() => JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])"""


@pytest.fixture
def app_url(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", device="cpu")
    database = open_database(settings)
    with database.sessions.begin() as session:
        create_user(session, name="admin1", role="admin", password=PASSWORD)
    text, image = FakeTextGenerator(), FakeImageGenerator()
    context = build_context(settings, database, text_factory=lambda: text, image_factory=lambda: image)
    with running_app(context) as url:
        yield url
    database.engine.dispose()


def test_no_password_in_local_or_session_storage_after_log_in_and_out(browser, app_url):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(app_url)
    page.get_by_role("tab", name="Annotate").click()
    page.fill("#annotate-name input", "admin1")
    page.fill("#annotate-password input", PASSWORD)
    page.click("#annotate-login-button")
    page.wait_for_selector("#annotate-work", state="visible")
    assert "Krippendorff" in page.inner_text("#annotate-agreement")
    page.click("#annotate-logout")
    page.wait_for_selector("#annotate-login", state="visible")
    page.reload()
    page.wait_for_selector("#text-prompt textarea")
    storage = page.evaluate(STORAGE)
    assert PASSWORD not in storage and "admin1" not in storage, storage
    assert COOKIE_NAME not in page.evaluate("() => document.cookie")  # HttpOnly
    assert any(c["name"] == COOKIE_NAME and c["httpOnly"] for c in context.cookies())
    context.close()
