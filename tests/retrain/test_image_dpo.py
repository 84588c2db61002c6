"""Diffusion-DPO on the real embedded image model.

- the method rule: DPO with enough pairs, SFT below, a clear error with neither;
- the loss: zero margin gives log 2, and it falls as the model beats the reference;
- pairs that disagree with the top-rated set: a rater scores a dark image highest but picks the
  light one as the best of every request. SFT (top-rated images, all dark) learns darker; DPO
  (the pairs) learns the light-over-dark preference, on prompts it never trained on.
- continuing from an active version: the reference is that version, and its adapter is left
  out of the saved folder.
"""

from __future__ import annotations

import math
import random
from dataclasses import replace
from itertools import product
from pathlib import Path

import numpy as np
import pytest

from feedback_db.frames import outputs_frame, ratings_frame, set_ratings_frame
from feedback_db.queries import NewOutput, record_request, upsert_rating, upsert_set_rating
from models.embedded_image.scenes import POSITIONS, SHAPES, SIZES, Scene, is_valid, render
from models.finetune.data import FeedbackDatasets, build_datasets
from models.finetune.diffusion import fresh_denoiser
from models.finetune.image import ImageTrainConfig, choose_image_method, train_image_adapter
from models.finetune.image_dpo import dpo_loss
from models.finetune.image_score import denoising_scorer
from models.finetune.text import NotEnoughDataError
from models.metrics import brightness
from playground.core.database import open_database
from playground.core.settings import Settings
from tests.db.helpers import add_rater
from tests.retrain.image_feedback import COLOURS, MEASURE


def rows(n: int, kind: str) -> list[dict]:
    if kind == "pair":
        return [{"prompt": f"p{k}", "chosen": "a.png", "rejected": "b.png", "weight": 1.0} for k in range(n)]
    return [{"prompt": f"p{k}", "completion": "a.png"} for k in range(n)]


def test_the_method_rule_prefers_pairs_and_falls_back_to_sft():
    config = ImageTrainConfig()
    assert choose_image_method(FeedbackDatasets("image", pairs=rows(16, "pair"), sft=rows(3, "sft")), config) == "dpo"
    assert choose_image_method(FeedbackDatasets("image", pairs=rows(15, "pair"), sft=rows(3, "sft")), config) == "sft"
    assert choose_image_method(FeedbackDatasets("image", pairs=rows(15, "pair")), replace(config, method="dpo")) == "dpo"
    with pytest.raises(NotEnoughDataError, match="15 pairs"):
        choose_image_method(FeedbackDatasets("image", pairs=rows(15, "pair")), config)
    with pytest.raises(ValueError, match="unknown image training method"):
        choose_image_method(FeedbackDatasets("image", sft=rows(3, "sft")), replace(config, method="ppo"))


def test_the_dpo_loss_rewards_beating_the_reference():
    import torch

    same = torch.tensor([0.5, 0.5, 0.6, 0.6])  # chosen losses first, then rejected
    loss, accuracy = dpo_loss(same, same, beta=100.0)
    assert loss.item() == pytest.approx(math.log(2)) and accuracy.item() == 0.0
    better = torch.tensor([0.4, 0.4, 0.6, 0.6])  # the model lowers the chosen images' error
    worse = torch.tensor([0.6, 0.6, 0.6, 0.6])
    assert dpo_loss(better, same, 100.0)[0] < math.log(2) < dpo_loss(worse, same, 100.0)[0]
    assert dpo_loss(better, same, 100.0)[1].item() == 1.0


def seed_disagreeing_feedback(database, images_dir: Path, prompts: int = 60) -> None:
    """Per prompt, three renders of the prompt's scene: on a dark background (scored 4: the
    top-rated set), on a light one (scored 3, but picked as the best of the request) and a
    wrong-coloured object on grey (scored 1). The top-rated images are all dark; the pairs say
    light beats dark."""
    images_dir.mkdir(parents=True, exist_ok=True)
    combos = list(product(SHAPES, COLOURS, SIZES, POSITIONS))
    random.Random(11).shuffle(combos)
    with database.sessions.begin() as session:
        rater = add_rater(session, "picks-light-scores-dark", role="annotator")
        for k, (shape, colour, size, position) in enumerate(combos[:prompts]):
            other = COLOURS[(COLOURS.index(colour) + 3) % len(COLOURS)]
            scenes = [
                next(
                    Scene(shape, colour, size, position, bg)
                    for bg in ("black", "gray")
                    if is_valid(Scene(shape, colour, size, position, bg))
                ),
                next(
                    Scene(shape, colour, size, position, bg)
                    for bg in ("white", "beige", "light green")
                    if is_valid(Scene(shape, colour, size, position, bg))
                ),
                next(
                    Scene(shape, other, size, position, bg) for bg in ("gray", "black") if is_valid(Scene(shape, other, size, position, bg))
                ),
            ]
            outputs = []
            for index, scene in enumerate(scenes):
                name = f"disagree-{k}-{index}.png"
                render(scene, random.Random(k)).resize((64, 64)).save(images_dir / name)
                outputs.append(NewOutput(index=index, seed=k, latency_ms=1, image_path=f"{images_dir.name}/{name}"))
            request = record_request(
                session,
                modality="image",
                prompt=scenes[0].caption().split(" on a ")[0],
                parameters={"guidance_scale": 3.0},
                model_version="base",
                outputs=outputs,
            )
            dark, light, wrong = request.outputs
            for output, score in ((dark, 4), (light, 3), (wrong, 1)):
                upsert_rating(session, output_id=output.id, rater_id=rater.id, source="annotator", naturalness=score, reliability=score)
            upsert_set_rating(session, request_id=request.id, rater_id=rater.id, source="annotator", diversity=3, best_output_id=light.id)


