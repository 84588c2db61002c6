"""Small fake generators for fast unit tests of the app layer (never used as defaults)."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from PIL import Image

from models.base import (
    ImageOutput,
    ImageParams,
    PartialAnswer,
    TextOutput,
    TextParams,
    TextProgress,
    TokenConfidence,
    check_prompt,
    continued,
)

# The fake's token probabilities, word by word in turn: one sure, one unsure, one doubtful
# (playground/web/ui/confidence_view.py's bands), and the alternatives it reports besides the
# chosen word (one of them markup, which every view must show, never run).
FAKE_PROBABILITIES = (0.93, 0.55, 0.21)
FAKE_ALTERNATIVES = (("cat", 0.31), ("<b>dog</b>", 0.12))


def fake_confidence(tokens: list[str]) -> tuple[TokenConfidence, ...]:
    """The fake's confidence for these tokens (the i-th gets FAKE_PROBABILITIES[i % 3])."""
    found = []
    for i, text in enumerate(tokens):
        p = FAKE_PROBABILITIES[i % len(FAKE_PROBABILITIES)]
        alternatives = tuple(sorted(((text, p), *FAKE_ALTERNATIVES), key=lambda pair: -pair[1]))
        found.append(TokenConfidence(text, p, alternatives))
    return tuple(found)


class FakeVersions:
    """The version side every fake generator shares: it serves `model_version`, loads at once and
    keeps no adapters (so it has none to unload)."""

    def __init__(self) -> None:
        self.model_version = "base"
        self.is_loaded = False

    def load(self) -> None:
        self.is_loaded = True

    def use_version(self, version_id: str, adapter_path: Path | None) -> None:
        self.model_version = version_id

    @property
    def loaded_versions(self) -> list[str]:
        return ["base"]  # a fake has no adapters to keep

    def unload_version(self, version_id: str) -> bool:
        return False


class FakeTextGenerator(FakeVersions):
    """Streams "answer i to <prompt>" word by word, cut at max_new_tokens words (finish reason
    "length"); a continuation (`continuing`) goes on with " more i about <prompt>". Can be told
    to fail half-way. With `confidence`, each word is a token with a probability and alternatives
    (`fake_confidence`), as the real backends report them."""

    def __init__(self, fail_after_words: int | None = None, confidence: bool = False):
        super().__init__()
        self.fail_after_words = fail_after_words
        self.confidence = confidence
        self.versions: list[tuple[str, Path | None]] = []  # every use_version call, for tests to read

    def use_version(self, version_id: str, adapter_path: Path | None) -> None:
        self.versions.append((version_id, adapter_path))
        super().use_version(version_id, adapter_path)

    def stream(self, prompt: str, params: TextParams, cancel: threading.Event | None = None, continuing: PartialAnswer | None = None):
        params.validate()
        prompt = check_prompt(prompt, 8000)
        seed = params.seed if params.seed is not None else 7
        first = ("more{}", "about") if continuing is not None else ("answer{}", "to")
        answers = [[first[0].format(i), first[1], *prompt.split()] for i in range(params.n)]
        words = [w[: params.max_new_tokens] for w in answers]
        reasons = ["length" if len(w) > params.max_new_tokens else "stop" for w in answers]
        lead = " " if continuing is not None else ""  # a continuation's first word has its space
        tokens = [[(lead if j == 0 else " ") + word for j, word in enumerate(w)] for w in words]
        reported = self.confidence and params.confidence

        def so_far(step: int) -> list[tuple[TokenConfidence, ...]]:
            return [fake_confidence(t[:step]) for t in tokens] if reported else []

        def run():
            for step in range(1, max(len(w) for w in words) + 1):
                if self.fail_after_words is not None and step > self.fail_after_words:
                    raise RuntimeError("model crashed")
                yield TextProgress(texts=[lead + " ".join(w[:step]) for w in words], confidence=so_far(step))
            outputs = [
                TextOutput(i, lead + " ".join(w), seed + i, len(w), r, 5.0, 50.0, fake_confidence(t) if reported else None)
                for i, (w, t, r) in enumerate(zip(words, tokens, reasons, strict=True))
            ]
            yield TextProgress(texts=[o.text for o in outputs], done=True, outputs=outputs, confidence=so_far(max(map(len, tokens))))

        return run() if continuing is None else continued(run(), continuing)

    def generate(self, prompt: str, params: TextParams) -> list[TextOutput]:
        return list(self.stream(prompt, params))[-1].outputs


class FakeImageGenerator(FakeVersions):
    """Solid-colour PNGs, one per seed, reporting every step."""

    max_prompt_chars = 2000

    def __init__(self, vocabulary=None):
        super().__init__()
        self._vocabulary = vocabulary

    def vocabulary(self):
        return self._vocabulary

    def generate(self, prompt, params: ImageParams, out_dir: Path, on_step=None, cancel=None):
        params.validate()
        check_prompt(prompt, self.max_prompt_chars)
        seed = params.seed if params.seed is not None else 11
        for step in range(1, params.steps + 1):
            if on_step:
                on_step(step, params.steps, None)
        out_dir.mkdir(parents=True, exist_ok=True)
        outputs = []
        for i in range(params.n):
            image = Image.new("RGB", (params.width, params.height), ((seed + i) % 256, 80, 160))
            data = image.tobytes()
            sha = hashlib.sha256(data).hexdigest()
            path = out_dir / f"{sha}.png"
            image.save(path)
            outputs.append(ImageOutput(i, image, path, sha, seed + i, 20.0))
        return outputs
