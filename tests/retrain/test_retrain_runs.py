"""`playground retrain` on the real embedded text model, with a few training steps."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from feedback_db.schema import ModelVersion, TrainingRun
from feedback_db.versions import active_version
from playground.core.database import open_database
from playground.core.settings import Settings
from playground.retrain import RetrainOptions, retrain
from playground.services.feedback_drift import retrain_drift
from tests.retrain.seed import seed_length_preference

pytestmark = pytest.mark.real_model
QUICK = dict(modality="text", max_steps=2, eval_generation_prompts=0, min_examples=4, personal=False)


@pytest.fixture
def retrain_settings(tmp_path, model_cache_dir, real_text_generator) -> Settings:
    """A fresh data dir that shares the session's converted embedded model."""
    return Settings(data_dir=tmp_path / "data", device="cpu", model_cache=model_cache_dir)


def runs(database) -> list[tuple[str, str]]:
    with database.read_sessions() as session:
        return [(r.modality, r.status) for r in session.scalars(select(TrainingRun).order_by(TrainingRun.id))]


def retrain_text_command(settings: Settings, *options: str) -> list[str]:
    """`playground retrain --modality text` with `options`, on the settings' data folder, as cron runs it."""
    return [sys.executable, "-m", "playground", "--data-dir", str(settings.data_dir), "retrain", "--modality", "text", *options]


def test_a_run_trains_gates_reports_then_skips_when_nothing_is_new(retrain_settings):
    database = open_database(retrain_settings)
    seed_length_preference(database, prompts=30)

    (outcome,) = retrain(retrain_settings, RetrainOptions(**QUICK, feedback_drift=retrain_drift(retrain_settings)))

    assert outcome.status in ("promoted", "insufficient-evidence", "rejected"), outcome.message
    assert outcome.message.startswith(outcome.status + ": text-v1")
    assert outcome.report_path.exists() and outcome.report_path.with_suffix(".json").exists()
    report = outcome.report_path.read_text()
    # The first lines say the verdict, the test, its p-value and the held-out size.
    head = "\n".join(report.splitlines()[:8])
    assert "held-out prompts" in head and "sign test" in head and "p = " in head, head
    # Feedback drift: all of it is from the last minutes and no version was trained before.
    assert "## Feedback drift\n\n**Too little feedback to tell** whether it has moved against the feedback before" in report
    # The chain: tonight's version is its last row, trained on the base model.
    chain = [line for line in report.split("## The chain", 1)[1].splitlines() if line.startswith("| text-v")]
    assert [row.split(" | ")[:2] for row in chain] == [["| text-v1", "base"]], chain
    with database.read_sessions() as session:
        version = session.scalar(select(ModelVersion).where(ModelVersion.name == outcome.version))
        assert Path(version.adapter_path, "adapter_config.json").exists()
        # Every request used temperature 0.7: one bucket compares nothing, so nothing is learned.
        assert "temperature" not in version.sampling_defaults
        assert not version.sampling_defaults["evidence"]["learned"]
        assert (version.status == "active") == (outcome.status == "promoted")
    assert runs(database) == [("text", "succeeded")]
    assert list(retrain_settings.logs_dir.glob("retrain-*.log"))

    (again,) = retrain(retrain_settings, RetrainOptions(**QUICK))
    assert again.status == "skipped" and "no new text feedback" in again.message


def test_dry_run_prints_counts_and_samples_and_trains_nothing(retrain_settings):
    database = open_database(retrain_settings)
    seed_length_preference(database, prompts=12)

    (outcome,) = retrain(retrain_settings, RetrainOptions(**{**QUICK, "dry_run": True}))

    assert outcome.status == "dry-run"
    assert "pairs (DPO)" in outcome.message and "Paris" in outcome.message
    assert runs(database) == []
    assert not any(retrain_settings.adapters_dir.iterdir())


