"""Shared image-model fixtures: a tiny random pipeline (fast mechanics) and the shipped model.

Both are session-scoped: loading the text encoder and the UNet once keeps the suite fast.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from models.embedded_image.pipeline import EmbeddedImagePipeline, build_scheduler, build_unet
from models.image_diffusers import EMBEDDED_ASSETS, DiffusersImageGenerator


def tiny_unet(seed: int = 0) -> torch.nn.Module:
    """A ~0.1M-parameter UNet with the real architecture's structure (random weights)."""
    torch.manual_seed(seed)
    return build_unet(block_out_channels=(8, 16), attention_head_dim=4)


@pytest.fixture(scope="session")
def tiny_pipe() -> EmbeddedImagePipeline:
    pipe = EmbeddedImagePipeline(tiny_unet(), build_scheduler())
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.fixture(scope="session")
def embedded_generator() -> DiffusersImageGenerator:
    """The shipped embedded model on CPU, loaded once for all real-model tests."""
    assert (EMBEDDED_ASSETS / "model_index.json").is_file(), f"embedded image model missing at {EMBEDDED_ASSETS}"
    generator = DiffusersImageGenerator("embedded", device="cpu")
    _ = generator.pipeline  # load now, so test timings do not include it
    return generator


@pytest.fixture
def seeded_generators():
    def make(*seeds: int) -> list[torch.Generator]:
        return [torch.Generator().manual_seed(s) for s in seeds]

    return make


def images_equal(a, b) -> bool:
    import numpy as np

    return all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(a, b, strict=True))


def out_dir(tmp_path: Path) -> Path:
    return tmp_path / "images"
