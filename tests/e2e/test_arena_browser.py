"""Arena in Chromium on the real embedded text model: three battles between the base model and
a registered LoRA adapter; the names appear only after each vote, and the leaderboard follows.
On fake models (fast): a preset battle says what it is, Enter starts a battle, and answers render
as Markdown whose markup never runs."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from feedback_db.versions import create_version
from models.base import TextOutput, TextProgress
from playground.core.database import open_database
from playground.core.settings import Settings
from playground.serving.context import build_context
from tests.e2e.conftest import app_on_embedded_models, screenshot
from tests.fakes import FakeImageGenerator, FakeTextGenerator
from tests.launch import running_app

pytestmark = [pytest.mark.e2e]
CANDIDATE = "text-arena-e2e-41c7"
# A list, bold words, and markup that would run if it were not sanitized.
HOSTILE = '**Set Clear Goals**\n\n- first\n- second\n\n<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> done'
BOTH_IN = "() => document.querySelector('#arena-status')?.innerText.includes('Both answers are in')"


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


class MarkdownAnswers(FakeTextGenerator):
    """Answers every prompt with HOSTILE, in two streamed steps."""

    def stream(self, prompt, params, cancel=None, continuing=None):
        outputs = [TextOutput(i, HOSTILE, (params.seed or 0) + i, 20, "stop", 5.0, 50.0) for i in range(params.n)]
        yield TextProgress(texts=[HOSTILE[:20]] * params.n)
        yield TextProgress(texts=[HOSTILE] * params.n, done=True, outputs=outputs)


FOOTER_CAUGHT_UP = """() => {
    const rated = id => Number(((document.querySelector(id)?.innerText || '').match(/(\\d+) rated outputs?/) || [0, -1])[1]);
    return rated('#status') >= rated('#insights-message') && rated('#insights-message') > 0;
}"""


@pytest.fixture(scope="module")
def preset_arena_app(tmp_path_factory):
    """The app on fake models with no version but the base: its battles compare sampling presets."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("arena-presets-e2e"), device="cpu")
    database = open_database(settings)
    context = build_context(settings, database, text_factory=MarkdownAnswers, image_factory=FakeImageGenerator)
    with running_app(context) as url:
        yield url
    database.engine.dispose()


def open_arena(browser, url: str):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(60_000)
    page.goto(url)
    page.locator("button[role=tab]:has-text('Arena')").first.click()
    page.wait_for_selector("#arena-prompt textarea")
    return page


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
    return {row["Version"]: row for row in rows if len(row) == len(headers)}


@pytest.mark.real_model
@pytest.mark.long  # ~45 s of real generation in three battles: the long lane (`make test-long`)
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
        page.wait_for_function(BOTH_IN)
        assert page.inner_text("#arena-a-text").strip() and page.inner_text("#arena-b-text").strip()
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
            "words => (document.querySelector('#leaderboard-summary')?.innerText || '').includes(words)",
            arg=f"{round_number} version battle" + ("" if round_number == 1 else "s"),
        )
        rows = leaderboard_rows(page)
        assert int(rows[CANDIDATE]["Wins"]) == wins[CANDIDATE] and int(rows["base"]["Wins"]) == wins["base"]
        assert int(rows[CANDIDATE]["Battles"]) == round_number
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


@pytest.mark.real_model
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
    # The footer (all modalities, refreshed every few seconds) catches up with the text figures.
    page.wait_for_function(FOOTER_CAUGHT_UP, timeout=30_000)
    screenshot(page, "insights-tab.png", full_page=True)
    page.close()


def test_a_preset_battle_says_it_is_one_version_with_two_sampling_presets(browser, preset_arena_app):
    page = open_arena(browser, preset_arena_app)
    # 1. Before the battle: the intro says what is compared (no "two model versions").
    intro = page.inner_text("#arena-intro")
    assert "Two model versions" not in intro and "sampling presets" in intro and "same version" in intro, intro
    # 2. After the vote: one version, its two presets.
    page.fill("#arena-prompt textarea", "Name a fruit.")
    page.click("#arena-start")
    page.wait_for_function(BOTH_IN)
    page.click("#arena-vote-a")
    page.wait_for_function("() => document.querySelector('#arena-reveal')?.innerText.includes('preset')")
    reveal = page.inner_text("#arena-reveal")
    assert "preset battle" in reveal and "same version" in reveal and "base" in reveal, reveal
    presets = dict(re.findall(r"\b([AB]) used (temperature=[\d.]+)", reveal))
    assert set(presets) == {"A", "B"} and presets["A"] != presets["B"], reveal
    page.close()


def test_enter_starts_a_battle_and_shift_enter_adds_a_line(browser, preset_arena_app):
    page = open_arena(browser, preset_arena_app)
    box = page.locator("#arena-prompt textarea")
    box.fill("Name a fruit.")
    box.press("Shift+Enter")
    page.wait_for_timeout(500)
    assert box.input_value() == "Name a fruit.\n" and page.inner_text("#arena-status").strip() == ""
    box.press("Enter")
    page.wait_for_function(BOTH_IN)
    assert box.input_value() == "Name a fruit.\n"  # Enter started the battle instead of adding a line
    assert "Enter starts a battle" in page.inner_text("#arena-prompt")  # and the box says so
    page.close()


def test_answers_render_as_markdown_and_their_markup_never_runs(browser, preset_arena_app):
    page = open_arena(browser, preset_arena_app)
    page.on("dialog", lambda dialog: dialog.dismiss())
    page.fill("#arena-prompt textarea", "Give one tip.")
    page.click("#arena-start")
    page.wait_for_function(BOTH_IN)
    page.wait_for_timeout(500)
    for side in ("a", "b"):
        assert page.inner_text(f"#arena-{side}-name").strip() == side.upper()  # which answer is which
        answer = page.locator(f"#arena-{side}-text")
        assert answer.locator("li").count() == 2, answer.inner_html()
        assert answer.locator("strong").first.inner_text() == "Set Clear Goals"
        assert "**" not in answer.inner_text()
        assert answer.locator("script").count() == 0
        assert all(img.get_attribute("onerror") is None for img in answer.locator("img").all())
    assert page.evaluate("window.__pwned") is None
    page.close()
