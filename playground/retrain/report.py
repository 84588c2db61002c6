"""The retrain report: one Markdown file for people and one JSON file for tools, per run.

The first lines say what happened in plain words: the verdict, the test behind it, its p-value
and how many held-out prompts it rests on. Figures follow for those who want them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from feedback_db.chain import ChainLink
from models.base import Modality
from models.finetune.evaluate import Evaluation
from models.finetune.text import TrainResult
from playground.core.markdown import markdown_table
from playground.retrain.behaviour import BehaviourComparison
from playground.retrain.capability import FIGURE_WORDS, CapabilityCheck
from playground.retrain.chain import EXPLAINED, chain_table
from playground.retrain.replay import describe_replay_counts


@dataclass(frozen=True)
class ReportInputs:
    version: str
    modality: Modality
    compared_with: str
    verdict: str  # the decision in one line
    promoted: bool
    counts: dict[str, int]
    training: TrainResult
    evaluation: Evaluation
    behaviour: BehaviourComparison
    sampling: dict[str, Any]
    timings: dict[str, float]
    margins: Evaluation | None = None  # the likelihood-margin test alone (evaluation: the combined verdict)
    capability: CapabilityCheck | None = None  # the capability guard's figures (None: the guard is off)
    # "Feedback drift" (playground/services/feedback_drift.py report_lines): Markdown lines; empty: no section.
    drift_lines: list[str] = field(default_factory=list)
    chain: tuple[ChainLink, ...] = ()  # the versions so far and this one last (playground/retrain/chain.py)


def write_report(reports_dir: Path, inputs: ReportInputs) -> Path:
    """Write `<reports_dir>/<version>.md` and `.json`; return the Markdown path."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    data = {
        "version": inputs.version,
        "modality": inputs.modality,
        "compared_with": inputs.compared_with,
        "promoted": inputs.promoted,
        "verdict": inputs.verdict,
        "data": inputs.counts,
        "training": {**asdict(inputs.training), "adapter_dir": str(inputs.training.adapter_dir)},
        "evaluation": asdict(inputs.evaluation),
        "margins": asdict(inputs.margins) if inputs.margins else None,
        "behaviour": asdict(inputs.behaviour),
        "sampling_defaults": inputs.sampling,
        "timings_s": inputs.timings,
        "capability": inputs.capability.as_metrics() if inputs.capability else None,
        "feedback_drift": inputs.drift_lines,
        "chain": [asdict(link) for link in inputs.chain],
    }
    (reports_dir / f"{inputs.version}.json").write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    path = reports_dir / f"{inputs.version}.md"
    path.write_text("\n".join(_markdown(inputs)) + "\n", encoding="utf-8")
    return path


def headline(inputs: ReportInputs) -> list[str]:
    """The verdict for a product owner: what happened, on what evidence, how sure."""
    e = inputs.evaluation
    outcome = {
        "better": "**Promoted**: the new version now serves",
        "insufficient-evidence": "**Kept as a candidate: too little evidence**",
        "not-better": "**Not promoted**: the new version is not better",
    }[e.verdict]
    if inputs.capability is not None and inputs.capability.forgets:
        outcome = "**Refused: it forgets what the base model could do**, whatever the raters preferred"
    return [
        f"{outcome} ({inputs.version} vs `{inputs.compared_with}`).",
        "",
        f"- Why: {e.reason}.",
        f"- Evidence: {e.prompts} held-out prompts ({e.rows} rated rows) that no version was trained on.",
        f"- Test: {e.test}; p = {e.p_value:.3g} (the chance of a result at least this good if the new version "
        f"were no better). Promotion needs p <= {_alpha(inputs)}.",
    ]


def _markdown(inputs: ReportInputs) -> list[str]:
    e, b, t = inputs.evaluation, inputs.behaviour, inputs.training
    m = inputs.margins or e
    lines = [f"# Retrain report: {inputs.version} ({inputs.modality})", "", *headline(inputs), ""]
    lines += _capability_lines(inputs.capability)
    lines += _judge_lines(b, inputs.evaluation)
    lines += _behaviour_lines(b)
    lines += [
        "",
        f"Method: {t.method} · {t.examples} training rows · {t.steps} steps · train {inputs.timings.get('train_s', 0)} s · "
        f"evaluate {inputs.timings.get('evaluate_s', 0)} s",
        "",
        "## Data",
        "",
        *([line, ""] if (line := describe_replay_counts(inputs.counts)) else []),
        "| | count |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in inputs.counts.items()],
        "",
        f"## Gate: {m.metric}",
        "",
        f"Wins {m.wins}, losses {m.losses}, ties {m.ties}; p = {m.p_value:.3g}."
        + (f" About {m.prompts_needed} held-out prompts would show a difference of this size." if m.prompts_needed else ""),
        "",
        "| metric | before (active) | after (new) |",
        "|---|---|---|",
        *[f"| {k} | {_fmt(m.old.get(k))} | {_fmt(m.new.get(k))} |" for k in dict.fromkeys([*m.old, *m.new])],
        "",
        *_chain_lines(inputs.chain),
        "## Sampling defaults",
        "",
        _sampling_line(inputs.sampling),
        "",
    ]
    if inputs.drift_lines:
        lines += ["## Feedback drift", "", *inputs.drift_lines, ""]
    return lines