def light_over_dark(pairs: list[dict]) -> list[dict]:
    """Only the pairs that compare the light image with the dark one of the right colour."""
    return [p for p in pairs if "-1.png" in p["chosen"] and "-0.png" in p["rejected"]]


@pytest.mark.loop
@pytest.mark.real_model
def test_dpo_learns_the_pairwise_preference_that_sft_misses(tmp_path, real_image_generator):
    settings = Settings(data_dir=tmp_path / "data", device="cpu")
    database = open_database(settings)
    seed_disagreeing_feedback(database, settings.images_dir)
    with database.read_sessions() as session:
        datasets = build_datasets("image", ratings_frame(session), set_ratings_frame(session), outputs_frame(session))
    # 1. The data disagree: every top-rated image is dark, a third of the pairs say light > dark.
    assert datasets.sft and all("-0.png" in r["completion"] for r in datasets.sft)
    assert len(light_over_dark(datasets.pairs)) >= 30 and len(datasets.pairs) >= 90
    heldout = light_over_dark(datasets.heldout_pairs)
    assert len(heldout) >= 6
    # 2. The same budget for both methods, from the base.
    pipe = real_image_generator.pipeline
    for method in ("sft", "dpo"):
        config = ImageTrainConfig(method=method, min_steps=60, max_steps=60)
        result = train_image_adapter(pipe, fresh_denoiser(pipe), datasets, settings.data_dir, tmp_path / method, config)
        assert result.method == method
    # 3. On held-out prompts: DPO raises light over dark (its implicit reward), SFT lowers it.
    base = pair_margins(real_image_generator, "base", None, heldout, settings.data_dir)
    gain = {m: pair_margins(real_image_generator, f"test-{m}", tmp_path / m, heldout, settings.data_dir) - base for m in ("sft", "dpo")}
    print(
        f"held-out light-over-dark pairs ({len(heldout)}): reward margin gain DPO {gain['dpo'].mean():.4f} "
        f"(wins {np.mean(gain['dpo'] > 0):.2f}), SFT {gain['sft'].mean():.4f} (wins {np.mean(gain['sft'] > 0):.2f})"
    )
    assert gain["dpo"].mean() > 0 and np.mean(gain["dpo"] > 0) >= 0.8, gain["dpo"]
    assert gain["sft"].mean() < 0 and np.mean(gain["sft"] > 0) <= 0.5, gain["sft"]
    # 4. And in what they draw for held-out prompts (same seeds): DPO's images are brighter.
    prompts = sorted({p["prompt"] for p in heldout})[:6]
    drawn = {}
    try:
        for method in ("sft", "dpo"):
            real_image_generator.use_version(f"test-{method}", tmp_path / method)
            drawn[method] = np.array(
                [brightness(o.image) for p in prompts for o in real_image_generator.generate(p, MEASURE, tmp_path / "m")]
            )
    finally:
        real_image_generator.use_version("base", None)
    print(f"held-out brightness: SFT {drawn['sft'].mean():.1f}, DPO {drawn['dpo'].mean():.1f}")
    assert drawn["dpo"].mean() > drawn["sft"].mean() + 10, drawn


def pair_margins(generator, version: str, adapter, pairs: list[dict], root: Path) -> np.ndarray:
    """Each pair's chosen-minus-rejected score (minus denoising loss) under `version`."""
    score = denoising_scorer(generator.pipeline, root, before_scoring=lambda: generator.use_version(version, adapter))
    try:
        prompts = [p["prompt"] for p in pairs]
        chosen = np.array([s for s, _ in score(prompts, [p["chosen"] for p in pairs])])
        rejected = np.array([s for s, _ in score(prompts, [p["rejected"] for p in pairs])])
    finally:
        generator.use_version("base", None)
    return chosen - rejected


@pytest.mark.real_model
def test_dpo_continues_from_the_active_version(tmp_path, real_image_generator):
    from safetensors import safe_open

    from models.embedded_image.lora import WEIGHT_NAME
    from tests.retrain.image_feedback import seed_brightness_preference

    settings = Settings(data_dir=tmp_path / "data", device="cpu")
    database = open_database(settings)
    seed_brightness_preference(database, settings.images_dir, prompts=40)
    with database.read_sessions() as session:
        datasets = build_datasets("image", ratings_frame(session), set_ratings_frame(session), outputs_frame(session))
    pipe = real_image_generator.pipeline
    config = ImageTrainConfig(min_steps=3, max_steps=3)
    first = train_image_adapter(pipe, fresh_denoiser(pipe), datasets, settings.data_dir, tmp_path / "v1", config)
    second = train_image_adapter(pipe, fresh_denoiser(pipe), datasets, settings.data_dir, tmp_path / "v2", config, tmp_path / "v1")
    assert first.method == second.method == "dpo"
    # Only the trained adapter is saved (not the frozen reference), and it moved from v1.
    with safe_open(str(tmp_path / "v1" / WEIGHT_NAME), "pt") as before, safe_open(str(tmp_path / "v2" / WEIGHT_NAME), "pt") as after:
        assert set(before.keys()) == set(after.keys()) and not any("ref" in key.split(".") for key in after.keys())  # noqa: SIM118 - safe_open is not iterable
        assert any(not np.allclose(before.get_tensor(k).numpy(), after.get_tensor(k).numpy()) for k in after.keys())  # noqa: SIM118
