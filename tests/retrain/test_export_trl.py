"""`playground export --format trl`: retrain's datasets as files TRL trains on unchanged.

- the files hold exactly the rows retrain builds (same held-out prompts), flagged outputs
  excluded even when nobody rated them, in Parquet and JSONL;
- `datasets.load_dataset` reads them and one `DPOTrainer` step and one `KTOTrainer` step run on
  them (a tiny config-built model with the embedded SmolLM2's tokenizer and chat template).
"""

from __future__ import annotations

import copy
import json

import pytest

from feedback_db.frames import outputs_frame, ratings_frame, set_ratings_frame
from feedback_db.queries import NewOutput, record_request, set_flag, upsert_rating, upsert_set_rating
from models.finetune.data import build_datasets
from playground.cli.main import main
from tests.db.helpers import add_rater
from tests.retrain.seed import seed_length_preference

FLAGGED_TEXT = "A harmful answer nobody rated."


def seed_with_flags(database) -> None:
    """40 prompts of short-vs-long feedback, one rated output flagged, and a request whose best
    pick beats an unrated, flagged candidate."""
    seed_length_preference(database, prompts=40)
    with database.sessions.begin() as session:
        moderator = add_rater(session, "moderator", role="annotator")
        set_flag(session, output_id=1, rater_id=moderator.id, flagged=True, reason="moderation: personal data")
        request = record_request(
            session,
            modality="text",
            prompt="One more question about flags?",
            parameters={},
            model_version="base",
            outputs=[
                NewOutput(index=0, seed=1, latency_ms=1, text="A fine answer."),
                NewOutput(index=1, seed=2, latency_ms=1, text=FLAGGED_TEXT),
            ],
        )
        good, bad = request.outputs
        upsert_rating(session, output_id=good.id, rater_id=moderator.id, source="annotator", naturalness=5)
        upsert_set_rating(session, request_id=request.id, rater_id=moderator.id, source="annotator", diversity=3, best_output_id=good.id)
        set_flag(session, output_id=bad.id, rater_id=moderator.id, flagged=True, reason="harmful")


def export(tmp_path, settings, capsys, files: str) -> tuple[int, str]:
    code = main(
        [
            "--data-dir",
            str(settings.data_dir),
            "export",
            "--out",
            str(tmp_path / files),
            "--format",
            "trl",
            "--trl-files",
            files,
            "--modality",
            "text",
        ]
    )
    return code, capsys.readouterr().out


def contents(rows: list) -> set[str]:
    return {json.dumps(value, sort_keys=True) for row in rows for value in row.values()}


@pytest.mark.parametrize("files", ["parquet", "jsonl"])
def test_the_export_holds_retrains_rows_without_flagged_outputs(tmp_path, settings, database, capsys, files):
    from datasets import load_dataset

    seed_with_flags(database)
    code, out = export(tmp_path, settings, capsys, files)
    assert code == 0 and f"dpo/train.{files}" in out and f"dpo/test.{files}" in out
    folder = tmp_path / files / "text"
    loaded = {
        name: load_dataset(
            files if files == "parquet" else "json",
            data_files={
                split: str(folder / name / f"{split}.{files}")
                for split in ("train", "test")
                if (folder / name / f"{split}.{files}").exists()
            },
        )
        for name in ("dpo", "kto", "sft")
    }
    # 1. Retrain's own datasets from the same frames (which leave flagged outputs out): the same rows.
    with database.read_sessions() as session:
        expected = build_datasets("text", ratings_frame(session), set_ratings_frame(session), outputs_frame(session))
    assert len(loaded["dpo"]["train"]) + len(loaded["dpo"]["test"]) == len(expected.pairs) + len(expected.heldout_pairs)
    assert len(loaded["dpo"]["test"]) == len(expected.heldout_pairs) >= 4
    assert len(loaded["kto"]["train"]) == len(expected.unpaired) and len(loaded["kto"]["test"]) == len(expected.heldout_unpaired)
    assert len(loaded["sft"]["train"]) == len(expected.sft)
    assert sorted(loaded["dpo"]["test"]["prompt"], key=str) == sorted(
        [[{"role": "user", "content": p["prompt"]}] for p in expected.heldout_pairs], key=str
    )
    # 2. Conversational rows, as retrain trains with; nothing flagged anywhere.
    row = loaded["dpo"]["train"][0]
    assert row["prompt"][0]["role"] == "user" and row["chosen"][0]["role"] == "assistant"
    every_value = " ".join(v for name in loaded for split in loaded[name] for v in contents(list(loaded[name][split])))
    assert FLAGGED_TEXT not in every_value and "Paris is the capital of France. (0)" not in every_value
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["counts"]["heldout_pairs"] == len(loaded["dpo"]["test"])


def test_an_empty_database_exports_manifests_only(tmp_path, settings, database, capsys):
    code = main(["--data-dir", str(settings.data_dir), "export", "--out", str(tmp_path / "x"), "--format", "trl"])
    assert code == 0 and "no training rows yet" in capsys.readouterr().out
    assert json.loads((tmp_path / "x" / "image" / "manifest.json").read_text())["counts"]["pairs"] == 0


@pytest.mark.real_model
def test_trl_trains_one_dpo_and_one_kto_step_on_the_exported_files(tmp_path, settings, database, capsys, model_cache_dir):
    import torch
    from datasets import load_dataset
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM
    from trl import DPOConfig, DPOTrainer, KTOConfig, KTOTrainer

    from models.embedded_text import embedded_text_model_dir

    seed_with_flags(database)
    assert export(tmp_path, settings, capsys, "parquet")[0] == 0
    folder = tmp_path / "parquet" / "text"
    tokenizer = AutoTokenizer.from_pretrained(embedded_text_model_dir(model_cache_dir))
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
    )
    common = {
        "max_steps": 1,
        "per_device_train_batch_size": 4,
        "max_length": 128,
        "report_to": [],
        "use_cpu": True,
        "save_strategy": "no",
        "learning_rate": 1e-3,
    }
    for kind, trainer_class, args_class in (("dpo", DPOTrainer, DPOConfig), ("kto", KTOTrainer, KTOConfig)):
        data = load_dataset("parquet", data_files={"train": str(folder / kind / "train.parquet")})["train"]
        model = LlamaForCausalLM(config)
        before = [p.detach().clone() for p in model.parameters()]
        # A config-built model has no path to rebuild the reference from: hand TRL a frozen copy.
        trainer = trainer_class(
            model=model,
            ref_model=copy.deepcopy(model).eval(),
            train_dataset=data,
            args=args_class(output_dir=str(tmp_path / kind), **common),
            processing_class=tokenizer,
        )
        result = trainer.train()
        assert result.global_step == 1 and result.training_loss == result.training_loss  # ran, and not NaN
        assert any(not torch.equal(a, b) for a, b in zip(before, trainer.model.parameters(), strict=True)), kind
