"""The Image tab in Chromium on the real embedded image model: word chips build a prompt the
model understands (its picture shows the chosen colours), an unknown prompt gets a note, the
denoising progress bar shows, and the image card offers download but no Spaces-only Share."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from feedback_db.schema import Output, Request
from models.embedded_image.scenes import analyse_image
from tests.e2e.helpers import set_number, wait_appeared_or_explain, wait_done, watch_for

pytestmark = [pytest.mark.e2e, pytest.mark.real_model]


def chip(page, kind: str, word: str) -> None:
    page.locator(f"#image-vocab-{kind} label").filter(has_text=word).first.click()


def test_word_chips_build_a_prompt_the_embedded_model_draws(page, live_app):
    _, database = live_app
    page.get_by_role("tab", name="Image").click()
    # 1. A prompt with none of the model's words gets a note.
    page.fill("#image-prompt textarea", "a cat on a sofa")
    page.wait_for_function("() => (document.querySelector('#image-vocab-note')?.innerText || '').includes('none of its words')")
    # 2. Chips compose a prompt from the model's own caption words; the note goes away.
    for kind, word in (("shape", "circle"), ("colour", "red"), ("position", "top left"), ("background", "light blue")):
        chip(page, kind, word)
    expected = "a red circle at the top left on a light blue background"
    page.wait_for_function("text => document.querySelector('#image-prompt textarea').value === text", arg=expected)
    page.wait_for_function("() => (document.querySelector('#image-vocab-note')?.innerText || '').trim() === ''")
    # 3. Generate: the progress bar of the denoising steps shows beside Generate.
    page.click("#image-parameters")
    set_number(page, "image-steps", 20)  # what the model was tuned for (100 steps drift)
    set_number(page, "image-n", 4)
    # A fixed seed, so a failure reproduces (seeds 0..799 in fours drew all four right, at 20 steps).
    page.fill("#image-seed input", "0")
    watch_for(page, "#image-status .progress-bar")
    page.click("#image-generate")
    wait_appeared_or_explain(page, "#image-status .progress-bar", "image-status")
    wait_done(page, "image-status")
    # 4. The picture has the chosen colours (pixel analysis of the stored PNG).
    with database.read_sessions() as session:
        request = session.scalars(select(Request).where(Request.prompt == expected)).one()
        paths = session.scalars(select(Output.image_path).where(Output.request_id == request.id)).all()
    data_dir = Path(database.engine.url.database).parent  # the SQLite file lies in the data dir
    seen = [analyse_image(Image.open(data_dir / path)) for path in paths]
    matching = [s for s in seen if (s.object_colour, s.background) == ("red", "light blue")]
    assert len(paths) == 4 and len(matching) >= 3, (request.parameters, seen)
    # 5. Download and full screen, no Spaces-only Share.
    card = page.locator("#image-0-output")
    card.hover()
    assert card.get_by_label("Download").count() >= 1
    assert card.get_by_label("Share").count() == 0
    # 6. Clear empties the chips and the prompt.
    page.click("#image-vocab-clear")
    page.wait_for_function("() => document.querySelector('#image-prompt textarea').value === ''")
