"""Layout of the playground in Chromium at laptop (1280x900) and phone (420x900) width, on the
real embedded models: what a new user trips on (issue #26).

Candidate cards carry the names the best pick uses, keep their Copy button clear of the text and
their rating rows level; on a phone every tab is in reach without an overflow menu and nothing
scrolls sideways; the set's diversity buttons keep one row; the Annotate tab's keyboard help
shows only where a keyboard is likely; the image examples show whole.
"""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from feedback_db.arena import Contestant, create_battle, finish_battle, record_vote
from feedback_db.queries import NewOutput, record_request
from feedback_db.schema import Request
from feedback_db.users import create_user
from tests.e2e.helpers import open_page, set_number, wait_done

pytestmark = [pytest.mark.e2e, pytest.mark.real_model]
WIDTHS = [1280, 420]
HEIGHT = 900
TABS = ["Text", "Image", "My history", "Arena", "Leaderboard", "Your ratings", "Annotate", "Insights", "Guidelines"]
PASSWORD = "layout-password"

# The visible cards of `#<kind>-cards`: each one's heading, and the tops of its rating rows.
CARDS_JS = """kind => [...document.querySelectorAll('#' + kind + '-cards > .card')]
    .filter(card => card.offsetParent !== null)
    .map(card => {
        const top = el => el && el.offsetParent !== null ? Math.round(el.getBoundingClientRect().top) : null;
        const row = axis => top(card.querySelector('[id$="-' + axis + '"]'));
        return {
            card: Math.round(card.getBoundingClientRect().top),
            heading: card.querySelector('.card-heading')?.innerText.trim() ?? null,
            rows: ['naturalness', 'reliability', 'thumbs', 'flag'].map(row),
        };
    })"""

# The Copy button's box against the first line of the rendered text: the boxes of the text's
# characters on the line nearest the top (one client rect per line and text node).
COPY_JS = """id => {
    const block = document.getElementById(id);
    const button = block.querySelector('button[aria-label^="Copy"]').getBoundingClientRect();
    const walker = document.createTreeWalker(block.querySelector('.md'), NodeFilter.SHOW_TEXT);
    const boxes = [];
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const range = document.createRange();
        range.selectNodeContents(node);
        boxes.push(...[...range.getClientRects()].filter(box => box.width > 0));
    }
    const top = Math.min(...boxes.map(box => box.top));
    const line = boxes.filter(box => box.top < top + 2);
    const right = Math.max(...line.map(box => box.right)), bottom = Math.max(...line.map(box => box.bottom));
    const overlap = button.left < right && button.top < bottom && button.bottom > top;
    return {lines: new Set(boxes.map(box => Math.round(box.top))).size, overlap,
            button: [button.left, button.top, button.right, button.bottom], line: [top, right, bottom]};
}"""

ONE_ROW_JS = """selector => new Set([...document.querySelectorAll(selector)]
    .filter(el => el.offsetParent !== null).map(el => Math.round(el.getBoundingClientRect().top))).size"""

FITS_JS = "() => document.documentElement.scrollWidth <= window.innerWidth"

# Each leaderboard table's scroll box: scrolled to its far right, it shows the last column whole.
TABLE_SCROLL_JS = """() => [...document.querySelectorAll('#tab-leaderboard .virtual-table-viewport')].map(box => {
    box.scrollLeft = box.scrollWidth;
    const last = [...box.querySelectorAll('th')].pop()?.getBoundingClientRect();
    const edge = box.getBoundingClientRect();
    const reaches_end = !last || (last.right <= edge.right + 1 && last.right <= window.innerWidth);
    box.scrollLeft = 0;
    return {table: box.closest('[id^=leaderboard-]')?.id, wide: box.scrollWidth > box.clientWidth, reaches_end};
})"""


def best_choices(page, kind: str, count: int) -> list[str]:
    """The best pick's choices, once all `count` are there (they arrive just after "Done")."""
    page.wait_for_function("([id, n]) => document.querySelectorAll('#' + id + ' label').length === n", arg=[f"{kind}-best", count])
    return [label.strip() for label in page.locator(f"#{kind}-best label").all_inner_texts()]


def misaligned(cards: list[dict]) -> list[str]:
    """Rating rows whose tops differ by more than 2 px between cards of one row (same card top)."""
    rows: dict[int, list[dict]] = {}
    for card in cards:
        rows.setdefault(card["card"], []).append(card)
    problems = []
    for top, row in rows.items():
        for axis, tops in enumerate(zip(*(card["rows"] for card in row), strict=True)):
            shown = [t for t in tops if t is not None]
            if shown and max(shown) - min(shown) > 2:
                problems.append(f"row at y={top}, rating row {axis}: tops {tops}")
    return problems


