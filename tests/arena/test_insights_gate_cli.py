"""Insights (admins only), "your ratings", the arena gate, `playground versions` and `report`."""

from __future__ import annotations

import pytest
from gradio_client import Client

from feedback_db.activity import FeedbackCounts
from feedback_db.arena import Contestant, create_battle, finish_battle, record_vote
from feedback_db.hygiene import VoteHygiene
from feedback_db.queries import upsert_rating
from feedback_db.schema import Flag, ModelVersion, TrainingRun, utcnow
from feedback_db.standings import leaderboard
from feedback_db.users import create_user
from feedback_db.versions import create_version, promote_version
from models.base import TextParams
from playground.cli.main import main
from playground.core.errors import NotAllowedError
from playground.retrain.arena_gate import apply_arena_gate
from playground.services.annotation import NotLoggedInError, log_in
from playground.services.generation import stream_text
from playground.services.insights import insights_for_admin, read_insights
from playground.services.my_ratings import my_ratings
from tests.db.helpers import add_rater, add_text_request
from tests.launch import running_app


@pytest.fixture
def accounts(database):
    with database.sessions.begin() as session:
        create_user(session, name="ada", role="admin", password="admin-pass-1")
        create_user(session, name="ann", role="annotator", password="annot-pass-1")


def generate_and_rate(context, viewer, database, n=3):
    for _ in range(n):
        *_, last = stream_text(context, viewer, "hello there", TextParams(n=2, max_new_tokens=8, seed=1))
    with database.sessions.begin() as session:
        upsert_rating(
            session,
            output_id=last.recorded.output_ids[0],
            rater_id=viewer.user_id,
            source="end_user",
            naturalness=4,
            reliability=5,
            comment="<b>odd</b>",
        )
        session.add(Flag(output_id=last.recorded.output_ids[0], rater_id=viewer.user_id, reason="harmful"))
    return last


def test_insights_refuse_anonymous_and_annotators(database, accounts):
    with pytest.raises(NotLoggedInError):
        insights_for_admin(database, None, "text")
    with pytest.raises(NotLoggedInError):
        insights_for_admin(database, {"token": "forged"}, "text")
    with pytest.raises(NotAllowedError, match="Only admins"):
        insights_for_admin(database, log_in(database, "ann", "annot-pass-1"), "text")
    figures = insights_for_admin(database, log_in(database, "ada", "admin-pass-1"), "text")
    assert figures.empty  # no data: empty frames, no error


def test_insights_endpoints_through_the_api(context, accounts):
    with running_app(context) as url:
        client = Client(url, verbose=False)
        with pytest.raises(Exception, match="Log in"):
            client.predict("text", api_name="/insights")
        with pytest.raises(Exception, match="Only admins"):
            client.predict("ann", "annot-pass-1", api_name="/insights_login")
        with pytest.raises(Exception, match="Log in"):
            client.predict("text", api_name="/insights")  # a refused log-in leaves no session behind
        result = client.predict("ada", "admin-pass-1", api_name="/insights_login")
        assert "No feedback" in str(result)
        assert "No feedback" in str(client.predict("image", api_name="/insights"))


def test_insight_frames_per_version(context, viewer, database, settings):
    generate_and_rate(context, viewer, database)
    figures = read_insights(database, "text", data_dir=settings.data_dir)
    assert set(figures.scores["axis"]) == {"naturalness", "reliability"}
    assert set(figures.latency["quantile"]) == {"p50", "p95"}
    assert figures.latency["bar"].is_unique  # the plot's bars are side by side, never stacked
    assert set(figures.metrics["metric"]) == {"words", "distinct-1", "distinct-2"}
    assert list(figures.flagged["comments"]) == ["<b>odd</b>"]
    # The plots count what the footer and Your ratings count (feedback_db/activity.py).
    assert figures.counts == FeedbackCounts(rated_outputs=1, scores=2) == my_ratings(database, viewer, hygiene=None).counts
    assert figures.scores["count"].sum() == figures.counts.scores and figures.versions == 1
    assert figures.trend_version["bar"].is_unique  # one bar per version and axis, never stacked
    image = read_insights(database, "image")
    assert image.empty and image.metrics.empty


def test_a_flagged_output_without_comments_is_listed(database):
    with database.sessions.begin() as session:
        rater = add_rater(session, "r")
        output = add_text_request(session).outputs[0]
        upsert_rating(session, output_id=output.id, rater_id=rater.id, source="end_user", naturalness=2)
        session.add(Flag(output_id=output.id, rater_id=rater.id, reason="harmful"))
    flagged = read_insights(database, "text").flagged
    assert list(flagged["comments"]) == [""] and list(flagged["reason"]) == ["harmful"]


def test_your_ratings_say_which_version_they_trained(context, viewer, database):
    mine = my_ratings(database, viewer, hygiene=None)
    assert mine.counts == FeedbackCounts(rated_outputs=0, scores=0) and mine.table.empty
    generate_and_rate(context, viewer, database)
    mine = my_ratings(database, viewer, hygiene=None)
    rows = mine.table
    assert mine.counts == FeedbackCounts(rated_outputs=1, scores=2)
    assert (rows.loc[0, "rated outputs"], rows.loc[0, "scores"], rows.loc[0, "went into"]) == (1, 2, "the next retrain")
    with database.sessions.begin() as session:
        run = TrainingRun(
            modality="text",
            status="succeeded",
            started_at=utcnow(),
            metrics={"evaluation": {"reason": "win rate 0.71 on 40 held-out pairs"}},
        )
        session.add(run)
        session.flush()
        version = create_version(session, name="text-v7", modality="text", base_model="m", adapter_path=None, training_run_id=run.id)
        promote_version(session, version_id=version.id)
    rows = my_ratings(database, viewer, hygiene=None).table
    assert rows.loc[0, "went into"] == "text-v7"
    assert rows.loc[0, "gate"].startswith("passed: served now (win rate 0.71")
    assert rows.loc[0, "arena standing"] == "no arena votes yet"


