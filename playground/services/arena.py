"""The arena as plain functions (no Gradio): start a battle, stream both sides, take the vote.

Which contestants meet is decided here, on the server, and kept in the `battles` row; the
page only ever holds the battle id. Both sides answer through the ordinary generators
(`stream_text` / `stream_image`, pinned to the side's version), so every battle also leaves two
normal requests (source "arena") whose outputs can be rated like any other.

With a single published version of a modality, the arena compares sampling presets of it
(`PRESETS`); those votes feed the learned sampling defaults (docs/ARENA.md).

A viewer with a personal version of its own gets it against the global version in a share of
its battles (`feedback_db.arena.personal_share`); no one else ever meets it, and its reveal says
"your version" to its owner alone (docs/ARENA.md, "Your version against everyone's").
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, TypedDict

from sqlalchemy.orm import Session

from feedback_db.arena import (
    BASE_VERSION,
    Contestant,
    PairPolicy,
    PublishedVersion,
    battle_vote,
    choose_pair,
    create_battle,
    finish_battle,
    forget_stale_battles,
    forget_unfinished_battle,
    get_battle,
    needs_votes,
    pair_votes,
    personal_share,
    published_versions,
    record_vote,
)
from feedback_db.errors import UnknownIdError
from feedback_db.personal_arena import owned_versions, personal_votes
from feedback_db.schema import Battle, Output, Request, utcnow
from feedback_db.versions import active_version, version_by_name
from models.base import ImageParams, TextParams, check_modality, check_prompt
from playground.core.errors import NotAllowedError, PlaygroundError
from playground.services.generation import screened_prompt, stream_image, stream_text
from playground.services.identity import Viewer
from playground.serving.context import AppContext

SIDES = ("a", "b")
MAX_PROMPT_CHARS = {"text": 4000, "image": 2000}
ARENA_SOURCE = "arena"


class TextPreset(TypedDict, total=False):
    """The TextParams fields a text preset sets."""

    temperature: float


class ImagePreset(TypedDict, total=False):
    """The ImageParams fields an image preset sets."""

    guidance_scale: float


# The knob each modality's presets move, and the values compared while only one version exists.
TEXT_PRESETS: dict[str, TextPreset] = {f"temperature={t}": {"temperature": t} for t in (0.4, 0.7, 1.0)}
IMAGE_PRESETS: dict[str, ImagePreset] = {f"guidance={g}": {"guidance_scale": float(g)} for g in (2, 3, 4)}
PRESETS: dict[str, dict[str, TextPreset] | dict[str, ImagePreset]] = {"text": TEXT_PRESETS, "image": IMAGE_PRESETS}
TEXT_MAX_NEW_TOKENS = 160
IMAGE_STEPS = 20
# A battle streams for a minute or two at most; one still unfinished after this was cut off by a
# process that died, and is removed when the next battle starts.
STALE_BATTLE = timedelta(hours=1)


@dataclass(frozen=True)
class SideUpdate:
    """Progress of one side; carries content only, never the contestant behind it."""

    side: str
    text: str | None = None
    image: Any | None = None  # a PIL image once finished
    step: int = 0
    total_steps: int = 0
    done: bool = False


class SideNotServedError(PlaygroundError):
    """A side was answered by another version than the battle names (a personal adapter that
    would not load is replaced by the global version): the battle is dropped, its vote would lie."""


@dataclass(frozen=True)
class RevealedSide:
    contestant: Contestant
    status: str  # base | active | candidate | retired
    latency_ms: float | None
    tokens: int | None
    yours: bool = False  # the viewer's own personal version (only its owner ever meets it)


@dataclass(frozen=True)
class Reveal:
    outcome: str
    sides: dict[str, RevealedSide]

    @property
    def compares_presets(self) -> bool:
        """A preset battle: one version on both sides, each with its own sampling preset."""
        a, b = (self.sides[side].contestant for side in SIDES)
        return a.version == b.version and bool(a.preset) and bool(b.preset)

    @property
    def yours_against_global(self) -> bool:
        """A battle of the viewer's own version against the global one."""
        return any(side.yours for side in self.sides.values())


def validate_battle(context: AppContext, modality: str, prompt: str) -> str:
    """The checked, cleaned prompt of a battle request, passed by the content filter; raises
    before anything (a battle, or a new browser's identity) is written."""
    return screened_prompt(context, check_prompt(prompt, MAX_PROMPT_CHARS[check_modality(modality)]))


