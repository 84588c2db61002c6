"""The synthetic data set: pixel analysis reads back what was rendered; held-out stays held out."""

from __future__ import annotations

import random

from models.embedded_image.scenes import (
    Scene,
    all_scenes,
    analyse_image,
    held_out_scenes,
    is_held_out,
    render,
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