def test_your_ratings_standing_counts_the_votes_the_leaderboard_counts(context, viewer, database):
    # The viewer's rating trained text-v7; one other voter then votes 8 times in a day.
    generate_and_rate(context, viewer, database, n=1)
    with database.sessions.begin() as session:
        run = TrainingRun(modality="text", status="succeeded", started_at=utcnow())
        session.add(run)
        session.flush()
        version = create_version(session, name="text-v7", modality="text", base_model="m", adapter_path=None, training_run_id=run.id)
        promote_version(session, version_id=version.id)
    add_votes(database, "text-v7", "base", wins=6, losses=2)
    # With a daily cap of 3 the standing counts 3 battles, as the leaderboard does; without, all 8.
    hygiene = VoteHygiene(daily_cap=3)
    with database.read_sessions() as session:
        board = leaderboard(session, "versions", modality="text", rounds=0, hygiene=hygiene).table.set_index("contestant")
    assert board.loc["text-v7", "battles"] == 3
    standing = my_ratings(database, viewer, hygiene=hygiene).table.loc[0, "arena standing"]
    assert standing.startswith("#") and standing.endswith("over 3 battles")
    assert my_ratings(database, viewer, hygiene=None).table.loc[0, "arena standing"] == "#1 of 2 by score, win rate 75% over 8 battles"


def add_votes(database, candidate: str, opponent: str, wins: int, losses: int, ties: int = 0) -> None:
    with database.sessions.begin() as session:
        user_id = add_rater(session, f"voter-{candidate}-{wins}-{losses}").id
        for outcome in ["a"] * wins + ["b"] * losses + ["tie"] * ties:
            battle = create_battle(
                session, modality="text", prompt="p", side_a=Contestant(candidate), side_b=Contestant(opponent), user_id=user_id
            )
            request = add_text_request(session, n=1)
            finish_battle(session, battle_id=battle.id, request_a_id=request.id, request_b_id=request.id)
            record_vote(session, battle_id=battle.id, voter_id=user_id, outcome=outcome)


@pytest.fixture
def gate_versions(database):
    with database.sessions.begin() as session:
        active = create_version(session, name="v-active", modality="text", base_model="m", adapter_path=None)
        promote_version(session, version_id=active.id)
        for name in ("v-good", "v-bad", "v-unsure"):
            create_version(session, name=name, modality="text", base_model="m", adapter_path=None)
    add_votes(database, "v-good", "v-active", wins=70, losses=25, ties=5)
    add_votes(database, "v-bad", "v-active", wins=20, losses=80)
    add_votes(database, "v-unsure", "v-active", wins=48, losses=52)


def test_arena_gate_promotes_retires_and_waits(database, gate_versions):
    assert {a.version: a.decision for a in apply_arena_gate(database, modality="text", min_battles=200)} == {
        "v-good": "wait",
        "v-bad": "wait",
        "v-unsure": "wait",
    }
    actions = {a.version: a for a in apply_arena_gate(database, modality="text", min_battles=50)}
    assert {name: a.decision for name, a in actions.items()} == {"v-good": "promote", "v-bad": "retire", "v-unsure": "wait"}
    assert "95% CI" in actions["v-good"].reason
    with database.read_sessions() as session:
        status = {v.name: v.status for v in session.query(ModelVersion)}
    assert status == {"v-active": "retired", "v-good": "active", "v-bad": "retired", "v-unsure": "candidate"}


def test_versions_commands(settings, database, gate_versions, capsys):
    data = ["--data-dir", str(settings.data_dir)]
    assert main([*data, "versions", "list", "--modality", "text"]) == 0
    listing = capsys.readouterr().out
    assert "v-good" in listing and "candidate" in listing and "arena #1" in listing
    assert main([*data, "versions", "gate", "--modality", "text", "--min-battles", "50"]) == 0
    assert "v-bad: retire" in capsys.readouterr().out
    assert main([*data, "versions", "promote", "v-unsure"]) == 0
    assert "now the active text version" in capsys.readouterr().out
    assert main([*data, "versions", "retire", "v-unsure"]) == 0
    assert "now serves the base model" in capsys.readouterr().out
    assert main([*data, "versions", "promote", "nope"]) == 1
    assert "no model version named 'nope'" in capsys.readouterr().err


def test_report_prints_and_writes_markdown_with_plots(settings, context, viewer, database, gate_versions, tmp_path, capsys):
    generate_and_rate(context, viewer, database)
    out = tmp_path / "report"
    assert main(["--data-dir", str(settings.data_dir), "report", "--modality", "text", "--rounds", "20", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Arena: model versions" in printed and "v-good" in printed
    markdown = (out / "report.md").read_text()
    assert "![text scores](text-scores.png)" in markdown
    for name in ("text-scores.png", "text-trend.png", "text-latency.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(SystemExit):  # argparse: "expected a date as YYYY-MM-DD"
        main(["--data-dir", str(settings.data_dir), "report", "--since", "yesterday"])
    assert "expected a date" in capsys.readouterr().err
