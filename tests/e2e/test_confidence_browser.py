"""Shading by token confidence in Chromium, on a fake text model that reports confidence (one word a
token; in turn p 0.93 sure, 0.55 unsure, 0.21 doubtful; alternatives 'cat' 0.31 and '<b>dog</b>'
0.12): "Shade by confidence" on and off on the Text tab, a word's probability on hover and on
keyboard focus (closed with Escape), markup in tokens shown and never run, axe-core clean with shading on in light and
dark, and answers without confidence (a backend reporting none, older rows in My history and
Annotate) shown plainly.
"""

from __future__ import annotations

import pytest

from feedback_db.users import create_user
from playground.web.ui.confidence_view import MEDIUM
from tests.db.helpers import add_text_request
from tests.e2e.helpers import open_page, set_number, wait_done
from tests.e2e.test_usability_browser import axe_script, serious_violations  # noqa: F401 - a fixture
from tests.fakes import FakeImageGenerator, FakeTextGenerator, fake_confidence
from tests.launch import app_on

pytestmark = [pytest.mark.e2e]
HOSTILE = "<img src=x onerror=window.__pwned=1>"
PROMPT = f"Describe {HOSTILE} the sea"
PASSWORD = "annotator-password"
VISIBLE = (
    "sel => { const el = document.querySelector(sel); return !!el && el.offsetParent !== null && getComputedStyle(el).display !== 'none'; }"
)
# The shaded view's text as a reader sees it: the words, without the tooltips.
SHADED_TEXT = """sel => { const el = document.querySelector(sel + ' .prose').cloneNode(true);
    el.querySelectorAll('.tok-tip').forEach(t => t.remove()); return el.textContent; }"""
# What shading adds to the page (the dark theme's audit covers these: the rest of the page has
# its own dark-theme audit to pass).
SHADED_PARTS = ["#text-0-shaded", "#text-1-shaded", "#text-confidence-legend"]


@pytest.fixture(scope="module")
def confident_app(tmp_path_factory):
    """The app on a fake text model that reports confidence (tests may switch it off)."""
    text = FakeTextGenerator(confidence=True)
    with app_on(tmp_path_factory.mktemp("confidence-e2e"), lambda: text, FakeImageGenerator) as (url, context):
        with context.database.sessions.begin() as session:
            create_user(session, name="ann", role="annotator", password=PASSWORD)
            add_text_request(session, n=2, prompt="Describe colour number 1")  # an older row: no confidence
        yield url, context, text


@pytest.fixture
def confident(confident_app):
    """The fake reports confidence in this test (and is put back so afterwards)."""
    url, context, text = confident_app
    text.confidence = True
    yield url, context, text
    text.confidence = True


def shown(page, selector: str) -> bool:
    return bool(page.evaluate(VISIBLE, selector))


def generate(page, prompt: str, n: int = 2) -> None:
    set_number(page, "text-n", n)
    page.fill("#text-prompt textarea", prompt)
    page.click("#text-generate")
    page.wait_for_function("t => (document.querySelector('#text-0-output textarea')?.value || '').includes(t)", arg=prompt.split()[-1])
    wait_done(page, "text-status", timeout_ms=60_000)


def shade(page, kind: str, on: bool) -> None:
    box = page.locator(f"#{kind}-shade input")
    if box.is_checked() != on:
        box.click()
    page.wait_for_function("([id, on]) => document.getElementById(id)?.classList.contains('show-shaded') === on", arg=[f"{kind}-cards", on])


