"""Automatic metrics for reports and benchmarks: lengths and distinct-n for text; brightness,
colour and texture for images."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def words(text: str) -> int:
    return len(text.split())


def distinct_n(texts: Sequence[str], n: int) -> float:
    """Share of unique n-grams among all n-grams of the texts (higher = more diverse)."""
    grams = [tuple(tokens[i : i + n]) for text in texts for tokens in [text.lower().split()] for i in range(len(tokens) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def text_metrics(texts: Sequence[str]) -> dict[str, float]:
    lengths = [words(t) for t in texts]
    return {
        "count": len(texts),
        "mean_words": round(statistics.fmean(lengths), 2) if lengths else 0.0,
        "median_words": float(statistics.median(lengths)) if lengths else 0.0,
        "distinct_1": round(distinct_n(texts, 1), 3),
        "distinct_2": round(distinct_n(texts, 2), 3),
    }


def brightness(image: object) -> float:
    """Mean luma (Rec. 601 weights) of an RGB image (PIL or HxWx3 array), on 0-255."""
    import numpy as np

    pixels = np.asarray(image.convert("RGB") if hasattr(image, "convert") else image, dtype=float)
    return float((pixels[..., :3] @ np.array([0.299, 0.587, 0.114])).mean())


def image_metrics(images: Sequence[object]) -> dict[str, float]:
    """Brightness, contrast (per-image luma spread) and saturation of a set of images, and two
    measures of texture: fine detail and edge steepness (`texture_metrics`)."""
    import numpy as np

    if not images:
        return {"count": 0}
    arrays = [np.asarray(i.convert("RGB") if hasattr(i, "convert") else i, dtype=float)[..., :3] for i in images]
    luma = [a @ np.array([0.299, 0.587, 0.114]) for a in arrays]
    saturation = [((a.max(-1) - a.min(-1)) / np.maximum(a.max(-1), 1)).mean() for a in arrays]
    texture = [texture_metrics(y) for y in luma]
    return {
        "count": len(images),
        "mean_brightness": round(float(np.mean([y.mean() for y in luma])), 2),
        "sd_brightness": round(float(np.std([y.mean() for y in luma])), 2),
        "mean_contrast": round(float(np.mean([y.std() for y in luma])), 2),
        "mean_saturation": round(float(np.mean(saturation)), 3),
        "mean_fine_detail": round(float(np.mean([t[0] for t in texture])), 4),
        "mean_edge_steepness": round(float(np.mean([t[1] for t in texture])), 4),
    }


def texture_metrics(luma: object) -> tuple[float, float]:
    """(fine detail, edge steepness) of a luma image, both independent of its contrast.

    Fine detail: the mean difference from a Gaussian-blurred copy (sigma 1 px) over the luma sd,
    i.e. how much of the picture lives at the finest scale (grain, crisp edges). Edge steepness:
    the mean Sobel gradient of the edge pixels (those above a fifth of the strongest) over the
    strongest one, higher when edges are uniformly crisp rather than a few steep steps among
    soft ones. Both are ratios, so a change of contrast or brightness alone leaves them unchanged;
    blur, grain and sharpening move them.
    """
    import numpy as np
    from scipy.ndimage import gaussian_filter, sobel

    pixels = np.asarray(luma, dtype=float)
    fine = float(np.abs(pixels - gaussian_filter(pixels, 1.0)).mean() / max(pixels.std(), 1.0))
    gradient = np.hypot(sobel(pixels, 0), sobel(pixels, 1))
    strongest = float(gradient.max())
    steepness = float(gradient[gradient > 0.2 * strongest].mean() / strongest) if strongest > 0 else 0.0
    return fine, steepness
