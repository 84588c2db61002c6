"""Two scripted identities with opposite tastes, shared by the personal-version loop tests
(tests/retrain/test_personal_text_loop.py, test_personal_image_loop.py; issue #27).

Both identities rate the same requests (generated once through the app's path, as two annotators
working the same queue would), each on one feature of the outputs: one likes more of it, the
other less. What the nightly run should make of that: the global version, trained on both, sees
opposite choices on the same candidates and has little to learn; each personal version, trained
on its owner's ratings alone, moves its owner's feature in its owner's direction.

A rater scores a request's candidates relative to their mean, as the image rater of
tests/retrain/image_feedback.py does (every request then gives pairs), and picks as best the
top-scored candidate with the most of what it likes: with ties broken otherwise, a third of the
best-pick pairs went against the rater's taste (docs/RETRAIN.md). The two raters take turns in
who rates a request first: when two best picks say opposite things about the same two
candidates the data keeps the first (models/finetune/data.py, `_merge_pairs`), so a fixed order
would hand the global version one rater's taste.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from feedback_db.queries import upsert_rating, upsert_set_rating
from models.base import BASE_VERSION, ImageGenerator, TextGenerator
from playground.core.database import Database
from playground.retrain.candidate import RetrainOutcome
from playground.serving.context import AppContext
from tests.db.helpers import add_rater

GLOBAL = "global served"  # the label of the global version as an identity without its own is served it
TRAINED = "global candidate"  # the night's global version by name, promoted or not


@dataclass(frozen=True)
class Taste:
    """A scripted identity: `direction` +1 likes more of the feature, -1 less."""

    name: str
    direction: int
    rater_id: int


def add_tastes(database: Database, names: dict[str, int]) -> list[Taste]:
    """One annotator identity per name -> direction."""
    with database.sessions.begin() as session:
        return [Taste(name, direction, add_rater(session, name, role="annotator").id) for name, direction in names.items()]


def add_identity(database: Database, name: str) -> int:
    """An identity that rates nothing (so has no personal version)."""
    with database.sessions.begin() as session:
        return add_rater(session, name, role="annotator").id


def relative_scores(values: Sequence[float], direction: int, point: float, valid: Sequence[bool] | None = None) -> list[int]:
    """1-5 per candidate: 3 at the request's mean, one point more per `point` of the feature in
    the liked direction (at most 2 either way); 1 for a candidate `valid` rules out."""
    mean = sum(values) / len(values)
    valid = valid if valid is not None else [True] * len(values)
    return [
        3 + max(-2, min(2, math.floor(direction * (value - mean) / point + 0.5))) if ok else 1
        for value, ok in zip(values, valid, strict=True)
    ]


def rate_request(
    database: Database,
    tastes: Sequence[Taste],
    k: int,
    request_id: int,
    output_ids: Sequence[int],
    values: Sequence[float],
    point: float,
    *,
    valid: Sequence[bool] | None = None,
    both_axes: bool = True,
) -> None:
    """Every taste rates every candidate of one request and picks its best; request `k` is rated
    first by taste `k % len(tastes)` (the turns above). `both_axes`: the score goes to
    naturalness and reliability (text), else to naturalness alone (images)."""
    order = [tastes[(k + i) % len(tastes)] for i in range(len(tastes))]
    with database.sessions.begin() as session:
        for taste in order:
            scores = relative_scores(values, taste.direction, point, valid)
            for score, output_id in zip(scores, output_ids, strict=True):
                reliability = score if both_axes else None
                upsert_rating(
                    session, output_id=output_id, rater_id=taste.rater_id, source="annotator", naturalness=score, reliability=reliability
                )
            liked = [taste.direction * value for value in values]
            best = max(zip(scores, liked, output_ids, strict=True))[2]
            upsert_set_rating(session, request_id=request_id, rater_id=taste.rater_id, source="annotator", diversity=3, best_output_id=best)


def split_outcomes(outcomes: list[RetrainOutcome], tastes: Sequence[Taste]) -> tuple[RetrainOutcome, dict[int, RetrainOutcome]]:
    """The global outcome (first) and each taste's personal one (its message names the identity)."""
    global_outcome, *personal = outcomes
    assert not global_outcome.message.startswith("personal"), global_outcome.message
    by_owner = {}
    for taste in tastes:
        (own,) = [o for o in personal if o.message.startswith(f"personal, identity {taste.rater_id} ")]
        by_owner[taste.rater_id] = own
    assert len(personal) == len(tastes), [o.message for o in personal]
    return global_outcome, by_owner


