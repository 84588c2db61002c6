"""Replay selection (playground/retrain/replay.py) on hand-made frames and datasets: fast, no model."""

from __future__ import annotations

import pandas as pd
import pytest

from models.finetune.data import FeedbackDatasets
from playground.core.settings import Settings
from playground.retrain.replay import (
    describe_replay_counts,
    new_prompt_keys,
    parse_cutoff,
    replay_datasets,
    select_replay,
)

PARENT_READ = "2026-12-01 10:00:00+00:00"
WATERMARK = f"ratings:20:{PARENT_READ}|set_ratings:0:None|votes:0:None"


def frames(updated: dict[str, str]) -> dict[str, pd.DataFrame]:
    """One rating per prompt, updated at the given time; no set ratings."""
    ratings = pd.DataFrame({"prompt": list(updated), "updated_at": pd.to_datetime(list(updated.values()), utc=True)})
    return {"ratings": ratings, "set_ratings": pd.DataFrame(columns=["prompt", "updated_at"])}


def datasets(prompts: list[str], heldout: list[str]) -> FeedbackDatasets:
    """One pair, one labelled row and one SFT row per training prompt; a pair per held-out prompt."""
    data = FeedbackDatasets(modality="text", counts={"prompts": len(prompts) + len(heldout)})
    for prompt in prompts:
        data.pairs.append({"prompt": prompt, "chosen": "a", "rejected": "b", "weight": 1.0})
        data.unpaired.append({"prompt": prompt, "completion": "a", "label": True})
        data.sft.append({"prompt": prompt, "completion": "a"})
    data.heldout_pairs = [{"prompt": prompt, "chosen": "a", "rejected": "b", "weight": 1.0} for prompt in heldout]
    data.heldout_prompts = list(heldout)
    return data


OLD, NEW = "2026-12-01 09:00:00", "2026-12-02 09:00:00"
PROMPTS = [f"Prompt {k}" for k in range(10)]
UPDATED = {**{p: OLD for p in PROMPTS[:8]}, **{p: NEW for p in PROMPTS[8:]}, "Held out": NEW}


def test_the_cutoff_comes_from_the_parent_runs_watermark():
    cutoff = parse_cutoff(WATERMARK)
    assert cutoff.ratings == pd.Timestamp(PARENT_READ) and cutoff.set_ratings is None
    assert parse_cutoff(None) is None and parse_cutoff("") is None  # the base model as parent


def test_only_rows_updated_after_the_parent_read_are_new():
    assert new_prompt_keys(frames(UPDATED), parse_cutoff(WATERMARK)) == {"prompt 8", "prompt 9", "held out"}
    assert new_prompt_keys(frames(UPDATED), None) == {p.lower() for p in UPDATED}  # base parent: everything is new


@pytest.mark.parametrize("share, replayed", [(0.0, 0), (0.5, 4), (0.25, 2), (1.0, 8)])
def test_new_prompts_always_train_and_the_share_of_old_ones_is_replayed(share, replayed):
    chosen, selection = replay_datasets(datasets(PROMPTS, ["Held out"]), frames(UPDATED), WATERMARK, share, seed="replay:text:text-v1")
    kept = {row["prompt"] for row in chosen.pairs}
    assert {"Prompt 8", "Prompt 9"} <= kept
    assert len(kept) == 2 + replayed and len(selection.replayed) == replayed and len(selection.old) == 8
    assert {row["prompt"] for row in chosen.unpaired} == {row["prompt"] for row in chosen.sft} == kept  # a prompt's rows stay together
    # The held-out rows are untouched whatever the share: the gate sees all of them.
    assert chosen.heldout_pairs == [{"prompt": "Held out", "chosen": "a", "rejected": "b", "weight": 1.0}]
    assert chosen.heldout_prompts == ["Held out"] and "held out" not in selection.kept
    assert selection.counts() == {
        "replay_share_percent": round(share * 100),
        "new_prompts": 2,
        "old_prompts": 8,
        "replayed_prompts": replayed,
    }


def test_the_draw_is_seeded_by_the_parent_and_deterministic():
    old = {f"p{k}" for k in range(40)}
    first = select_replay(old | {"new"}, {"new"}, 0.5, seed="replay:image:image-v3")
    assert first == select_replay(old | {"new"}, {"new"}, 0.5, seed="replay:image:image-v3")
    assert first.replayed != select_replay(old | {"new"}, {"new"}, 0.5, seed="replay:image:image-v4").replayed


def test_share_one_with_the_base_model_as_parent_trains_on_everything_as_before():
    everything = datasets(PROMPTS, ["Held out"])
    chosen, selection = replay_datasets(everything, frames(UPDATED), None, 0.0, seed="replay:text:base")
    assert chosen.pairs == everything.pairs and chosen.sft == everything.sft  # base parent: all new, even at share 0
    assert selection.old == frozenset()
    again, _ = replay_datasets(everything, frames(UPDATED), WATERMARK, 1.0, seed="replay:text:text-v1")
    assert again.pairs == everything.pairs and again.summary() == everything.summary()


def test_a_share_outside_zero_to_one_is_refused_clearly(monkeypatch):
    with pytest.raises(ValueError, match="outside 0..1"):
        select_replay({"a"}, set(), 1.5, seed="s")
    monkeypatch.setenv("PLAYGROUND_REPLAY_SHARE", "1.5")
    with pytest.raises(ValueError, match="replay_share"):
        Settings()
    monkeypatch.setenv("PLAYGROUND_REPLAY_SHARE", "0.25")
    assert Settings().replay_share == 0.25


def test_the_report_line_reads_the_runs_counts():
    counts = {"replay_share_percent": 50, "new_prompts": 3, "old_prompts": 8, "replayed_prompts": 4}
    assert describe_replay_counts(counts) == (
        "Replay: 3 training prompts new since the parent version was trained, 4 of 8 older ones replayed (PLAYGROUND_REPLAY_SHARE=0.5)."
    )
    assert describe_replay_counts({"pairs": 3}) is None
