"""Arena in Chromium on the real embedded text model: three battles between the base model and
a registered LoRA adapter; the names appear only after each vote, and the leaderboard follows."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from feedback_db.versions import create_version
from playground.core.database import open_database
from playground.core.settings import Settings
from tests.e2e.conftest import app_on_embedded_models, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.real_model]
CANDIDATE = "text-arena-e2e-41c7"


def write_random_lora(model_config, folder, rank: int = 4) -> None:
    """A small PEFT LoRA on q_proj/v_proj with random weights: a real, different version."""
    import torch
    from safetensors.torch import save_file

    hidden = model_config.hidden_size
    head_dim = getattr(model_config, "head_dim", None) or hidden // model_config.num_attention_heads
    out = {"q_proj": model_config.num_attention_heads * head_dim, "v_proj": model_config.num_key_value_heads * head_dim}
    generator = torch.Generator().manual_seed(0)
    tensors = {}
    for layer in range(model_config.num_hidden_layers):
        for name, width in out.items():
            prefix = f"base_model.model.model.layers.{layer}.self_attn.{name}"
            tensors[f"{prefix}.lora_A.weight"] = torch.randn(rank, hidden, generator=generator) * 0.05
            tensors[f"{prefix}.lora_B.weight"] = torch.randn(width, rank, generator=generator) * 0.05
    folder.mkdir(parents=True)
    save_file(tensors, str(folder / "adapter_model.safetensors"))
    (folder / "adapter_config.json").write_text(
        json.dumps(
            {
                "peft_type": "LORA",
                "task_type": "CAUSAL_LM",
                "r": rank,
                "lora_alpha": 2 * rank,
                "target_modules": ["q_proj", "v_proj"],
                "lora_dropout": 0.0,
                "bias": "none",
                "base_model_name_or_path": None,
                "inference_mode": True,
            }
        )
    )


@pytest.fixture(scope="module")
def arena_app(tmp_path_factory, model_cache_dir, real_text_generator):
    settings = Settings(data_dir=tmp_path_factory.mktemp("arena-e2e"), device="cpu")
    database = open_database(settings)
    adapter = settings.adapters_dir / CANDIDATE
    write_random_lora(real_text_generator.model.config, adapter)
    with database.sessions.begin() as session:
        create_version(session, name=CANDIDATE, modality="text", base_model="embedded", adapter_path=str(adapter))
    with app_on_embedded_models(settings, database, model_cache_dir) as url:
        yield url, database
    database.engine.dispose()


def leaderboard_rows(page) -> dict[str, dict[str, str]]:
    """Contestant -> column -> cell text, read from the rendered versions table."""
    headers = [h.get_attribute("title") for h in page.locator("#leaderboard-versions th[role=columnheader]").all()]
    lines = [line.strip() for line in page.inner_text("#leaderboard-versions").splitlines() if line.strip()]
    cells = lines[lines.index(headers[-1]) + 1 :]  # after the header row
    rows = [dict(zip(headers, cells[i : i + len(headers)], strict=True)) for i in range(0, len(cells), len(headers))]
    return {row["contestant"]: row for row in rows if len(row) == len(headers)}


def test_three_battles_reveal_names_only_after_each_vote(browser, arena_app):
    url, database = arena_app
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(240_000)
    page.goto(url)
    page.locator("#tab-arena-button, button[role=tab]:has-text('Arena')").first.click()
    page.wait_for_selector("#arena-prompt textarea")
    wins: dict[str, int] = {CANDIDATE: 0, "base": 0}
    for round_number, outcome in enumerate(["a", "a", "b"], start=1):
        # 1. A new battle is one click; the votes stay disabled until both sides have finished.
        page.fill("#arena-prompt textarea", "Say hello in three words.")
        page.click("#arena-start")
        page.wait_for_function("() => document.querySelector('#arena-status')?.innerText.includes('Generating')")
        assert page.locator(f"#arena-vote-{outcome}").is_disabled()
        page.wait_for_function("() => document.querySelector('#arena-status')?.innerText.includes('Both answers are in')")
        assert page.input_value("#arena-a-text textarea") and page.input_value("#arena-b-text textarea")
        # 2. Before the vote: no version name in the Arena tab (nor in the whole page, before the
        # Leaderboard tab, which lists names but never sides, has been opened).
        html = page.content() if round_number == 1 else page.inner_html("#tab-arena")
        assert CANDIDATE not in html and "`base`" not in html and "(candidate)" not in html
        assert page.inner_text("#arena-reveal").strip() == ""
        # 3. Vote; the names appear.
        page.click(f"#arena-vote-{outcome}")
        page.wait_for_function("() => document.querySelector('#arena-reveal')?.innerText.includes('was')")
        reveal = page.inner_text("#arena-reveal")
        sides = dict(re.findall(r"\b([AB]) was (\S+)", reveal))
        assert {sides["A"], sides["B"]} == {CANDIDATE, "base"}, reveal
        wins[sides[outcome.upper()]] += 1
        assert page.locator("#arena-vote-a").is_disabled()  # one vote per battle
        if round_number == 3:
            screenshot(page, "arena-tab.png", full_page=True)
        # 4. The leaderboard follows the votes.
        page.locator("button[role=tab]:has-text('Leaderboard')").first.click()
        page.click("#leaderboard-refresh")
        page.wait_for_function(
            "n => (document.querySelector('#leaderboard-summary')?.innerText || '').includes(n + ' version battles')",
            arg=str(round_number),
        )
        rows = leaderboard_rows(page)
        assert int(rows[CANDIDATE]["wins"]) == wins[CANDIDATE] and int(rows["base"]["wins"]) == wins["base"]
        assert int(rows[CANDIDATE]["battles"]) == round_number
        leader = page.inner_text("#leaderboard-summary")
        if wins[CANDIDATE] != wins["base"]:
            assert max(wins, key=wins.get) in leader
        if round_number == 3:
            screenshot(page, "leaderboard-tab.png", full_page=True)
        page.locator("button[role=tab]:has-text('Arena')").first.click()
    with database.read_sessions() as session:
        from feedback_db.arena import battles_frame

        frame = battles_frame(session, modality="text")
    assert len(frame) == 3 and set(frame["kind"]) == {"versions"}
    page.close()


def test_your_ratings_counts_the_vote_and_insights_open_for_admins_only(browser, arena_app):
    from sqlalchemy import select

    from feedback_db.queries import upsert_rating
    from feedback_db.schema import Output
    from feedback_db.users import create_user
    from tests.db.helpers import add_rater

    url, database = arena_app
    with database.sessions.begin() as session:
        create_user(session, name="ada", role="admin", password="admin-pass-1")
        create_user(session, name="ann", role="annotator", password="annot-pass-1")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(240_000)
    page.goto(url)
    # 1. One battle and its vote from this browser...
    page.locator("button[role=tab]:has-text('Arena')").first.click()
    page.fill("#arena-prompt textarea", "Name a fruit.")
    page.click("#arena-start")
    page.wait_for_function("() => document.querySelector('#arena-status')?.innerText.includes('Both answers are in')")
    page.click("#arena-vote-tie")
    page.wait_for_function("() => document.querySelector('#arena-reveal')?.innerText.includes('was')")
    # Ratings on the arena's outputs (another rater's), so that the Insights plots have data.
    with database.sessions.begin() as session:
        rater = add_rater(session, "insights-rater")
        for k, output_id in enumerate(session.scalars(select(Output.id)).all()):
            upsert_rating(
                session, output_id=output_id, rater_id=rater.id, source="end_user", naturalness=1 + k % 5, reliability=1 + (k + 2) % 5
            )
    # 2. ...shows in "Your ratings" (another browser's battles do not).
    page.locator("button[role=tab]:has-text('Your ratings')").first.click()
    page.wait_for_function("() => (document.querySelector('#mine-summary')?.innerText || '').includes('1 arena vote')")
    # 3. Insights: an annotator's log-in is refused; an admin sees the figures.
    page.locator("button[role=tab]:has-text('Insights')").first.click()
    page.fill("#insights-name input, #insights-name textarea", "ann")
    page.fill("#insights-password input", "annot-pass-1")
    page.click("#insights-login-button")
    page.wait_for_selector("text=Only admins")
    assert not page.locator("#insights-work").is_visible()
    page.fill("#insights-name input, #insights-name textarea", "ada")
    page.fill("#insights-password input", "admin-pass-1")
    page.click("#insights-login-button")
    page.wait_for_function("() => /\\d+ scores/.test(document.querySelector('#insights-message')?.innerText || '')")
    assert page.locator("#insights-scores").is_visible() and page.locator("#insights-flagged").is_visible()
    expect(page.locator("#insights-metrics")).to_contain_text("words")  # the metrics table, one row per version
    assert "admin-pass-1" not in page.evaluate("() => JSON.stringify(localStorage) + JSON.stringify(sessionStorage)")
    page.evaluate("() => document.querySelectorAll('.toast-wrap').forEach(t => t.remove())")  # the refusal's toast
    screenshot(page, "insights-tab.png", full_page=True)
    page.close()
