"""The image backend on the shipped embedded model: files, metadata, seeds, progress,
cancellation, versions, validation."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from PIL import Image

from models.base import ImageParams, InvalidParameterError, UnknownVersionError
from models.embedded_image.lora import add_adapter, save_adapter
from models.embedded_image.pipeline import build_unet
from models.image_diffusers import DiffusersImageGenerator
from tests.models_image.conftest import images_equal

PROMPT = "a large red circle at the top left on a light blue background"
FAST = ImageParams(steps=8, n=2, seed=11, width=128, height=96)

pytestmark = pytest.mark.real_model


def test_images_are_saved_as_png_with_metadata_and_reproduce_by_seed(embedded_generator, tmp_path) -> None:
    outputs = embedded_generator.generate(PROMPT, FAST, tmp_path / "a")
    assert [o.seed for o in outputs] == [11, 12] and [o.index for o in outputs] == [0, 1]
    for output in outputs:
        assert output.path.name == f"{output.sha256}.png" and output.finish_reason == "stop"
        saved = Image.open(output.path)
        assert saved.size == (128, 96)
        assert saved.text["prompt"] == PROMPT and saved.text["seed"] == str(output.seed)
        assert saved.text["model_version"] == "base" and saved.text["model"] == "embedded"
    again = embedded_generator.generate(PROMPT, FAST, tmp_path / "b")
    assert [o.sha256 for o in again] == [o.sha256 for o in outputs]
    # Image i depends on seed + i only: asking for seed 12 alone gives the second image.
    single = embedded_generator.generate(PROMPT, ImageParams(steps=8, n=1, seed=12, width=128, height=96), tmp_path)
    diff = np.abs(np.asarray(single[0].image, float) - np.asarray(outputs[1].image, float))
    assert diff.max() <= 2  # batch-size-dependent float rounding at most


def test_progress_is_reported_each_step_with_previews(embedded_generator, tmp_path) -> None:
    steps: list[tuple[int, int, int]] = []
    embedded_generator.generate(PROMPT, FAST, tmp_path, on_step=lambda step, total, previews: steps.append((step, total, len(previews))))
    assert steps == [(i, 8, 2) for i in range(1, 9)]


def test_cancel_stops_early_and_reports_cancelled(embedded_generator, tmp_path) -> None:
    cancel = threading.Event()
    calls: list[int] = []

    def on_step(step, total, previews):
        calls.append(step)
        if step == 2:
            cancel.set()

    outputs = embedded_generator.generate(PROMPT, ImageParams(steps=20, seed=1), tmp_path, on_step, cancel)
    assert calls == [1, 2]
    assert outputs[0].finish_reason == "cancelled" and outputs[0].path.is_file()


def test_concurrent_requests_do_not_interfere(embedded_generator, tmp_path) -> None:
    params = ImageParams(steps=4, seed=3)
    expected = embedded_generator.generate(PROMPT, params, tmp_path)[0].sha256
    results: list[str] = []
    threads = [
        threading.Thread(target=lambda: results.append(embedded_generator.generate(PROMPT, params, tmp_path)[0].sha256)) for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 3


@pytest.fixture(scope="module")
def adapter_dir(tmp_path_factory):
    """A LoRA adapter for the shipped UNet's architecture with visible (random) effect."""
    torch.manual_seed(0)
    unet = build_unet()
    add_adapter(unet, "shift", rank=4)
    with torch.no_grad():
        for name, param in unet.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.5)
    return save_adapter(unet, tmp_path_factory.mktemp("adapter"), "shift")


def test_adapter_version_changes_outputs_and_base_restores_them(embedded_generator, adapter_dir, tmp_path) -> None:
    params = ImageParams(steps=6, seed=5)
    base = embedded_generator.generate(PROMPT, params, tmp_path)[0]
    try:
        embedded_generator.use_version("v1", adapter_dir)
        assert embedded_generator.model_version == "v1"
        adapted = embedded_generator.generate(PROMPT, params, tmp_path)[0]
        assert adapted.sha256 != base.sha256
        assert Image.open(adapted.path).text["model_version"] == "v1"
        embedded_generator.use_version("base", None)
        assert embedded_generator.generate(PROMPT, params, tmp_path)[0].sha256 == base.sha256
        embedded_generator.use_version("v1", None)  # already loaded: switch without a path
        assert images_equal([embedded_generator.generate(PROMPT, params, tmp_path)[0].image], [adapted.image])
    finally:
        embedded_generator.use_version("base", None)
    with pytest.raises(UnknownVersionError):
        embedded_generator.use_version("never-loaded", None)


@pytest.mark.parametrize(
    ("prompt", "params"),
    [
        (PROMPT, ImageParams(width=100)),
        (PROMPT, ImageParams(height=30)),
        (PROMPT, ImageParams(steps=0)),
        (PROMPT, ImageParams(n=9)),
        (PROMPT, ImageParams(guidance_scale=-1)),
        ("   ", ImageParams()),
        ("", ImageParams()),
    ],
)
def test_bad_parameters_raise_before_loading(prompt, params, tmp_path) -> None:
    generator = DiffusersImageGenerator("embedded", device="cpu")  # never loaded: validation is first
    with pytest.raises(InvalidParameterError):
        generator.generate(prompt, params, tmp_path)
    assert generator._pipe is None


@pytest.mark.parametrize("spec", ["nonexistent-org/no-model", "/nonexistent/folder"])
def test_unknown_model_raises_model_load_error(spec) -> None:
    from models.base import ModelLoadError

    with pytest.raises(ModelLoadError):
        _ = DiffusersImageGenerator(spec, device="cpu").pipeline
