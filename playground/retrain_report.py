"""The retrain report: one Markdown file for people and one JSON file for tools, per run."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from models.finetune.evaluate import Evaluation
from models.finetune.text import TrainResult


def write_report(
    reports_dir: Path,
    name: str,
    modality: str,
    counts: dict[str, int],
    result: TrainResult,
    evaluation: Evaluation,
    metrics: dict[str, Any],
    sampling: dict[str, Any],
    timings: dict[str, float],
    active: Any,
) -> Path:
    """Write `<reports_dir>/<name>.md` and `.json`; return the Markdown path."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    data = {
        "version": name,
        "modality": modality,
        "compared_with": active.name if active else "base",
        "promoted": evaluation.wins,
        "verdict": evaluation.reason,
        "data": counts,
        "training": {**asdict(result), "adapter_dir": str(result.adapter_dir)},
        "evaluation": asdict(evaluation),
        "automatic_metrics": metrics,
        "sampling_defaults": sampling,
        "timings_s": timings,
    }
    (reports_dir / f"{name}.json").write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    path = reports_dir / f"{name}.md"
    path.write_text(_markdown(data, evaluation), encoding="utf-8")
    return path


def _markdown(data: dict[str, Any], evaluation: Evaluation) -> str:
    verdict = "**Promoted** to active" if data["promoted"] else "**Not promoted**: kept as a candidate"
    lines = [
        f"# Retrain report: {data['version']} ({data['modality']})",
        "",
        f"{verdict}. {data['verdict']}.",
        "",
        f"Compared with: `{data['compared_with']}` · method: {data['training']['method']} · "
        f"{data['training']['examples']} training rows · {data['training']['steps']} steps · "
        f"train {data['timings_s'].get('train_s', 0)} s · evaluate {data['timings_s'].get('evaluate_s', 0)} s",
        "",
        "## Data",
        "",
        "| | count |",
        "|---|---|",
        *[f"| {key} | {value} |" for key, value in data["data"].items()],
        "",
        f"## Gate: {evaluation.metric} on {evaluation.rows} held-out rows",
        "",
        "| metric | before (active) | after (new) |",
        "|---|---|---|",
        *[
            f"| {key} | {_fmt(evaluation.old.get(key))} | {_fmt(evaluation.new.get(key))} |"
            for key in dict.fromkeys([*evaluation.old, *evaluation.new])
        ],
    ]
    auto = data["automatic_metrics"]
    if auto.get("old") and auto.get("new"):
        lines += ["", f"## Automatic metrics on {auto.get('prompts')} held-out prompts", "",
                  "| metric | before | after |", "|---|---|---|"]
        lines += [f"| {key} | {_fmt(auto['old'][key])} | {_fmt(auto['new'].get(key))} |" for key in auto["old"]]
    knobs = {k: v for k, v in data["sampling_defaults"].items() if k != "evidence"}
    lines += ["", "## Learned sampling defaults", "", f"{knobs or 'not enough rated requests to change them'}", ""]
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if isinstance(value, float) else str(value)