def assert_each_served_its_own(
    context: AppContext, modality: str, personal: dict[int, RetrainOutcome], other_id: int, global_name: str
) -> None:
    """Through the serving path: each owner gets its personal version; an identity without one
    gets the global version."""
    for owner_id, outcome in personal.items():
        with context.serving(modality, None, owner_id) as (_, served):
            assert served.name == outcome.version and served.personal, (owner_id, served, outcome.version)
    with context.serving(modality, None, other_id) as (_, served):
        assert served.name == global_name and not served.personal, (served, global_name)


def forget_versions(generator: TextGenerator | ImageGenerator) -> None:
    """Serve the base and unload every adapter: the session's generator outlives this test's
    database, and a later test's version of the same name ("text-v1", "candidate-text-v1") must
    not find this test's adapter loaded under it (the text generator reuses a loaded name)."""
    generator.use_version(BASE_VERSION, None)
    for name in list(generator.loaded_versions):
        if name != BASE_VERSION:
            generator.unload_version(name)


def share_past(values: Sequence[float], median: float, direction: int) -> float:
    """The share of `values` past `median` in `direction` (ties count for neither side)."""
    return sum(direction * (value - median) > 0 for value in values) / len(values)


@dataclass(frozen=True)
class Moves:
    """The measured figures: the base median, and per version the values and shares past it."""

    median: float
    values: dict[str, list[float]]

    def share(self, version: str, direction: int) -> float:
        return share_past(self.values[version], self.median, direction)

    def move(self, version: str, direction: int) -> float:
        return self.share(version, direction) - self.share(BASE_VERSION, direction)

    def table(self, feature: str) -> str:
        lines = [f"{feature}: base median {self.median:g}"]
        for version, values in self.values.items():
            lines.append(
                f"  {version}: mean {statistics.fmean(values):.1f}, share above {self.share(version, 1):.2f}, "
                f"below {self.share(version, -1):.2f}"
            )
        return "\n".join(lines)


def measure_served(
    context: AppContext, modality: str, draw: Callable[[Any], list[float]], who: dict[str, tuple[str | None, int | None]]
) -> dict[str, list[float]]:
    """The feature of what the app serves for each label's (version, owner id), as
    `context.serving` takes them, drawn by `draw(generator)` with fixed seeds; label -> values."""
    values: dict[str, list[float]] = {}
    for label, (version, owner_id) in who.items():
        with context.serving(modality, version, owner_id) as (generator, _):
            values[label] = draw(generator)
    return values


def measured_versions(
    tastes: Sequence[Taste], global_outcome: RetrainOutcome, bystander: int
) -> tuple[str, dict[str, tuple[str | None, int | None]]]:
    """The served global version's name and what to measure: the base, each taste's own
    version, the global version as the bystander is served it, and the night's global candidate
    by name (TRAINED). Where the candidate was not promoted the bystander is served the base,
    and the candidate is measured anyway: trained on both opposite tastes, it is the one that
    must move less than each personal version."""
    assert global_outcome.version is not None, global_outcome.message
    promoted = global_outcome.status == "promoted"
    who: dict[str, tuple[str | None, int | None]] = {BASE_VERSION: (BASE_VERSION, None)}
    who.update({taste.name: (None, taste.rater_id) for taste in tastes})
    who[GLOBAL] = (None, bystander)
    who[TRAINED] = (global_outcome.version, None)
    return (global_outcome.version if promoted else BASE_VERSION), who


def assert_personal_moves(moves: Moves, tastes: Sequence[Taste], least: float) -> None:
    """Each personal version moves its owner's feature by `least` or more in its owner's
    direction; the served global version and the night's global candidate move by less (either
    way) than each personal version."""
    for taste in tastes:
        own = moves.move(taste.name, taste.direction)
        assert own >= least, (taste.name, own)
        for version in (GLOBAL, TRAINED):
            assert abs(moves.move(version, taste.direction)) < own, (taste.name, version, moves.move(version, taste.direction), own)


def print_moves(moves: Moves, tastes: Sequence[Taste]) -> None:
    for taste in tastes:
        figures = ", ".join(f"{label} {moves.move(label, taste.direction):+.2f}" for label in (taste.name, GLOBAL, TRAINED))
        print(f"{taste.name}, moves in its direction: {figures}")
