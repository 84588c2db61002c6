"""Replay on the real embedded text model: the second night trains on its new feedback and the
replayed share of the first night's, and its run and report say how many of each. In the
generality lane, `make test-generality` (two trainings, one continuing from a parent adapter)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from feedback_db.schema import TrainingRun
from feedback_db.versions import promote_version, version_by_name
from playground.core.database import open_database
from playground.core.settings import Settings
from playground.retrain import RetrainOptions, retrain
from tests.retrain.seed import seed_length_preference

pytestmark = [pytest.mark.real_model, pytest.mark.generality, pytest.mark.timeout(1800)]  # two text nights: minutes
QUICK = dict(modality="text", max_steps=2, eval_generation_prompts=0, min_examples=4, personal=False)


def test_the_second_night_trains_on_new_feedback_and_a_replayed_share_of_the_old(tmp_path, model_cache_dir, real_text_generator):
    settings = Settings(data_dir=tmp_path / "data", device="cpu", model_cache=model_cache_dir, replay_share=0.5)
    database = open_database(settings)
    # 1. Night one, on the base model: everything is new, nothing to replay.
    seed_length_preference(database, prompts=30)
    (first,) = retrain(settings, RetrainOptions(**QUICK))
    assert first.counts["old_prompts"] == 0 and first.counts["new_prompts"] > 0, first.counts
    with database.sessions.begin() as session:  # whatever its gate said, it is tonight's parent
        promote_version(session, version_id=version_by_name(session, name=first.version).id)
    # 2. Night two: a new rater rates the first 6 prompts again; the other training prompts are old.
    seed_length_preference(database, prompts=6)
    (second,) = retrain(settings, RetrainOptions(**QUICK))
    counts = second.counts
    trained = first.counts["new_prompts"]
    assert 0 < counts["new_prompts"] <= 6 and counts["new_prompts"] + counts["old_prompts"] == trained, (first.counts, counts)
    assert counts["replayed_prompts"] == round(0.5 * counts["old_prompts"]) and counts["replay_share_percent"] == 50
    # 3. The run records it and the report says it; held-out prompts are as many as without replay.
    with database.read_sessions() as session:
        recorded = session.scalar(select(TrainingRun).where(TrainingRun.id == second.run_id)).data_counts
    assert {k: recorded[k] for k in ("new_prompts", "old_prompts", "replayed_prompts")} == {
        k: counts[k] for k in ("new_prompts", "old_prompts", "replayed_prompts")
    }
    assert counts["heldout_prompts"] == first.counts["heldout_prompts"]
    report = second.report_path.read_text()
    assert f"{counts['replayed_prompts']} of {counts['old_prompts']} older ones replayed (PLAYGROUND_REPLAY_SHARE=0.5)" in report
    assert json.loads(second.report_path.with_suffix(".json").read_text())["data"]["new_prompts"] == counts["new_prompts"]
