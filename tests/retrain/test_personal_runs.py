"""Personal runs of `playground retrain` (playground/retrain/personal.py) on a real database with
a scripted trainer that learns the one thing its training pairs agree on: which identities get a
version, that each is trained on its owner's ratings alone and gated on its owner's held-out
prompts, published owned and active, skipped when nothing is new, bounded per night, and that a
stale personal version goes when a newer one fails against a newer global version.

The scripted trainer "learns" the majority direction of its pairs (short or long chosen) and its
scorer prefers completions in that direction; one trained on both raters' opposite pairs learns
nothing, as the global version here must. The real models' loop: tests/retrain/test_personal_*_loop.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest
from sqlalchemy import select

from feedback_db.schema import ModelVersion, TrainingRun
from feedback_db.versions import create_version, promote_version
from models.finetune.text import TrainResult
from playground.core.database import open_database
from playground.core.settings import Settings
from playground.retrain import RetrainOptions, retrain
from playground.retrain import run as retrain_run
from playground.retrain.personal import personal_candidates
from tests.retrain.seed import LONG, SHORT, seed_length_preference
from tests.retrain.test_running_evidence import ScriptedTrainer


class DirectionTrainer(ScriptedTrainer):
    """Learns "short", "long" or "nothing" from the pairs' chosen answers; scores +1 for a
    completion in the learned direction, -1 against it, 0 for the base model or "nothing"
    (sampling and features as the running-evidence tests' trainer: none)."""

    modality: ClassVar = "text"
    trained_on: ClassVar[list[int]] = []  # the number of pairs of every training, in order

    def train(self, datasets, out_dir: Path, parent) -> TrainResult:
        short = sum(row["chosen"].startswith(SHORT) for row in datasets.pairs)
        long = sum(row["chosen"].startswith(LONG[:20]) for row in datasets.pairs)
        learned = "short" if short > 2 * long else "long" if long > 2 * short else "nothing"
        (out_dir / "adapter_config.json").write_text("{}")
        (out_dir / "learned").write_text(learned)
        type(self).trained_on.append(len(datasets.pairs))
        return TrainResult("dpo", out_dir, len(datasets.pairs), 1, 0.0, None, {})

    def scorer(self, version):
        learned = (Path(version.adapter_path) / "learned").read_text() if version.adapter_path else "nothing"

        def score(prompts, completions):
            rows = []
            for completion in completions:
                direction = "short" if completion.startswith(SHORT) else "long"
                rows.append((0.0 if learned == "nothing" else (1.0 if direction == learned else -1.0), 8))
            return rows

        return score


@pytest.fixture
def night(tmp_path, monkeypatch):
    settings = Settings(data_dir=tmp_path / "data", device="cpu", personal_min_ratings=40)
    database = open_database(settings)
    monkeypatch.setitem(retrain_run.TRAINERS, "text", DirectionTrainer)
    monkeypatch.setattr(DirectionTrainer, "trained_on", [])
    options = RetrainOptions(modality="text", eval_generation_prompts=0, min_examples=4)

    def run(**overrides):
        return retrain(settings.model_copy(update=overrides), options)

    return settings, database, run


def versions(database) -> list[tuple[str, int | None, str, dict]]:
    with database.read_sessions() as session:
        rows = session.execute(select(ModelVersion, TrainingRun).join(TrainingRun, ModelVersion.training_run_id == TrainingRun.id)).all()
        return [(v.name, v.owner_id, v.status, dict(r.data_counts)) for v, r in rows]


def owners(database) -> dict[str, int]:
    with database.read_sessions() as session:
        from feedback_db.schema import User

        return {u.name: u.id for u in session.scalars(select(User))}


def test_two_opposite_raters_each_get_their_own_version_and_the_global_one_learns_neither(night):
    settings, database, run = night
    seed_length_preference(database, prompts=30, prefer_short=True)  # 60 rated outputs each
    seed_length_preference(database, prompts=30, prefer_short=False)
    seed_length_preference(database, prompts=10, prefer_short=True)  # 20 rated outputs: too few
    outcomes = run()
    # 1. The global run (both tastes: learns nothing, not promoted), then one run per qualifying rater.
    assert [o.status for o in outcomes][0] != "promoted", outcomes[0].message
    personal = outcomes[1:]
    assert len(personal) == 2 and all(o.status == "promoted" for o in personal), [o.message for o in personal]
    assert all(o.message.startswith("personal, identity ") and "60 rated outputs" in o.message for o in personal)
    # 2. Each version is its owner's, active, trained on its owner's pairs alone, and says so.
    ids = owners(database)
    rows = {owner: (name, status, counts) for name, owner, status, counts in versions(database) if owner is not None}
    assert set(rows) == {ids["scripted-True-30"], ids["scripted-False-30"]}
    for owner, expected in ((ids["scripted-True-30"], "short"), (ids["scripted-False-30"], "long")):
        name, status, counts = rows[owner]
        assert status == "active" and name.startswith("text-p-") and counts["rated_outputs"] == 60
        assert (settings.adapters_dir / name / "learned").read_text() == expected
        assert counts["heldout_prompts"] >= 1 and counts["pairs"] + counts["heldout_pairs"] == 30
    # 3. Nothing new: the next night trains nobody again.
    again = run()
    assert [o.status for o in again] == ["skipped"], [o.message for o in again]  # the global run's skip alone


def test_the_night_is_bounded_most_new_ratings_first(night):
    settings, database, run = night
    seed_length_preference(database, prompts=25, prefer_short=True)
    seed_length_preference(database, prompts=35, prefer_short=False)
    outcomes = run(personal_max_per_night=1)
    assert len(outcomes) == 2 and "70 rated outputs" in outcomes[1].message  # the rater with more new ratings
    again = run(personal_max_per_night=1)  # the global run skips (nothing new); the other rater's turn comes
    assert len(again) == 2 and "50 rated outputs" in again[1].message, [o.message for o in again]


def test_a_stale_personal_version_goes_when_the_new_one_loses_to_a_newer_global_version(night, tmp_path):
    settings, database, run = night
    seed_length_preference(database, prompts=30, prefer_short=True)
    seed_length_preference(database, prompts=30, prefer_short=False)  # so the global run learns nothing
    first = run(personal_max_per_night=1)[1]  # the long-lover's 60 are as new: the lower id goes first
    assert first.status == "promoted", first.message
    owner = owners(database)["scripted-True-30"]
    # A newer global version (learned "short" too, so tonight's personal one is no better than it).
    folder = settings.adapters_dir / "text-v9"
    folder.mkdir()
    (folder / "adapter_config.json").write_text("{}")
    (folder / "learned").write_text("short")
    with database.sessions.begin() as session:
        promote_version(
            session, version_id=create_version(session, name="text-v9", modality="text", base_model="embedded", adapter_path=str(folder)).id
        )
    # No new rating, but a new global version: the owner's version is trained again on top of it.
    outcomes = run(personal_max_per_night=2)
    personal = [o for o in outcomes if o.message.startswith(f"personal, identity {owner} ")]  # (the long-lover's first run comes too)
    assert len(personal) == 1 and personal[0].status != "promoted", personal[0].message
    statuses = {name: status for name, who, status, _ in versions(database) if who == owner}
    assert "active" not in statuses.values(), statuses  # the owner is served text-v9 now


def test_candidates_need_enough_rated_outputs_and_come_most_new_first():
    import pandas as pd

    now = pd.Timestamp("2026-12-06", tz="UTC")
    ratings = pd.DataFrame(
        {
            "rater_id": [1] * 50 + [2] * 45 + [3] * 10,
            "output_id": list(range(50)) + list(range(100, 145)) + list(range(200, 210)),
            "updated_at": [now] * 105,
        }
    )
    chosen = personal_candidates(ratings, {1: now - pd.Timedelta(days=1), 2: now}, min_rated_outputs=40, limit=5)
    assert [(c.owner_id, c.rated_outputs, c.new_ratings) for c in chosen] == [(1, 50, 50), (2, 45, 0)]
    assert personal_candidates(ratings, {}, min_rated_outputs=40, limit=1)[0].owner_id == 1
    assert personal_candidates(ratings, {}, min_rated_outputs=40, limit=0) == []


def test_a_personal_run_that_raises_is_failed_and_the_next_identity_still_trains(night, monkeypatch):
    settings, database, run = night
    seed_length_preference(database, prompts=30, prefer_short=True)
    seed_length_preference(database, prompts=30, prefer_short=False)
    real_train = DirectionTrainer.train

    def train_or_fail(self, datasets, out_dir, parent):
        if datasets.pairs and datasets.pairs[0]["chosen"].startswith(SHORT) and all(r["chosen"].startswith(SHORT) for r in datasets.pairs):
            raise RuntimeError("out of memory")
        return real_train(self, datasets, out_dir, parent)

    monkeypatch.setattr(DirectionTrainer, "train", train_or_fail)
    outcomes = run()
    statuses = sorted(o.status for o in outcomes[1:])
    assert statuses == ["failed", "promoted"], [o.message for o in outcomes]
    with database.read_sessions() as session:
        runs = session.scalars(select(TrainingRun).where(TrainingRun.owner_id.is_not(None))).all()
        assert sorted(r.status for r in runs) == ["failed", "succeeded"]
        assert "RuntimeError: out of memory" in next(r.error for r in runs if r.status == "failed")
