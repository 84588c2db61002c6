"""Pipeline mechanics on a tiny random UNet: save/load, CFG, callbacks, batching, seeds."""

from __future__ import annotations

import json

import numpy as np
import pytest

from models.embedded_image.pipeline import EmbeddedImagePipeline, build_scheduler
from tests.models_image.conftest import images_equal

PROMPT = "a large red circle at the top left on a light blue background"


def run(pipe, seeds, make, prompt=PROMPT, **kwargs):
    kwargs = {"num_inference_steps": 3, "guidance_scale": 3.0, "output_type": "np", **kwargs}
    return pipe(prompt, generator=make(*seeds), num_images_per_prompt=len(seeds), **kwargs).images


def test_save_load_round_trip_without_text_encoder(tiny_pipe, seeded_generators, tmp_path) -> None:
    tiny_pipe.save_pretrained(tmp_path)
    index = json.loads((tmp_path / "model_index.json").read_text())
    assert index["text_encoder"] == [None, None]  # the encoder comes from its package, not the folder
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model_index.json", "scheduler", "unet"]
    assert tiny_pipe.text_encoder is not None  # saving did not strip the live pipeline
    loaded = EmbeddedImagePipeline.from_pretrained(tmp_path)
    loaded.set_progress_bar_config(disable=True)
    assert images_equal(run(tiny_pipe, [1], seeded_generators), run(loaded, [1], seeded_generators))


def test_seeds_reproduce_and_images_depend_only_on_their_seed(tiny_pipe, seeded_generators) -> None:
    batch = run(tiny_pipe, [5, 6], seeded_generators)
    again = run(tiny_pipe, [5, 6], seeded_generators)
    alone = run(tiny_pipe, [6], seeded_generators)
    assert images_equal(batch, again)
    np.testing.assert_allclose(batch[1], alone[0], atol=1e-4)
    assert not np.allclose(batch[0], batch[1])


def test_guidance_and_negative_prompt_change_the_output(tiny_pipe, seeded_generators) -> None:
    guided = run(tiny_pipe, [0], seeded_generators, guidance_scale=5.0)
    unguided = run(tiny_pipe, [0], seeded_generators, guidance_scale=1.0)
    negative = run(tiny_pipe, [0], seeded_generators, guidance_scale=5.0, negative_prompt="a blue square")
    assert not np.allclose(guided, unguided)
    assert not np.allclose(guided, negative)


def test_batching_shapes_and_display_size(tiny_pipe, seeded_generators) -> None:
    images = tiny_pipe(
        [PROMPT, "a small green star in the center on a gray background"],
        num_images_per_prompt=2,
        num_inference_steps=2,
        generator=seeded_generators(0, 1, 2, 3),
        output_size=(96, 64),
    ).images
    assert len(images) == 4
    assert all(im.size == (96, 64) for im in images)
    native = run(tiny_pipe, [0, 1, 2], seeded_generators)
    assert native.shape == (3, 32, 32, 3) and native.min() >= 0 and native.max() <= 1


def test_callback_is_called_each_step_and_can_interrupt(tiny_pipe, seeded_generators) -> None:
    seen: list[tuple[int, tuple]] = []

    def callback(pipe, step, timestep, tensors):
        seen.append((step, tuple(tensors["pred_original_sample"].shape)))
        return {}

    run(
        tiny_pipe,
        [0],
        seeded_generators,
        num_inference_steps=4,
        callback_on_step_end=callback,
        callback_on_step_end_tensor_inputs=["latents", "pred_original_sample"],
    )
    assert [s for s, _ in seen] == [0, 1, 2, 3]
    assert seen[0][1] == (1, 3, 32, 32)

    def stop_after_two(pipe, step, timestep, tensors):
        seen.append((step, ()))
        pipe._interrupt = step == 1
        return {}

    seen.clear()
    images = run(tiny_pipe, [0], seeded_generators, num_inference_steps=6, callback_on_step_end=stop_after_two)
    assert [s for s, _ in seen] == [0, 1] and images.shape == (1, 32, 32, 3)


def test_bad_arguments_raise(tiny_pipe, seeded_generators) -> None:
    with pytest.raises(ValueError):  # one generator per image
        tiny_pipe(PROMPT, num_images_per_prompt=3, generator=seeded_generators(0, 1), num_inference_steps=1)
    with pytest.raises(ValueError):
        run(tiny_pipe, [0], seeded_generators, callback_on_step_end_tensor_inputs=["noise"])


def test_text_layers_must_match_the_unet(tiny_pipe) -> None:
    # A UNet built for two concatenated hidden states cannot read one: a clear error, not a shape crash.
    with pytest.raises(ValueError, match="text_layers"):
        EmbeddedImagePipeline(tiny_pipe.unet, build_scheduler(), tiny_pipe.text_encoder, tiny_pipe.tokenizer, text_layers=[6])
