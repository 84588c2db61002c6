"""Continue a card's answer that was cut at the length limit: the model goes on from where it
stopped, and the whole answer (old text and new words) takes the card's place in its request,
as a regeneration does (feedback_db/replacements.py). The old output stays, with its ratings.

The continuation asks with the card's request - its prompt, parameters and model version - and
the output's own seed, for up to the request's max_new_tokens more tokens. It runs through
`stream_text`, so limits, moderation (of the whole answer), streaming and recording work as for
any candidate; the model side is `models.base.PartialAnswer`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

from feedback_db.errors import OutputReplacedError
from feedback_db.replacements import replaceable_output
from feedback_db.schema import Output
from models.base import PartialAnswer
from playground.core.errors import NotContinuableError
from playground.services.confidence import decode
from playground.services.generation import TextUpdate, stream_text
from playground.services.identity import Viewer
from playground.services.regeneration import CardTarget, card_target_of, text_params_for
from playground.serving.context import AppContext


@dataclass(frozen=True)
class ContinuationTarget:
    """A cut answer, and what its continuation asks with."""

    card: CardTarget
    answer: PartialAnswer
    seed: int


def continuation_target(context: AppContext, viewer: Viewer, output_id: int) -> ContinuationTarget:
    """The viewer's current text output `output_id`, if it can be continued.

    UnknownIdError if it is not the viewer's (or does not exist), OutputReplacedError if a newer
    answer holds its card, NotContinuableError if it is not a text cut at the length limit."""
    with context.database.read_sessions() as session:
        try:
            output = replaceable_output(session, output_id=output_id, session_id=viewer.browser_session)
        except OutputReplacedError as error:
            raise OutputReplacedError("this answer was already replaced: continue the card's new answer instead") from error
        check_continuable(output)
        # The stored confidence of the answer so far, so the continued answer's covers all of it.
        answer = PartialAnswer(output.text or "", output.tokens or 0, output.latency_ms, confidence=decode(output.token_confidence))
        return ContinuationTarget(card_target_of(output), answer, output.seed)


def check_continuable(output: Output) -> None:
    """Refuse what has no cut answer to continue: an image, a finished or stopped answer, or one
    the content filter withheld (its text is not shown, so it is not continued either)."""
    if output.request.modality != "text":
        raise NotContinuableError("only a text answer can be continued")
    if output.finish_reason != "length":
        raise NotContinuableError("only an answer cut at the length limit can be continued")
    if output.moderation is not None:
        raise NotContinuableError("this answer was withheld by the content filter, so it cannot be continued")
    if not (output.text or "").strip():
        raise NotContinuableError("this answer is empty: regenerate it instead")


def stream_text_continuation(
    context: AppContext, viewer: Viewer, output_id: int, cancel: threading.Event | None = None
) -> Iterator[TextUpdate]:
    """Continue text card `output_id`: the whole answer as it grows (the old text first); the
    last update carries the new output's id (`recorded.output_ids`)."""
    target = continuation_target(context, viewer, output_id)
    params = text_params_for(target.card, seed=target.seed)
    card = target.card
    yield from stream_text(
        context, viewer, card.prompt, params, cancel, version=card.model_version, replacing=output_id, continuing=target.answer
    )