# Texts of very different lengths; two are runs without a space (a code, a hash), which wrap
# anywhere, so their first line reaches the card's right edge, where the Copy button sits.
UNEVEN_TEXTS = [
    "Yes.",
    "0123456789" * 30,
    "A middling answer, a couple of lines long in a card.",
    "ABCDEFGHIJ" * 12,
]


def show_uneven_texts(page, database, prompt: str) -> None:
    """Store UNEVEN_TEXTS as this browser's newest text request (the one that sent `prompt`
    made its identity) and reload: the Text tab restores it into its cards."""
    with database.sessions.begin() as session:
        mine = session.scalars(select(Request).where(Request.prompt == prompt)).one()
        record_request(
            session,
            modality="text",
            prompt=f"{prompt} (uneven)",
            parameters={},
            model_version="base",
            outputs=[NewOutput(index=i, seed=i, latency_ms=5.0, text=text, tokens=9) for i, text in enumerate(UNEVEN_TEXTS)],
            user_id=mine.user_id,
            session_id=mine.session_id,
        )
    page.reload()
    page.wait_for_function("() => (document.querySelector('#text-status')?.innerText || '').includes('restored')")
    page.wait_for_selector("#text-3-card", state="visible")
    page.wait_for_timeout(500)


@pytest.mark.parametrize("width", WIDTHS)
def test_text_cards_are_named_like_the_best_pick_with_level_ratings_and_a_clear_copy_button(browser, live_app, width):
    url, database = live_app
    context, page = open_page(browser, url, width=width, height=HEIGHT)
    # 1. A generation's cards are headed with the names the best pick gives them.
    prompt = f"Say hi at {width} px."
    page.click("#text-parameters")
    set_number(page, "text-max-tokens", 4)
    page.fill("#text-prompt textarea", prompt)
    page.click("#text-generate")
    wait_done(page, "text-status")
    cards = page.evaluate(CARDS_JS, "text")
    assert [card["heading"] for card in cards] == best_choices(page, "text", 2) == ["Candidate 1", "Candidate 2"], cards
    # 2. Four candidates of very different lengths: still named, and naturalness, reliability,
    #    thumbs and flag sit level across the cards of one row (four in one at 1280 px).
    show_uneven_texts(page, database, prompt)
    cards = page.evaluate(CARDS_JS, "text")
    assert [card["heading"] for card in cards] == best_choices(page, "text", 4) == [f"Candidate {i}" for i in range(1, 5)], cards
    assert len({card["card"] for card in cards}) == (1 if width == 1280 else 4), cards
    assert not misaligned(cards), misaligned(cards)
    # 3. The Copy button keeps clear of the first line of a text that runs to the right edge.
    for i in (1, 3):
        copy = page.evaluate(COPY_JS, f"text-{i}-rendered")
        assert copy["lines"] > 1 and not copy["overlap"], (i, copy)
    # 4. The set's five diversity buttons share one row; nothing scrolls sideways.
    assert page.evaluate(ONE_ROW_JS, "#text-diversity label") == 1
    assert page.evaluate(FITS_JS)
    context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_image_cards_are_named_like_the_best_pick_and_the_examples_show_whole(browser, live_app, width):
    url, _ = live_app
    context, page = open_page(browser, url, width=width, height=HEIGHT)
    page.get_by_role("tab", name="Image").click()
    # 1. The example prompts show whole: no chip text is cut off (by CSS or with an ellipsis).
    chips = page.locator("#tab-image .gallery-item")
    chips.first.wait_for()
    for text in page.evaluate(
        """() => [...document.querySelectorAll('#tab-image .gallery-item')].map(chip => {
            const text = chip.querySelector('div') || chip;
            return {text: text.innerText, scroll: text.scrollWidth, client: text.clientWidth};
        })"""
    ):
        assert text["scroll"] <= text["client"] and not text["text"].endswith("..."), text
    # 2. Each image card is headed with the name the best pick gives it.
    page.fill("#image-prompt textarea", "a small yellow star in the center on a black background")
    set_number(page, "image-n", 2)
    page.click("#image-parameters")
    set_number(page, "image-steps", 4)
    page.click("#image-generate")
    wait_done(page, "image-status")
    cards = page.evaluate(CARDS_JS, "image")
    assert [card["heading"] for card in cards] == best_choices(page, "image", 2) == ["Candidate 1", "Candidate 2"], cards
    assert not misaligned(cards), misaligned(cards)
    assert page.evaluate(ONE_ROW_JS, "#image-diversity label") == 1
    assert page.evaluate(FITS_JS)
    context.close()


