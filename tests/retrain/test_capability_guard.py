"""The capability guard on the real embedded models: a candidate over-trained on a narrow
preference wins the raters' held-out prompts and is still refused as `forgets`; a normal run on
the same feedback keeps its capability figures within tolerance of the base model."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from feedback_db.schema import ModelVersion, TrainingRun
from playground.core.database import open_database
from playground.core.settings import Settings
from playground.retrain import RetrainOptions, retrain
from tests.retrain.image_feedback import seed_brightness_preference
from tests.retrain.seed import seed_length_preference

# Real training and capability measurements (minutes each on 2 cores): the long lane (`make test-long`).
pytestmark = [pytest.mark.real_model, pytest.mark.long, pytest.mark.timeout(1800)]
TEXT = dict(modality="text", eval_generation_prompts=0, min_examples=4, personal=False)
# Many passes at ten times the usual learning rate on one narrow preference (always the same
# short sentence about Paris): the version learns to say that sentence to everything.
OVER_TRAINED_TEXT = dict(max_steps=40, train_overrides={"learning_rate": 5e-3, "beta": 0.5})
IMAGE = dict(modality="image", eval_generation_prompts=0, min_examples=4, personal=False)
OVER_TRAINED_IMAGE = dict(max_steps=300, train_overrides={"learning_rate": 2e-2})


def _run(settings: Settings, version: str) -> tuple[ModelVersion, dict]:
    database = open_database(settings)
    with database.read_sessions() as session:
        row = session.scalar(select(ModelVersion).where(ModelVersion.name == version))
        run = session.get(TrainingRun, row.training_run_id)
        session.expunge(row)
        return row, dict(run.metrics)


def _check_refused(settings: Settings, outcome) -> dict:
    assert outcome.status == "forgets", outcome.message
    version, metrics = _run(settings, outcome.version)
    capability = metrics["capability"]
    print(f"{outcome.version}: {json.dumps(capability)}; held-out {metrics['evaluation']['reason']}")
    # It won the raters' held-out prompts, and is refused anyway: never served, never promotable.
    assert metrics["evaluation"]["verdict"] == "better", metrics["evaluation"]
    assert capability["forgets"] and metrics["decision"] == "forgets"
    assert version.status == "retired"
    report = outcome.report_path.read_text()
    assert "Refused: it forgets what the base model could do" in report and "## Capability guard" in report
    return capability


def _check_kept(settings: Settings, outcome) -> dict:
    assert outcome.status in ("promoted", "insufficient-evidence", "rejected"), outcome.message
    _, metrics = _run(settings, outcome.version)
    capability = metrics["capability"]
    print(f"{outcome.version}: {json.dumps(capability)}")
    assert capability["forgets"] == []
    for name, limit in capability["tolerance"].items():
        assert capability["base"][name] - capability["candidate"][name] <= limit
    return capability


@pytest.fixture
def text_settings(tmp_path, model_cache_dir, real_text_generator) -> Settings:
    return Settings(data_dir=tmp_path / "data", device="cpu", model_cache=model_cache_dir, capability_guard=True)


@pytest.fixture
def image_settings(tmp_path, model_cache_dir, real_image_generator) -> Settings:
    return Settings(data_dir=tmp_path / "data", device="cpu", model_cache=model_cache_dir, capability_guard=True)


def test_a_normal_text_run_keeps_what_the_base_model_could_do(text_settings):
    seed_length_preference(open_database(text_settings), prompts=30)
    (outcome,) = retrain(text_settings, RetrainOptions(**TEXT, max_steps=4))
    _check_kept(text_settings, outcome)


def test_an_over_trained_text_candidate_wins_the_raters_but_forgets(text_settings):
    seed_length_preference(open_database(text_settings), prompts=30)
    (outcome,) = retrain(text_settings, RetrainOptions(**TEXT, **OVER_TRAINED_TEXT))
    _check_refused(text_settings, outcome)


def test_a_normal_image_run_keeps_what_the_base_model_could_do(image_settings):
    seed_brightness_preference(open_database(image_settings), image_settings.images_dir, prompts=40)
    (outcome,) = retrain(image_settings, RetrainOptions(**IMAGE, max_steps=3))
    _check_kept(image_settings, outcome)


def test_an_over_trained_image_candidate_wins_the_raters_but_forgets(image_settings):
    seed_brightness_preference(open_database(image_settings), image_settings.images_dir, prompts=40)
    (outcome,) = retrain(image_settings, RetrainOptions(**IMAGE, **OVER_TRAINED_IMAGE))
    _check_refused(image_settings, outcome)