def compares_presets(context: AppContext, modality: str) -> bool:
    """Whether a battle of `modality` started now is a preset battle (its one published version
    against itself, with two sampling presets) rather than two versions."""
    with context.database.read_sessions() as session:
        return _presets_compete(published_versions(session, modality=modality))


def _presets_compete(versions: Sequence[PublishedVersion]) -> bool:
    return len(versions) < 2


def start_battle(context: AppContext, viewer: Viewer, modality: str, prompt: str, rng: random.Random | None = None) -> int:
    """Pick two contestants for `prompt` and open a battle; return its id (all the page keeps)."""
    # 1. Validate before anything is written.
    prompt = validate_battle(context, modality, prompt)
    rng = rng or random.Random()
    with context.database.sessions.begin() as session:
        forget_stale_battles(session, started_before=utcnow() - STALE_BATTLE)
        # 2. Versions of this modality; with only one, its sampling presets compete instead.
        versions = published_versions(session, modality=modality)
        candidates = [v for v in versions if v.status == "candidate"]
        active = next((v for v in versions if v.status == "active"), None)
        if not _presets_compete(versions):
            contestants = [Contestant(v.name) for v in versions]
            focus = Contestant(candidates[-1].name) if candidates else None
            active_side = Contestant(active.name) if active else None
        else:
            contestants = [Contestant(versions[0].name, preset) for preset in PRESETS[modality]]
            focus = active_side = None
        # 3. The viewer's own version against the global one for a share of its battles; else the
        #    pair (few votes first, the newest candidate until it has enough). Sides random.
        votes, policy = pair_votes(session, modality=modality), PairPolicy()
        own = _own_pair(context, session, viewer, modality, active, needs_votes(focus, votes, policy), policy, rng)
        side_a, side_b = own or choose_pair(contestants, votes, rng, focus=focus, active=active_side, policy=policy)
        battle = create_battle(session, modality=modality, prompt=prompt, side_a=side_a, side_b=side_b, user_id=viewer.user_id)
        return battle.id


def _own_pair(
    context: AppContext,
    session: Session,
    viewer: Viewer,
    modality: str,
    active: PublishedVersion | None,
    candidate_needs_votes: bool,
    policy: PairPolicy,
    rng: random.Random,
) -> tuple[Contestant, Contestant] | None:
    """The viewer's active personal version against the active global one (the base model
    where none is active), in random order, for `personal_share` of its battles; else None."""
    if not context.settings.personal_versions:
        return None  # its version is not served, so it cannot answer a side either
    own = active_version(session, modality=modality, owner_id=viewer.user_id)
    if own is None:
        return None
    opponent = active.name if active is not None else BASE_VERSION
    cast = personal_votes(session, modality=modality, owner_id=viewer.user_id, version=own.name, opponent=opponent)
    if rng.random() >= personal_share(cast, candidate_needs_votes=candidate_needs_votes, policy=policy):
        return None
    pair = (Contestant(own.name), Contestant(opponent))
    return pair if rng.random() < 0.5 else (pair[1], pair[0])


def stream_battle(context: AppContext, viewer: Viewer, battle_id: int, cancel: threading.Event | None = None) -> Iterator[SideUpdate]:
    """Generate side A, then side B (same seed for both), then mark the battle ready for a vote.
    A side answered by another version than it names (a personal adapter that would not load)
    drops the battle: SideNotServedError."""
    battle = _own_battle(context, viewer, battle_id)
    if battle.finished_at is not None:
        raise NotAllowedError("this battle has already been played: start a new one")
    seed = random.randrange(2**31)  # both sides share it, so only the contestant differs
    request_ids: dict[str, int] = {}
    for side in SIDES:
        version, preset = (battle.version_a, battle.preset_a) if side == "a" else (battle.version_b, battle.preset_b)
        served = ""
        if battle.modality == "text":
            text_params = _text_params(context, viewer, version, preset, seed)
            for text_update in stream_text(context, viewer, battle.prompt, text_params, cancel, ARENA_SOURCE, version):
                yield SideUpdate(side, text=text_update.texts[0], done=text_update.recorded is not None)
                if text_update.recorded is not None:
                    request_ids[side], served = text_update.recorded.request_id, text_update.recorded.model_version
        else:
            image_params = _image_params(context, viewer, version, preset, seed)
            for update in stream_image(context, viewer, battle.prompt, image_params, cancel, ARENA_SOURCE, version):
                image = update.outputs[0].image if update.outputs else None
                yield SideUpdate(side, image=image, step=update.step, total_steps=update.total_steps, done=update.recorded is not None)
                if update.recorded is not None:
                    request_ids[side], served = update.recorded.request_id, update.recorded.model_version
        if served != version:
            abandon_battle(context, battle_id)
            raise SideNotServedError("one side could not be answered by the version it was given: start a new battle")
    with context.database.sessions.begin() as session:
        finish_battle(session, battle_id=battle_id, request_a_id=request_ids["a"], request_b_id=request_ids["b"])


