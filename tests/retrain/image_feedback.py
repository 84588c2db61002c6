"""A scripted image rater and the prompts it sees, shared by the image retrain tests.

Prompts name shape, colour, size and position but no background: the embedded model then
chooses the background itself, and backgrounds decide most of an image's brightness. (With a
background in the prompt the model follows it, so a "brighter" preference would have almost
nothing to move.) Object colours exclude white and black, which cannot stand out from a white
or black background.
"""

from __future__ import annotations

import math
import random
from itertools import product

from feedback_db.queries import upsert_rating, upsert_set_rating
from models.base import ImageParams
from models.embedded_image.scenes import POSITIONS, SHAPES, SIZES, analyse_image
from models.metrics import brightness
from playground.services.generation import stream_image

COLOURS = ("red", "green", "blue", "yellow", "orange", "purple")
# Luma difference from the request's mean brightness that is worth one point of naturalness.
POINT = 8.0
# Guidance 1.0 while collecting: samples of the model's own conditional distribution, varied
# enough that most prompts get both darker and lighter candidates (at 3.0 a prompt's four
# candidates share one background), and half the cost (no unconditional pass).
COLLECT = ImageParams(steps=20, guidance_scale=1.0, n=4, width=64, height=64)
MEASURE = ImageParams(steps=20, guidance_scale=3.0, n=4, width=64, height=64, seed=2024)


def scene_prompts() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(prompt, object colour) for 50 feedback prompts and 12 never-rated measurement prompts."""
    combos = list(product(SHAPES, COLOURS, SIZES, POSITIONS))
    random.Random(7).shuffle(combos)
    where = {"center": "in the center"}
    rows = [(f"a {size} {colour} {shape} {where.get(position, 'at the ' + position)}", colour) for shape, colour, size, position in combos]
    return rows[:50], rows[50:62]


def scripted_naturalness(images, colour: str) -> list[int]:
    """The rater sees a request's candidates side by side and likes the brighter ones: 3 points
    at the candidates' mean brightness, one more (or less) per `POINT` of luma above (below) it,
    1 for an object not in the prompt's colour. Judging relative to the siblings (not on an
    absolute scale) keeps every prompt in the data: on an absolute scale the top-rated images
    were mostly yellow and orange objects, which are bright by themselves."""
    values = [brightness(image) for image in images]
    mean = sum(values) / len(values)
    scores = []
    for image, value in zip(images, values, strict=True):
        points = 3 + max(-2, min(2, math.floor((value - mean) / POINT + 0.5)))
        scores.append(points if analyse_image(image).object_colour == colour else 1)
    return scores


def collect_feedback(context, rater_id: int, prompts: list[tuple[str, str]], params: ImageParams = COLLECT) -> int:
    """Generate through the app's streaming path and rate every image through the query API."""
    rated = 0
    for k, (prompt, colour) in enumerate(prompts):
        final = list(stream_image(context, None, prompt, ImageParams(**{**params.__dict__, "seed": 1000 * k})))[-1]
        scores = scripted_naturalness([o.image for o in final.outputs], colour)
        with context.database.sessions.begin() as session:
            for naturalness, output_id in zip(scores, final.recorded.output_ids, strict=True):
                upsert_rating(session, output_id=output_id, rater_id=rater_id, source="annotator", naturalness=naturalness)
                rated += 1
            # The best pick is the brightest of the top-scored: with ties broken by anything
            # else (e.g. the output id) a third of the best-pick pairs had the darker image chosen.
            values = [brightness(o.image) for o in final.outputs]
            best = max(zip(scores, values, final.recorded.output_ids, strict=True))[2]
            upsert_set_rating(
                session, request_id=final.recorded.request_id, rater_id=rater_id, source="annotator", diversity=3, best_output_id=best
            )
    return rated


def seed_brightness_preference(database, images_dir, prompts: int = 40, prefer_bright: bool = True) -> None:
    """Rendered scenes, no generation: each prompt gets the same scene on a light and on a dark
    background (written under `images_dir`, stored relative to its parent, the data dir); the
    rater prefers one kind. Fast feedback for tests that exercise training and the gate."""
    from feedback_db.queries import NewOutput, record_request
    from models.embedded_image.scenes import Scene, is_valid, render
    from tests.db.helpers import add_rater

    images_dir.mkdir(parents=True, exist_ok=True)
    combos = [c for c in product(SHAPES, COLOURS, SIZES, POSITIONS)]
    random.Random(prompts).shuffle(combos)
    with database.sessions.begin() as session:
        rater = add_rater(session, f"scripted-{prefer_bright}-{prompts}", role="annotator")
        for k, (shape, colour, size, position) in enumerate(combos[:prompts]):
            light = next(
                Scene(shape, colour, size, position, bg)
                for bg in ("white", "beige", "light green")
                if is_valid(Scene(shape, colour, size, position, bg))
            )
            dark = next(
                Scene(shape, colour, size, position, bg) for bg in ("black", "gray") if is_valid(Scene(shape, colour, size, position, bg))
            )
            outputs = []
            for index, scene in enumerate((light, dark)):
                name = f"seed-{k}-{index}.png"
                render(scene, random.Random(k)).resize((64, 64)).save(images_dir / name)
                outputs.append(NewOutput(index=index, seed=k, latency_ms=1, image_path=f"{images_dir.name}/{name}"))
            request = record_request(
                session,
                modality="image",
                prompt=light.caption().split(" on a ")[0],
                parameters={"guidance_scale": 3.0},
                model_version="base",
                outputs=outputs,
            )
            bright_output, dark_output = request.outputs
            good, bad = (bright_output, dark_output) if prefer_bright else (dark_output, bright_output)
            upsert_rating(session, output_id=good.id, rater_id=rater.id, source="annotator", naturalness=5, reliability=5)
            upsert_rating(session, output_id=bad.id, rater_id=rater.id, source="annotator", naturalness=1, reliability=2)
            upsert_set_rating(session, request_id=request.id, rater_id=rater.id, source="annotator", diversity=3, best_output_id=good.id)
