"""The "About this answer" words: the facts of playground/services/version_explanation.py as
Markdown, for a candidate card and for a version chosen on the Leaderboard.

Pure functions. Anything a person typed (a prompt's words, stop sequences, a negative prompt) is
escaped to show literally; a blocked word is never shown in full (playground/core/moderation.py).
"""

from __future__ import annotations

from typing import Any

from playground.services.version_explanation import AnswerExplanation, KnobUsed, VersionExplanation
from playground.web.ui.wording import GUIDELINES_LINK, answered_by, literal_markdown, plural, short_time

KNOB_WORDS = {
    "temperature": "temperature",
    "top_p": "top-p",
    "max_new_tokens": "max new tokens",
    "repetition_penalty": "repetition penalty",
    "guidance_scale": "guidance",
    "steps": "steps",
}
STATUS_WORDS = {
    "active": "served to everyone now",
    "candidate": "a candidate, not served to everyone",
    "retired": "retired, no longer served",
}
DECISION_WORDS = {
    "promoted": "It passed the held-out gate and was promoted.",
    "insufficient-evidence": "It was ahead, but not clearly enough to promote: kept as a candidate.",
    "rejected": "It was not better than the version before it, so it was not promoted.",
    "awaiting-arena": "It passed the held-out gate; the Arena decides whether it is promoted.",
}


def _code(name: str) -> str:
    return f"`{name.replace('`', '')}`"


def version_markdown(version: VersionExplanation) -> str:
    """Who answered, in a few lines: the version, its parent and training, the viewer's share."""
    if version.base:
        return (
            f"**The base model** {_code(version.base_model)} answered: it has not been retrained from ratings, "
            "so nothing in it comes from this app's feedback yet."
        )
    if not version.known:
        return f"**Version {_code(version.name)}** answered; no details about it are recorded."
    lines = [_who(version), *_training(version)]
    if version.learned:
        lines += ["", "What it learned:", "", *[f"- {sentence}" for sentence in version.learned]]
    lines += ["", _defaults(version)]
    return "\n".join(lines)


def _who(version: VersionExplanation) -> str:
    parent = _code(version.parent) if version.parent else "the base model"
    if version.personal:
        # The words the card's facts line uses (playground.services.generation.Recorded.version_words).
        trained = f" (trained on {version.rated_outputs or 0} of your ratings)"
        return f"Answered by {answered_by(version.name, True)}{trained}, on top of {parent}: served to you alone."
    status = STATUS_WORDS.get(version.status or "", version.status or "")
    return f"Answered by {answered_by(version.name, False)} ({status}), trained on top of {parent}."


def _training(version: VersionExplanation) -> list[str]:
    lines = []
    when = f"Trained {short_time(version.trained_at)} UTC" if version.trained_at else "No training run is recorded for it"
    method = f" with {version.method.upper()}" if version.method else ""
    if version.ratings is not None or version.rated_outputs is not None:
        source = []
        if version.ratings is not None:
            source.append(plural(version.ratings, "rating"))
        if version.rated_outputs is not None and not version.personal:
            source.append(f"on {plural(version.rated_outputs, 'rated answer')}")
        lines.append(f"{when}{method}, from {' '.join(source)}.")
    else:
        lines.append(f"{when}{method}.")
    if version.yours is not None and not version.personal:
        lines.append(_yours(version.yours))
    if version.decision in DECISION_WORDS:
        lines.append(DECISION_WORDS[version.decision])
    return ["", " ".join(lines)]


def _yours(count: int) -> str:
    if count == 0:
        return "None of your ratings were among them: you had given none before it was trained."
    return (
        f"Yours were among them: {plural(count, 'rating')} of yours came before it was trained "
        "(those on held-out prompts tested it instead of training it; ratings of withheld answers are never used)."
    )


def _defaults(version: VersionExplanation) -> str:
    if not version.defaults:
        return "It learned no sampling defaults of its own."
    knobs = ", ".join(f"{KNOB_WORDS.get(k, k)} {v:g}" for k, v in version.defaults.items())
    why = f" ({literal_markdown(version.defaults_why)})" if version.defaults_why else ""
    return f"Its learned sampling defaults: {knobs}{why}."


def answer_markdown(answer: AnswerExplanation) -> str:
    """The card's disclosure: the version, then this answer's seed, parameters and their sources,
    an image prompt's recognised and ignored words, and the content filter's verdict."""
    parts = [version_markdown(answer.version), "", f"**This answer:** seed `{answer.seed}`; {_knobs(answer.knobs)}."]
    if answer.other_parameters:
        parts[-1] += " Also: " + ", ".join(_parameter(k, v) for k, v in answer.other_parameters.items()) + "."
    if answer.recognised is not None:
        recognised = ", ".join(literal_markdown(w) for w in answer.recognised) or "none"
        ignored = ", ".join(literal_markdown(w) for w in answer.ignored or ()) or "none"
        parts += ["", f"**Prompt words the model recognised:** {recognised}. **Ignored** (it does not know them): {ignored}."]
    if answer.withheld is not None or answer.withheld_reason:
        said = literal_markdown(answer.withheld.words) if answer.withheld is not None else "a content rule"
        parts += ["", f"**Withheld by the content filter:** {said} fired. The {GUIDELINES_LINK} say what it refuses and why."]
    return "\n".join(parts)


def _knobs(knobs: tuple[KnobUsed, ...]) -> str:
    if not knobs:
        return "no sampling parameters recorded"
    return ", ".join(f"{KNOB_WORDS.get(k.knob, k.knob)} {k.value:g} ({k.source})" for k in knobs)


def _parameter(key: str, value: Any) -> str:
    shown = " / ".join(str(v) for v in value) if isinstance(value, list | tuple) else str(value)
    return f"{KNOB_WORDS.get(key, key.replace('_', ' '))} {literal_markdown(shown)}"
