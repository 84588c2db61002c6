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
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from playground.core.settings import Settings

log = logging.getLogger("playground.core.moderation")
NEUTRAL_LABELS = {"neutral", "non-toxic", "non_toxic", "not_toxic", "safe", "ok", "label_0", "normal"}
WITHHELD_TEXT = "[withheld by the content filter: {reason}]"
GUIDELINES_HINT = "the Guidelines tab says what the filter refuses"
# The same in a card, whose text renders as Markdown: a link the page's script turns into opening
# the Guidelines tab (assets/playground.js).
GUIDELINES_LINKED_HINT = "the [Guidelines](#guidelines) tab says what the filter refuses"

# A classifier takes texts and returns, per text, (label, score) pairs.
Classifier = Callable[[list[str]], list[list[tuple[str, float]]]]
Labels = list[tuple[str, float]]
# A prompt is classified at the click and again when the model runs (for API callers, who skip the
# click's step): the last few texts' labels are remembered, so the classifier runs once for both.
REMEMBERED_TEXTS = 256


@dataclass(frozen=True)
class Verdict:
    """Which check fired: the blocklist (`match`: the blocked word or phrase) or the classifier
    (`match`: its label, with its score). `str()` is the reason as stored with an output
    ("blocklist: word", "classifier: toxic 0.93"); `words` says it to people without echoing a
    blocked word in full."""

    rule: Literal["blocklist", "classifier"]
    match: str
    score: float | None = None

    def __str__(self) -> str:
        if self.rule == "blocklist":
            return f"blocklist: {self.match}"
        return f"classifier: {self.match} {self.score or 0.0:.2f}"

    @property
    def words(self) -> str:
        """E.g. 'the blocklist rule (the blocked word "b***")' or 'the classifier's label "toxic" (score 0.93)'."""
        if self.rule == "blocklist":
            kind = "phrase" if " " in self.match.strip() else "word"
            return f'the blocklist rule (the blocked {kind} "{mask(self.match)}")'
        return f'the classifier\'s label "{self.match}" (score {self.score or 0.0:.2f})'


def mask(text: str) -> str:
    """Each word's first letter and an asterisk per other character: "make a bomb" -> "m*** a b***"."""
    return " ".join(word[:1] + "*" * (len(word) - 1) for word in text.split())


def parse_verdict(reason: str | None) -> Verdict | None:
    """A stored reason back as a Verdict (None for none, or for a reason in no known form)."""
    rule, _, rest = (reason or "").partition(": ")
    if rule == "blocklist" and rest:
        return Verdict("blocklist", rest)
    if rule == "classifier" and rest:
        label, _, score = rest.rpartition(" ")
        try:
            return Verdict("classifier", label or score, float(score) if label else None)
        except ValueError:
            return Verdict("classifier", rest)
    return None


def withheld_notice(reason: str) -> str:
    """What a card shows in place of a withheld output: which check fired, the word masked."""
    verdict = parse_verdict(reason)
    said = verdict.words if verdict is not None else "a content rule"
    return WITHHELD_TEXT.format(reason=f"{said}; {GUIDELINES_LINKED_HINT}")


def refusal_message(verdict: Verdict) -> str:
    """The message of a refused prompt, naming the check that fired (the word masked)."""
    return f"The content filter refused this prompt: {verdict.words} fired; {GUIDELINES_HINT}."


@dataclass
class Moderator:
    blocked: tuple[str, ...] = ()
    classifier: Classifier | None = None
    threshold: float = 0.8
    _pattern: re.Pattern[str] | None = field(default=None, init=False)
    _labels: OrderedDict[str, Labels] = field(default_factory=OrderedDict, init=False, repr=False, compare=False)
    _labels_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        words = sorted({w.strip().lower() for w in self.blocked if w.strip()}, key=len, reverse=True)
        if words:
            alternatives = "|".join(re.escape(w) for w in words)
            self._pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)

    def verdicts(self, texts: list[str]) -> list[Verdict | None]:
        """Per text: which check moderates it (the blocklist first, then the classifier), or None."""
        found: list[Verdict | None] = [self._blocklisted(text) for text in texts]
        pending = [i for i, verdict in enumerate(found) if verdict is None and texts[i].strip()]
        if self.classifier is not None and pending:
            for i, labels in zip(pending, self._classified(self.classifier, [texts[i] for i in pending]), strict=True):
                flagged = [(name, s) for name, s in labels if name.lower() not in NEUTRAL_LABELS and s >= self.threshold]
                if flagged:
                    label, score = max(flagged, key=lambda pair: pair[1])
                    found[i] = Verdict("classifier", label, round(score, 2))
        return found

    def _classified(self, classifier: Classifier, texts: list[str]) -> list[Labels]:
        """The classifier's labels per text: remembered ones, the rest from one call to it."""
        with self._labels_lock:
            known = {text: self._labels[text] for text in texts if text in self._labels}
        unknown = list(dict.fromkeys(text for text in texts if text not in known))
        if unknown:
            fresh = dict(zip(unknown, classifier(unknown), strict=True))
            with self._labels_lock:
                for text, labels in fresh.items():
                    self._labels[text] = labels
                    self._labels.move_to_end(text)
                while len(self._labels) > REMEMBERED_TEXTS:
                    self._labels.popitem(last=False)
            known |= fresh
        return [known[text] for text in texts]

    def reasons(self, texts: list[str]) -> list[str | None]:
        """Per text: why it is moderated ("blocklist: word", "classifier: toxic 0.93"), or None."""
        return [str(verdict) if verdict is not None else None for verdict in self.verdicts(texts)]

    def verdict(self, text: str) -> Verdict | None:
        return self.verdicts([text])[0]

    def reason(self, text: str) -> str | None:
        return self.reasons([text])[0]

    def blocklisted(self, text: str) -> str | None:
        """The blocklist check alone (cheap enough for every streamed update)."""
        verdict = self._blocklisted(text)
        return str(verdict) if verdict is not None else None

    def blocklist_verdict(self, text: str) -> Verdict | None:
        """The blocklist check alone, as a Verdict."""
        return self._blocklisted(text)

    def _blocklisted(self, text: str) -> Verdict | None:
        if self._pattern is None:
            return None
        match = self._pattern.search(text)
        return Verdict("blocklist", match.group(0).lower()) if match else None


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
