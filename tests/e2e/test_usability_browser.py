"""Usability and accessibility of the playground in Chromium, on the real embedded models.

One app and one browser serve the whole module: the seed, keys, disabled ratings, Markdown
(sanitized), plain wording and footer, phone layout and an axe-core audit.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from feedback_db.queries import NewOutput, record_request
from feedback_db.schema import Output, Request
from feedback_db.users import create_user
from tests.e2e.helpers import open_page as new_page
from tests.e2e.helpers import set_number, wait_done

pytestmark = [pytest.mark.e2e, pytest.mark.real_model]
PASSWORD = "usability-password"
AXE_DIR = Path.home() / ".cache" / "playground-tests" / "axe"
HOSTILE = '**Set Clear Goals**\n\n- first\n- second\n\n<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> done'


@pytest.fixture(scope="module")
def axe_script() -> Path:
    """axe-core from npm, installed once into a cache outside the repository (MPL-2.0: not vendored)."""
    script = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        if shutil.which("npm") is None:
            pytest.skip("npm is not installed, so axe-core cannot be installed for the accessibility audit")
        AXE_DIR.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            ["npm", "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(AXE_DIR), "axe-core@4"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0 or not script.exists():
            pytest.skip(f"npm could not install axe-core: {result.stderr.strip()[-300:]}")
    return script


def request_count(database, *, ended_only: bool = True) -> int:
    """Requests whose generation has ended (one is stored "running" when it starts, without
    outputs), or all of them."""
    with database.read_sessions() as session:
        query = session.query(Request)
        return (query.filter(Request.status != "running") if ended_only else query).count()


def generate_and_wait(page, database, button: str = "#text-generate", status: str = "text-status") -> None:
    """Click Generate and wait until this request is recorded with its outputs and shown as done."""
    before = request_count(database)
    page.click(button)
    deadline = 240_000
    while request_count(database) == before and deadline > 0:
        page.wait_for_timeout(200)
        deadline -= 200
    wait_done(page, status)


def test_the_seed_stays_blank_and_each_request_gets_its_own_random_seed(browser, live_app):
    url, database = live_app
    context, page = new_page(browser, url)
    page.click("#text-parameters")
    seed = page.locator("#text-seed input")
    assert seed.input_value() == ""
    set_number(page, "text-max-tokens", 6)
    set_number(page, "text-n", 1)
    for _ in range(2):
        page.fill("#text-prompt textarea", "Name a fruit.")
        generate_and_wait(page, database)
        assert seed.input_value() == ""
    with database.read_sessions() as session:
        seeds = session.scalars(select(Output.seed).order_by(Output.id.desc()).limit(2)).all()
    assert seeds[0] != seeds[1], f"both requests used seed {seeds[0]}"
    page.fill("#text-seed input", "-3")
    page.click("#text-generate")
    page.wait_for_selector("text=the seed must be a whole number")
    context.close()


def test_enter_generates_shift_enter_adds_a_line_and_ratings_wait_for_a_candidate(browser, live_app):
    url, database = live_app
    context, page = new_page(browser, url)
    assert "Enter generates" in page.inner_text("#text-prompt")
    # 1. Before any candidate exists, nothing can be rated.
    radios = page.locator("#text-0-naturalness input[type=radio]")
    assert radios.count() == 5
    assert all(radios.nth(i).is_disabled() for i in range(5))
    assert page.locator("#text-0-thumbs input").first.is_disabled()
    assert page.locator("#text-0-flag input").is_disabled()
    assert page.locator("#text-0-comment textarea, #text-0-comment input").first.is_disabled()
    # 2. Shift+Enter adds a line and does not generate; Enter generates.
    before = request_count(database, ended_only=False)
    page.click("#text-parameters")
    set_number(page, "text-max-tokens", 8)
    box = page.locator("#text-prompt textarea")
    box.fill("Name a colour.")
    box.press("Shift+Enter")
    box.type("One word.")
    assert box.input_value() == "Name a colour.\nOne word."
    page.wait_for_timeout(500)
    assert request_count(database, ended_only=False) == before  # none started, not even running
    box.press("Enter")
    wait_done(page, "text-status")
    assert request_count(database) == before + 1
    assert box.input_value() == "Name a colour.\nOne word."  # Enter did not add a line
    # 3. Now the candidates can be rated; the card speaks plain words.
    assert not radios.first.is_disabled()
    meta = page.inner_text("#text-0-meta")
    assert re.search(r"· (finished|cut at the length limit)$", meta), meta
    # 4. The footer names the real device, counts with the right plural, and follows new requests.
    total = request_count(database)
    expected = f"{total} request" + ("" if total == 1 else "s") + ","
    page.wait_for_function("text => document.querySelector('#status').innerText.includes(text)", arg=expected, timeout=30_000)
    footer = page.inner_text("#status")
    assert "Device: cpu" in footer and "auto" not in footer
    context.close()


def test_markdown_renders_in_candidates_and_markup_is_never_run(browser, live_app):
    url, database = live_app
    with database.sessions.begin() as session:
        create_user(session, name="reader", role="annotator", password=PASSWORD)
        record_request(
            session,
            modality="text",
            prompt="Give one tip",
            parameters={},
            model_version="base",
            outputs=[NewOutput(index=i, seed=i, latency_ms=5.0, text=HOSTILE, tokens=40) for i in range(2)],
        )
    context, page = new_page(browser, url)
    page.on("dialog", lambda dialog: dialog.dismiss())
    # 1. The Text tab renders the model's Markdown (a list prompt, with bold headings).
    page.click("#text-parameters")
    set_number(page, "text-max-tokens", 60)
    set_number(page, "text-n", 1)
    page.fill("#text-seed input", "3")
    page.fill("#text-prompt textarea", "List three study tips as a numbered Markdown list with **bold** titles.")
    generate_and_wait(page, database)
    raw = page.input_value("#text-0-output textarea")
    rendered = page.locator("#text-0-rendered")
    assert rendered.is_visible() and not page.locator("#text-0-output").is_visible()
    assert rendered.locator("ol li, ul li, strong").count() > 0, raw
    # 2. The raw-text toggle swaps in the plain text.
    page.click("#text-raw input")
    assert page.locator("#text-0-output").is_visible() and not rendered.is_visible()
    page.click("#text-raw input")
    # 3. In the Annotate view, hostile markup in an output is shown as text, never run.
    page.get_by_role("tab", name="Annotate").click()
    page.fill("#annotate-name input", "reader")
    page.fill("#annotate-password input", PASSWORD)
    page.press("#annotate-password input", "Enter")
    page.wait_for_selector("#annotate-work", state="visible")
    for _ in range(20):  # earlier tests' requests come first in the queue
        if page.input_value("#annotate-prompt textarea") == "Give one tip":
            break
        page.click("#annotate-skip")
        page.wait_for_timeout(700)
    page.wait_for_selector("#annotate-0-rendered strong")
    card = page.locator("#annotate-0-rendered")
    assert card.locator("strong").first.inner_text() == "Set Clear Goals"
    assert "**" not in card.inner_text()
    assert card.locator("script").count() == 0
    assert all(img.get_attribute("onerror") is None for img in card.locator("img").all())
    page.wait_for_timeout(500)
    assert page.evaluate("window.__pwned") is None
    context.close()


def test_phone_layout_stacks_without_horizontal_scroll_and_scrolls_to_the_results(browser, live_app):
    url, database = live_app
    context, page = new_page(browser, url, width=420, height=844)
    prompt = page.locator("#text-prompt textarea").bounding_box()
    assert prompt is not None and prompt["width"] > 300, prompt
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.click("#text-parameters")
    set_number(page, "text-max-tokens", 6)
    page.click("#text-parameters")  # fold the parameters again
    page.fill("#text-prompt textarea", "Say hi.")
    generate_and_wait(page, database)
    page.wait_for_timeout(800)  # the smooth scroll
    card = page.locator("#text-0-card").bounding_box()
    assert card is not None and 0 <= card["y"] < 844 / 2, card
    assert page.evaluate("window.scrollY") > 0
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    context.close()


def test_score_groups_and_images_have_accessible_names(browser, live_app):
    url, database = live_app
    context, page = new_page(browser, url)
    page.get_by_role("radiogroup", name="Naturalness, candidate 2").wait_for(state="attached")
    assert page.get_by_role("radiogroup", name="Reliability, candidate 1").count() == 1
    names = page.eval_on_selector_all("#text-0-naturalness input[type=radio]", "els => els.map(e => e.name)")
    assert len(set(names)) == 1 and names[0], names  # one radio group: one Tab stop
    page.get_by_role("tab", name="Image").click()
    page.fill("#image-prompt textarea", "a red circle on a blue background")
    set_number(page, "image-n", 1)
    page.click("#image-parameters")
    page.fill("#image-seed input", "9")
    generate_and_wait(page, database, "#image-generate", "image-status")
    page.wait_for_function("() => (document.querySelector('#image-0-output img')?.alt || '').includes('seed 9')")
    alt = page.get_attribute("#image-0-output img", "alt")
    assert "a red circle on a blue background" in alt, alt
    context.close()


# Tabs whose select event fills an element (its selector): the audit waits for the answer.
FILLED_ON_SELECT = {"Your ratings": "#mine-summary"}
TABS = ["Text", "Image", "My history", "Arena", "Leaderboard", "Your ratings", "Annotate", "Insights", "Guidelines"]


def serious_violations(page, parts: list[str] | None = None) -> list[str]:
    """axe-core's serious and critical violations on the page, or only in the `parts` (selectors)."""
    results = page.evaluate(
        "parts => axe.run(parts ? {include: parts.map(p => [p])} : document, {resultTypes: ['violations']})",
        parts,
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} - " + "; ".join(f"{n['target']} {n['failureSummary'][-160:]!r}" for n in v["nodes"][:6])
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("tab", TABS)
def test_axe_finds_no_serious_or_critical_violations(browser, live_app, axe_script, tab):
    url, _ = live_app
    context, page = new_page(browser, url)
    page.get_by_role("tab", name=tab).click()
    if tab in FILLED_ON_SELECT:  # judged once filled: mid-way, a loading overlay makes it scroll
        page.wait_for_function(f"() => (document.querySelector('{FILLED_ON_SELECT[tab]}')?.innerText || '').trim() !== ''")
    page.wait_for_timeout(500)
    page.add_script_tag(path=str(axe_script))
    bad = serious_violations(page)
    assert not bad, f"{tab} tab:\n" + "\n".join(bad)
    context.close()


