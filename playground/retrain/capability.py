"""The capability guard: a candidate that has lost what the base model could do is refused.

Every candidate version (global or personal) is measured on a fixed capability set that no run
trains on (`models.finetune.capability`; text: assets/capability/text.jsonl, image: the held-out
caption combinations). Each figure is compared with the *base model's*, not the parent's, so
small losses cannot add up along the chain of nightly versions: a figure more than its tolerance
below the base's makes the outcome `forgets` (playground/retrain/publish.py), whatever the
raters' held-out prompts say. The base model's figures are measured once per base model and set
and cached beside the converted weights (`model_cache_dir`). Tolerances and the defaults' reasons: docs/RETRAIN.md, "Capability guard".
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.finetune.capability import LOGLIK, forgotten, load_text_capability
from playground.core.settings import Settings
from playground.retrain.trainers import BASE, ModalityTrainer, VersionRef

log = logging.getLogger("playground.retrain")
CACHE_VERSION = 1  # bump when a measurement changes, so cached base figures are measured again
FIGURE_WORDS = {
    "reference_loglik": "likelihood of reference answers (per token)",
    "exact_answers": "exact answers",
    "object_colour": "object colour",
    "background": "background colour",
    "position": "object position",
}


@dataclass(frozen=True)
class CapabilityCheck:
    """One candidate against the base model on the capability set."""

    set_name: str
    items: int
    base: dict[str, float]
    candidate: dict[str, float]
    tolerance: dict[str, float]
    forgets: list[str]
    seconds: float

    def as_metrics(self) -> dict[str, Any]:
        return {
            "set": self.set_name,
            "items": self.items,
            "base": self.base,
            "candidate": self.candidate,
            "tolerance": self.tolerance,
            "forgets": self.forgets,
            "seconds": self.seconds,
        }

    def describe(self, names: list[str] | None = None) -> str:
        """'exact answers 0.41 -> 0.30 (base -> candidate; tolerance 0.05)', for `names` (all by default)."""
        parts = [
            f"{FIGURE_WORDS.get(name, name)} {self.base[name]:.2f} -> {self.candidate[name]:.2f} (tolerance {self.tolerance[name]:.2f})"
            for name in (names if names is not None else list(self.tolerance))
            if name in self.base and name in self.candidate
        ]
        return "; ".join(parts)


def text_capability_path(settings: Settings) -> Path:
    return settings.capability_text_set or settings.assets_dir / "capability" / "text.jsonl"


def check_capability_sets(settings: Settings, modalities: list[str]) -> None:
    """Stage 0 of a run: a missing or malformed set stops the command before anything is trained
    (CapabilityFileError, one line naming the file)."""
    if settings.capability_guard and "text" in modalities:
        load_text_capability(text_capability_path(settings))


def tolerances(settings: Settings, figures: dict[str, float]) -> dict[str, float]:
    """Each figure's tolerance: log-likelihood in nats per token, every other figure a share."""
    return {name: settings.capability_loglik_tolerance if name == LOGLIK else settings.capability_share_tolerance for name in figures}


def check_capability(settings: Settings, trainer: ModalityTrainer, candidate: VersionRef) -> CapabilityCheck | None:
    """Measure `candidate` (and the base model, once) on the capability set; None when the guard is off.
    `seconds` is the candidate's measurement alone: what every run pays."""
    if not settings.capability_guard:
        return None
    # 1. The base model's figures: from the cache, or measured now and cached.
    base = base_capability(settings, trainer)
    # 2. The candidate's figures, and the ones it forgot.
    started = time.perf_counter()
    figures = trainer.measure_capability(candidate)
    limits = tolerances(settings, base)
    check = CapabilityCheck(
        trainer.capability_set_name(),
        trainer.capability_items(),
        base,
        figures,
        limits,
        forgotten(base, figures, limits),
        round(time.perf_counter() - started, 1),
    )
    log.info("capability %s: %s%s", candidate.name, check.describe(), f"; forgets {check.forgets}" if check.forgets else "")
    return check


def base_capability(settings: Settings, trainer: ModalityTrainer) -> dict[str, float]:
    """The base model's figures, measured once per base model and set and cached beside the
    converted weights (the fingerprint names the model, the set and how they are measured)."""
    fingerprint = trainer.capability_fingerprint()
    cache = settings.model_cache_dir / "capability" / f"{trainer.modality}-{_digest(fingerprint)}.json"
    base = _read_cache(cache)
    if base is None:
        started = time.perf_counter()
        base = trainer.measure_capability(BASE)
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps({"fingerprint": fingerprint, "figures": base}, indent=1), encoding="utf-8")
        log.info("capability of the base model measured in %.1f s: %s", time.perf_counter() - started, base)
    return base


def _digest(fingerprint: str) -> str:
    return hashlib.sha256(f"{CACHE_VERSION}:{fingerprint}".encode()).hexdigest()[:16]


def _read_cache(path: Path) -> dict[str, float] | None:
    try:
        figures = json.loads(path.read_text(encoding="utf-8"))["figures"]
    except (OSError, ValueError, KeyError, TypeError):
        return None  # none yet, or unreadable: measure again
    return {str(k): float(v) for k, v in figures.items()} if isinstance(figures, dict) else None
