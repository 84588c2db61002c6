"""Gate a new version against the active one on held-out feedback.

Both versions score the same held-out rows; the log-probabilities go into an implicit-reward
comparison (as in DPO): for a held-out pair, the new version "wins" the pair when it raises the
chosen completion relative to the rejected one more than the old version does:

    margin(v) = logp_v(chosen) - logp_v(rejected)
    win       = margin(new) - margin(old) > 0

The new version is promoted only if it wins clearly more than half of the held-out pairs and
the mean reward margin is positive. Without pairs, labelled outputs are used: the new version
must raise desirable completions more than undesirable ones (per token). The direction matters:
a version trained on inverted feedback lowers chosen completions and so loses (tested).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Scores (prompt, completion) rows under one version: summed log-prob and token count per row.
Scorer = Callable[[Sequence[str], Sequence[str]], list[tuple[float, int]]]


@dataclass(frozen=True)
class GateConfig:
    min_win_rate: float = 0.55  # more than a coin flip, with some room for noise
    min_rows: int = 4  # fewer held-out rows than this cannot justify a promotion


@dataclass
class Evaluation:
    metric: str
    old: dict[str, float]
    new: dict[str, float]
    wins: bool
    reason: str
    rows: int
    details: dict[str, Any] = field(default_factory=dict)


def evaluate_pairs(
    pairs: list[dict[str, Any]], score_old: Scorer, score_new: Scorer, gate: GateConfig = GateConfig()
) -> Evaluation:
    """Implicit-reward win rate of the new version over the old one on held-out pairs."""
    prompts = [p["prompt"] for p in pairs]
    chosen_old = np.array([s for s, _ in score_old(prompts, [p["chosen"] for p in pairs])])
    rejected_old = np.array([s for s, _ in score_old(prompts, [p["rejected"] for p in pairs])])
    chosen_new = np.array([s for s, _ in score_new(prompts, [p["chosen"] for p in pairs])])
    rejected_new = np.array([s for s, _ in score_new(prompts, [p["rejected"] for p in pairs])])
    margin_old, margin_new = chosen_old - rejected_old, chosen_new - rejected_new
    reward_margin = margin_new - margin_old
    win_rate = float(np.mean(reward_margin > 0))
    old = {"preference_accuracy": float(np.mean(margin_old > 0)), "mean_margin": float(np.mean(margin_old))}
    new = {
        "preference_accuracy": float(np.mean(margin_new > 0)),
        "mean_margin": float(np.mean(margin_new)),
        "win_rate_vs_old": win_rate,
        "mean_reward_margin": float(np.mean(reward_margin)),
    }
    wins, reason = _verdict(len(pairs), win_rate, float(np.mean(reward_margin)), gate)
    return Evaluation("heldout_pair_win_rate", old, new, wins, reason, len(pairs))


def evaluate_labels(
    rows: list[dict[str, Any]], score_old: Scorer, score_new: Scorer, gate: GateConfig = GateConfig()
) -> Evaluation:
    """Per-token log-prob change on held-out desirable vs undesirable outputs."""
    prompts = [r["prompt"] for r in rows]
    completions = [r["completion"] for r in rows]
    old_scores, new_scores = score_old(prompts, completions), score_new(prompts, completions)
    delta = np.array([(n - o) / max(tokens, 1) for (o, tokens), (n, _) in zip(old_scores, new_scores, strict=True)])
    labels = np.array([bool(r["label"]) for r in rows])
    desirable = float(delta[labels].mean()) if labels.any() else 0.0
    undesirable = float(delta[~labels].mean()) if (~labels).any() else 0.0
    advantage = desirable - undesirable
    # Count a "win" per desirable row raised more than the undesirable mean (and vice versa).
    win_rate = float(np.mean(np.where(labels, delta > undesirable, delta < desirable)))
    new = {"desirable_logp_change": desirable, "undesirable_logp_change": undesirable,
           "advantage": advantage, "win_rate_vs_old": win_rate}
    wins, reason = _verdict(len(rows), win_rate, advantage, gate)
    return Evaluation("heldout_label_advantage", {"advantage": 0.0}, new, wins, reason, len(rows))


def evaluate_heldout(datasets: Any, score_old: Scorer, score_new: Scorer, gate: GateConfig = GateConfig()) -> Evaluation:
    """The gate for any modality: held-out pairs where there are any, else held-out labels."""
    if datasets.heldout_pairs:
        return evaluate_pairs(datasets.heldout_pairs, score_old, score_new, gate)
    return evaluate_labels(datasets.heldout_unpaired, score_old, score_new, gate)


def _verdict(rows: int, win_rate: float, mean_gain: float, gate: GateConfig) -> tuple[bool, str]:
    if rows < gate.min_rows:
        return False, f"only {rows} held-out rows (need {gate.min_rows}): kept as a candidate"
    if win_rate < gate.min_win_rate:
        return False, f"win rate {win_rate:.2f} is below {gate.min_win_rate:.2f}: the active version stays"
    if mean_gain <= 0:
        return False, f"mean gain {mean_gain:.3f} is not positive: the active version stays"
    return True, f"win rate {win_rate:.2f} on {rows} held-out rows with mean gain {mean_gain:.3f}"


def chat_logprob_scorer(model: Any, tokenizer: Any, batch_size: int = 8) -> Scorer:
    """Score completions as the assistant turn after the prompt's user turn, in the chat template
    the model was trained with (so end-of-turn tokens count, as in TRL's training rows)."""
    import torch

    def score(prompts: Sequence[str], completions: Sequence[str]) -> list[tuple[float, int]]:
        results: list[tuple[float, int]] = []
        for start in range(0, len(prompts), batch_size):
            batch = list(zip(prompts[start : start + batch_size], completions[start : start + batch_size], strict=True))
            results += _score_batch(model, tokenizer, batch, torch)
        return results

    return score


def _token_ids(tokenizer: Any, prompt: str, completion: str) -> tuple[list[int], int]:
    """The full conversation's ids and where the completion starts."""
    user = [{"role": "user", "content": prompt}]
    if getattr(tokenizer, "chat_template", None):
        prompt_ids = tokenizer.apply_chat_template(user, add_generation_prompt=True, tokenize=True)
        full_ids = tokenizer.apply_chat_template(user + [{"role": "assistant", "content": completion}], tokenize=True)
        prompt_ids = _ids(prompt_ids)
        full_ids = _ids(full_ids)
        if full_ids[: len(prompt_ids)] == prompt_ids:
            return full_ids, len(prompt_ids)
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    completion_ids = tokenizer(completion, add_special_tokens=False)["input_ids"]
    return prompt_ids + completion_ids + [tokenizer.eos_token_id], len(prompt_ids)


def _ids(value: Any) -> list[int]:
    if isinstance(value, dict) or hasattr(value, "keys"):
        value = value["input_ids"]
    return list(value)


def _score_batch(model, tokenizer, batch, torch) -> list[tuple[float, int]]:
    encoded = [_token_ids(tokenizer, prompt, completion) for prompt, completion in batch]
    length = max(len(ids) for ids, _ in encoded)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    device = next(model.parameters()).device
    input_ids = torch.full((len(encoded), length), pad, dtype=torch.long)
    attention = torch.zeros((len(encoded), length), dtype=torch.long)
    for row, (ids, _) in enumerate(encoded):  # right padding: positions stay as in training
        input_ids[row, : len(ids)] = torch.tensor(ids)
        attention[row, : len(ids)] = 1
    with torch.inference_mode():
        logits = model(input_ids=input_ids.to(device), attention_mask=attention.to(device)).logits.float()
    logprobs = torch.log_softmax(logits[:, :-1], dim=-1)
    picked = logprobs.gather(2, input_ids[:, 1:].to(device).unsqueeze(2)).squeeze(2)
    results = []
    for row, (ids, completion_start) in enumerate(encoded):
        span = picked[row, completion_start - 1 : len(ids) - 1]
        results.append((float(span.sum()), int(span.numel())))
    return results
