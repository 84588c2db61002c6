"""The narrow interface the app and the retrain command use for each modality.

Parameters and results are plain dataclasses; backends are small classes that satisfy the
Protocols below. Nothing here imports torch, so the app can validate input cheaply before any
model is loaded.
"""

from __future__ import annotations

import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Generic, Literal, Protocol, TypeVar, get_args

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
JobT = TypeVar("JobT")  # a text backend's checked request (StreamingTextGenerator)


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
        raise InvalidParameterError(f"the prompt is {len(prompt)} characters long; the limit is {max_chars}")
    return prompt.strip()


@dataclass(frozen=True)
class TextParams:
    """Sampling parameters for one text request (all candidates share them)."""

    # The embedded model's answers to everyday prompts took 7-341 tokens (lists of facts the most,
    # measured on 14 answers to the example prompts); 128 cut a third of them mid-sentence, and
    # cut answers stay out of the annotation queue. 384 lets typical answers finish.
    max_new_tokens: int = 384
    temperature: float = 0.7  # 0 means greedy decoding
    top_p: float = 0.9
    repetition_penalty: float = 1.1
    stop: tuple[str, ...] = ()
    n: int = 1  # number of candidates, generated in one batched call
    seed: int | None = None  # None: the backend draws one and reports it
    confidence: bool = True  # report each token's probability and its top alternatives

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


@dataclass(frozen=True)
class TokenConfidence:
    """One generated token as the model saw it: its text, the probability the model gave it
    (softmax of the raw logits, before temperature and top-p: the model's own belief, which a
    separate forward pass and vLLM's logprobs report too) and the most likely alternatives,
    most likely first (the chosen token among them when it is one of them)."""

    text: str
    probability: float
    alternatives: tuple[tuple[str, float], ...] = ()


CONFIDENCE_ALTERNATIVES = 3  # alternatives reported per token


def clip_confidence(tokens: tuple[TokenConfidence, ...], length: int) -> tuple[TokenConfidence, ...]:
    """The tokens with their texts cut so that together they are at most `length` characters
    (the text of an answer cut at a stop string, or a stem without its trailing whitespace).
    Every token stays, so there is still one per generated token; one past the cut has text ""."""
    clipped, used = [], 0
    for token in tokens:
        text = token.text[: max(length - used, 0)]
        used += len(text)
        clipped.append(token if text == token.text else replace(token, text=text))
    return tuple(clipped)


@dataclass
class TextOutput:
    index: int
    text: str
    seed: int
    tokens: int
    finish_reason: FinishReason
    time_to_first_token_ms: float
    latency_ms: float
    # Per generated token; None where the backend reported none (confidence off, older rows).
    confidence: tuple[TokenConfidence, ...] | None = None

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / (self.latency_ms / 1000) if self.latency_ms > 0 else 0.0


@dataclass
class TextProgress:
    """One streaming update: the text so far of every candidate; `outputs` is set when done."""

    texts: list[str]
    done: bool = False
    outputs: list[TextOutput] = field(default_factory=list)
    # Per candidate, the confidence of its tokens so far (empty: none reported).
    confidence: list[tuple[TokenConfidence, ...]] = field(default_factory=list)


@dataclass(frozen=True)
class PartialAnswer:
    """An answer to go on with (one cut at the length limit): the model continues `text` as its
    own words rather than starting a new answer.

    The stream then reports the whole answer, as if generated in one go: every text starts with
    `stem`, and the finished output's tokens and latency add this answer's figures to the new
    ones' (so tok/s stays the answer's speed, and a short continuation of a long answer is not
    counted as a short answer). Its seed and time to first token are the new generation's.
    """

    text: str
    tokens: int = 0
    latency_ms: float = 0.0
    # The answer's tokens' confidence, if known: the whole answer's confidence is then these
    # (cut to the stem) followed by the new tokens'; None makes the whole answer's None too.
    confidence: tuple[TokenConfidence, ...] | None = None

    @property
    def stem(self) -> str:
        """The text the model continues: trailing whitespace dropped, since chat templates trim it
        and a byte-level tokenizer folds a space into the next word's token (" word")."""
        return self.text.rstrip()


def continued(stream: Iterator[TextProgress], partial: PartialAnswer) -> Iterator[TextProgress]:
    """A continuation's stream (texts of the new words only) as the whole answer's stream."""
    stem = partial.stem
    # Confidence of the whole answer: the answer's own (cut to the stem) then the new tokens'.
    known = clip_confidence(partial.confidence, len(stem)) if partial.confidence is not None else None
    try:
        for progress in stream:
            outputs = [
                replace(
                    o,
                    text=stem + o.text,
                    tokens=partial.tokens + o.tokens,
                    latency_ms=partial.latency_ms + o.latency_ms,
                    confidence=known + o.confidence if known is not None and o.confidence is not None else None,
                )
                for o in progress.outputs
            ]
            confidence = [known + c for c in progress.confidence] if known is not None else []
            yield TextProgress(texts=[stem + t for t in progress.texts], done=progress.done, outputs=outputs, confidence=confidence)
    finally:
        # A reader that stops early closes this stream: close the backend's too, so it stops the model.
        close = getattr(stream, "close", None)
        if close is not None:
            close()


def final_outputs(stream: Iterator[TextProgress]) -> list[TextOutput]:
    """Read a text stream to its end and return the finished candidates (`generate` for backends
    that stream)."""
    last = TextProgress(texts=[])
    for progress in stream:
        last = progress
    return last.outputs


