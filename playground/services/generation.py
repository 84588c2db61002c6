"""Generation handlers: validate, stream from the served model version, then record the request.

Plain functions over an AppContext (no Gradio here), so the UI, the bulk `generate` command and
tests share them. A bad parameter or a refused prompt leaves the database untouched. A request
that starts is stored at once, "running" (feedback_db/open_requests.py), so a reload during a
generation loses nothing, and closed with its outputs when it ends: "finished"; "stopped" by the
user (finish reason "cancelled": partial outputs can still be rated); or "interrupted" when the
page went away (Gradio closes the stream) or the generator failed, with the text so far.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import secrets
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from feedback_db.clean_text import clean_text
from feedback_db.errors import UnknownIdError
from feedback_db.open_requests import close_request, discard_request
from feedback_db.queries import NewOutput, record_request
from feedback_db.replacements import replace_output
from models.base import (
    ImageGenerator,
    ImageOutput,
    ImageParams,
    InvalidParameterError,
    PartialAnswer,
    TextOutput,
    TextParams,
    TextProgress,
    TokenConfidence,
    check_prompt,
)
from playground.core.errors import ContentRefusedError, IncompleteGenerationError, RequestErasedError, StaleRequestError
from playground.core.moderation import refusal_message, withheld_notice
from playground.services.confidence_screen import screened
from playground.services.identity import Viewer, find_viewer, viewer_in_transaction
from playground.services.output_rows import image_row, partial_text_rows, request_parameters, text_row
from playground.serving.context import AppContext, ServedVersion

logger = logging.getLogger(__name__)
P = TypeVar("P", TextParams, ImageParams)


@dataclass
class Recorded:
    """Where a finished generation landed in the database."""

    request_id: int
    output_ids: list[int]
    model_version: str
    personal_ratings: int | None = None  # the viewer's own version answered, trained on this many of its ratings

    @property
    def version_words(self) -> str:
        """The answering version as the card says it: "version `text-v3`", or for the viewer's
        personal version "your version `text-p-...` (trained on 57 of your ratings)"."""
        if self.personal_ratings is None:
            return f"version `{self.model_version}`"
        return f"your version `{self.model_version}` (trained on {self.personal_ratings} of your ratings)"


@dataclass
class TextUpdate:
    texts: list[str]  # as shown: a moderated candidate's text is replaced by a notice
    outputs: list[TextOutput] = field(default_factory=list)
    recorded: Recorded | None = None  # set on the last update only
    withheld: list[str | None] = field(default_factory=list)  # per candidate: why, or None
    # Per candidate, its tokens' confidence so far (empty: none reported, or its text is withheld).
    confidence: list[tuple[TokenConfidence, ...]] = field(default_factory=list)


@dataclass
class ImageUpdate:
    step: int
    total_steps: int
    previews: list[Any] | None = None
    outputs: list[ImageOutput] = field(default_factory=list)
    recorded: Recorded | None = None  # set on the last update only


def stream_text(
    context: AppContext,
    viewer: Viewer | None,
    prompt: str,
    params: TextParams,
    cancel: threading.Event | None = None,
    source: str = "playground",
    version: str | None = None,
    client_key: str | None = None,
    replacing: int | None = None,
    continuing: PartialAnswer | None = None,
) -> Iterator[TextUpdate]:
    """Yield every candidate's text as it grows; the last update carries the recorded ids.

    `version` names the model version to answer with (the arena's sides); None serves the
    active one. `client_key` names a browser with no identity row yet: it is created with the
    request. `replacing` names an output of the viewer's: the one candidate takes its card in
    its request instead of making a new request (playground/services/regeneration.py).
    `continuing`: the model goes on with that answer; the texts are the whole answer
    (playground/services/continuation.py).
    """
    # 1. Cheap validation before touching the model (the generator validates again). The seed
    #    is drawn here when none is given, so text cut off by a reload still knows its seeds.
    parameters = request_parameters(context, "text", params)
    params = with_seed(params.validate())
    prompt = screened_prompt(context, prompt)
    cancel = cancel or threading.Event()
    # 2. Serve the viewer's personal version, else the active one (or the arena's pick), and store the
    #    request as running (a card's regeneration is stored when it ends, in its card's place).
    # 3. Stream; `stream` raises InvalidParameterError at once for bad prompts. Partial texts
    #    pass the (cheap) blocklist; finished ones every check.
    final: TextProgress | None = None
    with context.serving("text", version, _owner(context, viewer, client_key)) as (generator, served):
        stream = generator.stream(prompt, params, cancel, continuing=continuing)  # checks the prompt before anything is stored
        started = _Started(time.monotonic(), _open(context, viewer, "text", prompt, parameters, served, source, client_key, replacing))
        interval_s = context.settings.stream_interval_ms / 1000
        texts_so_far: list[str] = []
        confidence_so_far: list[tuple[TokenConfidence, ...]] = []
        try:
            for progress in paced(stream, interval_s):
                if progress.done:
                    final = progress
                    break
                texts_so_far, confidence_so_far = progress.texts, progress.confidence
                blocked = [context.moderator.blocklisted(t) for t in progress.texts]
                yield TextUpdate(
                    texts=[_shown(t, b) for t, b in zip(progress.texts, blocked, strict=True)],
                    confidence=_confidence(context, progress.confidence, blocked),
                )
            if final is None:
                raise IncompleteGenerationError("the text stream ended without a final update")
        except BaseException as ended:
            # 4a. Cut off (the page went away: GeneratorExit) or failed: stop the model, keep the text so far.
            cancel.set()
            _interrupt(context, started, lambda: partial_text_rows(context, texts_so_far, confidence_so_far, params, started.at), ended)
            raise
    # 4. Record the outputs (with any moderation) and close the request, in one transaction.
    withheld = context.moderator.reasons([clean_text(o.text) for o in final.outputs])
    outputs = [text_row(o, reason) for o, reason in zip(final.outputs, withheld, strict=True)]
    recorded = _close(context, started, viewer, served, outputs, replacing)
    texts = [_shown(clean_text(o.text), reason) for o, reason in zip(final.outputs, withheld, strict=True)]
    confidence = _confidence(context, [o.confidence or () for o in final.outputs], withheld)
    yield TextUpdate(texts=texts, outputs=final.outputs, recorded=recorded, withheld=withheld, confidence=confidence)


def _confidence(
    context: AppContext, tokens: list[tuple[TokenConfidence, ...]], withheld: list[str | None]
) -> list[tuple[TokenConfidence, ...]]:
    """Each candidate's tokens as shown: none for one whose text is withheld (its notice shows),
    and no blocklisted alternative (playground/services/confidence_screen.py)."""
    return [screened(context.moderator, found) or () if reason is None else () for found, reason in zip(tokens, withheld, strict=False)]


def _owner(context: AppContext, viewer: Viewer | None, client_key: str | None) -> int | None:
    """Whose personal version may answer: the viewer's, or the identity of the browser named by
    `client_key` (one with no identity row yet has no personal version)."""
    if viewer is None and client_key is not None:
        viewer = find_viewer(context.database, client_key)
    return viewer.user_id if viewer is not None else None


def paced(progress: Iterable[TextProgress], interval_s: float) -> Iterator[TextProgress]:
    """The stream with at most one partial update per `interval_s`, and every final one.

    A partial update holds every candidate's whole text so far, so one left out loses nothing:
    the next carries its tokens. The first goes out at once (the first token is what a user
    waits for). Each update is web-server work per browser (Gradio diffs and sends it): 20
    browsers each streaming 200 tokens at 100 tokens/s took 13.1 s with one update per token
    and 7.2 s paced at 50 ms; 20 updates/s reads as smoothly (docs/PERFORMANCE.md, "Streaming
    fan-out")."""
    last_sent = -float("inf")
    for item in progress:
        now = time.monotonic()
        if item.done or now - last_sent >= interval_s:
            last_sent = now
            yield item


def screened_prompt(context: AppContext, prompt: str) -> str:
    """The prompt without control characters, or ContentRefusedError if the filter refuses it."""
    cleaned = clean_text(prompt or "")
    verdict = context.moderator.verdict(cleaned)
    if verdict is not None:
        raise ContentRefusedError(refusal_message(verdict))
    return cleaned


def _shown(text: str, reason: str | None) -> str:
    return text if reason is None else withheld_notice(reason)


def stream_image(
    context: AppContext,
    viewer: Viewer | None,
    prompt: str,
    params: ImageParams,
    cancel: threading.Event | None = None,
    source: str = "playground",
    version: str | None = None,
    client_key: str | None = None,
    replacing: int | None = None,
) -> Iterator[ImageUpdate]:
    """Yield denoising progress (with previews where cheap); the last update carries the images.
    `replacing`: as for `stream_text`."""
    # 1. Validate; 2. store the request as running (as for text); the images are all ready at once,
    #    so one cut off before the end has none.
    params.validate()
    prompt = screened_prompt(context, prompt)
    parameters = request_parameters(context, "image", params)
    cancel = cancel or threading.Event()
    with context.serving("image", version, _owner(context, viewer, client_key)) as (generator, served):
        check_prompt(prompt, generator.max_prompt_chars)  # before anything is stored
        started = _Started(time.monotonic(), _open(context, viewer, "image", prompt, parameters, served, source, client_key, replacing))
        try:
            images = yield from _generate_images(context, generator, prompt, params, cancel)
        except BaseException as ended:
            cancel.set()
            _interrupt(context, started, list, ended)
            raise
    # 3. Record each image's path (relative to the data dir where possible) and close the request.
    outputs = [image_row(context, o) for o in images]
    recorded = _close(context, started, viewer, served, outputs, replacing)
    yield ImageUpdate(step=params.steps, total_steps=params.steps, outputs=images, recorded=recorded)


def _generate_images(
    context: AppContext, generator: ImageGenerator, prompt: str, params: ImageParams, cancel: threading.Event | None
) -> Generator[ImageUpdate, None, list[ImageOutput]]:
    """Run the blocking pipeline in a worker, yield its progress, and return its images."""
    updates: queue.Queue[tuple[str, Any]] = queue.Queue()

    # 1. The pipeline blocks, so it runs in a worker and reports each step through a queue.
    def on_step(step: int, total: int, previews: list[Any] | None) -> None:
        updates.put(("step", (step, total, previews)))

    def work() -> None:
        try:
            images = generator.generate(prompt, params, context.settings.images_dir, on_step, cancel)
            updates.put(("done", images))
        except BaseException as error:  # re-raised in the caller's thread below
            updates.put(("error", error))

    threading.Thread(target=work, name="image-generate", daemon=True).start()
    # 2. Relay progress until the images are ready (or the generation failed).
    while True:
        kind, payload = updates.get()
        if kind == "step":
            step, total, previews = payload
            yield ImageUpdate(step=step, total_steps=total, previews=previews)
        elif kind == "error":
            raise payload
        else:
            images: list[ImageOutput] = payload
            return images


@dataclass(frozen=True)
class _Opened:
    """A request stored as running, and the viewer it was stored for."""

    request_id: int
    viewer: Viewer | None


@dataclass(frozen=True)
class _Started:
    at: float  # time.monotonic() when the generation started
    opened: _Opened | None  # None for a card's regeneration, stored only when it ends


def with_seed(params: P) -> P:
    """`params` with a seed: the backends' own rule (candidate i uses seed + i) then names every
    candidate's seed before it is done."""
    return params if params.seed is not None else dataclasses.replace(params, seed=secrets.randbelow(2**32))


def _open(
    context: AppContext,
    viewer: Viewer | None,
    modality: str,
    prompt: str,
    parameters: dict[str, Any],
    served: ServedVersion,
    source: str,
    client_key: str | None,
    replacing: int | None,
) -> _Opened | None:
    if replacing is not None:
        return None
    with context.database.sessions.begin() as session:
        if viewer is None and client_key is not None:
            viewer = viewer_in_transaction(session, client_key)
        request = record_request(
            session,
            outputs=[],
            running=True,
            modality=modality,
            prompt=prompt.strip(),
            parameters=parameters,
            model_version=served.name,
            user_id=viewer.user_id if viewer else None,
            session_id=viewer.browser_session if viewer else None,
            source=source,
        )
        return _Opened(request.id, viewer)


def _close(
    context: AppContext, started: _Started, viewer: Viewer | None, served: ServedVersion, outputs: list[NewOutput], replacing: int | None
) -> Recorded:
    """Store the finished outputs: the running request's, or the one replacing a card's output."""
    with context.database.sessions.begin() as session:
        if started.opened is None:
            return _record_replacement(session, viewer, replacing, outputs, served)
        status = "stopped" if any(o.finish_reason == "cancelled" for o in outputs) else "finished"
        try:
            request = close_request(session, request_id=started.opened.request_id, outputs=outputs, status=status)
        except UnknownIdError as error:  # the viewer deleted their data meanwhile (services/erasure.py)
            raise RequestErasedError("Your data was deleted while this answer was generated; nothing of it was kept.") from error
        return Recorded(request.id, [o.id for o in request.outputs], served.name, served.personal_ratings)


def _interrupt(context: AppContext, started: _Started, rows: Callable[[], list[NewOutput]], ended: BaseException) -> None:
    """Close a request cut off before its end as "interrupted", with `rows()` (the text so far);
    one whose input the generator refused is deleted instead (bad input stores nothing).

    On GeneratorExit Gradio is closing the stream from its event loop (the page went away), so the
    write goes to a thread, not to the loop; otherwise it is done here, before the error goes on."""
    if started.opened is None:
        return
    request_id = started.opened.request_id

    def close() -> None:
        try:
            with context.database.sessions.begin() as session:
                if isinstance(ended, InvalidParameterError):
                    discard_request(session, request_id=request_id)
                else:
                    close_request(session, request_id=request_id, outputs=rows(), status="interrupted")
        except UnknownIdError:  # deleted with its identity's data (services/erasure.py): nothing to close
            logger.info("interrupted request %s was deleted meanwhile", request_id)
        except Exception:  # the error that ended the generation is the one to report
            logger.exception("could not close interrupted request %s", request_id)

    if isinstance(ended, GeneratorExit):
        threading.Thread(target=close, name="close-interrupted", daemon=True).start()
    else:
        close()


def _record_replacement(
    session: Session, viewer: Viewer | None, replacing: int | None, outputs: list[NewOutput], served: ServedVersion
) -> Recorded:
    """The one new output in the place of `replacing`, in the viewer's own request (checked again
    here, in the write transaction: a second click may have replaced it meanwhile)."""
    if viewer is None or replacing is None or len(outputs) != 1:
        raise StaleRequestError("there is no candidate of yours to regenerate here")
    new = replace_output(session, output_id=replacing, session_id=viewer.browser_session, output=outputs[0])
    return Recorded(new.request_id, [new.id], served.name, served.personal_ratings)
