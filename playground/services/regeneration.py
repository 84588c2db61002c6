"""Regenerate one card: the card's request asked again for one candidate - the same prompt,
parameters and model version, a seed none of its outputs has - and the answer stored in the
card's place in the same request (feedback_db/replacements.py). The old output stays, with its
ratings.

Plain functions over an AppContext (no Gradio), like playground/services/generation.py, whose
streams they reuse: limits, moderation, streaming and recording work as for a new request.
"""

from __future__ import annotations

import dataclasses
import random
import threading
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from feedback_db.errors import InvalidInputError
from feedback_db.replacements import replaceable_output
from feedback_db.schema import Output
from models.base import ImageParams, Modality, TextParams, check_modality
from playground.services.generation import ImageUpdate, TextUpdate, stream_image, stream_text
from playground.services.identity import Viewer
from playground.serving.context import AppContext

SEED_LIMIT = 2**31  # seeds drawn here stay below it (every backend takes up to 2**32 - 1)
_seeds = random.SystemRandom()
P = TypeVar("P", TextParams, ImageParams)


@dataclass(frozen=True)
class CardTarget:
    """What a card's regeneration asks with, read from the card's request."""

    output_id: int
    modality: Modality
    prompt: str
    parameters: dict[str, Any]
    model_version: str
    seeds: frozenset[int]  # every seed the request's outputs used


def card_target(context: AppContext, viewer: Viewer, output_id: int) -> CardTarget:
    """The viewer's current output `output_id` and its request; UnknownIdError if it is not the
    viewer's, OutputReplacedError if it was already regenerated."""
    with context.database.read_sessions() as session:
        return card_target_of(replaceable_output(session, output_id=output_id, session_id=viewer.browser_session))


def card_target_of(output: Output) -> CardTarget:
    """What regenerating `output` asks with (read inside the caller's session)."""
    request = output.request
    seeds = frozenset(o.seed for o in request.outputs)
    parameters = dict(request.parameters or {})
    return CardTarget(output.id, check_modality(request.modality), request.prompt, parameters, request.model_version, seeds)


def fresh_seed(taken: Collection[int]) -> int:
    """A random seed that none of `taken` is, so the new candidate differs from the others."""
    while (seed := _seeds.randrange(SEED_LIMIT)) in taken:
        pass
    return seed


def text_params_for(target: CardTarget, seed: int | None = None) -> TextParams:
    """The request's text parameters for one candidate with `seed` (None: a fresh one)."""
    return _params_for(TextParams, target, seed)


def image_params_for(target: CardTarget) -> ImageParams:
    """The request's image parameters for one image with a fresh seed."""
    return _params_for(ImageParams, target, None)


def _params_for(kind: type[P], target: CardTarget, seed: int | None) -> P:
    names = {f.name for f in dataclasses.fields(kind)} - {"n", "seed"}
    stored = {name: target.parameters[name] for name in names if name in target.parameters}
    if "stop" in stored:
        stored["stop"] = tuple(stored["stop"] or ())
    return kind(**stored, n=1, seed=fresh_seed(target.seeds) if seed is None else seed).validate()


def stream_text_card(context: AppContext, viewer: Viewer, output_id: int, cancel: threading.Event | None = None) -> Iterator[TextUpdate]:
    """Regenerate text card `output_id`: its one new candidate as it grows; the last update
    carries the new output's id (`recorded.output_ids`)."""
    target = _target_of(context, viewer, output_id, "text")
    params = text_params_for(target)
    yield from stream_text(context, viewer, target.prompt, params, cancel, version=target.model_version, replacing=output_id)


def stream_image_card(context: AppContext, viewer: Viewer, output_id: int, cancel: threading.Event | None = None) -> Iterator[ImageUpdate]:
    """Regenerate image card `output_id`: denoising progress, then the new image."""
    target = _target_of(context, viewer, output_id, "image")
    params = image_params_for(target)
    yield from stream_image(context, viewer, target.prompt, params, cancel, version=target.model_version, replacing=output_id)


def _target_of(context: AppContext, viewer: Viewer, output_id: int, modality: Modality) -> CardTarget:
    target = card_target(context, viewer, output_id)
    if target.modality != modality:
        raise InvalidInputError(f"output {output_id} is not a {modality} candidate")
    return target