def abandon_battle(context: AppContext, battle_id: int) -> None:
    """A battle whose stream ended before both answers finished is removed (a finished one is
    kept): unfinished battles never take a vote, so they would only be clutter."""
    with context.database.sessions.begin() as session:
        forget_unfinished_battle(session, battle_id=battle_id)


def vote(context: AppContext, viewer: Viewer, battle_id: int, outcome: str, reason: str | None = None) -> Reveal:
    """Record the viewer's vote; only then say who was behind A and B."""
    with context.database.sessions.begin() as session:
        record_vote(session, battle_id=battle_id, voter_id=viewer.user_id, outcome=outcome, reason=reason)
    return reveal(context, viewer, battle_id)


def reveal(context: AppContext, viewer: Viewer, battle_id: int) -> Reveal:
    """The names and figures behind a voted battle (refused before the vote)."""
    with context.database.read_sessions() as session:
        battle = get_battle(session, battle_id=battle_id)
        if battle.user_id != viewer.user_id:
            raise NotAllowedError("this battle belongs to another viewer")
        cast = battle_vote(session, battle_id=battle_id)
        if cast is None:
            raise NotAllowedError("vote first: the names are shown after the vote")
        statuses = {v.name: v.status for v in published_versions(session, modality=battle.modality)}
        own = owned_versions(session, modality=battle.modality, owner_id=viewer.user_id)  # a battle is its viewer's
        sides = {
            "a": _revealed(session, Contestant(battle.version_a, battle.preset_a), battle.request_a_id, statuses, own),
            "b": _revealed(session, Contestant(battle.version_b, battle.preset_b), battle.request_b_id, statuses, own),
        }
        return Reveal(cast.outcome, sides)


def _revealed(
    session: Session, contestant: Contestant, request_id: int | None, statuses: dict[str, str], own: dict[str, str]
) -> RevealedSide:
    output = None
    if request_id is not None:
        request = session.get(Request, request_id)
        output = request.outputs[0] if request is not None and request.outputs else None
    return RevealedSide(
        contestant,
        own.get(contestant.version) or statuses.get(contestant.version, "deleted"),
        output.latency_ms if isinstance(output, Output) else None,
        output.tokens if isinstance(output, Output) else None,
        yours=contestant.version in own,
    )


def _own_battle(context: AppContext, viewer: Viewer, battle_id: int) -> Battle:
    with context.database.read_sessions() as session:
        battle = get_battle(session, battle_id=battle_id)
    if battle.user_id != viewer.user_id:
        raise NotAllowedError("this battle belongs to another viewer: start your own battle")
    return battle


def _defaults(context: AppContext, viewer: Viewer, modality: str, version: str) -> dict[str, Any]:
    """The learned sampling defaults of `version` (a global one, or the viewer's own personal one)."""
    if version == BASE_VERSION:
        return {}
    with context.database.read_sessions() as session:
        try:
            row = version_by_name(session, name=version, modality=modality, owner_id=viewer.user_id)
        except UnknownIdError:
            return {}  # deleted since the battle began: its side fails with a clear error when served
        return dict(row.sampling_defaults)


def _text_params(context: AppContext, viewer: Viewer, version: str, preset: str, seed: int) -> TextParams:
    params = TextParams(max_new_tokens=TEXT_MAX_NEW_TOKENS, n=1, seed=seed)
    learned = _defaults(context, viewer, "text", version)
    if "temperature" in learned:
        params = replace(params, temperature=float(learned["temperature"]))
    return replace(params, **TEXT_PRESETS.get(preset, {})).validate()


def _image_params(context: AppContext, viewer: Viewer, version: str, preset: str, seed: int) -> ImageParams:
    params = ImageParams(steps=IMAGE_STEPS, n=1, seed=seed)
    learned = _defaults(context, viewer, "image", version)
    if "guidance_scale" in learned:
        params = replace(params, guidance_scale=float(learned["guidance_scale"]))
    return replace(params, **IMAGE_PRESETS.get(preset, {})).validate()
