"""The narrow interface the app and the retrain command use for each modality.

Parameters and results are plain dataclasses; backends are small classes that satisfy the
Protocols below. Nothing here imports torch, so the app can validate input cheaply before any
model is loaded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, get_args

if TYPE_CHECKING:  # PIL is only needed for type hints here.
    from PIL.Image import Image

# A modality is one of these two strings everywhere; `check_modality` guards the edges (CLI,
# settings, data read back) so that a typo raises instead of silently meaning "image".
# `feedback_db.schema.MODALITIES` holds the same values (feedback_db cannot import models).
Modality = Literal["text", "image"]
MODALITIES: tuple[Modality, ...] = get_args(Modality)
# The name of "no adapter": the base model as loaded.
BASE_VERSION = "base"
FinishReason = Literal["stop", "length", "cancelled"]

MAX_CANDIDATES = 8


class ModelError(Exception):
    """Base class of every error raised by `models`."""


class InvalidParameterError(ModelError, ValueError):
    """A generation parameter or prompt is out of range; the message says which and why."""


class ModelLoadError(ModelError):
    """A model id, path or adapter could not be loaded."""


class UnknownVersionError(ModelError, KeyError):
    """A model version id was asked for that the backend has not loaded."""


class UnknownModalityError(ModelError, ValueError):
    """A modality other than "text" or "image" was asked for."""


def check_modality(value: str) -> Modality:
    """Return `value` as a `Modality`, or raise `UnknownModalityError` naming the known ones."""
    for modality in MODALITIES:
        if value == modality:
            return modality
    raise UnknownModalityError(f"unknown modality {value!r}; use one of {', '.join(MODALITIES)}")


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if not (low <= value <= high):
        raise InvalidParameterError(f"{name} must be between {low} and {high}, got {value!r}")


def check_prompt(prompt: str, max_chars: int) -> str:
    """Return the prompt stripped, or raise if it is empty or longer than `max_chars`."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise InvalidParameterError("the prompt is empty")
    if len(prompt) > max_chars:
        raise InvalidParameterError(
            f"the prompt is {len(prompt)} characters long; the limit is {max_chars}"
        )
    return prompt.strip()


@dataclass(frozen=True)
class TextParams:
    """Sampling parameters for one text request (all candidates share them)."""

    max_new_tokens: int = 128
    temperature: float = 0.7  # 0 means greedy decoding
    top_p: float = 0.9
    repetition_penalty: float = 1.1
    stop: tuple[str, ...] = ()
    n: int = 1  # number of candidates, generated in one batched call
    seed: int | None = None  # None: the backend draws one and reports it

    def validate(self) -> TextParams:
        _check_range("max_new_tokens", self.max_new_tokens, 1, 2048)
        _check_range("temperature", self.temperature, 0.0, 2.0)
        _check_range("top_p", self.top_p, 0.01, 1.0)
        _check_range("repetition_penalty", self.repetition_penalty, 1.0, 2.0)
        _check_range("n", self.n, 1, MAX_CANDIDATES)
        if self.seed is not None:
            _check_range("seed", self.seed, 0, 2**32 - 1)
        if len(self.stop) > 4 or any(not s or len(s) > 32 for s in self.stop):
            raise InvalidParameterError("stop takes at most 4 non-empty strings of up to 32 chars")
        return self


@dataclass(frozen=True)
class ImageParams:
    """Parameters for one image request; each of the `n` images gets its own seed."""

    steps: int = 20
    guidance_scale: float = 3.0
    width: int = 256
    height: int = 256
    n: int = 1
    seed: int | None = None  # image i uses seed + i
    negative_prompt: str = ""

    def validate(self) -> ImageParams:
        _check_range("steps", self.steps, 1, 150)
        _check_range("guidance_scale", self.guidance_scale, 0.0, 30.0)
        _check_range("n", self.n, 1, MAX_CANDIDATES)
        for name, size in (("width", self.width), ("height", self.height)):
            _check_range(name, size, 8, 2048)
            if size % 8:
                raise InvalidParameterError(f"{name} must be divisible by 8, got {size}")
        if self.seed is not None:
            _check_range("seed", self.seed, 0, 2**32 - 1)
        if len(self.negative_prompt) > 2000:
            raise InvalidParameterError("the negative prompt is longer than 2000 characters")
        return self


@dataclass
class TextOutput:
    index: int
    text: str
    seed: int
    tokens: int
    finish_reason: FinishReason
    time_to_first_token_ms: float
    latency_ms: float

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / (self.latency_ms / 1000) if self.latency_ms > 0 else 0.0


@dataclass
class TextProgress:
    """One streaming update: the text so far of every candidate; `outputs` is set when done."""

    texts: list[str]
    done: bool = False
    outputs: list[TextOutput] = field(default_factory=list)


@dataclass
class ImageOutput:
    index: int
    image: Image
    path: Path
    sha256: str
    seed: int
    latency_ms: float
    finish_reason: FinishReason = "stop"


# Called after each denoising step with (step, total_steps, preview images or None).
StepCallback = Callable[[int, int, "list[Image] | None"], None]


class TextGenerator(Protocol):
    model_version: str  # the version currently served ("base" or an adapter version id)

    def stream(
        self, prompt: str, params: TextParams, cancel: threading.Event | None = None
    ) -> Iterator[TextProgress]: ...

    def generate(self, prompt: str, params: TextParams) -> list[TextOutput]: ...

    def use_version(self, version_id: str, adapter_path: Path | None) -> None: ...


class ImageGenerator(Protocol):
    model_version: str

    def generate(
        self,
        prompt: str,
        params: ImageParams,
        out_dir: Path,
        on_step: StepCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> list[ImageOutput]: ...

    def use_version(self, version_id: str, adapter_path: Path | None) -> None: ...
