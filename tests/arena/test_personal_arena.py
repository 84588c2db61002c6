"""Your version against everyone's, through the arena service on fake generators: an owner's
battles pit its personal version against the global one (the share the pair policy says), its
reveal says "your version", and no other identity ever meets, sees or hears of it - not in its
battles, the leaderboards, the preset votes, the rating means, Your ratings, nor the CLI listings."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from feedback_db.arena import PairPolicy, personal_share, published_versions
from feedback_db.schema import Battle, Request
from feedback_db.standings import leaderboard, preset_votes, version_rating_means
from models.base import BASE_VERSION, ModelLoadError, TextParams
from playground.cli.main import main
from playground.core.settings import Settings
from playground.services.arena import SideNotServedError, reveal, start_battle, stream_battle, vote
from playground.services.generation import stream_text
from playground.services.identity import viewer_for_token
from playground.services.my_ratings import my_ratings
from playground.services.ratings import rate_output
from playground.serving.context import UnknownServedVersionError, build_context
from playground.web.ui.arena import reveal_markdown
from tests.arena.personal_helpers import ACTIVE, CANDIDATE, add_global, add_personal
from tests.fakes import FakeImageGenerator, FakeTextGenerator

MINE = "text-p-0a1b2c3d4e"


def play(context, viewer, seed: int, outcome: str = "a") -> int:
    battle_id = start_battle(context, viewer, "text", "Name a colour", random.Random(seed))
    list(stream_battle(context, viewer, battle_id))
    vote(context, viewer, battle_id, outcome)
    return battle_id


def sides(database, battle_id: int) -> set[str]:
    with database.read_sessions() as session:
        battle = session.get(Battle, battle_id)
        return {battle.version_a, battle.version_b}


def test_the_share_of_personal_battles():
    policy = PairPolicy()
    assert personal_share(0, candidate_needs_votes=False) == 1.0  # only the owner can give its gate votes
    assert personal_share(95, candidate_needs_votes=True) == 0.5  # a global candidate needs them too
    assert personal_share(policy.focus_votes, candidate_needs_votes=False) == 0.25  # settled: keep it fresh
    assert personal_share(500, candidate_needs_votes=True) == policy.personal_share_settled


def test_an_owner_battles_its_version_against_the_global_one_and_the_reveal_says_yours(context, viewer, database, fake_text):
    add_global(database)
    add_personal(database, viewer.user_id, MINE, defaults={"temperature": 0.3})
    first_sides = Counter()
    for seed in range(6):
        battle_id = play(context, viewer, seed)
        assert sides(database, battle_id) == {MINE, ACTIVE}  # no global candidate: every battle, until it has its votes
        result = reveal(context, viewer, battle_id)
        mine = next(side for side in "ab" if result.sides[side].yours)
        first_sides[mine] += 1
        assert result.sides[mine].contestant.version == MINE and result.sides[mine].status == "active"
        assert result.yours_against_global and not result.compares_presets
        words = reveal_markdown(result)
        assert "your version" in words.lower() and MINE not in words and ACTIVE in words
    assert set(first_sides) == {"a", "b"}  # sides random: "A" says nothing about whose version it is
    with database.read_sessions() as session:
        requests = session.query(Request).order_by(Request.id).all()
    assert {r.model_version for r in requests} == {MINE, ACTIVE}  # each side answered by its own version
    assert {r.parameters["temperature"] for r in requests if r.model_version == MINE} == {0.3}  # its own learned defaults


def test_half_of_an_owners_battles_while_a_global_candidate_needs_votes(context, viewer, database):
    add_global(database, candidate=True)
    add_personal(database, viewer.user_id, MINE)
    picks = []
    for seed in range(60):
        battle_id = start_battle(context, viewer, "text", "hi", random.Random(seed))
        picks.append(MINE in sides(database, battle_id))
    assert 18 <= sum(picks) <= 42, sum(picks)  # about half (binomial 60, 0.5: 30 +/- 12 is beyond 3 sd)


def test_no_personal_battles_when_personal_versions_are_off(settings, database, fake_text, fake_image, viewer):
    add_global(database, candidate=True)
    add_personal(database, viewer.user_id, MINE)
    off = build_context(
        Settings(data_dir=settings.data_dir, personal_versions=False),
        database,
        text_factory=lambda: fake_text,
        image_factory=lambda: fake_image,
    )
    for seed in range(10):
        assert MINE not in sides(database, start_battle(off, viewer, "text", "hi", random.Random(seed)))


class BrokenPersonal(FakeTextGenerator):
    """Refuses to load the personal adapter, as a real backend refuses a corrupt folder."""

    def use_version(self, version_id, adapter_path):
        if version_id == MINE:
            raise ModelLoadError("corrupt adapter")
        super().use_version(version_id, adapter_path)


def test_a_side_answered_by_a_stand_in_drops_the_battle(settings, database, viewer):
    add_global(database)
    add_personal(database, viewer.user_id, MINE)
    broken = BrokenPersonal()
    context = build_context(settings, database, text_factory=lambda: broken, image_factory=FakeImageGenerator)
    battle_id = start_battle(context, viewer, "text", "hi", random.Random(0))
    with pytest.raises(SideNotServedError, match="start a new battle"):
        list(stream_battle(context, viewer, battle_id))
    with database.read_sessions() as session:
        assert session.query(Battle).count() == 0  # its vote would have said the global version beat itself


@pytest.fixture
def stranger_and_owner(context, viewer, database):
    """`viewer` owns MINE and has voted and rated it; a second identity has not and has none."""
    add_global(database, candidate=True)
    add_personal(database, viewer.user_id, MINE)
    personal_battles = [MINE in sides(database, play(context, viewer, seed, outcome="a" if seed % 2 else "b")) for seed in range(8)]
    assert any(personal_battles) and not all(personal_battles)  # a global candidate needs votes: about half
    served = list(stream_text(context, viewer, "hello", TextParams(n=1, max_new_tokens=4)))[-1].recorded
    assert served.model_version == MINE  # the owner is served its version in the playground
    rate_output(database, viewer, served.output_ids[0], naturalness=5, reliability=4)
    return viewer_for_token(database, None), viewer


def test_a_second_identity_never_meets_sees_or_hears_of_anothers_personal_version(context, database, settings, stranger_and_owner, capsys):
    stranger, owner = stranger_and_owner
    # 1. Its battles: never against the owner's version, and its reveals say "yours" nowhere.
    for seed in range(30):
        battle_id = play(context, stranger, seed)
        assert MINE not in sides(database, battle_id)
        assert not reveal(context, stranger, battle_id).yours_against_global
    # 2. Asking for it by name is the same refusal as a version that does not exist.
    with pytest.raises(UnknownServedVersionError, match="no text version named"), context.serving("text", MINE, stranger.user_id):
        pass
    # 3. Every standing and listing shown to others.
    with database.read_sessions() as session:
        published = [v.name for v in published_versions(session, modality="text")]
        board = leaderboard(session, "versions", modality="text", rounds=0)
        presets = preset_votes(session, modality="text")
        means = version_rating_means(session, modality="text")
    assert published == [BASE_VERSION, ACTIVE, CANDIDATE]
    assert MINE not in set(board.table["contestant"]) and MINE not in board.pairwise.index
    with database.read_sessions() as session:
        public = [b for b in session.query(Battle).all() if MINE not in (b.version_a, b.version_b)]
    assert board.table["battles"].sum() == 2 * len(public) > 2 * 30  # the owner's personal battles are left out
    assert MINE not in set(presets["version"]) and MINE not in set(means["model_version"])
    assert MINE not in my_ratings(database, stranger, hygiene=None).table.to_string()
    data = ["--data-dir", str(settings.data_dir)]
    assert main([*data, "versions", "list"]) == 0
    assert main([*data, "report", "--modality", "text", "--rounds", "0"]) == 0
    printed = capsys.readouterr()
    assert "text-p-" not in printed.out + printed.err
    assert main([*data, "versions", "promote", MINE]) == 1  # the same answer as for no version at all
    assert f"no model version named '{MINE}'" in capsys.readouterr().err
