"""Personal versions close the loop for two users with opposite tastes (images; issue #27).

Two scripted identities rate every candidate of the same 50 requests of the image loop
(tests/retrain/image_feedback.py: prompts that leave the background to the model, guidance 1.0
while collecting), generated through the app's streaming path: one likes bright images, the other
dark ones (each scores a request's candidates by brightness relative to their mean, and an object
not in the prompt's colour 1). One nightly `retrain` trains the global version on both and a
personal version per identity on its own ratings (Diffusion-DPO); both personal versions must be
promoted by the gate on their owner's held-out prompts. On the 12 never-rated prompts (4 fixed
seeds each, guidance 3.0) each identity is served its own version, which moves the share of
images past the base model's median brightness by at least 15 points in its owner's direction,
while the night's global candidate, trained on both, moves by less than each (and so does the
global version served, the base where the candidate was not promoted). Each personal version
keeps the capability it was not rated on: the object in the prompt's colour.

Measured (2-core CPU, 8 min, other work on the machine): both personal versions promoted on 12 of
12 judged prompts; the global candidate kept (8 better, 7 worse of 15 held-out prompts: the two
tastes cancel). Base median luma 158.0; share above it 0.50 (base) -> 0.88 (bright: +0.38), share
below it 0.50 -> 0.94 (dark: +0.44); the global candidate +0.04 / -0.04. Object in the prompt's
colour: base 0.98, bright 0.90, dark 0.94, global candidate 0.96.

Brightness is where the base model's candidates vary within a request (the median range within
a request is 8.7 luma, 0.31 of the overall spread; docs/RETRAIN.md), and one rater who liked
bright images moved all 48 never-rated images brighter (tests/retrain/test_image_retrain.py).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import pytest

from models.base import BASE_VERSION, ImageGenerator, ImageParams
from models.embedded_image.scenes import analyse_image
from models.metrics import brightness
from playground.core.database import open_database
from playground.core.settings import Settings
from playground.retrain import RetrainOptions, retrain
from playground.services.generation import stream_image
from playground.serving.context import build_context
from tests.retrain.image_feedback import COLLECT, MEASURE, POINT, scene_prompts
from tests.retrain.personal_loop import (
    Moves,
    add_identity,
    add_tastes,
    assert_each_served_its_own,
    assert_personal_moves,
    forget_versions,
    measure_served,
    measured_versions,
    print_moves,
    rate_request,
    split_outcomes,
)

pytestmark = [pytest.mark.real_model, pytest.mark.generality, pytest.mark.timeout(3600)]

LEAST_MOVE = 0.15  # the 15 points
# The capability check: an over-trained version that wins its rater but draws the wrong colour
# (0.98 -> 0.83 once, docs/RETRAIN.md) is not what a user asked for.
LEAST_COLOUR = 0.85


def test_two_users_with_opposite_tastes_each_get_their_own_brightness(tmp_path: Path, real_image_generator: ImageGenerator) -> None:
    started = time.perf_counter()
    forget_versions(real_image_generator)
    settings = Settings(data_dir=tmp_path / "data", device="cpu")
    database = open_database(settings)
    context = build_context(settings, database, text_factory=lambda: None, image_factory=lambda: real_image_generator)
    tastes = add_tastes(database, {"likes-bright-images": 1, "likes-dark-images": -1})
    bystander = add_identity(database, "rates-nothing")
    feedback, heldout = scene_prompts()
    colours: dict[str, float] = {}
    try:
        # 1. 50 requests x 4 candidates through the app's path; both identities rate every image.
        for k, (prompt, colour) in enumerate(feedback):
            final = list(stream_image(context, None, prompt, ImageParams(**{**COLLECT.__dict__, "seed": 1000 * k})))[-1]
            assert final.recorded is not None
            images = [output.image for output in final.outputs]
            luma = [brightness(image) for image in images]
            valid = [analyse_image(image).object_colour == colour for image in images]
            recorded = final.recorded
            rate_request(database, tastes, k, recorded.request_id, recorded.output_ids, luma, POINT, valid=valid, both_axes=False)
        # 2. One night: the global run, then one personal run per identity (both must be promoted).
        outcomes = retrain(settings, RetrainOptions(modality="image", eval_generation_prompts=12, sampling_budget_s=180))
        for outcome in outcomes:
            print(outcome.message)
        global_outcome, personal = split_outcomes(outcomes, tastes)
        for taste in tastes:
            assert personal[taste.rater_id].status == "promoted", personal[taste.rater_id].message
        global_name, who = measured_versions(tastes, global_outcome, bystander)
        # 3. Served through the app: each identity its own version, the bystander the global one.
        assert_each_served_its_own(context, "image", personal, bystander, global_name)

        # 4. Never-rated prompts, fixed seeds, what each identity is served: mean luma per image.
        def draw(generator: ImageGenerator) -> list[float]:
            drawn, kept = [], []
            for prompt, colour in heldout:
                for output in generator.generate(prompt, MEASURE, tmp_path / "measure"):
                    drawn.append(brightness(output.image))
                    kept.append(analyse_image(output.image).object_colour == colour)
            colours[generator.model_version] = sum(kept) / len(kept)
            return drawn

        values = measure_served(context, "image", draw, who)
    finally:
        forget_versions(real_image_generator)
    moves = Moves(statistics.median(values[BASE_VERSION]), values)
    print(moves.table("brightness (luma) on never-rated prompts"))
    print("object in the prompt's colour, by version:", {name: round(share, 2) for name, share in colours.items()})
    print_moves(moves, tastes)
    print(f"run time {time.perf_counter() - started:.0f} s")
    assert_personal_moves(moves, tastes, LEAST_MOVE)
    for taste in tastes:
        own = colours[personal[taste.rater_id].version or ""]
        assert own >= LEAST_COLOUR, (taste.name, own, colours)
