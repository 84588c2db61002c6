"""The "My history" tab: this browser's past requests, newest first and paged; open one to see
its candidates and change its ratings (through the same handlers as the Text and Image tabs).

Everything is read through the caller's cookie identity (playground/web/ui/session.py), so the
history survives reloads and restarts and never shows another browser's requests.
"""

from __future__ import annotations

from typing import Any

import gradio as gr
from gradio.blocks import Block

from feedback_db.history import CandidateView, HistoryEntry, RequestView, history_page
from playground.serving.context import AppContext
from playground.web.ui.about import wire_about
from playground.web.ui.candidates import build_cards, raw_text_toggle
from playground.web.ui.card_ratings import wire_card, wire_set_panel
from playground.web.ui.content import Guidelines
from playground.web.ui.delete_my_data import build_delete_my_data
from playground.web.ui.errors import shown_to_user
from playground.web.ui.restore import load_view, show_request, shown_state, shown_text
from playground.web.ui.session import viewer_of
from playground.web.ui.shading import shading_toggle
from playground.web.ui.typed_choices import TypedRadio
from playground.web.ui.values import score_value
from playground.web.ui.wording import answered_by, finish_words, literal_markdown, plural, request_status_words

PER_PAGE = 10
PROMPT_CHARS = 80
NOTHING_YET = "Nothing here yet: your requests in the Text and Image tabs appear here, newest first."
REPLACED_CHARS = 300  # of a replaced candidate's text, quoted


def entry_label(entry: HistoryEntry) -> str:
    prompt = " ".join(entry.prompt.split())
    prompt = prompt if len(prompt) <= PROMPT_CHARS else prompt[: PROMPT_CHARS - 1] + "…"
    replaced = f" ({entry.replaced} replaced)" if entry.replaced else ""
    ended = f" · {words}" if (words := request_status_words(entry.status)) else ""
    return (
        f"{entry.created_at:%Y-%m-%d %H:%M} UTC · {entry.modality} · {prompt} · "
        f"{plural(entry.candidates, 'candidate')}{replaced}, {entry.rated} rated by you · "
        f"{answered_by(entry.model_version, entry.personal, markdown=False)}{ended}"
    )


def replaced_words(view: RequestView) -> str:
    """The outputs that a card's Regenerate replaced, oldest first, with this viewer's ratings:
    kept as feedback, shown here read-only (the cards above show the current candidates)."""
    if not view.replaced:
        return ""
    lines = [f"**Replaced candidates** ({len(view.replaced)}): regenerated since; kept with your ratings."]
    return "\n\n".join(lines + [_replaced_line(c, view) for c in view.replaced])


def _replaced_line(candidate: CandidateView, view: RequestView) -> str:
    # 1. Which card it was in, and its facts.
    facts = [f"Candidate {candidate.index + 1}, replaced", f"seed `{candidate.seed}`", finish_words(candidate.finish_reason)]
    # 2. This viewer's ratings of it, in the words the cards use.
    named = (("naturalness", candidate.naturalness), ("reliability", candidate.reliability))
    scores = [f"{name} {value}" for name, value in named if value]
    scores += [{1: "thumbs up", -1: "thumbs down"}[candidate.thumbs]] if candidate.thumbs in (1, -1) else []
    scores += ["flagged"] if candidate.flagged else []
    scores += ["your best pick then"] if candidate.output_id == view.best_output_id else []
    rated = "your ratings: " + ", ".join(scores) if scores else "not rated by you"
    # 3. Its text, quoted literally (an image: its file is kept under the data dir).
    text = shown_text(candidate) if view.modality == "text" else "(an image)"
    text = text if len(text) <= REPLACED_CHARS else text[: REPLACED_CHARS - 1] + "…"
    return f"- {' · '.join(facts)} · {rated}\n\n  > {literal_markdown(' '.join(text.split()))}"


