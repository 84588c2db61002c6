"""The facts of "About this answer": a candidate and the version that gave it, in dataclasses.

Built from feedback_db queries (feedback_db/explanations.py) and the retrain run's recorded
metrics (playground/retrain/publish.py `run_metrics`); playground/web/ui/about_words.py says it
in words. A version is looked up among the global versions and the viewer's own personal ones
only, so nothing here ever tells one identity about another's personal version.

How many of the viewer's ratings a version read is not recorded row by row: a run reads every
rating given before it starts (less those on withheld outputs), so the count is the viewer's
ratings up to the run's start, and the words say so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from feedback_db.explanations import AnswerRecord, VersionRecord, answer_record, ratings_given_before, version_record
from feedback_db.personal import RATED_OUTPUTS
from feedback_db.versions import list_versions
from models.base import BASE_VERSION, ImageVocabulary, check_modality
from models.finetune.sampling import KNOB_TABLES
from playground.core.moderation import Verdict, parse_verdict
from playground.services.identity import Viewer
from playground.services.personal_defaults import FALLBACK, personal_defaults
from playground.serving.context import AppContext

# Words of a prompt the embedded image model does not need to know: articles, prepositions.
FILLER_WORDS = frozenset({"a", "an", "the", "on", "at", "in", "of", "with", "and", "to", "is", "picture", "image", "background"})
# Behaviour changes smaller than this share of the old value are not worth a sentence.
NOTABLE_CHANGE = 0.05
_RATINGS_READ = re.compile(r"(?:^|\|)ratings:(\d+):")


@dataclass(frozen=True)
class VersionExplanation:
    """What a version is, what trained it, and what it learned."""

    name: str
    modality: str
    base_model: str
    base: bool = False  # the base model itself: never retrained from ratings
    known: bool = True  # False: no such version is recorded (or it is not the viewer's to see)
    personal: bool = False  # the viewer's own personal version
    status: str | None = None  # candidate | active | retired
    parent: str | None = None  # trained on top of this version; None: the base model
    trained_at: datetime | None = None
    method: str | None = None
    ratings: int | None = None  # rating rows the training run read
    rated_outputs: int | None = None  # distinct rated answers (a personal version: the owner's)
    yours: int | None = None  # the viewer's ratings given before the run started (None: no viewer)
    decision: str | None = None  # promoted | insufficient-evidence | rejected | awaiting-arena
    learned: tuple[str, ...] = ()  # what the retrain report measured, one sentence each
    defaults: dict[str, float] = field(default_factory=dict)  # its learned sampling defaults
    defaults_why: str = ""
    report_path: Path | None = None


@dataclass(frozen=True)
class KnobUsed:
    """One sampling knob of an answer: its value, and where that value came from."""

    knob: str
    value: float
    source: str  # "your own default" | "the version's learned default" | "the app's default" | "set by you"


@dataclass(frozen=True)
class AnswerExplanation:
    version: VersionExplanation
    seed: int
    knobs: tuple[KnobUsed, ...]
    other_parameters: dict[str, Any]  # the rest as stored (size, stop sequences, negative prompt...)
    recognised: tuple[str, ...] | None = None  # image prompts: words the model knows (None: no vocabulary)
    ignored: tuple[str, ...] | None = None
    withheld: Verdict | None = None  # the content filter's verdict on this answer
    withheld_reason: str | None = None  # as stored, when it reads as no known verdict


def explain_answer(context: AppContext, viewer: Viewer, output_id: int) -> AnswerExplanation:
    """The facts behind one of `viewer`'s outputs (UnknownIdError for anyone else's)."""
    # 1. The answer and its request, if this browser made it; the version that gave it.
    with context.database.read_sessions() as session:
        answer = answer_record(session, output_id=output_id, session_id=viewer.browser_session)
    version = explain_version(context, answer.model_version, answer.modality, viewer, base_model=answer.parameters.get("model"))
    # 2. Each sampling knob's value, and whether a learned default gave it.
    knobs = knobs_used(context, viewer, answer, version)
    named = {k.knob for k in knobs} | {"seed", "model", "n", "confidence"}
    others = {key: value for key, value in answer.parameters.items() if key not in named and value not in (None, "", [], ())}
    # 3. Image prompts: the words the model recognised and those it ignored.
    recognised = ignored = None
    if answer.modality == "image":
        vocabulary = context.generator("image").vocabulary()
        if vocabulary is not None:
            recognised, ignored = prompt_words(vocabulary, answer.prompt)
    verdict = parse_verdict(answer.moderation)
    return AnswerExplanation(
        version, answer.seed, knobs, others, recognised, ignored, verdict, answer.moderation if verdict is None else None
    )


def explain_version(context: AppContext, name: str, modality: str, viewer: Viewer | None, base_model: Any = None) -> VersionExplanation:
    """Version `name` of `modality` as `viewer` may see it (None: nobody's own ratings counted)."""
    checked = check_modality(modality)
    model = str(base_model) if base_model else context.model_spec(checked)
    if name == BASE_VERSION:
        return VersionExplanation(name, checked, model, base=True)
    with context.database.read_sessions() as session:
        record = version_record(session, name=name, modality=checked, viewer_id=viewer.user_id if viewer else None)
        yours = None
        if record is not None and record.run is not None and viewer is not None:
            yours = ratings_given_before(session, rater_id=viewer.user_id, modality=checked, cutoff=record.run.started_at)
    if record is None:
        return VersionExplanation(name, checked, model, known=False)
    return _from_record(record, yours)


def _from_record(record: VersionRecord, yours: int | None) -> VersionExplanation:
    run = record.run
    counts = run.data_counts if run else {}
    metrics = run.metrics if run else {}
    knobs = {k: float(v) for k, v in record.sampling_defaults.items() if k != "evidence" and isinstance(v, int | float)}
    evidence = record.sampling_defaults.get("evidence")
    return VersionExplanation(
        record.name,
        record.modality,
        record.base_model,
        personal=record.personal,
        status=record.status,
        parent=record.parent,
        trained_at=(run.finished_at or run.started_at) if run else record.created_at,
        method=run.method if run else None,
        ratings=ratings_read(counts),
        rated_outputs=_int(counts.get(RATED_OUTPUTS)),
        yours=yours,
        decision=metrics.get("decision"),
        learned=learned_sentences(metrics, record.modality, record.parent or BASE_VERSION),
        defaults=knobs,
        defaults_why=str(evidence.get("why", "")) if isinstance(evidence, dict) else "",
        report_path=Path(run.report_path) if run and run.report_path else None,
    )


def ratings_read(counts: dict[str, Any]) -> int | None:
    """The rating rows a run read, from its watermark ("ratings:<rows>:<latest>|...")."""
    match = _RATINGS_READ.search(str(counts.get("watermark", "")))
    return int(match.group(1)) if match else None


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def learned_sentences(metrics: dict[str, Any], modality: str, previous: str) -> tuple[str, ...]:
    """What a run measured, in plain sentences: the held-out gate, then how the answers changed."""
    sentences = []
    evaluation = metrics.get("evaluation") or {}
    prompts = _int(evaluation.get("prompts"))
    if prompts:
        wins, losses, ties = (_int(evaluation.get(k)) or 0 for k in ("wins", "losses", "ties"))
        sentences.append(
            f"Against `{previous}` it won {wins} of {prompts} held-out prompts that no version was trained on (lost {losses}, tied {ties})."
        )
    behaviour = metrics.get("behaviour") or {}
    sentences += _behaviour_sentences(behaviour, modality, previous)
    old, new = behaviour.get("predicted_old"), behaviour.get("predicted_new")
    if isinstance(old, int | float) and isinstance(new, int | float):
        sentences.append(f"A scorer fitted on people's ratings predicts {new:.1f} of 5 for its answers, {old:.1f} for `{previous}`'s.")
    return tuple(sentences)


# metric -> (noun for the answers, word when it rose, word when it fell)
_CHANGES: dict[str, dict[str, tuple[str, str, str]]] = {
    "text": {"mean_words": ("answers", "longer", "shorter")},
    "image": {
        "mean_brightness": ("images", "brighter", "darker"),
        "mean_contrast": ("images", "higher in contrast", "lower in contrast"),
        "mean_saturation": ("images", "more colourful", "less colourful"),
    },
}


def _behaviour_sentences(behaviour: dict[str, Any], modality: str, previous: str) -> list[str]:
    old, new = behaviour.get("old") or {}, behaviour.get("new") or {}
    sentences = []
    for metric, (noun, rose, fell) in _CHANGES.get(modality, {}).items():
        before, after = old.get(metric), new.get(metric)
        if not isinstance(before, int | float) or not isinstance(after, int | float) or before <= 0:
            continue
        change = (after - before) / before
        if abs(change) >= NOTABLE_CHANGE:
            unit = " words" if metric == "mean_words" else ""
            sentences.append(
                f"Its {noun} are {abs(change):.0%} {rose if change > 0 else fell} than `{previous}`'s "
                f"({after:g}{unit} against {before:g}{unit} on average, on the same held-out prompts)."
            )
    if modality == "text" and isinstance(old.get("distinct_1"), int | float) and isinstance(new.get("distinct_1"), int | float):
        difference = new["distinct_1"] - old["distinct_1"]
        if abs(difference) >= 0.02:
            sentences.append(f"Its answers use {'more' if difference > 0 else 'less'} varied words than `{previous}`'s.")
    return sentences


def knobs_used(context: AppContext, viewer: Viewer, answer: AnswerRecord, version: VersionExplanation) -> tuple[KnobUsed, ...]:
    """Each sampling knob the answer used, and the default it matches: the viewer's own (learned
    from their ratings, if switched on), the answering version's learned one, or the app's."""
    modality = check_modality(answer.modality)
    mine = personal_defaults(context, viewer, modality)
    used = []
    for knob in KNOB_TABLES[modality]:
        value = answer.parameters.get(knob.name)
        if not isinstance(value, int | float) or isinstance(value, bool):
            continue
        own = mine[knob.name].value if mine.enabled else None
        if own is not None and _same(value, own):
            source = "your own default"
        elif knob.name in version.defaults and _same(value, version.defaults[knob.name]):
            source = "the version's learned default"
        elif _same(value, FALLBACK[modality][knob.name]):
            source = "the app's default"
        else:
            source = "set by you"
        used.append(KnobUsed(knob.name, float(value), source))
    return tuple(used)


def _same(a: float, b: float) -> bool:
    return abs(float(a) - float(b)) <= 1e-6 * max(1.0, abs(float(b)))


def prompt_words(vocabulary: ImageVocabulary, prompt: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The words and phrases of `prompt` the image model knows, and the other words it ignores
    (articles, prepositions and the words of its own prompt templates left out)."""
    known = vocabulary.known_in(prompt)
    text = " " + " ".join(re.findall(r"[a-z]+", (prompt or "").lower())) + " "
    for phrase in known:
        text = text.replace(f" {phrase} ", " ")
    template_words = {w for t in [*vocabulary.templates.values(), *vocabulary.word_templates.values()] for w in re.findall(r"[a-z]+", t)}
    ignored = [w for w in text.split() if w not in FILLER_WORDS and w not in template_words]
    return tuple(known), tuple(dict.fromkeys(ignored))


def version_choices(context: AppContext, modality: str) -> list[str]:
    """The versions anyone may ask about: the base model and the global versions, newest first
    (personal versions are never listed)."""
    with context.database.read_sessions() as session:
        names = [v.name for v in list_versions(session, modality=check_modality(modality))]
    return [*reversed(names), BASE_VERSION]


def report_text(context: AppContext, version: VersionExplanation, max_chars: int = 20_000) -> str | None:
    """The retrain report of `version`, if it has one under the reports folder (None otherwise:
    a path elsewhere is not read)."""
    path = version.report_path
    if path is None:
        return None
    folder = context.settings.reports_dir.resolve()
    resolved = path.resolve()
    if not resolved.is_relative_to(folder):
        return None
    try:
        return resolved.read_text(encoding="utf-8")[:max_chars]
    except OSError:
        return None
