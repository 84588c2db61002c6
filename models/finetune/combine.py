"""One verdict from two signals: the judged answers and the likelihood margins.

- *answers*: both versions answer held-out prompts with the same seeds, a judge fitted on the
  raters' choices scores the answers, one vote per prompt (`playground.retrain.behaviour`);
- *margins*: both versions score the raters' held-out pairs (`models.finetune.evaluate`).

The rule (docs/RETRAIN.md, "How the gate decides"): with k usable signals (k = 2 when the judge
was accepted and answers were sampled, else 1), promote when one signal's sign test gives
p <= alpha / k and the other does not contradict it (significantly more losses than wins at
alpha). Under "the new version is no better" each test promotes at most alpha / k of the time,
so the combination promotes at most alpha (Bonferroni; tests/retrain/test_gate_combination.py
simulates it). With one signal this is the margin test exactly as before.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from models.finetune.evaluate import Evaluation, GateConfig, sign_test_p

NAMES = {"answers": "judged answers", "margins": "likelihood margins"}
OTHER = {"answers": "margins", "margins": "answers"}


def contradicts(evaluation: Evaluation, alpha: float) -> bool:
    """Significantly more losses than wins: the signal says the new version is worse."""
    return evaluation.losses > evaluation.wins and sign_test_p(evaluation.losses, evaluation.wins) <= alpha


def combine(margins: Evaluation, answers: Evaluation | None, gate: GateConfig = GateConfig()) -> Evaluation:
    """The gate's verdict from the margin test and (when usable) the judged-answers test."""
    if answers is None:
        return margins
    signals = {"answers": answers, "margins": margins}
    threshold = gate.alpha / len(signals)
    details = {
        **margins.details,
        "alpha": gate.alpha,
        "per_signal_alpha": threshold,
        "signals": {name: _brief(e) for name, e in signals.items()},
    }
    # 1. A signal that passes at alpha / k, and no signal that contradicts it, promotes.
    for name, evaluation in signals.items():
        other = signals[OTHER[name]]
        if evaluation.wins > evaluation.losses and evaluation.p_value <= threshold:
            if not contradicts(other, gate.alpha):
                return replace(
                    evaluation,
                    verdict="better",
                    details=details,
                    reason=f"{_said(name, evaluation)}; p = {evaluation.p_value:.3g} <= {threshold:.3g} "
                    f"(alpha {gate.alpha:g} over {len(signals)} signals), "
                    f"not contradicted by the {NAMES[OTHER[name]]} ({_tally(other)})",
                )
            return replace(
                evaluation,
                verdict="not-better",
                details=details,
                reason=f"{_said(name, evaluation)} (p = {evaluation.p_value:.3g}), but the "
                f"{NAMES[OTHER[name]]} say it is worse ({_tally(other)}, p <= {gate.alpha:g})",
            )
    # 2. Neither passes: ahead on either signal is "insufficient evidence", else not better.
    lead = max(signals.values(), key=lambda e: (e.wins - e.losses, -e.p_value))
    name = next(n for n, e in signals.items() if e is lead)
    if any(e.wins > e.losses for e in signals.values()) and not any(contradicts(e, gate.alpha) for e in signals.values()):
        need = f"; about {lead.prompts_needed} held-out prompts would show it" if lead.prompts_needed else ""
        return replace(
            lead,
            verdict="insufficient-evidence",
            details=details,
            reason=f"{_said(name, lead)} (p = {lead.p_value:.3g}, needs <= {threshold:.3g}); "
            f"{NAMES[OTHER[name]]}: {_tally(signals[OTHER[name]])}{need}",
        )
    return replace(lead, verdict="not-better", details=details, reason=f"not better: answers {_tally(answers)}; margins {_tally(margins)}")


def _brief(evaluation: Evaluation) -> dict[str, Any]:
    return {
        "metric": evaluation.metric,
        "verdict": evaluation.verdict,
        "p_value": evaluation.p_value,
        "prompts": evaluation.prompts,
        "wins": evaluation.wins,
        "losses": evaluation.losses,
        "ties": evaluation.ties,
        "prompts_needed": evaluation.prompts_needed,
    }


def _said(name: str, evaluation: Evaluation) -> str:
    return (
        f"{NAMES[name]}: on {evaluation.prompts} held-out prompts "
        f"the new version was better on {evaluation.wins}, worse on {evaluation.losses}"
    )


def _tally(evaluation: Evaluation) -> str:
    return f"{evaluation.wins} better, {evaluation.losses} worse of {evaluation.prompts} prompts"
