"""The image texture metrics the report and the gate's judge use: they see blur and grain, and
not contrast or brightness alone."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from models.metrics import image_metrics, texture_metrics


def disc(background=(200, 200, 200), colour=(200, 30, 30)) -> Image.Image:
    image = Image.new("RGB", (64, 64), background)
    ImageDraw.Draw(image).ellipse((16, 16, 48, 48), fill=colour)
    return image


def luma(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=float) @ np.array([0.299, 0.587, 0.114])


def test_blur_lowers_fine_detail_and_edge_steepness():
    sharp, blurred = disc(), disc().filter(ImageFilter.GaussianBlur(1.5))
    (fine_sharp, steep_sharp), (fine_blurred, steep_blurred) = texture_metrics(luma(sharp)), texture_metrics(luma(blurred))
    assert fine_blurred < 0.5 * fine_sharp and steep_blurred < steep_sharp


def test_grain_raises_fine_detail():
    grainy = luma(disc()) + np.random.default_rng(0).normal(0, 6, (64, 64))
    assert texture_metrics(grainy)[0] > 2 * texture_metrics(luma(disc()))[0]


def test_contrast_and_brightness_alone_leave_texture_unchanged():
    pixels = luma(disc())
    assert np.allclose(texture_metrics(0.5 * pixels + 60), texture_metrics(pixels), rtol=1e-6)


def test_a_flat_image_has_no_texture_and_the_set_metrics_name_it():
    assert texture_metrics(np.full((8, 8), 128.0)) == (0.0, 0.0)
    metrics = image_metrics([disc(), disc().filter(ImageFilter.GaussianBlur(1.5))])
    assert {"mean_fine_detail", "mean_edge_steepness"} <= set(metrics)
