"""The views a candidate card shows its output in: the text (Markdown, raw, shaded by
confidence), the image, and the card's heading. Shared by the cards of the Text, Image and My
history tabs (playground/web/ui/candidates.py) and those of the Annotate tab."""

from __future__ import annotations

from typing import Literal, NamedTuple

import gradio as gr

from playground.web.ui.shading import shaded_view


class TextViews(NamedTuple):
    rendered: gr.Markdown
    raw: gr.Textbox
    shaded: gr.HTML


def text_views(index: int, prefix: str, *, raw_id: str, lines: int, min_height: int, copy: bool) -> TextViews:
    """Candidate `index`'s text three times: as Markdown, shown; as raw text, shown instead by the
    tab's "Show raw text" (`raw_text_toggle`, through the CSS classes); and shaded by confidence,
    shown instead by the tab's "Shade by confidence" (playground/web/ui/shading.py). Gradio
    sanitizes the Markdown's HTML (sanitize_html), and the shaded view escapes every token
    (playground/web/ui/confidence_view.py), so markup in a model's output is shown, never run."""
    rendered = gr.Markdown(
        label=f"Candidate {index + 1}",
        show_label=True,
        container=True,
        buttons=["copy"] if copy else None,
        sanitize_html=True,
        min_height=min_height,
        max_height=480,
        elem_id=f"{prefix}-rendered",
        elem_classes="rendered-output",
    )
    shaded = shaded_view(prefix)
    raw = gr.Textbox(
        label=f"Candidate {index + 1} (raw text)",
        lines=lines,
        max_lines=20,
        interactive=False,
        elem_id=raw_id,
        elem_classes="raw-output",
        buttons=["copy"] if copy else None,
    )
    return TextViews(rendered, raw, shaded)


def card_heading(index: int, prefix: str) -> gr.Markdown:
    """The card's visible name: the one its best-pick choice gives it ("Candidate 1", ...)."""
    return gr.Markdown(f"### Candidate {index + 1}", elem_id=f"{prefix}-heading", elem_classes="card-heading")


def image_view(index: int, elem_id: str, *, visible: bool, format: Literal["png", "webp"]) -> gr.Image:  # noqa: A002 - Gradio's name
    """Candidate `index`'s image, named by the card's heading (no label of its own). No "share"
    button: it needs Hugging Face Spaces and only says so; download is the copy."""
    return gr.Image(
        label=f"Candidate {index + 1}",
        show_label=False,
        interactive=False,
        height=256,
        visible=visible,
        buttons=["download", "fullscreen"],
        elem_id=elem_id,
        format=format,
    )