def test_too_little_feedback_is_skipped_with_the_counts(retrain_settings):
    database = open_database(retrain_settings)
    seed_length_preference(database, prompts=2)

    (outcome,) = retrain(retrain_settings, RetrainOptions(modality="text", min_examples=50, personal=False))

    assert outcome.status == "skipped" and outcome.message.startswith("skipped:")
    assert "need 50" in outcome.message and "pairs" in outcome.message


def test_the_cli_reports_a_skip_and_exits_zero(retrain_settings):
    result = subprocess.run(
        retrain_text_command(retrain_settings, "--min-examples", "10"),
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PLAYGROUND_MODEL_CACHE": str(retrain_settings.model_cache_dir)},
    )
    assert result.returncode == 0, result.stderr
    assert "[text] skipped: 0 usable text training rows" in result.stdout


@pytest.mark.long
def test_a_killed_run_changes_nothing_and_the_next_run_succeeds(retrain_settings):
    # 1. An active version to protect.
    database = open_database(retrain_settings)
    seed_length_preference(database, prompts=30)
    retrain(retrain_settings, RetrainOptions(**{**QUICK, "max_steps": 1}))
    with database.read_sessions() as session:
        before = active_version(session, modality="text")
        before_name = before.name if before else None
    # 2. New feedback, and a long run killed while it trains.
    seed_length_preference(database, prompts=10, prefer_short=False)
    process = subprocess.Popen(
        retrain_text_command(retrain_settings, "--min-examples", "4", "--max-steps", "500"),
        env={**os.environ, "PLAYGROUND_MODEL_CACHE": str(retrain_settings.model_cache_dir), "PLAYGROUND_DEVICE": "cpu"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(lambda: ("text", "running") in runs(database), timeout=300)
        _wait_for(lambda: any(retrain_settings.adapters_dir.glob(".tmp-*")), timeout=300)
        time.sleep(15)  # model loaded, inside the training loop
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
    # 3. Nothing visible changed: same active version, no new version.
    with database.read_sessions() as session:
        after = active_version(session, modality="text")
        assert (after.name if after else None) == before_name
        assert session.query(ModelVersion).count() == 1
    # 4. The next run cleans up and succeeds.
    (outcome,) = retrain(retrain_settings, RetrainOptions(**{**QUICK, "max_steps": 1}))
    assert outcome.status in ("promoted", "insufficient-evidence", "rejected"), outcome.message
    assert runs(database) == [("text", "succeeded"), ("text", "failed"), ("text", "succeeded")]
    assert not list(retrain_settings.adapters_dir.glob(".tmp-*"))


def _wait_for(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise TimeoutError("condition not met in time")


@pytest.mark.long
def test_the_gate_judges_both_versions_answers_with_a_judge_fitted_on_the_ratings(retrain_settings):
    """The judged-answers signal on the real model: MiniLM vectors, a judge validated on the
    training pairs, both versions answering held-out prompts, both signals in the report."""
    import json

    database = open_database(retrain_settings)
    seed_length_preference(database, prompts=30)

    (outcome,) = retrain(retrain_settings, RetrainOptions(**{**QUICK, "eval_generation_prompts": 3}))

    data = json.loads(outcome.report_path.with_suffix(".json").read_text())
    judge, report = data["behaviour"]["judge"], outcome.report_path.read_text()
    assert "cv_accuracy" in judge and judge["pairs"] > 0 and "## Judged answers" in report, judge
    assert data["margins"]["metric"].startswith("held-out pairs")
    if judge["accepted"]:  # a length preference: the judge's length features predict it
        answers = data["behaviour"]["answers"]
        assert answers["prompts"] == 3 and "effect_size" in answers["new"], answers
        assert set(data["evaluation"]["details"]["signals"]) == {"answers", "margins"}
        assert "higher on" in report and "Combined: each signal is tested at 0.025" in report
    else:
        assert judge["reason"].startswith("refused as a judge") and data["behaviour"]["answers"] is None
