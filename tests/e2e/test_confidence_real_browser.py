"""Shading by confidence on the real embedded text model, in Chromium: with "Shade by confidence"
on, the answer shows its words shaded, exactly its text, each shaded word with a probability."""

from __future__ import annotations

import re

import pytest

from tests.e2e.helpers import open_page, set_number, wait_done
from tests.e2e.test_confidence_browser import SHADED_TEXT

pytestmark = [pytest.mark.e2e, pytest.mark.real_model]
TIP = re.compile(r"^p (0\.\d\d|1\.00|<0\.01)( · also: .+)?$")


def test_shading_on_shows_the_real_models_words_shaded(browser, live_app):
    url, _ = live_app
    context, page = open_page(browser, url)
    set_number(page, "text-n", 1)
    page.click("#text-parameters")
    set_number(page, "text-max-tokens", 24)
    page.fill("#text-prompt textarea", "Name three colours of the sea.")
    page.click("#text-shade input")
    page.click("#text-generate")
    wait_done(page, "text-status")
    raw = page.input_value("#text-0-output textarea")
    assert raw and page.locator("#text-0-shaded .tok").count() > 0
    assert not page.is_visible("#text-0-rendered")
    assert page.evaluate(SHADED_TEXT, "#text-0-shaded") == raw
    tips = page.eval_on_selector_all("#text-0-shaded .tok-tip", "els => els.map(e => e.textContent)")
    assert tips and all(TIP.match(tip) for tip in tips), tips[:5]
    context.close()