ONE_LINE_JS = """id => {
    const labels = [...document.querySelectorAll('#' + id + ' label')].filter(l => l.offsetParent);
    const tops = labels.map(l => Math.round(l.getBoundingClientRect().top));
    const card = document.querySelector('#' + id).closest('.card').getBoundingClientRect();
    const whole = l => {  // one line, not cut off by the label or the card
        const box = l.getBoundingClientRect();
        return l.getClientRects().length === 1 && box.height < 48 && l.scrollWidth <= l.clientWidth + 1
            && box.right <= card.right + 1;
    };
    return {count: labels.length, rows: new Set(tops).size, single: labels.every(whole)};
}"""


def test_four_candidates_keep_their_score_buttons_and_flag_on_one_line(browser, live_app):
    url, database = live_app
    context, page = new_page(browser, url)
    set_number(page, "text-n", 4)
    page.click("#text-parameters")
    set_number(page, "text-max-tokens", 4)
    page.fill("#text-prompt textarea", "Say hi.")
    generate_and_wait(page, database)
    # 1. Four cards side by side at laptop width.
    tops = {round(page.locator(f"#text-{i}-card").bounding_box()["y"]) for i in range(4)}
    assert len(tops) == 1, f"the four cards sit in {len(tops)} rows"
    # 2. In each card the five buttons of every score, and the flag, stay on one line each.
    for i in range(4):
        for axis in ("naturalness", "reliability"):
            shape = page.evaluate(ONE_LINE_JS, f"text-{i}-{axis}")
            assert shape == {"count": 5, "rows": 1, "single": True}, (i, axis, shape)
        flag = page.evaluate(ONE_LINE_JS, f"text-{i}-flag")
        assert flag["rows"] == 1 and flag["single"], (i, flag)
    context.close()
