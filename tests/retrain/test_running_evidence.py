"""Evidence that accumulates across nights (playground/retrain/running.py), on a real database
with a scripted trainer: which prompts count, when a kept candidate is promoted, and that only one
candidate gathers at a time. The statistics themselves are simulated in test_gate_combination.py."""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

import pytest
from sqlalchemy import select

from feedback_db.schema import ModelVersion, TrainingRun
from models.finetune.text import TrainResult
from playground.core.database import open_database
from playground.core.settings import Settings
from playground.retrain import RetrainOptions, retrain
from playground.retrain import run as retrain_run
from playground.retrain.trainers import ModalityTrainer
from tests.retrain.seed import SHORT, seed_length_preference

FIRST_NIGHT = 30  # prompts 0..29 are rated before the first night, the rest later


class ScriptedTrainer(ModalityTrainer):
    """Trains nothing; a version's log-probability of the raters' chosen (short) answer is
    +1 on the prompts `wins(version, k)` names, -1 on the others; the base model's is 0."""

    modality: ClassVar = "text"
    wins: ClassVar = staticmethod(lambda version, k: False)

    def train(self, datasets, out_dir: Path, parent) -> TrainResult:
        (out_dir / "adapter_config.json").write_text("{}")
        return TrainResult("dpo", out_dir, len(datasets.pairs), 1, 0.0, None, {})

    def scorer(self, version):
        def score(prompts, completions):
            rows = []
            for prompt, completion in zip(prompts, completions, strict=True):
                k = int(re.search(r"number (\d+)", prompt).group(1))
                gain = 0.0 if version.adapter_path is None else (1.0 if type(self).wins(_name(version.name), k) else -1.0)
                rows.append((gain if completion.startswith(SHORT) else 0.0, 8))
            return rows

        return score

    def sample(self, version, prompts):
        return []

    def features(self, outputs):
        return [{"length": float(len(o))} for o in outputs]

    def summary(self, outputs):
        return {"count": float(len(outputs))}

    def serve(self, version) -> None:
        pass

    def measure_capability(self, version):
        return {"exact_answers": 0.5}  # every version keeps what the base model could do

    def capability_fingerprint(self):
        return "scripted"

    def capability_set_name(self):
        return "scripted"

    def capability_items(self):
        return 1


def _name(served: str) -> str:
    return served.removeprefix("candidate-")


@pytest.fixture
def nights(tmp_path, monkeypatch):
    settings = Settings(data_dir=tmp_path / "data", device="cpu")
    database = open_database(settings)
    monkeypatch.setitem(retrain_run.TRAINERS, "text", ScriptedTrainer)
    options = RetrainOptions(modality="text", eval_generation_prompts=0, min_examples=4, personal=False)

    def night(prompts: int, wins):
        monkeypatch.setattr(ScriptedTrainer, "wins", staticmethod(wins))
        seed_length_preference(database, prompts=prompts)
        (outcome,) = retrain(settings, options)
        return outcome

    return database, night


def evidence_of(database, name: str) -> dict:
    with database.read_sessions() as session:
        version = session.scalar(select(ModelVersion).where(ModelVersion.name == name))
        return dict(session.get(TrainingRun, version.training_run_id).metrics.get("running_evidence") or {}), version.status


def test_a_kept_candidate_that_keeps_winning_new_prompts_is_promoted_on_running_evidence(nights):
    database, night = nights
    # Night 1: text-v1 wins 3 prompts in 5 of the first ones: ahead, not enough evidence.
    first = night(FIRST_NIGHT, lambda version, k: k >= FIRST_NIGHT or k % 5 >= 2)
    assert first.status == "insufficient-evidence", first.message
    evidence, status = evidence_of(database, "text-v1")
    assert evidence["gathering"] and evidence["nights"] == 0 and status == "candidate"
    assert evidence["wins"] == evidence["losses"] == 0  # the night that kept it does not count again
    used = set(evidence["prompts"])
    # Night 2: more prompts; text-v1 wins every new one. text-v2 (trained on text-v1) is level.
    second = night(90, lambda version, k: version == "text-v1" and (k >= FIRST_NIGHT or k % 5 >= 2))
    evidence, status = evidence_of(database, "text-v1")
    assert status == "active" and not evidence["gathering"], evidence
    assert "text-v1 promoted on running evidence" in second.message and "e-value" in second.message
    assert evidence["losses"] == 0 and evidence["wins"] >= 7 and evidence["e_value"] >= 20, evidence
    assert used < set(evidence["prompts"])  # only prompts it had not been judged on were added


def test_a_no_better_candidate_keeps_gathering_and_a_newer_one_waits(nights):
    database, night = nights
    first = night(FIRST_NIGHT, lambda version, k: k % 5 >= 2)
    assert first.status == "insufficient-evidence", first.message
    # Night 2: on the new prompts text-v1 wins half; text-v2 is again ahead, not enough.
    second = night(70, lambda version, k: k % 5 >= 2 if version == "text-v2" else k % 2 == 0)
    evidence, status = evidence_of(database, "text-v1")
    assert status == "candidate" and evidence["nights"] == 1 and evidence["e_value"] < 20, evidence
    assert "text-v1 still gathering" in second.message or "stopped gathering" in second.message
    if second.status == "insufficient-evidence":
        newer, _ = evidence_of(database, "text-v2")
        assert newer == {} or not evidence["gathering"]  # one candidate gathers at a time