def _capability_lines(check: CapabilityCheck | None) -> list[str]:
    """The capability guard: each figure of the base model and the candidate, and its tolerance."""
    if check is None:
        return ["Capability guard: off (PLAYGROUND_CAPABILITY_GUARD=false).", ""]
    verdict = (
        f"forgets: {', '.join(FIGURE_WORDS.get(n, n) for n in check.forgets)}"
        if check.forgets
        else "kept within tolerance of the base model"
    )
    lines = [
        "## Capability guard",
        "",
        f"Measured on {check.items} items of the capability set ({check.set_name}), never trained on, in {check.seconds} s: {verdict}.",
        "",
        "| figure | base model | this version | change | tolerance |",
        "|---|---|---|---|---|",
    ]
    for name, limit in check.tolerance.items():
        base, new = check.base.get(name), check.candidate.get(name)
        change = f"{new - base:+.3f}" if base is not None and new is not None else "–"
        lines.append(f"| {FIGURE_WORDS.get(name, name)} | {_fmt(base)} | {_fmt(new)} | {change} | {limit:g} |")
    return lines + [""]


def _chain_lines(chain: tuple[ChainLink, ...]) -> list[str]:
    """The versions along the chain, this one last: does anything drift from the base model?"""
    if not chain:
        return []
    return ["## The chain", "", EXPLAINED, "", markdown_table(chain_table(chain), "No versions."), ""]


def _judge_lines(b: BehaviourComparison, verdict: Evaluation) -> list[str]:
    """The judge, its accuracy, and what it saw in both versions' answers; how the signals combined."""
    if not b.judge:
        return []
    j = b.judge
    lines = ["## Judged answers", "", f"Judge (fitted on the raters' training pairs): {j['reason']}."]
    if j.get("heldout_accuracy") is not None:
        lines.append(f"On the held-out pairs it never saw it picks the raters' choice {j['heldout_accuracy']:.0%} of the time.")
    a = b.answers
    if a is not None:
        lines.append(
            f"Both versions answered {a.prompts} held-out prompts (same seeds): the new version's answers scored "
            f"higher on {a.wins}, lower on {a.losses}, level on {a.ties}; p = {a.p_value:.3g}; judge score "
            f"{_fmt(a.old.get('judge_score'))} -> {_fmt(a.new.get('judge_score'))} "
            f"(effect {_fmt(a.new.get('effect_size'))} SD of the active version's answers)."
            + (f" About {a.prompts_needed} prompts would show a difference of this size." if a.prompts_needed else "")
        )
    signals = verdict.details.get("signals")
    if signals:
        lines.append(
            f"Combined: each signal is tested at {verdict.details['per_signal_alpha']:g} "
            f"(alpha {verdict.details['alpha']:g} over {len(signals)}); one that passes promotes unless the "
            "other shows the new version worse."
        )
    return lines + [""]


def _behaviour_lines(b: BehaviourComparison) -> list[str]:
    if not b.old or not b.new:
        return [f"Answers on held-out prompts: not compared ({b.note or 'none sampled'})."]
    lines = ["## Answers on held-out prompts", ""]
    if b.predicted_old is not None:
        lines.append(
            f"Predicted rating of the answers (1-5, by a scorer fitted on {b.scorer['rows']} rated outputs, "
            f"cross-validated R^2 {b.scorer['r2_cv']}): {b.predicted_old:.2f} before, {b.predicted_new:.2f} after; "
            f"higher on {b.prompts_improved} of {b.prompts} prompts."
        )
        lines.append(
            "Feature correlation with ratings (Spearman): " + ", ".join(f"{k} {v:+.2f}" for k, v in b.scorer["correlations"].items()) + "."
        )
    if b.note:
        lines.append(f"Note: {b.note}.")
    lines += ["", f"| metric ({b.prompts} prompts) | before | after |", "|---|---|---|"]
    lines += [f"| {k} | {_fmt(b.old[k])} | {_fmt(b.new.get(k))} |" for k in b.old]
    return lines


def _sampling_line(sampling: dict[str, Any]) -> str:
    knobs = {k: v for k, v in sampling.items() if k != "evidence"}
    why = sampling.get("evidence", {}).get("why", "")
    return f"{knobs or 'unchanged'}" + (f": {why}" if why else "")


def _alpha(inputs: ReportInputs) -> str:
    details = inputs.evaluation.details  # with two signals, each is tested at alpha / 2
    return f"{details.get('per_signal_alpha', details.get('alpha', 0.05)):g}"


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if isinstance(value, float) else str(value)
