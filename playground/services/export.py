"""`playground export --format trl`: the datasets `playground retrain` trains on, as files that
`datasets.load_dataset` reads and TRL's trainers accept unchanged.

The rows come from the same place retrain's do: the `feedback_db` frames of one modality, turned
into pairs, labels and top-rated rows by `models.finetune.data.build_datasets` with the default
`DataConfig` (the same held-out prompts, by the same stable hash). Flagged outputs are dropped
before that, whether or not anyone rated them (a flag of any reason, moderation included).

Layout, per modality (`<out>/<modality>/`):

    dpo/train.<ext>  dpo/test.<ext>   prompt, chosen, rejected  (+ weight, origin)
    kto/train.<ext>  kto/test.<ext>   prompt, completion, label
    sft/train.<ext>                   prompt, completion
    manifest.json                     counts, data settings, what retrain would train with

`test` is the held-out split: prompts retrain never trains on and gates on. Text rows are in
TRL's conversational format (a list of {"role", "content"} messages), as retrain trains with,
so the model's chat template applies; image rows hold image paths relative to the data folder.
Empty splits are not written (an empty JSONL file is not a dataset).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from feedback_db.frames import flags_frame, outputs_frame, ratings_frame, set_ratings_frame
from models.base import MODALITIES, Modality
from models.finetune.data import DataConfig, FeedbackDatasets, build_datasets
from playground.core.database import Database

TRL_FILE_FORMATS = {"parquet": ".parquet", "jsonl": ".jsonl"}


@dataclass(frozen=True)
class WrittenFile:
    path: Path
    rows: int


def training_frames(session: Session, modality: str) -> dict[str, pd.DataFrame]:
    """Retrain's input frames for one modality, without any flagged output."""
    frames = {
        "ratings": ratings_frame(session, modality=modality),
        "set_ratings": set_ratings_frame(session, modality=modality),
        "outputs": outputs_frame(session, modality=modality),
    }
    flagged = set(flags_frame(session)["output_id"])
    if flagged:
        frames["outputs"] = frames["outputs"][~frames["outputs"]["output_id"].isin(flagged)]
        frames["ratings"] = frames["ratings"][~frames["ratings"]["output_id"].isin(flagged)]
        best = frames["set_ratings"]["best_output_id"]
        frames["set_ratings"] = frames["set_ratings"].assign(best_output_id=best.where(~best.isin(flagged)))
    return frames


def feedback_datasets(database: Database, modality: Modality, config: DataConfig = DataConfig()) -> FeedbackDatasets:
    with database.read_sessions() as session:
        frames = training_frames(session, modality)
    return build_datasets(modality, frames["ratings"], frames["set_ratings"], frames["outputs"], config)


def split_rows(datasets: FeedbackDatasets) -> dict[str, list[dict[str, Any]]]:
    """`<method>/<split>` -> rows, in TRL's formats (conversational for text)."""
    splits = {
        "dpo/train": datasets.pairs,
        "dpo/test": datasets.heldout_pairs,
        "kto/train": datasets.unpaired,
        "kto/test": datasets.heldout_unpaired,
        "sft/train": datasets.sft,
    }
    if datasets.modality != "text":
        return splits
    return {name: [_conversational(row) for row in rows] for name, rows in splits.items()}


def _conversational(row: dict[str, Any]) -> dict[str, Any]:
    converted = dict(row)
    converted["prompt"] = [{"role": "user", "content": row["prompt"]}]
    for key in ("chosen", "rejected", "completion"):
        if key in row:
            converted[key] = [{"role": "assistant", "content": row[key]}]
    return converted


def export_trl(
    database: Database, out_dir: Path, file_format: str = "parquet", modalities: tuple[Modality, ...] = MODALITIES
) -> list[WrittenFile]:
    """Write each modality's TRL datasets under `out_dir`; return what was written."""
    if file_format not in TRL_FILE_FORMATS:
        raise ValueError(f"unknown file format {file_format!r}; choose one of {', '.join(TRL_FILE_FORMATS)}")
    written = []
    for modality in modalities:
        # 1. The same datasets retrain builds (flagged outputs dropped first).
        config = DataConfig()
        datasets = feedback_datasets(database, modality, config)
        folder = Path(out_dir) / modality
        # 2. One file per method and split; empty splits are left out.
        for name, rows in split_rows(datasets).items():
            if rows:
                path = folder / f"{name}{TRL_FILE_FORMATS[file_format]}"
                path.parent.mkdir(parents=True, exist_ok=True)
                _write(pd.DataFrame(rows), path, file_format)
                written.append(WrittenFile(path, len(rows)))
        # 3. A manifest: counts, the settings that built the rows, where image paths point.
        manifest = {
            "modality": modality,
            "counts": datasets.summary(),
            "data_config": asdict(config),
            "splits": {"train": "training prompts", "test": "held-out prompts (never trained on; the gate's rows)"},
            "format": "conversational" if modality == "text" else "image paths relative to the data folder",
        }
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return written


def _write(frame: pd.DataFrame, path: Path, file_format: str) -> None:
    if file_format == "parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
