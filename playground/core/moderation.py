"""Content safety: a hook that checks prompts and outputs before they are shown or stored.

Two checks, in order: a blocklist of words and phrases (configurable, one per line; matched
case-insensitively on word boundaries) and, where one is configured and installed, a
text-classification model (`moderation_model`, e.g. a toxicity classifier; any label other than
a neutral one scoring at or above the threshold counts). A moderated prompt is refused; a
moderated output is withheld on screen and stored with its reason, and feedback_db keeps such
outputs out of training data and the annotation queue.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from playground.core.settings import Settings

log = logging.getLogger("playground.core.moderation")
NEUTRAL_LABELS = {"neutral", "non-toxic", "non_toxic", "not_toxic", "safe", "ok", "label_0", "normal"}
WITHHELD_TEXT = "[withheld by the content filter: {reason}]"

# A classifier takes texts and returns, per text, (label, score) pairs.
Classifier = Callable[[list[str]], list[list[tuple[str, float]]]]


@dataclass
class Moderator:
    blocked: tuple[str, ...] = ()
    classifier: Classifier | None = None
    threshold: float = 0.8
    _pattern: re.Pattern[str] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        words = sorted({w.strip().lower() for w in self.blocked if w.strip()}, key=len, reverse=True)
        if words:
            alternatives = "|".join(re.escape(w) for w in words)
            self._pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)

    def reasons(self, texts: list[str]) -> list[str | None]:
        """Per text: why it is moderated ("blocklist: word", "classifier: toxic 0.93"), or None."""
        found: list[str | None] = [self._blocklisted(text) for text in texts]
        if self.classifier is not None:
            pending = [i for i, reason in enumerate(found) if reason is None and texts[i].strip()]
            if pending:
                for i, labels in zip(pending, self.classifier([texts[i] for i in pending]), strict=True):
                    flagged = [(name, s) for name, s in labels if name.lower() not in NEUTRAL_LABELS and s >= self.threshold]
                    if flagged:
                        label, score = max(flagged, key=lambda pair: pair[1])
                        found[i] = f"classifier: {label} {score:.2f}"
        return found

    def reason(self, text: str) -> str | None:
        return self.reasons([text])[0]

    def blocklisted(self, text: str) -> str | None:
        """The blocklist check alone (cheap enough for every streamed update)."""
        return self._blocklisted(text)

    def _blocklisted(self, text: str) -> str | None:
        if self._pattern is None:
            return None
        match = self._pattern.search(text)
        return f"blocklist: {match.group(0).lower()}" if match else None


def load_blocklist(path: Path) -> tuple[str, ...]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return tuple(line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#"))


def moderator_for(settings: Settings) -> Moderator:
    path = settings.moderation_blocklist or settings.assets_dir / "blocklist.txt"
    blocked = load_blocklist(path) if path.exists() else ()
    classifier = _load_classifier(settings.moderation_model) if settings.moderation_model else None
    return Moderator(blocked=blocked, classifier=classifier, threshold=settings.moderation_threshold)


def _load_classifier(model: str) -> Classifier:
    """A transformers text-classification pipeline, loaded on first use (CPU)."""
    state: dict[str, object] = {}
    lock = threading.Lock()

    def classify(texts: list[str]) -> list[list[tuple[str, float]]]:
        with lock:
            if "pipeline" not in state:
                from transformers import pipeline

                state["pipeline"] = pipeline("text-classification", model=model, top_k=None, device="cpu")
                log.info("moderation classifier %s loaded", model)
        results = state["pipeline"](texts, truncation=True)  # type: ignore[operator]
        return [[(r["label"], float(r["score"])) for r in per_text] for per_text in results]

    return classify
