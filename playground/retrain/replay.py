"""Replay: which training rows a nightly run uses (docs/RETRAIN.md, "Replay").

A run continues from its parent version's adapter, which already learned from the feedback its
own training run read. So a run trains on

1. every prompt with feedback NEW since the parent's training run read the feedback (a rating or
   set rating updated after the latest one in that run's watermark; with the base model as
   parent, everything is new), plus
2. a seeded random `replay_share` of the OLDER prompts (those the parent's run read), so the
   chain keeps seeing some of what it learned before; 1.0 replays them all.

The unit is a prompt (all its outputs' ratings go in or stay out together, so pairs stay whole).
Only the training rows are chosen: the held-out prompts and their rows are kept whole, so the
gate still evaluates on all held-out feedback, old and new (held-out prompts never train).
The seed is the parent's name: the same parent replays the same prompts (a rerun trains on the
same rows), and each new parent draws afresh.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from models.finetune.data import FeedbackDatasets, normalise_prompt

_LATEST = re.compile(r"(ratings|set_ratings):\d+:([^|]*)")


@dataclass(frozen=True)
class ReplayCutoff:
    """The latest rating and set rating the parent's training run read (None: it read none)."""

    ratings: pd.Timestamp | None
    set_ratings: pd.Timestamp | None


@dataclass(frozen=True)
class ReplaySelection:
    """The prompts tonight's training uses: all new ones and the replayed share of old ones."""

    share: float
    new: frozenset[str]
    old: frozenset[str]
    replayed: frozenset[str]

    @property
    def kept(self) -> frozenset[str]:
        return self.new | self.replayed

    def counts(self) -> dict[str, int]:
        """What the run records in its data counts (and its report shows)."""
        return {
            "replay_share_percent": round(self.share * 100),
            "new_prompts": len(self.new),
            "old_prompts": len(self.old),
            "replayed_prompts": len(self.replayed),
        }


def parse_cutoff(watermark: str | None) -> ReplayCutoff | None:
    """The cutoff in a training run's watermark ("ratings:<rows>:<latest>|set_ratings:..."); None
    when there is no run (the base model as parent) or its watermark names no ratings."""
    if not watermark:
        return None
    latest = {key: _timestamp(value) for key, value in _LATEST.findall(watermark)}
    if "ratings" not in latest:
        return None
    return ReplayCutoff(latest["ratings"], latest.get("set_ratings"))


def _timestamp(text: str) -> pd.Timestamp | None:
    return None if text in ("", "None", "NaT") else pd.Timestamp(pd.to_datetime(text, utc=True))


def new_prompt_keys(frames: dict[str, pd.DataFrame], cutoff: ReplayCutoff | None) -> set[str]:
    """Normalised prompts with a rating or set rating updated after `cutoff` (None: all of them)."""
    keys: set[str] = set()
    for name, latest in (("ratings", cutoff.ratings if cutoff else None), ("set_ratings", cutoff.set_ratings if cutoff else None)):
        frame = frames[name]
        if frame.empty:
            continue
        rows = frame
        if cutoff is not None and latest is not None:
            rows = frame[pd.to_datetime(frame["updated_at"], utc=True) > latest]
        keys |= {normalise_prompt(prompt) for prompt in rows["prompt"]}
    return keys


def select_replay(training_prompts: set[str], new: set[str], share: float, seed: str) -> ReplaySelection:
    """All new training prompts, and round(share x old ones) of the old ones, drawn with `seed`."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"replay share {share} is outside 0..1")
    fresh = frozenset(training_prompts & new)
    old = sorted(training_prompts - new)
    replayed = random.Random(seed).sample(old, round(share * len(old)))
    return ReplaySelection(share, fresh, frozenset(old), frozenset(replayed))


def training_prompts(datasets: FeedbackDatasets) -> set[str]:
    """The normalised prompts of the training rows (held-out prompts are not among them)."""
    return {normalise_prompt(row["prompt"]) for rows in (datasets.pairs, datasets.unpaired, datasets.sft) for row in rows}


def apply_replay(datasets: FeedbackDatasets, selection: ReplaySelection) -> FeedbackDatasets:
    """`datasets` with only the selected prompts' training rows; held-out rows untouched."""
    kept = selection.kept

    def keep(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [row for row in rows if normalise_prompt(row["prompt"]) in kept]

    return replace(
        datasets, pairs=keep(datasets.pairs), unpaired=keep(datasets.unpaired), sft=keep(datasets.sft), counts=dict(datasets.counts)
    )


def replay_datasets(
    datasets: FeedbackDatasets, frames: dict[str, pd.DataFrame], parent_watermark: str | None, share: float, seed: str
) -> tuple[FeedbackDatasets, ReplaySelection]:
    """Steps 1 and 2 for one run: tonight's training rows and what was chosen."""
    new = new_prompt_keys(frames, parse_cutoff(parent_watermark))
    selection = select_replay(training_prompts(datasets), new, share, seed)
    return apply_replay(datasets, selection), selection


def describe_replay(selection: ReplaySelection) -> str:
    """One line for `--dry-run` (the report reads the same line from the run's counts)."""
    return describe_replay_counts(selection.counts()) or ""


def describe_replay_counts(counts: dict[str, int]) -> str | None:
    """The replay line from a run's data counts (None: a run without replay counts, e.g. personal)."""
    if "new_prompts" not in counts:
        return None
    return (
        f"Replay: {counts['new_prompts']} training prompts new since the parent version was trained, "
        f"{counts['replayed_prompts']} of {counts['old_prompts']} older ones replayed "
        f"(PLAYGROUND_REPLAY_SHARE={counts['replay_share_percent'] / 100:g})."
    )
