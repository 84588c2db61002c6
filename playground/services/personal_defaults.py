"""Sampling defaults tuned for one person: learned from that identity's own ratings (the identity
cookie for end users, the account for annotators) with the rule the global learned defaults use
(models/finetune/sampling.py), on every knob of the modality's table, each on its own: text
temperature, top-p and max new tokens; image guidance and steps. For each knob, buckets of its
value are compared, each with enough rated requests, the best beating the runner-up by more than
noise (one-sided Welch t-test, alpha 0.05). A lone bucket compares nothing, so a person who never
changed a knob gets no personal value for it (and may still get one for another knob).

The tab applies the learned values to the person's next requests and says so beside the
parameters; the person can turn all of them off at once (`users.personal_defaults`). The values a
request used are stored with it as always, so training and the history see what was served.

Plain functions over an AppContext (no Gradio), like the other services.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from feedback_db.frames import ratings_frame, set_ratings_frame
from feedback_db.users import get_user, set_personal_defaults
from models.base import ImageParams, Modality, TextParams, check_modality
from models.finetune.sampling import KNOB_TABLES, learn_knobs
from playground.services.identity import Viewer
from playground.serving.context import AppContext

# Our own defaults, for a knob the active version has learned no value of.
OURS: dict[Modality, TextParams | ImageParams] = {"text": TextParams(), "image": ImageParams()}
FALLBACK: dict[Modality, dict[str, float]] = {
    modality: {knob.name: float(getattr(params, knob.name)) for knob in KNOB_TABLES[modality]} for modality, params in OURS.items()
}


@dataclass(frozen=True)
class KnobTuning:
    """What one identity's ratings say about one sampling knob."""

    knob: str  # e.g. "temperature", "top_p", "max_new_tokens", "guidance_scale", "steps"
    global_value: float  # everyone's default: the active version's learned one, else ours
    value: float | None  # learned from this identity's ratings; None when they show nothing
    why: str  # the evidence, in words


@dataclass(frozen=True)
class PersonalDefaults:
    """What one identity's ratings say about one modality's sampling knobs, in table order."""

    modality: Modality
    knobs: tuple[KnobTuning, ...]
    rated_outputs: int  # this identity's rated outputs of the modality
    enabled: bool  # the identity's switch, for every knob

    @classmethod
    def nothing_learned(cls, modality: str, global_values: dict[str, float]) -> PersonalDefaults:
        """For an identity with no ratings (or none yet): everyone's values."""
        checked = check_modality(modality)
        knobs = tuple(KnobTuning(k.name, global_values[k.name], None, "no ratings of yours yet") for k in KNOB_TABLES[checked])
        return cls(checked, knobs, 0, True)

    def __getitem__(self, knob: str) -> KnobTuning:
        return next(k for k in self.knobs if k.knob == knob)

    @property
    def learned(self) -> tuple[KnobTuning, ...]:
        """The knobs this identity's ratings give a value of (whether or not it is switched on)."""
        return tuple(k for k in self.knobs if k.value is not None)

    @property
    def applies(self) -> bool:
        return self.enabled and bool(self.learned)

    def served_value(self, knob: str) -> float:
        """The knob's value this identity's next request starts from."""
        tuning = self[knob]
        return tuning.value if self.enabled and tuning.value is not None else tuning.global_value

    @property
    def served(self) -> dict[str, float]:
        return {k.knob: self.served_value(k.knob) for k in self.knobs}


def personal_defaults(context: AppContext, viewer: Viewer, modality: str) -> PersonalDefaults:
    """Learn `viewer`'s own values of `modality`'s knobs from their ratings."""
    # 1. Everyone's defaults, which the person's own values are compared against.
    checked = check_modality(modality)
    global_values = everyones_values(context, checked)
    # 2. This identity's own ratings and set ratings, and its switch.
    with context.database.read_sessions() as session:
        ratings = ratings_frame(session, modality=checked, rater_id=viewer.user_id)
        sets = set_ratings_frame(session, modality=checked, rater_id=viewer.user_id)
        enabled = get_user(session, viewer.user_id).personal_defaults
    # 3. The global rule on them, knob by knob. The ratings frame carries each rated request's
    #    parameters, which is all the learner reads from its `outputs` table (unrated requests add
    #    nothing).
    learned = learn_knobs(checked, ratings, sets, ratings)
    knobs = tuple(_tuning(name, global_values[name], result) for name, result in learned.items())
    rated = int(ratings["output_id"].nunique()) if not ratings.empty else 0
    return PersonalDefaults(checked, knobs, rated, enabled)


def _tuning(knob: str, global_value: float, learned: dict[str, Any]) -> KnobTuning:
    """One knob's learner result -> its tuning (a value only when the comparison showed one)."""
    evidence = learned["evidence"]
    value = float(learned[knob]) if evidence.get("learned") and knob in learned else None
    return KnobTuning(knob, global_value, value, str(evidence.get("why", "")))


def everyones_values(context: AppContext, modality: str) -> dict[str, float]:
    """Every knob's default for everyone: the active version's learned value, else ours. (The
    global learner learns temperature and guidance only; the others are ours unless a version
    ever stores one.)"""
    checked = check_modality(modality)
    learned = context.sampling_defaults(checked)
    return {knob: _number(learned.get(knob), fallback) for knob, fallback in FALLBACK[checked].items()}


def everyones_value(context: AppContext, modality: str) -> float:
    """The globally learned knob's (temperature's, guidance's) default for everyone."""
    checked = check_modality(modality)
    return everyones_values(context, checked)[KNOB_TABLES[checked][0].name]


def _number(value: Any, fallback: float) -> float:
    """A stored default, or `fallback` where it is missing or not a number."""
    try:
        return float(value) if value is not None and not isinstance(value, bool) else fallback
    except (TypeError, ValueError):
        return fallback


def switch_personal_defaults(context: AppContext, viewer: Viewer, on: bool) -> None:
    """Turn `viewer`'s personal defaults on or off (for every modality and knob)."""
    with context.database.sessions.begin() as session:
        set_personal_defaults(session, user_id=viewer.user_id, on=on)
