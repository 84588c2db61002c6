"""In headless Chromium, on the real embedded text model: two people in two browser contexts of
the same running app each have a personal version; each is answered by their own (the answer is
the one that version gives for the same seed, and differs from the other's), the card says
"your version ... (trained on N of your ratings)". My history says which version answered each request."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from feedback_db.runs import start_run
from feedback_db.versions import create_version, promote_version
from models.base import BASE_VERSION, TextParams
from tests.e2e.helpers import open_page, set_number
from tests.e2e.test_personal_tuning_browser import browser_viewer
from tests.e2e.test_usability_browser import generate_and_wait
from tests.fakes import FakeImageGenerator
from tests.launch import app_on
from tests.retrain.test_version_memory import text_adapters

pytestmark = [pytest.mark.e2e, pytest.mark.real_model]
PROMPT = "Name a colour."
PARAMS = TextParams(max_new_tokens=5, n=1, seed=11)


def generate(page, database) -> tuple[str, str]:
    """One candidate of PROMPT with the fixed seed; its text and its facts line."""
    if not page.locator("#text-max-tokens").is_visible():
        page.click("#text-parameters")
    set_number(page, "text-max-tokens", PARAMS.max_new_tokens)
    set_number(page, "text-n", PARAMS.n)
    page.fill("#text-seed input", str(PARAMS.seed))
    page.fill("#text-prompt textarea", PROMPT)
    generate_and_wait(page, database)  # (the status says Done from the last request until this one ends)
    expect(page.locator("#text-0-meta")).to_contain_text(f"seed {PARAMS.seed}")  # the finished card's facts
    return page.input_value("#text-0-output textarea").strip(), page.inner_text("#text-0-meta")


def make_personal(context, owner_id: int, name: str, adapter, rated: int) -> None:
    with context.database.sessions.begin() as session:
        run = start_run(session, modality="text", data_counts={"rated_outputs": rated}, owner_id=owner_id)
        version = create_version(
            session, name=name, modality="text", base_model="embedded", adapter_path=str(adapter), training_run_id=run.id, owner_id=owner_id
        )
        promote_version(session, version_id=version.id)


def expected_text(generator, name: str, adapter) -> str:
    """What `name` answers for PROMPT with the seed, asked of the model directly."""
    generator.use_version(name, adapter)
    try:
        return generator.generate(PROMPT, PARAMS)[0].text.strip()
    finally:
        generator.use_version(BASE_VERSION, None)


def test_two_people_are_each_served_their_own_version_in_one_running_app(browser, tmp_path, model_cache_dir, real_text_generator):
    adapters = text_adapters(model_cache_dir, tmp_path / "made", 2, scale=0.05)
    with app_on(tmp_path / "data", lambda: real_text_generator, FakeImageGenerator) as (url, context):
        # 1. Two people open the app and generate once (each gets an identity; the base model answers).
        people = [open_page(browser, url) for _ in range(2)]
        for _, page in people:
            generate(page, context.database)
        viewers = [browser_viewer(context, browser_context) for browser_context, _ in people]
        # 2. The first two get personal versions (as a nightly run would promote them).
        names = ["text-p-0000000001", "text-p-0000000002"]
        for viewer, name, adapter, rated in zip(viewers, names, adapters, (57, 43), strict=False):
            make_personal(context, viewer.user_id, name, adapter, rated)
        # 3. Each is answered by their own version (the same seed gives that version's answer).
        answers = [generate(page, context.database) for _, page in people]
        for (text, facts), name, adapter, rated in zip(answers, names, adapters, (57, 43), strict=False):
            assert f"your version {name} (trained on {rated} of your ratings)" in facts, facts
            assert text == expected_text(real_text_generator, name, adapter), (text, name)
        assert answers[0][0] != answers[1][0]  # (one without a personal version gets the global one: tests/app/test_personal_serving.py)
        # 4. My history says which version answered (the first request was the base model's).
        page = people[0][1]
        page.click("button[role=tab]:has-text('My history')")
        page.click("#history-refresh")
        page.wait_for_selector("#history-list label")
        labels = page.locator("#history-list label").all_inner_texts()
        assert f"your version {names[0]}" in labels[0] and "version base" in labels[1], labels
        for browser_context, _ in people:
            browser_context.close()
