"""Arena votes move the retrain watermark: a night with only new votes is not skipped as "nothing
new", and the run's counts (and so its report) say how many votes it read. No model loads: the
runs here stop at "too few training rows"."""

from __future__ import annotations

from feedback_db.arena import Contestant
from playground.core.database import open_database
from playground.core.settings import Settings
from playground.retrain import RetrainOptions, retrain
from playground.retrain.candidate import read_feedback
from tests.db.helpers import add_voted_battle

FEW = RetrainOptions(modality="text", min_examples=50, personal=False)


def vote(database, outcome: str = "a") -> None:
    """One voted preset battle of the base version."""
    add_voted_battle(database, Contestant("base", "temperature=0.7"), Contestant("base", "temperature=1.0"), outcome)


def test_a_night_with_only_new_votes_is_not_skipped_as_nothing_new(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", device="cpu")
    database = open_database(settings)
    # 1. A first night looks at the feedback (too little to train on) and records its watermark.
    (first,) = retrain(settings, FEW)
    assert first.status == "skipped" and "need 50" in first.message and first.counts["arena_votes"] == 0
    # 2. Nothing new: the next night skips as nothing new.
    (again,) = retrain(settings, FEW)
    assert again.status == "skipped" and "no new text feedback" in again.message
    # 3. Only a new arena vote: the night reads the feedback again and counts the vote.
    vote(database)
    assert read_feedback(database, "text").arena_votes == 1
    (after_vote,) = retrain(settings, FEW)
    assert "no new text feedback" not in after_vote.message and "need 50" in after_vote.message
    assert after_vote.counts["arena_votes"] == 1
    # 4. And once that is recorded, nothing new again.
    (last,) = retrain(settings, FEW)
    assert "no new text feedback" in last.message and last.counts["arena_votes"] == 1
