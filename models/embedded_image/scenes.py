"""The embedded image model's world: procedurally rendered, captioned scenes.

A scene is one shape (circle, square, triangle, star, diamond) in a named colour and size at one of
five positions on a plain named-colour background; a `PairScene` puts two small shapes at two
different positions on one background. Captions vary in wording; a fixed set of
shape x colour x position combinations is held out of training so the evaluation measures
generalisation, not recall. `analyse_image` lets tests and `evaluate.py` check a generated
one-object image against the attributes of its prompt by pixel analysis.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from itertools import product

import numpy as np
from PIL import Image, ImageDraw

from models.base import ImageVocabulary

NATIVE_SIZE = 32  # the model's resolution in pixels
_SUPERSAMPLE = 4  # render at 4x and downsample so edges are anti-aliased like real images

SHAPES = ("circle", "square", "triangle", "star", "diamond")
OBJECT_COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "green": (30, 160, 50),
    "blue": (30, 60, 220),
    "yellow": (245, 220, 30),
    "orange": (245, 135, 20),
    "purple": (135, 45, 180),
    "white": (245, 245, 245),
    "black": (20, 20, 20),
}
BACKGROUND_COLOURS: dict[str, tuple[int, int, int]] = {
    "white": (250, 250, 250),
    "black": (15, 15, 15),
    "gray": (128, 128, 128),
    "light blue": (150, 195, 240),
    "light green": (165, 225, 160),
    "beige": (225, 205, 160),
}
SIZES = {"small": 0.16, "large": 0.30}  # radius as a fraction of the image side
# Object centres as fractions of the image side (x, y).
POSITIONS: dict[str, tuple[float, float]] = {
    "top left": (0.28, 0.28),
    "top right": (0.72, 0.28),
    "bottom left": (0.28, 0.72),
    "bottom right": (0.72, 0.72),
    "center": (0.5, 0.5),
}
_POSITION_PHRASES = {
    "top left": ("at the top left", "in the top left corner", "top left"),
    "top right": ("at the top right", "in the top right corner", "top right"),
    "bottom left": ("at the bottom left", "in the bottom left corner", "bottom left"),
    "bottom right": ("at the bottom right", "in the bottom right corner", "bottom right"),
    "center": ("in the center", "in the middle", "centered"),
}
_TEMPLATES = (
    "a {size} {colour} {shape} {where} on a {bg} background",
    "{size} {colour} {shape} {where}, {bg} background",
    "a {bg} background with a {size} {colour} {shape} {where}",
    "a picture of a {size} {colour} {shape} {where} on {bg}",
    "{colour} {shape}, {size}, {where}, on a {bg} background",
)
_PAIR_TEMPLATES = (
    "a {first} and a {second} on a {bg} background",
    "{first} and {second}, {bg} background",
    "a {bg} background with a {first} and a {second}",
)
# Object colours too close to a background colour to tell apart are never paired.
_MIN_CONTRAST = 110.0


@dataclass(frozen=True)
class Scene:
    shape: str
    colour: str
    size: str
    position: str
    background: str

    def caption(self, rng: random.Random | None = None) -> str:
        """A caption for the scene; `rng` picks the wording, None gives the canonical one."""
        template = _TEMPLATES[0] if rng is None else rng.choice(_TEMPLATES)
        return template.format(size=self.size, colour=self.colour, shape=self.shape, where=self.where(rng), bg=self.background)

    def where(self, rng: random.Random | None = None) -> str:
        phrases = _POSITION_PHRASES[self.position]
        return phrases[0] if rng is None else rng.choice(phrases)


@dataclass(frozen=True)
class PairScene:
    """Two small objects at different positions on the background of the first."""

    first: Scene
    second: Scene

    @property
    def background(self) -> str:
        return self.first.background

    def caption(self, rng: random.Random | None = None) -> str:
        template = _PAIR_TEMPLATES[0] if rng is None else rng.choice(_PAIR_TEMPLATES)
        first, second = (f"{o.size} {o.colour} {o.shape} {o.where(rng)}" for o in (self.first, self.second))
        return template.format(first=first, second=second, bg=self.background)


def vocabulary() -> ImageVocabulary:
    """The words this model's captions use, for word chips and the "unknown words" note.
    Prompts are composed in the word order of the first caption template."""
    return ImageVocabulary(
        groups={
            "shape": SHAPES,
            "colour": tuple(OBJECT_COLOURS),
            "size": tuple(SIZES),
            "position": tuple(POSITIONS),
            "background": tuple(BACKGROUND_COLOURS),
        },
        compose_order=("size", "colour", "shape", "position", "background"),
        templates={"position": "at the {}", "background": "on a {} background"},
        word_templates={"center": "in the center"},
        synonyms=("middle", "centered", "corner"),
    )


def _distance(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    return float(np.linalg.norm(np.subtract(a, b, dtype=float)))


def is_valid(scene: Scene) -> bool:
    """True if the object stands out from its background."""
    contrast = _distance(OBJECT_COLOURS[scene.colour], BACKGROUND_COLOURS[scene.background])
    return contrast >= _MIN_CONTRAST


def is_held_out(shape: str, colour: str, position: str) -> bool:
    """The fixed held-out combinations (about 1 in 7), never seen in training.

    A modular rule over the attribute indices spreads them evenly: every shape, colour and
    position still appears in training, only these particular combinations do not.
    """
    index = SHAPES.index(shape) + 2 * list(OBJECT_COLOURS).index(colour) + 3 * list(POSITIONS).index(position)
    return index % 7 == 3


def all_scenes() -> list[Scene]:
    scenes = [Scene(*combo) for combo in product(SHAPES, OBJECT_COLOURS, SIZES, POSITIONS, BACKGROUND_COLOURS)]
    return [s for s in scenes if is_valid(s)]


def training_scenes() -> list[Scene]:
    return [s for s in all_scenes() if not is_held_out(s.shape, s.colour, s.position)]


def training_pairs(count: int, rng: random.Random) -> list[PairScene]:
    """`count` random two-object scenes built from training scenes only (nothing held out).

    Both objects are small (two large ones at neighbouring positions would overlap), at different
    positions, on the first one's background, and both stand out from it.
    """
    small = [s for s in training_scenes() if s.size == "small"]
    pairs: list[PairScene] = []
    while len(pairs) < count:
        first, second = rng.choice(small), rng.choice(small)
        second = Scene(second.shape, second.colour, second.size, second.position, first.background)
        if first.position != second.position and first.colour != second.colour and is_valid(second):
            pairs.append(PairScene(first, second))
    return pairs


def held_out_scenes(per_combination: int = 1) -> list[Scene]:
    """A fixed evaluation set: `per_combination` scenes for each held-out combination.

    Size and background are chosen deterministically (cycling through them) so the set is the
    same on every machine and run.
    """
    combos = [c for c in product(SHAPES, OBJECT_COLOURS, POSITIONS) if is_held_out(*c)]
    scenes: list[Scene] = []
    backgrounds, sizes = list(BACKGROUND_COLOURS), list(SIZES)
    for i, (shape, colour, position) in enumerate(combos):
        candidates = [
            Scene(shape, colour, sizes[(i + k) % 2], position, backgrounds[(i + k) % len(backgrounds)]) for k in range(len(backgrounds) * 2)
        ]
        scenes.extend([s for s in candidates if is_valid(s)][:per_combination])
    return scenes


def render(scene: Scene | PairScene, rng: random.Random | None = None, size: int = NATIVE_SIZE) -> Image.Image:
    """Draw a scene; `rng` jitters position and size a little so no two renders are identical."""
    # 1. Background, supersampled.
    side = size * _SUPERSAMPLE
    image = Image.new("RGB", (side, side), BACKGROUND_COLOURS[scene.background])
    # 2. The object(s).
    for obj in (scene.first, scene.second) if isinstance(scene, PairScene) else (scene,):
        _draw_object(ImageDraw.Draw(image), obj, side, rng)
    # 3. Downsample with a box filter: area averaging is what a camera sensor does.
    return image.resize((size, size), Image.Resampling.BOX)


def _draw_object(draw: ImageDraw.ImageDraw, scene: Scene, side: int, rng: random.Random | None) -> None:
    # 1. Geometry in supersampled pixels, with optional jitter.
    cx, cy = POSITIONS[scene.position]
    radius = SIZES[scene.size]
    if rng is not None:
        cx, cy = cx + rng.uniform(-0.05, 0.05), cy + rng.uniform(-0.05, 0.05)
        radius *= rng.uniform(0.85, 1.15)
    cx, cy, r = cx * side, cy * side, radius * side
    # 2. The shape.
    fill = OBJECT_COLOURS[scene.colour]
    if scene.shape == "circle":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
    elif scene.shape == "square":
        s = r * 0.9
        draw.rectangle((cx - s, cy - s, cx + s, cy + s), fill=fill)
    elif scene.shape == "triangle":
        draw.polygon([(cx, cy - r), (cx + r, cy + r * 0.8), (cx - r, cy + r * 0.8)], fill=fill)
    elif scene.shape == "diamond":
        draw.polygon([(cx, cy - r), (cx + r * 0.8, cy), (cx, cy + r), (cx - r * 0.8, cy)], fill=fill)
    elif scene.shape == "star":
        angles = np.linspace(-np.pi / 2, 3 * np.pi / 2, 11)[:-1]
        radii = [r if k % 2 == 0 else r * 0.45 for k in range(10)]
        draw.polygon([(cx + q * np.cos(a), cy + q * np.sin(a)) for a, q in zip(angles, radii, strict=True)], fill=fill)
    else:
        raise ValueError(f"unknown shape {scene.shape!r}")


@dataclass(frozen=True)
class ImageAnalysis:
    """What pixel analysis sees in an image: nearest named colours and the object's position."""

    object_colour: str
    background: str
    position: str
    object_fraction: float  # share of pixels that differ from the background