def arena_votes(database) -> None:
    """A few voted preset battles, so the Leaderboard's tables have rows to show."""
    with database.sessions.begin() as session:
        voter = create_user(session, name="layout-voter", role="end_user")
        request = record_request(
            session,
            modality="text",
            prompt="p",
            parameters={},
            model_version="base",
            outputs=[NewOutput(index=0, seed=0, latency_ms=1, text="t")],
        )
        for outcome in ("a", "a", "b", "tie"):
            battle = create_battle(
                session,
                modality="text",
                prompt="p",
                user_id=voter.id,
                side_a=Contestant("base", "temperature=0.7"),
                side_b=Contestant("base", "temperature=1.0"),
            )
            finish_battle(session, battle_id=battle.id, request_a_id=request.id, request_b_id=request.id)
            record_vote(session, battle_id=battle.id, voter_id=voter.id, outcome=outcome)


@pytest.mark.parametrize("width", WIDTHS)
def test_every_tab_is_in_reach_and_no_tab_scrolls_sideways(browser, live_app, width):
    url, database = live_app
    if width == WIDTHS[0]:
        arena_votes(database)
    context, page = open_page(browser, url, width=width, height=HEIGHT)
    # 1. All nine tab buttons show in the tab bar: none hides behind an overflow menu.
    more = page.get_by_label("More tabs")
    assert more.count() == 0 or not more.is_visible()
    for name in TABS:
        tab = page.get_by_role("tab", name=name)
        box = tab.bounding_box()
        assert tab.is_visible() and box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, (name, box)
    # 2. No tab makes the page scroll sideways (wide tables scroll inside themselves).
    for name in TABS:
        page.get_by_role("tab", name=name).click()
        page.wait_for_timeout(300)
        if name == "Leaderboard":
            page.wait_for_function("() => document.querySelector('#leaderboard-presets')?.innerText.includes('temperature=0.7')")
        sizes = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert sizes[0] <= sizes[1], (name, sizes)
    # 3. A leaderboard table wider than the page scrolls inside itself, to its last column.
    page.get_by_role("tab", name="Leaderboard").click()
    tables = page.evaluate(TABLE_SCROLL_JS)
    assert tables and all(table["reaches_end"] for table in tables), tables
    context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_annotate_shows_the_keyboard_help_only_at_keyboard_widths_and_levels_its_cards(browser, live_app, width):
    url, database = live_app
    name, prompt = f"layout-{width}", f"Layout check at {width} px"
    with database.sessions.begin() as session:
        create_user(session, name=name, role="annotator", password=PASSWORD)
        # Two candidates of very different lengths: their score rows must still sit level.
        texts = ["Short.", "A much longer answer that runs over several lines in its card. " * 4]
        record_request(
            session,
            modality="text",
            prompt=prompt,
            parameters={},
            model_version="base",
            outputs=[NewOutput(index=i, seed=i, latency_ms=5.0, text=text, tokens=9) for i, text in enumerate(texts)],
        )
    context, page = open_page(browser, url, width=width, height=HEIGHT)
    page.get_by_role("tab", name="Annotate").click()
    page.fill("#annotate-name input", name)
    page.fill("#annotate-password input", PASSWORD)
    page.press("#annotate-password input", "Enter")
    page.wait_for_selector("#annotate-work", state="visible")
    for _ in range(30):  # other tests' requests come first in the queue
        if page.input_value("#annotate-prompt textarea") == prompt:
            break
        page.click("#annotate-skip")
        page.wait_for_timeout(700)
    assert page.input_value("#annotate-prompt textarea") == prompt
    # 1. The keyboard help: shown on a laptop, hidden on a phone.
    assert page.locator("#annotate-shortcuts").is_visible() == (width > 640)
    # 2. The header has room: who and the progress take two lines at most, Log out stays a
    #    button's height, and none of them overlap.
    boxes = {part: page.locator(f"#annotate-{part}").first.bounding_box() for part in ("who", "progress", "logout")}
    assert boxes["who"]["height"] <= 60 and boxes["progress"]["height"] <= 60 and boxes["logout"]["height"] <= 48, boxes
    for a, b in itertools.combinations(boxes.values(), 2):
        apart = a["x"] + a["width"] <= b["x"] + 1 or b["x"] + b["width"] <= a["x"] + 1
        apart = apart or a["y"] + a["height"] <= b["y"] + 1 or b["y"] + b["height"] <= a["y"] + 1
        assert apart, boxes
    # 3. The score rows and the flag sit level across the cards of one row.
    cards = page.evaluate(CARDS_JS, "annotate")
    assert [card["heading"] for card in cards] == best_choices(page, "annotate", 2) == ["Candidate 1", "Candidate 2"], cards
    assert not misaligned(cards), misaligned(cards)
    assert page.evaluate(FITS_JS)
    context.close()
