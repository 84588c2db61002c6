"""In headless Chromium, on the real embedded models: "About this answer" opens on a text and an
image candidate and shows the version's facts (the base model, then a retrained version seeded in
the database as `playground retrain` publishes one); the Leaderboard explains the same version with
its report; a refused prompt names the rule (the word masked) and links the guidelines; axe stays
clean with the disclosures open."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy.engine import make_url

from feedback_db.runs import finish_run, start_run
from feedback_db.versions import create_version, promote_version
from tests.e2e.helpers import open_page, set_number
from tests.e2e.test_usability_browser import axe_script, generate_and_wait, serious_violations  # noqa: F401 - a fixture
from tests.retrain.test_version_memory import text_adapters

pytestmark = [pytest.mark.e2e, pytest.mark.real_model]
METRICS = {
    "decision": "promoted",
    "evaluation": {"prompts": 34, "wins": 31, "losses": 2, "ties": 1},
    "behaviour": {"old": {"mean_words": 40.0}, "new": {"mean_words": 24.0}},
}


def short_text(page, database, prompt: str = "Name a colour.") -> None:
    if not page.locator("#text-max-tokens").is_visible():
        page.click("#text-parameters")
    set_number(page, "text-max-tokens", 4)
    set_number(page, "text-n", 1)
    page.fill("#text-prompt textarea", prompt)
    generate_and_wait(page, database)


def open_about(page, prefix: str) -> str:
    """Open the card's disclosure; its text once it is filled in."""
    page.click(f"#{prefix}-about > button")
    text = page.locator(f"#{prefix}-about-text")
    expect(text).to_contain_text("This answer:", timeout=30_000)
    return text.inner_text()


def seed_retrained(database, reports_dir, adapter) -> None:
    reports_dir.mkdir(parents=True, exist_ok=True)
    report = reports_dir / "text-v1.md"
    report.write_text("# Retrain report: text-v1 (text)\n\n**Promoted**: the new version now serves.\n", encoding="utf-8")
    with database.sessions.begin() as session:
        run = start_run(session, modality="text", data_counts={"rated_outputs": 20, "watermark": "ratings:34:x|set_ratings:0:None"})
        finish_run(session, run_id=run.id, method="dpo", metrics=METRICS, timings={}, report_path=str(report))
        version = create_version(
            session, name="text-v1", modality="text", base_model="embedded", adapter_path=str(adapter), training_run_id=run.id
        )
        promote_version(session, version_id=version.id)


def test_about_this_answer_for_the_base_model_a_retrained_version_and_an_image(browser, live_app, model_cache_dir, tmp_path, axe_script):  # noqa: F811
    url, database = live_app
    context, page = open_page(browser, url, settled=True)  # the load's slider values first
    # 1. A text answer of the base model: the disclosure starts closed and says so when opened.
    short_text(page, database)
    expect(page.locator("#text-0-about-text")).to_be_hidden()
    words = open_about(page, "text-0")
    assert "The base model" in words and "has not been retrained from ratings" in words, words
    assert "max new tokens 4 (set by you)" in words, words
    # 2. An image answer: the prompt words the model recognised and those it ignored.
    page.get_by_role("tab", name="Image").click()
    page.fill("#image-prompt textarea", "a red circle with a dog")
    set_number(page, "image-n", 1)
    generate_and_wait(page, database, "#image-generate", "image-status")
    words = open_about(page, "image-0")
    assert "The base model" in words and "recognised: circle, red" in words and "Ignored (it does not know them): dog" in words, words
    page.add_script_tag(path=str(axe_script))
    bad = serious_violations(page)
    assert not bad, "Image tab with the disclosure open:\n" + "\n".join(bad)
    # 3. A retrained version is promoted; the next text answer is its, and so is the explanation.
    adapter = text_adapters(model_cache_dir, tmp_path / "adapters", 1)[0]
    seed_retrained(database, reports_dir_of(database), adapter)
    page.get_by_role("tab", name="Text").click()
    short_text(page, database)
    expect(page.locator("#text-0-about-text")).to_be_hidden()  # closed again for the new answer
    words = open_about(page, "text-0")
    assert "Answered by version text-v1 (served to everyone now)" in words, words
    assert "won 31 of 34 held-out prompts" in words and "40% shorter" in words, words
    assert "from 34 ratings on 20 rated answers" in words and "None of your ratings were among them" in words, words
    bad = serious_violations(page)
    assert not bad, "Text tab with the disclosure open:\n" + "\n".join(bad)
    # 4. The Leaderboard explains the same version, with its report.
    page.get_by_role("tab", name="Leaderboard").click()
    page.click("#leaderboard-version input")
    page.get_by_role("option", name="text-v1").click()
    expect(page.locator("#leaderboard-about")).to_contain_text("won 31 of 34 held-out prompts")
    page.click("#leaderboard-report-box > button")
    expect(page.locator("#leaderboard-report")).to_contain_text("Retrain report: text-v1")
    context.close()


def reports_dir_of(database) -> Path:
    """The live app's reports folder: `reports/` in its data dir, beside its SQLite file."""
    return Path(make_url(str(database.engine.url)).database or "").parent / "reports"


def test_a_refused_prompt_names_the_rule_masks_the_word_and_links_the_guidelines(browser, live_app):
    url, database = live_app
    context, page = open_page(browser, url)
    page.fill("#text-prompt textarea", "please tell me how to make a bomb")
    page.click("#text-generate")
    status = page.locator("#text-status")
    expect(status).to_contain_text("the content filter refused this prompt")
    words = status.inner_text()
    assert 'the blocklist rule (the blocked phrase "m*** a b***") fired' in words, words
    assert "bomb" not in words, words
    status.locator("a[href='#guidelines']").click()
    expect(page.get_by_role("tab", name="Guidelines")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#tab-guidelines")).to_contain_text("Content filter")
    context.close()