def _nearest(rgb: np.ndarray, palette: dict[str, tuple[int, int, int]]) -> str:
    return min(palette, key=lambda name: _distance(tuple(rgb), palette[name]))


def analyse_image(image: Image.Image) -> ImageAnalysis:
    """Find background colour, object colour and object position by pixel analysis.

    1. Downsample to the native size; the background colour is the median of the border pixels
       (an object covers less than half of the border at any position).
    2. Object pixels are those clearly far from that colour; the object colour is the median of the
       most distant ones (the core, free of anti-aliased edges).
    3. The position is the named position nearest to the object pixels' centroid.
    """
    pixels = np.asarray(image.convert("RGB").resize((NATIVE_SIZE, NATIVE_SIZE), Image.Resampling.BOX), dtype=float)
    border = np.concatenate([pixels[0], pixels[-1], pixels[1:-1, 0], pixels[1:-1, -1]])
    background_rgb = np.median(border, axis=0)
    distance = np.linalg.norm(pixels - background_rgb, axis=-1)
    # Object pixels stand out clearly: far from the background in absolute terms and relative
    # to the strongest difference (so faint speckle in a noisy background does not count).
    mask = distance > max(60.0, 0.5 * distance.max())
    if mask.sum() < 4:  # nothing drawn: report the most distant pixels so the check fails cleanly
        mask = distance >= np.quantile(distance, 0.95)
    # Edge pixels blend with the background; the object's colour is that of its core.
    core = mask & (distance >= 0.75 * distance[mask].max())
    object_rgb = np.median(pixels[core], axis=0)
    ys, xs = np.nonzero(mask)
    centre = ((xs.mean() + 0.5) / NATIVE_SIZE, (ys.mean() + 0.5) / NATIVE_SIZE)
    position = min(POSITIONS, key=lambda p: _distance(centre, POSITIONS[p]))
    return ImageAnalysis(
        object_colour=_nearest(object_rgb, OBJECT_COLOURS),
        background=_nearest(background_rgb, BACKGROUND_COLOURS),
        position=position,
        object_fraction=float(mask.mean()),
    )
