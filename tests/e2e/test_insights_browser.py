"""The Insights tab in Chromium, on the real embedded text model, after one person rated through
the app: every plot draws marks, the flagged table fits its width with readable headers and short
dates, and the footer, "Your ratings" and Insights count the same feedback with the same words.

One app (a fresh database) serves the module; the test drives one browser as one person would.
"""

from __future__ import annotations

import contextlib
import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from feedback_db.users import create_user
from tests.e2e.helpers import open_page, pick, set_number, wait_done, wait_saved
from tests.e2e.test_usability_browser import axe_script, serious_violations  # noqa: F401 - a fixture

pytestmark = [pytest.mark.e2e, pytest.mark.real_model]
PASSWORD = "insights-admin-pass"
PLOTS = ("insights-scores", "insights-by-version", "insights-over-time", "insights-latency")
# What the clicks below give: two rated outputs (4 + 5 on the first, 2 on the second) and a
# diversity score for the set: 4 scores in all.
EXPECTED = {"rated outputs": 2, "scores": 4}
SHORT_DATE = re.compile(r"^\d{1,2} [A-Z][a-z]{2}( \d{4})? \d{2}:\d{2}$")  # "2 Dec 16:07"

# Drawn data marks per plot: Vega's SVG paths of the data layer with a visible extent (a line
# through a single point is a zero-length path, the empty frame this test was written for).
MARKS_JS = """ids => Object.fromEntries(ids.map(id => [id,
    [...document.querySelectorAll('#' + id + ' svg g.plot_marks > path')].filter(p => {
        const box = p.getBBox();
        return p.getAttribute('opacity') !== '0' && box.width + box.height > 0;
    }).length]))"""

# The flagged table's header cells: their text, how many lines it takes, and where they end.
HEADERS_JS = """() => {
    const block = document.querySelector('#insights-flagged');
    const edge = block.getBoundingClientRect().right;
    const lines = cell => {
        const tops = new Set();
        const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            if (!node.textContent.trim()) continue;
            const range = document.createRange();
            range.selectNodeContents(node);
            for (const rect of range.getClientRects()) if (rect.width > 0) tops.add(Math.round(rect.top));
        }
        return tops.size;
    };
    return [...block.querySelectorAll('thead th')].filter(th => th.offsetParent && th.innerText.trim()).map(th => ({
        text: th.innerText.trim(), lines: lines(th), right: th.getBoundingClientRect().right, edge,
    }));
}"""


@pytest.fixture(scope="module")
def admin(live_app):
    with live_app[1].sessions.begin() as session:
        create_user(session, name="ada", role="admin", password=PASSWORD)
    return "ada"


def counts_in(text: str) -> dict[str, int | None]:
    """The rated-output and score counts a line of the page states (None where it names none)."""
    found: dict[str, int | None] = {}
    for name, pattern in (("rated outputs", r"(\d+) rated outputs?\b"), ("scores", r"(\d+) scores?\b")):
        match = re.search(pattern, text)
        found[name] = int(match.group(1)) if match else None
    return found


def rate_two_candidates(page) -> None:
    """One request of two short candidates, rated through the cards and the set panel."""
    page.click("#text-parameters")
    set_number(page, "text-max-tokens", 8)
    set_number(page, "text-n", 2)
    page.fill("#text-prompt textarea", "Name a colour.")
    page.click("#text-generate")
    wait_done(page, "text-status")
    for elem_id, score in (("text-0-naturalness", "4"), ("text-0-reliability", "5"), ("text-1-naturalness", "2")):
        pick(page, elem_id, score)
        wait_saved(page, elem_id.rsplit("-", 1)[0] + "-saved", f"{elem_id.rsplit('-', 1)[1]} {score}")
    pick(page, "text-diversity", "3")
    wait_saved(page, "text-set-saved", "diversity 3")
    page.locator("#text-1-flag input").check()
    wait_saved(page, "text-1-saved", "Flagged")


def wait_quietly(page, script: str, arg: object, timeout_ms: int = 20_000) -> None:
    """Wait for `script` to hold, at most `timeout_ms`; the assertion that follows says what the
    page showed instead (a bare timeout would not)."""
    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_function(script, arg=arg, timeout=timeout_ms)


def text_of(page, selector: str, contains: str) -> str:
    """The element's text once it contains `contains` (or as it stands after a while)."""
    wait_quietly(page, "([s, c]) => (document.querySelector(s)?.innerText || '').includes(c)", [selector, contains])
    return page.inner_text(selector)


def open_insights(page, name: str) -> str:
    page.get_by_role("tab", name="Insights").click()
    page.fill("#insights-name input, #insights-name textarea", name)
    page.fill("#insights-password input", PASSWORD)
    page.click("#insights-login-button")
    page.wait_for_selector("#insights-work", state="visible")
    return text_of(page, "#insights-message", "score")


def test_insights_draw_every_plot_fit_the_table_and_count_as_the_footer_and_your_ratings(browser, live_app, admin, axe_script):  # noqa: F811
    context, page = open_page(browser, live_app[0])
    # 1. One person generates and rates: two rated outputs, four scores.
    rate_two_candidates(page)
    # 2. The footer (refreshed on load) and "Your ratings" count them with the same words.
    page.reload()
    footer = text_of(page, "#status", "rated output")
    assert counts_in(footer) == EXPECTED, f"footer: {footer!r}"
    page.get_by_role("tab", name="Your ratings").click()
    mine = text_of(page, "#mine-summary", "rated output")
    assert counts_in(mine) == EXPECTED, f"Your ratings: {mine!r}"
    # 3. Insights says the same, and a count agrees with its number ("1 version", never "1 versions").
    message = open_insights(page, admin)
    assert counts_in(message) == EXPECTED, f"Insights: {message!r}"
    assert re.search(r"\b1 version\b", message) and "1 versions" not in message, message
    # 4. Every plot has drawn data marks (a frame with no marks is the bug).
    wait_quietly(page, f"ids => Object.values(({MARKS_JS})(ids)).every(n => n > 0)", list(PLOTS))
    marks = page.evaluate(MARKS_JS, list(PLOTS))
    assert all(marks.values()), f"plots without drawn marks: {marks}"
    # 5. The flagged table at 1280 px: headers read as words, none past the table's right edge.
    headers = page.evaluate(HEADERS_JS)
    assert headers, "the flagged table shows no headers"
    for header in headers:
        words = len(header["text"].split())
        assert header["lines"] <= words, f"header {header['text']!r} wraps onto {header['lines']} lines"
        assert header["right"] <= header["edge"] + 1, f"column {header['text']!r} ends past the table's edge: {header}"
        assert "_" not in header["text"], f"header {header['text']!r} is a column name, not words"
    # 6. Its date is short and local to a named zone ("2 Dec 16:07", the zone in the header).
    cells = page.eval_on_selector_all("#insights-flagged tbody td", "tds => tds.map(td => td.textContent.trim())")
    assert any(SHORT_DATE.match(cell) for cell in cells), f"no short date in the flagged row: {cells}"
    assert any("UTC" in header["text"] for header in headers), f"no time zone named in {[h['text'] for h in headers]}"
    # 7. The figures themselves pass the accessibility audit (the usability test sees only the log-in).
    page.add_script_tag(path=str(axe_script))
    bad = serious_violations(page)
    assert not bad, "Insights, logged in:\n" + "\n".join(bad)
    # 8. On a phone (420 px), a wide table scrolls inside itself, never the page.
    page.set_viewport_size({"width": 420, "height": 900})
    page.wait_for_timeout(1000)
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1] + 1, f"the page scrolls sideways at 420 px: {width}"
    context.close()
