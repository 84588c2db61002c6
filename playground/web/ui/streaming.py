"""How a tab's Generate is chained, so that streamed updates stay cheap.

Gradio rebuilds every output component that an update leaves out (a skip is a prop update): with
a tab's ~60 outputs that cost ~40 ms of the event loop per streamed token or denoising step, and
held up every other client's events, ratings among them (docs/PERFORMANCE.md, "Rating under
load"). So a generation is three steps:

1. `begin` (un-queued, at the click): checks the input (the content filter's blocklist and
   classifier among the checks) and clears the cards for the request, or, when the input is
   refused, says why in the status line and stops the chain there (`gate`);
2. `run` (the models queue, streamed from its own thread through the event loop,
   playground/web/ui/loop_stream.py): names only the candidates' contents, the status line and
   two States: `shown` (the recorded request, which API clients rate by) and `pending`;
3. `finish` (un-queued, after the stream): each card's facts, ratings on, the set panel and the
   final status, from `pending`.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import gradio as gr
from gradio.blocks import Block, BlockContext
from gradio.components import Component
from gradio.events import Dependency

from feedback_db.clean_text import clean_text
from models.base import check_prompt
from playground.core.moderation import Moderator, Verdict
from playground.web.ui.candidates import (
    CandidateCard,
    SetPanel,
    continue_updates,
    enable_ratings,
    rating_components,
    reset_for_new_request,
    show_set_panel,
)
from playground.web.ui.errors import USER_ERRORS
from playground.web.ui.loop_stream import served_from_loop
from playground.web.ui.wording import GUIDELINES_LINK, literal_markdown

log = logging.getLogger("playground.web.ui.streaming")
PRIVATE_STEP: dict[str, Any] = {"queue": False, "api_visibility": "private", "show_progress": "hidden"}


def begin_handler(
    params_of: Callable[..., Any],
    cards: list[CandidateCard],
    panel: SetPanel,
    status: gr.Markdown,
    shown: gr.State,
    pending: gr.State,
    refused: gr.State,
    moderator: Moderator | None = None,
) -> Callable[..., dict[Block, Any]]:
    """`begin(prompt, *knobs)`: clear the cards for the new request at the click if its input is
    valid (`params_of(*knobs)` builds and checks the parameters); otherwise leave them as they
    are and put the reason in the status line, in place of what it said before (such as "Your
    last request, restored"). One message, where the eye already is: `run` is not started, so
    no error toast nor "Error" badge repeats it. A prompt `moderator` refuses (its blocklist or
    its classifier) is refused here too, saying which rule or label fired, with a link to the
    guidelines. `refused` tells `gate` whether to stop the chain."""

    def begin(prompt_value: str, *knobs: Any) -> dict[Block, Any]:
        reason = refusal(params_of, prompt_value, knobs)
        if reason is not None:
            return {status: refused_words(reason), refused: True}
        verdict = moderated(moderator, prompt_value)
        if verdict is not None:
            return {status: filtered_words(verdict), refused: True}
        params = params_of(*knobs)
        return {**reset_for_new_request(cards, panel, params.n), shown: None, pending: None, refused: False}

    return begin


def gate(refused_value: bool) -> None:
    """Stop the chain before `run` when `begin` refused the input. Its error is not shown
    (`begin` has said why) and the step has no outputs, so nothing shows an "Error" badge either."""
    if refused_value:
        raise gr.Error("refused", visible=False, print_exception=False)


def refusal(params_of: Callable[..., Any], prompt_value: str, knobs: Sequence[Any]) -> str | None:
    """Why the input is refused (bad parameters, an empty prompt), or None when it is fine."""
    try:
        params_of(*knobs)
        check_prompt(prompt_value, max_chars=sys.maxsize)  # empty? (the length limit is the model's)
    except USER_ERRORS as error:
        return str(error)
    return None


def moderated(moderator: Moderator | None, prompt_value: str) -> Verdict | None:
    """The content filter's verdict on the prompt (the blocklist, then the classifier where one
    is configured), or None. Checked at the click so that a refusal is explained in the status
    line and the cards stay as they were; `run` checks again for API callers (the classifier's
    answer is remembered, so it runs once). A classifier that fails here is left to `run`, which
    reports the failure as any fault of a generation."""
    if moderator is None:
        return None
    try:
        return moderator.verdict(clean_text(prompt_value or ""))
    except Exception:  # any fault of a model: `run` meets it again and reports it
        log.exception("the content filter's classifier failed at the click; the generation will say so")
        return None


def refused_words(reason: str) -> str:
    return f"**Nothing was generated:** {reason}."


def filtered_words(verdict: Verdict) -> str:
    """The status line for a prompt the content filter refused: which rule or label fired (a
    blocked word masked: "b***"), and where the rules are."""
    return (
        f"**Nothing was generated:** the content filter refused this prompt; {literal_markdown(verdict.words)} fired. "
        f"The {GUIDELINES_LINK} say what it refuses and why."
    )


@dataclass(frozen=True)
class FinishedCards:
    """What `finish` puts on the cards: the stream's last update leaves it in `pending`."""

    n: int
    metas: tuple[str, ...]
    status: str
    cut: tuple[bool, ...] = ()  # per card: an answer cut at the length limit, which Continue goes on with


