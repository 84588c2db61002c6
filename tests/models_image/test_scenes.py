"""The synthetic data set: pixel analysis reads back what was rendered; held-out stays held out."""

from __future__ import annotations

import random

import numpy as np

from models.embedded_image.scenes import (
    BACKGROUND_COLOURS,
    OBJECT_COLOURS,
    POSITIONS,
    PairScene,
    Scene,
    all_scenes,
    analyse_image,
    held_out_scenes,
    is_held_out,
    render,
    training_pairs,
    training_scenes,
)


def test_analysis_recovers_rendered_attributes() -> None:
    rng = random.Random(0)
    for scene in all_scenes()[::5]:
        seen = analyse_image(render(scene, rng).resize((256, 256)))
        assert (seen.object_colour, seen.background, seen.position) == (
            scene.colour,
            scene.background,
            scene.position,
        ), scene


def test_held_out_combinations_never_appear_in_training() -> None:
    held = held_out_scenes()
    assert len(held) >= 20
    assert all(is_held_out(s.shape, s.colour, s.position) for s in held)
    train_combos = {(s.shape, s.colour, s.position) for s in training_scenes()}
    assert not train_combos & {(s.shape, s.colour, s.position) for s in held}
    # Every single attribute value is still seen in training; only combinations are new.
    for attribute in ("shape", "colour", "position", "size", "background"):
        assert {getattr(s, attribute) for s in held} <= {getattr(s, attribute) for s in training_scenes()}


def test_held_out_set_is_fixed_and_captions_vary() -> None:
    assert held_out_scenes() == held_out_scenes()
    scene = Scene("circle", "red", "large", "top left", "light blue")
    assert scene.caption() == "a large red circle at the top left on a light blue background"
    rng = random.Random(1)
    assert len({scene.caption(rng) for _ in range(50)}) > 5


def test_two_object_scenes_draw_both_objects_and_hold_nothing_out() -> None:
    rng = random.Random(2)
    pairs = training_pairs(200, rng)
    for pair in pairs:
        assert isinstance(pair, PairScene)
        assert pair.first.position != pair.second.position
        assert pair.first.background == pair.second.background
        for obj in (pair.first, pair.second):
            assert not is_held_out(obj.shape, obj.colour, obj.position)
    pair = PairScene(Scene("square", "blue", "small", "top right", "white"), Scene("star", "yellow", "small", "bottom left", "white"))
    assert pair.caption() == ("a small blue square at the top right and a small yellow star at the bottom left on a white background")
    # Each object's colour shows around its own position, on the shared background.
    pixels = np.asarray(render(pair), dtype=float)
    side = pixels.shape[0]
    for obj in (pair.first, pair.second):
        x, y = (int(v * side) for v in POSITIONS[obj.position])
        assert np.linalg.norm(pixels[y, x] - OBJECT_COLOURS[obj.colour]) < 40
    assert np.linalg.norm(pixels[0, side // 2] - BACKGROUND_COLOURS["white"]) < 10
