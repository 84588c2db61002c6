"""The "About this answer" facts (playground/services/version_explanation.py and its words, playground/web/ui/
about_words.py) on a real database with fake generators: the base model, a retrained version with
its run's report figures and the viewer's own ratings counted up to the run's start, a personal
version for its owner and for anyone else, image prompt words, and the sampling knobs' sources."""

from __future__ import annotations

import dataclasses

import pytest

from feedback_db.errors import UnknownIdError
from feedback_db.runs import finish_run, start_run
from feedback_db.versions import create_version, promote_version
from models.base import ImageParams, TextParams
from models.embedded_image.scenes import vocabulary
from playground.services.generation import stream_image, stream_text
from playground.services.identity import viewer_for_token
from playground.services.ratings import rate_output
from playground.services.version_explanation import explain_answer, explain_version, prompt_words, report_text
from playground.web.ui.about_words import answer_markdown, version_markdown
from tests.fakes import FakeImageGenerator

METRICS = {
    "decision": "promoted",
    "evaluation": {"prompts": 34, "wins": 31, "losses": 2, "ties": 1},
    "behaviour": {"old": {"mean_words": 40.0, "distinct_1": 0.5}, "new": {"mean_words": 24.0, "distinct_1": 0.6}},
}


def answer(context, viewer, prompt="Say hi", **params) -> list[int]:
    """Generate with the fake text model as `viewer`; the recorded output ids."""
    *_, last = stream_text(context, viewer, prompt, TextParams(n=2, seed=5, max_new_tokens=8, **params))
    return last.recorded.output_ids


def retrained(context, name="text-v1", *, owner_id=None, rated_outputs=20, defaults=None) -> None:
    """A finished run and its promoted version, as `playground retrain` publishes them."""
    report = context.settings.reports_dir / f"{name}.md"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(f"# Retrain report: {name}\n\nPromoted.\n", encoding="utf-8")
    with context.database.sessions.begin() as session:
        counts = {"rated_outputs": rated_outputs, "watermark": "ratings:34:2025-01-01|set_ratings:3:2025-01-01"}
        run = start_run(session, modality="text", data_counts=counts, owner_id=owner_id)
        finish_run(session, run_id=run.id, method="dpo", metrics=METRICS, timings={}, report_path=str(report))
        version = create_version(
            session,
            name=name,
            modality="text",
            base_model="embedded",
            adapter_path="/adapters/" + name,
            training_run_id=run.id,
            sampling_defaults=defaults or {},
            owner_id=owner_id,
        )
        promote_version(session, version_id=version.id)


def test_the_base_model_says_it_was_never_retrained(context, viewer):
    explanation = explain_answer(context, viewer, answer(context, viewer)[0])
    assert explanation.version.base and explanation.seed == 5
    words = answer_markdown(explanation)
    assert "The base model" in words and "has not been retrained from ratings" in words
    assert "max new tokens 8 (set by you)" in words and "top-p 0.9 (the app's default)" in words


def test_a_retrained_version_says_what_it_learned_and_counts_the_viewers_ratings_before_its_run(context, viewer):
    # 1. The viewer rates three answers, then the version is trained, then one more rating.
    first = answer(context, viewer)
    for output_id in first:
        rate_output(context.database, viewer, output_id, naturalness=4)
    rate_output(context.database, viewer, answer(context, viewer)[0], naturalness=2)
    retrained(context, defaults={"temperature": 0.5, "evidence": {"why": "warmer answers rated lower"}})
    rate_output(context.database, viewer, answer(context, viewer)[0], naturalness=5)
    # 2. Its answer is explained with the run's figures.
    explanation = explain_answer(context, viewer, answer(context, viewer, temperature=0.5)[0])
    version = explanation.version
    assert (version.name, version.parent, version.ratings, version.rated_outputs, version.yours) == ("text-v1", None, 34, 20, 3)
    words = answer_markdown(explanation)
    assert "won 31 of 34 held-out prompts" in words and "(lost 2, tied 1)" in words
    assert "Its answers are 40% shorter than `base`'s" in words and "more varied words" in words
    assert "3 ratings of yours came before it was trained" in words
    assert "passed the held-out gate and was promoted" in words
    assert "temperature 0.5 (the version's learned default)" in words
    assert "Its learned sampling defaults: temperature 0.5 (warmer answers rated lower)" in words
    assert report_text(context, version).startswith("# Retrain report: text-v1")


def test_a_viewer_with_no_ratings_before_the_run_is_told_none_were_among_them(context):
    retrained(context)
    newcomer = viewer_for_token(context.database, None)
    words = version_markdown(explain_version(context, "text-v1", "text", newcomer))
    assert "None of your ratings were among them" in words
    assert "your ratings" not in version_markdown(explain_version(context, "text-v1", "text", None))


def test_a_personal_version_is_explained_to_its_owner_and_to_nobody_else(context, viewer):
    answer(context, viewer)
    retrained(context, "text-p-0123456789", owner_id=viewer.user_id, rated_outputs=57)
    # 1. Its owner is served it and told so, in the card's words.
    own = explain_answer(context, viewer, answer(context, viewer)[0])
    assert own.version.personal
    assert "your version `text-p-0123456789` (trained on 57 of your ratings)" in answer_markdown(own)
    # 2. Anyone else learns nothing about it: not its figures, not that it exists.
    other = viewer_for_token(context.database, None)
    seen = explain_version(context, "text-p-0123456789", "text", other)
    assert not seen.known and seen.ratings is None and seen.report_path is None
    assert "57" not in version_markdown(seen) and "won" not in version_markdown(seen)
    with pytest.raises(UnknownIdError):
        explain_answer(context, other, answer(context, viewer)[0])


def test_a_report_outside_the_reports_folder_is_not_read(context, tmp_path):
    retrained(context)
    explanation = explain_version(context, "text-v1", "text", None)
    elsewhere = tmp_path / "secret.md"
    elsewhere.write_text("secret", encoding="utf-8")
    assert report_text(context, dataclasses.replace(explanation, report_path=elsewhere)) is None


def test_image_prompt_words_recognised_and_ignored():
    known, ignored = prompt_words(vocabulary(), "A small red circle with a dog at the top left on a light blue background")
    assert set(known) == {"small", "red", "circle", "top left", "light blue"}
    assert ignored == ("dog",)


@pytest.fixture
def fake_image():
    return FakeImageGenerator(vocabulary=vocabulary())


def test_an_image_answer_lists_the_words_the_model_recognised_and_ignored(context, viewer):
    *_, last = stream_image(context, viewer, "a red star and a unicorn", ImageParams(n=1, seed=3, steps=2, width=32, height=32))
    words = answer_markdown(explain_answer(context, viewer, last.recorded.output_ids[0]))
    assert "**Prompt words the model recognised:** star, red." in words
    assert "**Ignored** (it does not know them): unicorn." in words
