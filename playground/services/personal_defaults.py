"""Sampling defaults tuned for one person: learned from that identity's own ratings (the identity
cookie for end users, the account for annotators) with the rule the global learned defaults use
(models/finetune/sampling.py): buckets of the knob's value (temperature for text, guidance for
images) compared, each with enough rated requests, the best beating the runner-up by more than
noise (one-sided Welch t-test, alpha 0.05). A lone bucket compares nothing, so a person who never
changed the knob gets no personal value.

The tab applies the value to the person's next requests and says so beside the parameters; the
person can turn it off (`users.personal_defaults`). The values a request used are stored with it
as always, so training and the history see what was served.

Plain functions over an AppContext (no Gradio), like the other services.
"""

from __future__ import annotations

from dataclasses import dataclass

from feedback_db.frames import ratings_frame, set_ratings_frame
from feedback_db.users import get_user, set_personal_defaults
from models.base import ImageParams, Modality, TextParams, check_modality
from models.finetune.sampling import KNOBS, learn_sampling_defaults
from playground.services.identity import Viewer
from playground.serving.context import AppContext

FALLBACK = {"text": TextParams().temperature, "image": ImageParams().guidance_scale}


@dataclass(frozen=True)
class PersonalDefaults:
    """What one identity's ratings say about one modality's sampling knob."""

    modality: Modality
    knob: str  # "temperature" or "guidance_scale"
    global_value: float  # everyone's default: the active version's learned one, else ours
    value: float | None  # learned from this identity's ratings; None when they show nothing
    rated_outputs: int  # this identity's rated outputs of the modality
    enabled: bool  # the identity's switch
    why: str  # the evidence, in words

    @classmethod
    def nothing_learned(cls, modality: str, global_value: float) -> PersonalDefaults:
        """For an identity with no ratings (or none yet): everyone's value."""
        checked = check_modality(modality)
        return cls(checked, KNOBS[checked][0], global_value, None, 0, True, "no ratings of yours yet")

    @property
    def applies(self) -> bool:
        return self.enabled and self.value is not None

    @property
    def served_value(self) -> float:
        """The knob's value this identity's next request starts from."""
        return self.value if self.applies and self.value is not None else self.global_value


def personal_defaults(context: AppContext, viewer: Viewer, modality: str) -> PersonalDefaults:
    """Learn `viewer`'s own value of `modality`'s knob from their ratings."""
    # 1. Everyone's default, which the person's own value is compared against.
    checked = check_modality(modality)
    knob = KNOBS[checked][0]
    global_value = everyones_value(context, checked)
    # 2. This identity's own ratings and set ratings, and its switch.
    with context.database.read_sessions() as session:
        ratings = ratings_frame(session, modality=checked, rater_id=viewer.user_id)
        sets = set_ratings_frame(session, modality=checked, rater_id=viewer.user_id)
        enabled = get_user(session, viewer.user_id).personal_defaults
    # 3. The global rule on them. The ratings frame carries each rated request's parameters,
    #    which is all the learner reads from its `outputs` table (unrated requests add nothing).
    learned = learn_sampling_defaults(checked, ratings, sets, ratings)
    evidence = learned["evidence"]
    value = float(learned[knob]) if evidence.get("learned") and evidence.get("source") != "arena" else None
    rated = int(ratings["output_id"].nunique()) if not ratings.empty else 0
    return PersonalDefaults(checked, knob, global_value, value, rated, enabled, str(evidence.get("why", "")))


def everyones_value(context: AppContext, modality: str) -> float:
    """The knob's default for everyone: the active version's learned value, else ours."""
    checked = check_modality(modality)
    return float(context.sampling_defaults(checked).get(KNOBS[checked][0], FALLBACK[checked]))


def switch_personal_defaults(context: AppContext, viewer: Viewer, on: bool) -> None:
    """Turn `viewer`'s personal defaults on or off (for every modality)."""
    with context.database.sessions.begin() as session:
        set_personal_defaults(session, user_id=viewer.user_id, on=on)