@dataclass
class ImageOutput:
    index: int
    image: Image
    path: Path
    sha256: str
    seed: int
    latency_ms: float
    finish_reason: FinishReason = "stop"


@dataclass(frozen=True)
class ImageVocabulary:
    """The closed set of words an image model was trained on (the embedded one), by kind, and
    how to put chosen words into a prompt it understands.

    `groups` maps a kind ("shape") to its words in display order; `compose_order` is the order
    the kinds take in a prompt; `templates` wraps a kind's word ("on a {} background") and
    `word_templates` a single word ("center": "in the center"). `synonyms` are other words the
    model also knows (not offered as chips).
    """

    groups: dict[str, tuple[str, ...]]
    compose_order: tuple[str, ...]
    templates: dict[str, str] = field(default_factory=dict)
    word_templates: dict[str, str] = field(default_factory=dict)
    synonyms: tuple[str, ...] = ()

    def compose(self, chosen: dict[str, str | None]) -> str:
        """A prompt from one chosen word per kind (kinds left out or None are skipped)."""
        parts = []
        for kind in self.compose_order:
            word = chosen.get(kind)
            if word:
                if word not in self.groups.get(kind, ()):
                    raise InvalidParameterError(f"{word!r} is not a {kind} word of this model")
                parts.append(self.word_templates.get(word, self.templates.get(kind, "{}")).format(word))
        return ("a " + " ".join(parts)) if parts else ""

    def known_in(self, prompt: str) -> list[str]:
        """The vocabulary's words and phrases that `prompt` uses, longest first, each once."""
        text = " " + " ".join(re.findall(r"[a-z]+", (prompt or "").lower())) + " "
        words = {w for group in self.groups.values() for w in group} | set(self.synonyms)
        found: list[str] = []
        for phrase in sorted(words, key=len, reverse=True):
            if f" {phrase} " in text:
                found.append(phrase)
                text = text.replace(f" {phrase} ", " ")
        return found


# Called after each denoising step with (step, total_steps, preview images or None).
StepCallback = Callable[[int, int, "list[Image] | None"], None]


class TextGenerator(Protocol):
    model_version: str  # the version currently served ("base" or an adapter version id)

    @property
    def is_loaded(self) -> bool: ...

    def load(self) -> None: ...  # load the weights now (otherwise the first request does)

    # `continuing`: go on with that answer instead of starting one (PartialAnswer).
    def stream(
        self, prompt: str, params: TextParams, cancel: threading.Event | None = None, continuing: PartialAnswer | None = None
    ) -> Iterator[TextProgress]: ...

    def generate(self, prompt: str, params: TextParams) -> list[TextOutput]: ...

    def use_version(self, version_id: str, adapter_path: Path | None) -> None: ...

    @property
    def loaded_versions(self) -> list[str]: ...  # the base and every version whose adapter is loaded

    def unload_version(self, version_id: str) -> bool: ...  # free its adapter; False: it was not loaded


class StreamingTextGenerator(ABC, Generic[JobT]):
    """The skeleton both text backends share (`models.text_hf`, `models.text_engine`): check a
    request at once into a job, then stream that job lazily; `generate` reads the stream to its end."""

    def stream(
        self, prompt: str, params: TextParams, cancel: threading.Event | None = None, continuing: PartialAnswer | None = None
    ) -> Iterator[TextProgress]:
        """Validate now, then stream every candidate's text; the last item has `done` and outputs.
        `continuing`: every candidate goes on with that answer (PartialAnswer).

        Raises InvalidParameterError at once (not on first iteration) for bad input, before any
        model runs or network call is made; the backend's own failures raise while iterating.
        """
        job = self._prepare(prompt, params, cancel, continuing.stem if continuing is not None else "")
        stream = self._run_streaming(job)
        return continued(stream, continuing) if continuing is not None else stream

    def generate(self, prompt: str, params: TextParams) -> list[TextOutput]:
        return final_outputs(self.stream(prompt, params))

    @abstractmethod
    def _prepare(self, prompt: str, params: TextParams, cancel: threading.Event | None, answer_prefix: str) -> JobT:
        """The checked request as a job; raises InvalidParameterError for bad input. A non-empty
        `answer_prefix` is the start of the model's answer, which the job continues."""

    @abstractmethod
    def _run_streaming(self, job: JobT) -> Iterator[TextProgress]:
        """Run the job, yielding progress; the last item has `done` and the outputs. Texts, tokens
        and timings are the new words' only (`stream` adds an answer prefix's)."""


class ImageGenerator(Protocol):
    model_version: str
    max_prompt_chars: int  # longer prompts are refused (InvalidParameterError)

    @property
    def is_loaded(self) -> bool: ...

    def load(self) -> None: ...

    def vocabulary(self) -> ImageVocabulary | None: ...  # None: any words (a general model)

    def generate(
        self,
        prompt: str,
        params: ImageParams,
        out_dir: Path,
        on_step: StepCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> list[ImageOutput]: ...

    def use_version(self, version_id: str, adapter_path: Path | None) -> None: ...

    @property
    def loaded_versions(self) -> list[str]: ...  # the base and every version whose adapter is loaded

    def unload_version(self, version_id: str) -> bool: ...  # free its adapter; False: it was not loaded
