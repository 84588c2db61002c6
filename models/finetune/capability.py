"""The capability guard's measurements: what a version can still do, on a fixed set never trained on.

Text: a set of short prompts with reference answers (assets/capability/text.jsonl, JSON lines of
`topic`, `prompt`, `reference`, `check`) gives two figures:
- `reference_loglik`: the mean per-token log-likelihood of the references under the version
  (all items). A version that drifts away from plain, correct answers finds them less likely;
- `exact_answers`: the share of `check: "exact"` items whose short greedy answer contains the
  reference (as a whole word; for numbers, the answer's last number must be the reference).
Image: the share of images whose object colour, background and position match the caption
(`models.embedded_image.evaluate.score_images`).

Every figure is "higher is better", so one rule compares a candidate with the base model:
it forgets a figure when it falls more than that figure's tolerance below the base's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from models.base import ModelError

CHECKS = ("exact", "likelihood")
MAX_ITEMS = 5000  # a bigger set would make every nightly run slow: refuse it with a clear error
LOGLIK = "reference_loglik"
EXACT = "exact_answers"


class CapabilityFileError(ModelError):
    """The capability set is missing or malformed; the message names the file."""


@dataclass(frozen=True)
class CapabilityItem:
    topic: str
    prompt: str
    reference: str
    check: str  # "exact": the greedy answer must contain the reference; "likelihood": scored only


def load_text_capability(path: Path) -> list[CapabilityItem]:
    """The items of a text capability file, or a CapabilityFileError naming the file and the line."""
    # 1. The file must exist and be readable text.
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise CapabilityFileError(f"capability set {path}: cannot read it ({error.__class__.__name__}: {error})") from error
    # 2. Each non-blank line is one JSON object with the four fields.
    items = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            items.append(_item(path, number, line))
    # 3. A set too small or too big says nothing or costs too much.
    if not items:
        raise CapabilityFileError(f"capability set {path}: no items")
    if len(items) > MAX_ITEMS:
        raise CapabilityFileError(f"capability set {path}: {len(items)} items, at most {MAX_ITEMS}")
    return items


def _item(path: Path, number: int, line: str) -> CapabilityItem:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as error:
        raise CapabilityFileError(f"capability set {path}, line {number}: not JSON ({error.msg})") from error
    if not isinstance(row, dict):
        raise CapabilityFileError(f"capability set {path}, line {number}: expected an object")
    fields = {}
    for key in ("topic", "prompt", "reference", "check"):
        value = row.get(key)
        if not isinstance(value, str) or not value.strip():
            raise CapabilityFileError(f"capability set {path}, line {number}: '{key}' must be a non-empty string")
        fields[key] = value.strip()
    if fields["check"] not in CHECKS:
        raise CapabilityFileError(f"capability set {path}, line {number}: 'check' must be one of {', '.join(CHECKS)}")
    return CapabilityItem(**fields)


def answer_matches(answer: str, reference: str) -> bool:
    """Whether a short answer gives the reference: a number must be the answer's last number
    ("16 - 9 = 7"; the operands do not count), a word or phrase must appear as whole words."""
    if re.fullmatch(r"-?\d+", reference):
        numbers = re.findall(r"-?\d+", answer)
        return bool(numbers) and numbers[-1] == reference
    return re.search(rf"\b{re.escape(reference.lower())}\b", answer.lower()) is not None


# score(prompts, completions) -> [(summed log-probability, tokens)]; answer(prompts) -> short answers
ScoreFn = Callable[[Sequence[str], Sequence[str]], list[tuple[float, int]]]
AnswerFn = Callable[[Sequence[str]], list[str]]


def text_capability(items: Sequence[CapabilityItem], score: ScoreFn, answer: AnswerFn) -> dict[str, float]:
    """The version's two text figures on `items` (see the module docstring)."""
    # 1. How likely the version finds the reference answers, per token.
    scores = score([item.prompt for item in items], [item.reference for item in items])
    tokens = sum(count for _, count in scores)
    loglik = sum(total for total, _ in scores) / tokens if tokens else 0.0
    # 2. Whether its own greedy answers give the reference, where that is a fair check.
    exact = [item for item in items if item.check == "exact"]
    answers = answer([item.prompt for item in exact]) if exact else []
    right = sum(answer_matches(given, item.reference) for given, item in zip(answers, exact, strict=True))
    figures = {LOGLIK: round(loglik, 4)}
    if exact:
        figures[EXACT] = round(right / len(exact), 4)
    return figures


def forgotten(base: dict[str, float], candidate: dict[str, float], tolerance: dict[str, float]) -> list[str]:
    """The figures on which `candidate` falls more than their tolerance below `base`."""
    return [name for name, limit in tolerance.items() if name in base and name in candidate and base[name] - candidate[name] > limit]
