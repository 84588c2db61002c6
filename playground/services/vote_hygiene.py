"""The leaderboard's vote hygiene as the settings configure it (feedback_db/hygiene.py)."""

from __future__ import annotations

from feedback_db.hygiene import VoteHygiene
from playground.core.settings import Settings

# What the embedded models call themselves when asked (the text model is SmolLM2-135M-Instruct).
EMBEDDED_NAMES = ("SmolLM", "SmolLM2", "SmolLM2-135M-Instruct")


def vote_hygiene(settings: Settings) -> VoteHygiene:
    """The rules with the settings' values; model names from the configured models and
    `arena_reveal_names`."""
    return VoteHygiene(
        daily_cap=settings.arena_daily_cap,
        reveal_filter=settings.arena_reveal_filter,
        model_names=model_names(settings),
        repeat_factor=settings.arena_repeat_factor,
        outlier_rate=settings.arena_outlier_rate,
        outlier_min_votes=settings.arena_outlier_min_votes,
    )


def model_names(settings: Settings) -> tuple[str, ...]:
    """Names an answer could reveal: the configured models' (a hub id's last part, e.g.
    'Qwen2.5-1.5B-Instruct', and its family, 'Qwen2.5') and the extra names of the setting."""
    names = [name.strip() for name in settings.arena_reveal_names.split(",") if name.strip()]
    for model in (settings.text_model, settings.text_train_model or ""):
        if model == "embedded":
            names += EMBEDDED_NAMES
        elif model:
            last = model.split("#")[-1].rstrip("/").split("/")[-1]
            names += [last, last.split("-")[0]] if not model.startswith("openai:") or "#" in model else []
    return tuple(dict.fromkeys(name for name in names if len(name) >= 3))