def finished_cards(n: int, metas: list[str], status: str, cut: list[bool] | None = None) -> FinishedCards:
    return FinishedCards(n, tuple(metas), status, tuple(cut or ()))


def finish_handler(cards: list[CandidateCard], panel: SetPanel, status: gr.Markdown) -> Callable[[FinishedCards | None], dict[Block, Any]]:
    def finish(finished: FinishedCards | None) -> dict[Block, Any]:
        if finished is None:  # stopped before it started: nothing to show
            return cast(dict[Block, Any], gr.skip())  # (an empty dict would read as one missing value)
        return {
            **{cards[i].meta: meta for i, meta in enumerate(finished.metas)},
            **show_set_panel(panel, finished.n),
            **enable_ratings(cards, finished.n),
            **continue_updates(cards, dict(enumerate(finished.cut))),
            status: finished.status,
        }

    return finish


def chain_generation(
    events: list[Dependency],
    api_name: str,
    *,
    params_of: Callable[..., Any],
    run: Callable[..., Any],
    inputs: Sequence[Component | BlockContext],
    cards: list[CandidateCard],
    panel: SetPanel,
    status: gr.Markdown,
    shown: gr.State,
    pending: gr.State,
    concurrency_limit: int,
    moderator: Moderator | None = None,
) -> None:
    """Chain begin -> run -> finish after each trigger; the first event's run is `/<api_name>`.
    `inputs` are the prompt, then `params_of`'s arguments."""
    refused = gr.State(False)  # whether `begin` refused the input: `gate` stops the chain then
    begin = begin_handler(params_of, cards, panel, status, shown, pending, refused, moderator)
    contents = [part for card in cards for part in (card.text_parts() or [card.content])]
    finish = finish_handler(cards, panel, status)
    streamed_run = served_from_loop(run)  # no worker thread per stream (playground/web/ui/loop_stream.py)
    first, *others = events
    for event, api in ((first, {"api_name": api_name}), *((e, {"api_visibility": "private"}) for e in others)):
        event.then(
            begin,
            inputs,
            [*rating_components(cards, panel), status, shown, pending, refused],
            **PRIVATE_STEP,
        ).then(gate, refused, None, **PRIVATE_STEP).success(
            streamed_run,
            inputs,
            [shown, pending, status, *contents],
            **api,
            postprocess=False,  # done once per update in the run's own thread (loop_stream.py)
            concurrency_id="models",
            concurrency_limit=concurrency_limit,
            show_progress_on=[status],
        ).then(finish, pending, [*rating_components(cards, panel), status], **PRIVATE_STEP)