def test_shading_on_shows_shaded_words_and_off_the_card_as_before(browser, confident, axe_script):  # noqa: F811
    url, _, _ = confident
    context, page = open_page(browser, url)
    generate(page, PROMPT)
    raw = page.input_value("#text-0-output textarea")
    # 1. Off (the default): the Markdown, no shaded view, no legend.
    assert not page.is_checked("#text-shade input")
    assert shown(page, "#text-0-rendered") and not shown(page, "#text-0-shaded") and not shown(page, "#text-confidence-legend")
    # 2. On: each card's words shaded in three bands, its text exactly the answer's, and the legend.
    shade(page, "text", True)
    for i in range(2):
        assert shown(page, f"#text-{i}-shaded") and not shown(page, f"#text-{i}-rendered") and not shown(page, f"#text-{i}-output")
    assert page.evaluate(SHADED_TEXT, "#text-0-shaded") == raw
    # "answer0 to Describe <img ...> the sea": 8 words, sure, unsure, doubtful in turn.
    assert [page.locator(f"#text-0-shaded .tok-{band}").count() for band in ("high", "mid", "low")] == [3, 3, 2]
    assert shown(page, "#text-confidence-legend") and "doubtful" in page.inner_text("#text-confidence-legend")
    # Markup in the model's words is shown as text, never run.
    assert page.locator("#text-0-shaded img").count() == 0 and HOSTILE in raw
    assert page.evaluate("() => window.__pwned") is None
    page.add_script_tag(path=str(axe_script))
    bad = serious_violations(page)
    assert not bad, "shading on, light:\n" + "\n".join(bad)
    # 3. Off again: the card exactly as before, and "Show raw text" still swaps in the raw text.
    shade(page, "text", False)
    assert shown(page, "#text-0-rendered") and not shown(page, "#text-0-shaded")
    page.locator("#text-raw input").click()
    page.wait_for_function("() => document.getElementById('text-cards').classList.contains('show-raw')")
    assert shown(page, "#text-0-output") and not shown(page, "#text-0-rendered")
    context.close()


def unsure_word(browser, url: str, prompt: str):
    """A page with one shaded answer to `prompt`; its first unsure word ("to") and that word's tooltip."""
    context, page = open_page(browser, url)
    generate(page, prompt, n=1)
    shade(page, "text", True)
    word = page.locator("#text-0-shaded .tok-mid").first
    return context, page, word, word.locator(".tok-tip")


def test_a_word_shows_its_probability_on_hover_and_on_keyboard_focus(browser, confident):
    context, page, word, tip = unsure_word(browser, confident[0], "Describe the sea")
    # 1. Hover: the unsure word "to" (p 0.55) shows its probability and the alternatives.
    assert not tip.is_visible()
    word.hover()
    tip.wait_for(state="visible")
    assert tip.inner_text() == "p 0.55 · also: 'cat' 0.31, '<b>dog</b>' 0.12"
    page.mouse.move(0, 0)
    tip.wait_for(state="hidden")
    # 2. Keyboard: from the card's heading, Tab reaches the shaded words in order; each one's
    #    tooltip shows while it has focus, and describes it.
    page.click("#text-0-heading")
    focused = []
    for _ in range(12):
        page.keyboard.press("Tab")
        state = page.evaluate(
            """() => { const el = document.activeElement;
                if (!el.classList.contains('tok')) return null;
                const tip = document.getElementById(el.getAttribute('aria-describedby'));
                return {word: el.firstChild.textContent, role: el.getAttribute('role'), tip: tip.textContent,
                        shown: getComputedStyle(tip).display !== 'none', inside: !!el.closest('#text-0-shaded')}; }"""
        )
        if state is not None:
            focused.append(state)
        if len(focused) == 2:
            break
    assert [f["word"] for f in focused] == ["to", "Describe"], focused
    assert all(f["shown"] and f["inside"] and f["role"] == "term" for f in focused)
    assert focused[1]["tip"] == "p 0.21 · also: 'cat' 0.31, '<b>dog</b>' 0.12"
    assert page.locator("#text-0-shaded .tok:focus-visible > .tok-tip").is_visible()
    context.close()


def test_escape_closes_an_open_word_tooltip_until_the_word_is_left_and_come_back_to(browser, confident):
    context, page, word, tip = unsure_word(browser, confident[0], "Describe the calm sea")
    # 1. Keyboard: Escape closes the focused word's tooltip and leaves the focus where it was;
    #    Tab away and back shows it again.
    word.focus()
    page.keyboard.press("Tab")
    page.keyboard.press("Shift+Tab")  # a keyboard focus: the tooltip shows on :focus-visible
    tip.wait_for(state="visible")
    page.keyboard.press("Escape")
    tip.wait_for(state="hidden")
    assert page.evaluate("() => document.activeElement.classList.contains('tok-mid')")
    page.keyboard.press("Tab")
    page.keyboard.press("Shift+Tab")
    tip.wait_for(state="visible")
    page.keyboard.press("Tab")
    # 2. Pointer: Escape closes the hovered word's tooltip; leaving the word and coming back shows it.
    word.hover()
    tip.wait_for(state="visible")
    page.keyboard.press("Escape")
    tip.wait_for(state="hidden")
    page.mouse.move(0, 0)
    word.hover()
    tip.wait_for(state="visible")
    context.close()


