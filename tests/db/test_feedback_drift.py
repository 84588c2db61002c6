"""Feedback drift: recent feedback against what the active version was trained on.

Unit tests on synthetic frames (a fake two-direction encoder), the queries on a real database
with a trained version's cutoff, the retrain report's section, and the real MiniLM encoder.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from feedback_db.queries import NewOutput, record_request, set_flag, upsert_rating, upsert_set_rating
from feedback_db.runs import start_run
from feedback_db.schema import Flag
from feedback_db.versions import create_version, promote_version
from models.finetune.evaluate import Evaluation
from models.finetune.text import TrainResult
from playground.retrain.behaviour import BehaviourComparison
from playground.retrain.report import ReportInputs, write_report
from playground.services.categories import TopicModel
from playground.services.feedback_drift import (
    Baseline,
    DriftFrames,
    DriftThresholds,
    feedback_drift,
    read_feedback_drift,
    report_lines,
)
from tests.db.helpers import add_rater

CUT = pd.Timestamp("2025-03-03 00:00", tz="UTC")  # a Monday
COOKING = [f"How do I cook {food} pasta for dinner tonight?" for food in ("red", "green", "fresh", "baked", "creamy", "spicy", "quick")]
SPACE = [f"Tell me about the {thing} planet orbit in space" for thing in ("red", "ringed", "largest", "hot", "cold", "small", "far")]
THRESHOLDS = DriftThresholds(min_feedback=20)


def two_topics(texts):
    """A fake encoder: cooking prompts along one axis, the rest along another."""
    return np.array([[1.0, 0.02 * (i % 7)] if "cook" in t else [0.02 * (i % 7), 1.0] for i, t in enumerate(texts)])


def frames(then_prompts, now_prompts, *, reliability_then=4, reliability_now=4, flagged_now=0.0, low_week=None):
    """Prompts, scores and outputs: `then_prompts` in the four weeks before CUT, `now_prompts` in the week after."""
    rows, scores, outputs = [], [], []
    for side, prompts, start in (("then", then_prompts, CUT - timedelta(days=28)), ("now", now_prompts, CUT)):
        span = timedelta(days=28 if side == "then" else 6)
        for i, prompt in enumerate(prompts):
            at = start + span * i / len(prompts)
            rows.append({"request_id": len(rows), "prompt": prompt, "at": at})
            reliability = reliability_now if side == "now" else reliability_then
            if low_week is not None and low_week <= at < low_week + timedelta(days=7):
                reliability = 1
            scores += [{"at": at, "axis": "reliability", "score": float(reliability)}, {"at": at, "axis": "naturalness", "score": 4.0}]
            scores.append({"at": at, "axis": "diversity", "score": 3.0})
            outputs.append({"output_id": len(outputs), "at": at, "flagged": side == "now" and i < flagged_now * len(prompts)})
    return DriftFrames(pd.DataFrame(rows), pd.DataFrame(scores), pd.DataFrame(outputs))


def measure(drift, name):
    return next(m for m in drift.measures if m.name.startswith(name))


def test_a_shift_in_topic_fires_the_sentence():
    drift = feedback_drift(frames(COOKING * 4, SPACE * 4), Baseline("text-v2", CUT), THRESHOLDS, TopicModel(two_topics))
    assert drift.status == "moved"
    assert drift.sentence.startswith("**Feedback has moved** against what `text-v2` was trained on (the feedback before 03 Mar 2025")
    assert measure(drift, "prompt mix").moved and measure(drift, "topic shares").change == pytest.approx(1.0)
    assert "prompt mix (embedding distance)" in drift.sentence and "reliability" not in drift.sentence
    assert sorted(drift.topics[["then", "now"]].to_numpy().tolist()) == [[0.0, 1.0], [1.0, 0.0]]
    assert not measure(drift, "reliability").moved and not measure(drift, "flagged").moved


def test_no_shift_keeps_quiet():
    mix = COOKING * 2 + SPACE * 2
    drift = feedback_drift(frames(mix, list(reversed(mix))), Baseline("text-v2", CUT), THRESHOLDS, TopicModel(two_topics))
    assert drift.status == "steady" and all(m.moved is False for m in drift.measures)
    assert drift.sentence.startswith("**Feedback has not moved**") and "Too little" not in drift.sentence
    table = drift.table().set_index("Measure")
    assert table.loc["reliability mean", "Moved"] == "no" and table.loc["topic shares (moved share)", "Change"] == "0.00"


def test_too_little_feedback_says_so_and_guesses_nothing():
    drift = feedback_drift(frames(COOKING, SPACE[:3]), Baseline(None, CUT), THRESHOLDS, TopicModel(two_topics))
    assert drift.status == "too-little" and all(m.moved is None for m in drift.measures)
    assert drift.sentence.startswith("**Too little feedback to tell**")
    assert "7 prompts then and 3 since; each measure needs 20 on each side" in drift.sentence
    assert "no version trained yet" in drift.sentence and drift.topics.empty
    # Some measures with enough, some without: steady on those, and it names the rest.
    partial = feedback_drift(frames(COOKING * 4, COOKING * 4), Baseline("v", CUT), DriftThresholds(min_feedback=20), None)
    assert partial.status == "steady" and partial.notes == ["The prompt mix was not compared (the embedding part was skipped here)."]
    thin = feedback_drift(frames(COOKING * 4, COOKING[:5]), Baseline("v", CUT), THRESHOLDS, None)
    assert thin.status == "too-little"


def test_a_week_of_lower_reliability_shows_and_a_fall_since_fires():
    low = CUT - timedelta(days=14)
    drift = feedback_drift(frames(COOKING * 4, COOKING * 4, low_week=low), Baseline("v", CUT), THRESHOLDS, None)
    weekly = drift.weekly[drift.weekly["axis"] == "reliability"].set_index("week")["mean"]
    assert weekly[low.tz_localize(None)] == 1.0 and (weekly.drop(low.tz_localize(None)) == 4.0).all(), weekly
    assert list(drift.weekly.columns) == ["week", "axis", "mean", "count"]
    fallen = feedback_drift(frames(COOKING * 4, COOKING * 4, reliability_now=2, flagged_now=0.5), Baseline("v", CUT), THRESHOLDS, None)
    assert fallen.status == "moved"
    assert "reliability mean 4.00 -> 2.00 (-2.00; threshold ±0.50)" in fallen.sentence
    assert "flagged share 0% -> 50% (+50%; threshold ±10%)" in fallen.sentence


def seed(session, prompts, at, rater, flag_every=0):
    for i, prompt in enumerate(prompts):
        request = record_request(
            session,
            modality="text",
            prompt=prompt,
            parameters={},
            model_version="base",
            outputs=[NewOutput(index=k, seed=k, latency_ms=5.0, text=f"answer {k}", tokens=2) for k in range(2)],
        )
        when = at + timedelta(minutes=i)
        rating = upsert_rating(session, output_id=request.outputs[0].id, rater_id=rater.id, source="end_user", reliability=4, naturalness=3)
        rating.created_at = when
        upsert_set_rating(session, request_id=request.id, rater_id=rater.id, source="end_user", diversity=2).created_at = when
        if flag_every and i % flag_every == 0:
            set_flag(session, output_id=request.outputs[1].id, rater_id=rater.id, flagged=True, reason="harmful")
            session.query(Flag).filter(Flag.output_id == request.outputs[1].id).one().created_at = when


def test_the_database_reads_then_and_now_at_the_active_versions_run(database):
    now = datetime(2025, 3, 10, tzinfo=UTC)
    with database.sessions.begin() as session:
        rater = add_rater(session, "rita")
        seed(session, COOKING * 3, now - timedelta(days=20), rater)
        seed(session, [p + "?" for p in SPACE * 3], now - timedelta(days=2), rater, flag_every=2)
        # No trained version: the last 7 days against everything before.
        base = read_feedback_drift(database, "text", THRESHOLDS, None, now=now)
        run = start_run(session, modality="text", data_counts={"watermark": "w"})
        run.started_at = (now - timedelta(days=10)).replace(tzinfo=None)
        version = create_version(session, name="text-v1", modality="text", base_model="b", adapter_path="a", training_run_id=run.id)
        promote_version(session, version_id=version.id)
    assert base.baseline.version is None and base.baseline.cutoff == pd.Timestamp(now - timedelta(days=7))
    drift = read_feedback_drift(database, "text", THRESHOLDS, None, now=now)
    assert drift.baseline.version == "text-v1" and drift.baseline.cutoff == pd.Timestamp(now - timedelta(days=10))
    counts = {m.name: (m.then_count, m.now_count) for m in drift.measures}
    assert counts == {"naturalness mean": (21, 21), "reliability mean": (21, 21), "diversity mean": (21, 21), "flagged share": (21, 32)}
    assert measure(drift, "flagged").now == pytest.approx(11 / 32) and drift.status == "moved"
    assert measure(drift, "naturalness").moved is False
    assert read_feedback_drift(database, "image", THRESHOLDS, None, now=now).status == "too-little"


def test_the_retrain_report_has_a_feedback_drift_section(tmp_path: Path):
    drift = feedback_drift(frames(COOKING * 4, SPACE * 4), Baseline("text-v2", CUT), THRESHOLDS, TopicModel(two_topics))
    evaluation = Evaluation("pairs", "sign test", "not-better", 0.5, 10, 3, 4, 3, 20, {}, {}, "no clear gain")
    inputs = ReportInputs(
        "text-v3",
        "text",
        "text-v2",
        "not promoted",
        False,
        {"pairs": 20},
        TrainResult("dpo", tmp_path, 20, 5, 1.0, 0.5, {}),
        evaluation,
        BehaviourComparison(0, {}, {}),
        {},
        {},
        drift_lines=report_lines(drift),
    )
    text = write_report(tmp_path / "reports", inputs).read_text(encoding="utf-8")
    section = text.split("## Feedback drift", 1)[1]
    assert "**Feedback has moved** against what `text-v2` was trained on" in section
    assert "| prompt mix (embedding distance) |" in section and "| Topic | Name | Then | Now |" in section
    without = write_report(tmp_path / "plain", dataclasses.replace(inputs, drift_lines=[]))
    assert "Feedback drift" not in without.read_text(encoding="utf-8")


@pytest.mark.real_model
def test_the_real_minilm_tells_a_new_topic_from_the_same_mix():
    from models.text_embedding import SentenceEmbedder

    topics = TopicModel(SentenceEmbedder().embed)
    forms = ("How do I {}?", "Give me tips to {}.", "What is the best way to {}?", "Explain how to {} step by step.")
    subjects = {
        "home": ("cook pasta", "bake bread", "grow tomatoes", "fix a bike", "train a puppy"),
        "sky": ("see Saturn's rings", "find Mars at night", "photograph the moon", "spot a comet", "name the stars"),
    }
    # Each topic's prompts in two halves with the same wordings and subjects, paired differently.
    asked = {
        (topic, half): [form.format(s) for f, form in enumerate(forms) for k, s in enumerate(subjects[topic]) if (f + k) % 2 == half]
        for topic in subjects
        for half in (0, 1)
    }
    # 1. The same mix asked again: within the threshold, no topic moved.
    then, now = (asked["home", 0] + asked["sky", 0]) * 2, (asked["home", 1] + asked["sky", 1]) * 2
    same = feedback_drift(frames(then, now), Baseline("v", CUT), THRESHOLDS, topics)
    assert measure(same, "prompt mix").change < THRESHOLDS.prompt_distance and same.status == "steady", same.table().to_string()
    # 2. From home to the night sky: well past it, and the topics say so too.
    then, now = (asked["home", 0] + asked["home", 1]) * 2, (asked["sky", 0] + asked["sky", 1]) * 2
    moved = feedback_drift(frames(then, now), Baseline("v", CUT), THRESHOLDS, topics)
    assert measure(moved, "prompt mix").change > 2 * THRESHOLDS.prompt_distance and moved.status == "moved", moved.table().to_string()
    assert measure(moved, "topic shares").moved