def build_history_tab(context: AppContext, guidelines: Guidelines, tab: gr.Tab) -> None:
    shown = gr.State(None)  # the opened request: ShownRequest | None
    page = gr.State(1)
    # 1. The list, newest first, with paging.
    summary = gr.Markdown(elem_id="history-summary")
    entries = TypedRadio([], label="Your requests, newest first", elem_id="history-list")
    with gr.Row():
        newer = gr.Button("← Newer", size="sm", elem_id="history-newer")
        where = gr.Markdown(elem_id="history-page")
        older = gr.Button("Older →", size="sm", elem_id="history-older")
        refresh = gr.Button("↻ Refresh", size="sm", elem_id="history-refresh")
    # 2. The opened request: its prompt, candidates and this browser's ratings, all editable.
    with gr.Column(visible=False, elem_id="history-detail") as detail:
        prompt = gr.Textbox(label="Prompt", interactive=False, lines=2, max_lines=8, elem_id="history-prompt")
        facts = gr.Markdown(elem_id="history-facts", elem_classes="meta")
        with gr.Row(elem_classes="cards-tools"):
            raw_text_toggle("history")
            shading_toggle("history")
        cards, panel = build_cards("history", guidelines)
        replaced = gr.Markdown(elem_id="history-replaced")

    def list_page(page_value: int, request: gr.Request) -> tuple[str, gr.Radio, str, int]:
        with shown_to_user("load your history"):
            viewer = viewer_of(context, request)
            if viewer is None:
                return NOTHING_YET, gr.Radio(choices=[], value=None), "", 1
            with context.database.read_sessions() as session:
                found = history_page(
                    session,
                    session_id=viewer.browser_session,
                    rater_id=viewer.user_id,
                    page=max(1, int(page_value or 1)),
                    per_page=PER_PAGE,
                )
            if not found.total:
                return NOTHING_YET, gr.Radio(choices=[], value=None), "", 1
            choices = [(entry_label(e), e.request_id) for e in found.entries]
            return (
                f"{plural(found.total, 'request')} from this browser. Open one to see and change your ratings.",
                gr.Radio(choices=choices, value=None),
                f"Page {found.page} of {found.pages}",
                found.page,
            )

    def open_request(request_id: Any, request: gr.Request) -> dict[Block, Any]:
        with shown_to_user("open the request"):
            checked = score_value("the request id", request_id, low=1, high=2**63 - 1)
            viewer = viewer_of(context, request)
            if checked is None or viewer is None:
                return {detail: gr.skip()}  # an empty dict would read as one missing value
            view = load_view(context, viewer, checked)
            return {
                **show_request(context, cards, panel, view),
                detail: gr.Column(visible=True),
                shown: shown_state(view),
                prompt: view.prompt,
                facts: " · ".join(
                    [f"{view.modality}", f"{view.created_at:%Y-%m-%d %H:%M} UTC", answered_by(view.model_version, view.personal)]
                    + ([words] if (words := request_status_words(view.status)) else [])
                ),
                replaced: replaced_words(view),
            }

    common: dict[str, Any] = {"api_visibility": "private", "queue": False, "show_progress": "hidden"}
    list_outputs = [summary, entries, where, page]

    def first_page(request: gr.Request) -> tuple[str, gr.Radio, str, int]:
        return list_page(1, request)

    def newer_page(page_value: int, request: gr.Request) -> tuple[str, gr.Radio, str, int]:
        return list_page(max(1, int(page_value or 1) - 1), request)

    def older_page(page_value: int, request: gr.Request) -> tuple[str, gr.Radio, str, int]:
        return list_page(int(page_value or 1) + 1, request)

    for trigger in (tab.select, refresh.click):
        trigger(first_page, None, list_outputs, **common)

    # 3. Delete my data, at the foot: the list shows what is left (nothing) afterwards.
    def after_deleting(request: gr.Request) -> tuple[str, gr.Radio, str, int, gr.Column]:
        return (*list_page(1, request), gr.Column(visible=False))  # an opened request is gone too

    build_delete_my_data(context, after_deleting, [*list_outputs, detail])
    newer.click(newer_page, page, list_outputs, **common)
    older.click(older_page, page, list_outputs, **common)
    detail_outputs = [detail, shown, prompt, facts, replaced, panel.group, panel.diversity, panel.best, panel.saved]
    for card in cards:
        detail_outputs += card.shown_parts()
    entries.input(open_request, entries, detail_outputs, **common)
    for index, card in enumerate(cards):
        wire_card(card, index, context, shown)
        wire_about(card, index, context, shown)
    wire_set_panel(panel, context, shown)