def test_axe_finds_no_serious_violations_with_shading_on_in_the_dark_theme(browser, confident, axe_script):  # noqa: F811
    url, _, _ = confident
    context, page = open_page(browser, url + "?__theme=dark")
    assert page.evaluate("() => document.body.classList.contains('dark')")
    generate(page, "Describe the dark sea")
    shade(page, "text", True)
    page.locator("#text-0-shaded .tok-low").first.focus()  # an open tooltip is audited too
    page.add_script_tag(path=str(axe_script))
    bad = serious_violations(page, SHADED_PARTS)
    assert not bad, "shading on, dark:\n" + "\n".join(bad)
    context.close()


def test_an_answer_without_confidence_renders_plainly_with_shading_on(browser, confident):
    url, _, text = confident
    text.confidence = False  # a backend that reports none
    context, page = open_page(browser, url)
    shade(page, "text", True)
    generate(page, "Describe **bold** things")
    assert shown(page, "#text-0-rendered") and not shown(page, "#text-0-shaded")
    assert page.inner_html("#text-0-shaded .prose") == "" and page.locator("#text-0-rendered strong").count() == 1
    assert "Done" in page.inner_text("#text-status")
    context.close()


def open_history_request(page, prompt: str) -> None:
    page.get_by_role("tab", name="My history").click()
    page.locator("#history-list label").filter(has_text=prompt).first.click()
    page.wait_for_function("p => document.querySelector('#history-prompt textarea')?.value === p", arg=prompt)


def test_my_history_renders_an_answer_without_confidence_plainly_with_shading_on(browser, confident):
    url, _, text = confident
    text.confidence = False
    context, page = open_page(browser, url)
    generate(page, "Describe plain history")
    open_history_request(page, "Describe plain history")
    shade(page, "history", True)
    assert shown(page, "#history-0-rendered") and not shown(page, "#history-0-shaded")
    assert "plain" in page.inner_text("#history-0-rendered")
    context.close()


def test_my_history_shades_a_stored_answer_with_confidence(browser, confident):
    url, _, _ = confident
    context, page = open_page(browser, url)
    generate(page, "Describe shaded history")
    raw = page.input_value("#text-0-output textarea")
    open_history_request(page, "Describe shaded history")
    shade(page, "history", True)
    assert shown(page, "#history-0-shaded") and not shown(page, "#history-0-rendered")
    assert page.evaluate(SHADED_TEXT, "#history-0-shaded") == raw
    # The stored tokens' bands, as the fake reported them: "answer0 to Describe shaded history"
    # has one doubtful word (the third).
    doubtful = sum(token.probability < MEDIUM for token in fake_confidence(raw.split()))
    assert doubtful >= 1 and page.locator("#history-0-shaded .tok-low").count() == doubtful
    context.close()


def test_annotate_renders_an_older_answer_without_confidence_plainly_with_shading_on(browser, confident):
    url, _, _ = confident
    context, page = open_page(browser, url)
    page.get_by_role("tab", name="Annotate").click()
    page.fill("#annotate-name input", "ann")
    page.fill("#annotate-password input", PASSWORD)
    page.press("#annotate-password input", "Enter")
    page.wait_for_selector("#annotate-work", state="visible")
    page.wait_for_function("() => (document.querySelector('#annotate-0-text textarea')?.value || '').startsWith('hi')")
    shade(page, "annotate", True)
    assert shown(page, "#annotate-0-rendered") and not shown(page, "#annotate-0-shaded")
    assert shown(page, "#annotate-confidence-legend")
    context.close()
