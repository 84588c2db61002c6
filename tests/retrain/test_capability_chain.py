"""Five nights in a row on shifting preferences (bright, bright, dark, dark, bright images): every
version ever promoted along the chain stays within the capability tolerances of the base model,
and the last night's report shows the whole chain. In `make test-generality` (about 15 minutes)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from feedback_db.schema import ModelVersion, TrainingRun
from playground.core.database import open_database
from playground.core.settings import Settings
from playground.retrain import RetrainOptions, retrain
from tests.retrain.image_feedback import seed_brightness_preference

pytestmark = [pytest.mark.real_model, pytest.mark.generality, pytest.mark.timeout(3600)]
NIGHTS = (True, True, False, False, True)  # does the night's new rater like bright images?
OPTIONS = dict(modality="image", eval_generation_prompts=0, min_examples=4, personal=False, max_steps=40)


def test_five_nights_on_shifting_preferences_keep_the_chain_within_tolerance(tmp_path, model_cache_dir, real_image_generator):
    settings = Settings(data_dir=tmp_path / "data", device="cpu", model_cache=model_cache_dir, capability_guard=True)
    database = open_database(settings)
    outcomes = []
    # 1. Each night brings 40 new rated prompts from a rater whose taste shifts, then a retrain.
    for night, bright in enumerate(NIGHTS, start=1):
        seed_brightness_preference(database, settings.data_dir / f"night{night}", prompts=40 + night, prefer_bright=bright)
        (outcome,) = retrain(settings, RetrainOptions(**OPTIONS))
        print(f"night {night} ({'bright' if bright else 'dark'}): {outcome.message.splitlines()[-1]}")
        outcomes.append(outcome)
    # 2. Every night trained a candidate and measured it against the base model.
    with database.read_sessions() as session:
        versions = list(session.scalars(select(ModelVersion).where(ModelVersion.modality == "image").order_by(ModelVersion.id)))
        runs = {run.id: dict(run.metrics) for run in session.scalars(select(TrainingRun))}
        chain = [(v.name, v.promoted_at is not None, runs[v.training_run_id]["capability"]) for v in versions]
    assert len(chain) == len(NIGHTS), [o.message for o in outcomes]
    promoted = [(name, capability) for name, was_promoted, capability in chain if was_promoted]
    assert promoted, "no night promoted a version: the chain would test nothing"
    # 3. What the promoted chain can still do stays within tolerance of the base model.
    for name, capability in promoted:
        print(name, {k: (round(capability["base"][k], 3), round(capability["candidate"][k], 3)) for k in capability["tolerance"]})
        for figure, limit in capability["tolerance"].items():
            assert capability["base"][figure] - capability["candidate"][figure] <= limit, (name, figure, capability)
    # 4. The last report shows the chain: every version, oldest first.
    report = outcomes[-1].report_path.read_text()
    table = report.split("## The chain", 1)[1]
    rows = [line.split(" | ")[0].strip("| ") for line in table.splitlines() if line.startswith("| image-v")]
    assert rows == [name for name, _, _ in chain], rows
