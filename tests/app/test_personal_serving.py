"""Serving personal versions (playground/serving/versions.py) on a real database with a fake
generator that keeps adapters like the real backends: each identity is answered by its own
version and nobody else's, a missing or corrupt adapter falls back to the global version with a
logged warning, the loaded personal adapters stay within the budget (least recently served go
first), and Delete my data removes the versions, their adapters and their reports."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from feedback_db.erasure import erase_identity
from feedback_db.errors import UnknownIdError
from feedback_db.personal import served_personal_version
from feedback_db.runs import start_run
from feedback_db.versions import active_version, create_version, list_versions, promote_version, version_by_name
from models.base import BASE_VERSION, ModelLoadError, TextParams
from playground.core.database import open_database
from playground.core.settings import Settings
from playground.services.erasure import delete_my_data
from playground.services.generation import Recorded, stream_text
from playground.services.identity import Viewer, viewer_for_token
from playground.serving.context import UnknownServedVersionError, build_context
from tests.fakes import FakeImageGenerator, FakeTextGenerator


class AdapterText(FakeTextGenerator):
    """Loads an adapter only from a folder with an adapter_config.json holding "ok" (else
    ModelLoadError, as a real backend refuses a missing or corrupt folder); keeps what it loaded
    until unloaded; answers start with the version's name, so each answer says who answered."""

    def __init__(self) -> None:
        super().__init__()
        self.adapters: dict[str, Path] = {}

    def use_version(self, version_id: str, adapter_path: Path | None) -> None:
        if version_id != BASE_VERSION and version_id not in self.adapters:
            config = Path(adapter_path or "/nonexistent") / "adapter_config.json"
            if not config.is_file() or config.read_text() != "ok":
                raise ModelLoadError(f"{adapter_path} holds no usable adapter")
            self.adapters[version_id] = Path(adapter_path or "")
        super().use_version(version_id, adapter_path)

    @property
    def loaded_versions(self) -> list[str]:
        return [BASE_VERSION, *self.adapters]

    def unload_version(self, version_id: str) -> bool:
        if self.model_version == version_id:
            self.model_version = BASE_VERSION
        return self.adapters.pop(version_id, None) is not None

    def stream(self, prompt, params, cancel=None, continuing=None):
        return super().stream(f"{self.model_version} {prompt}", params, cancel, continuing)


def adapter(folder: Path, content: str = "ok") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "adapter_config.json").write_text(content)
    return folder


@pytest.fixture
def world(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", personal_adapters_loaded=2)
    database = open_database(settings)
    text = AdapterText()
    context = build_context(settings, database, text_factory=lambda: text, image_factory=FakeImageGenerator)
    viewers = [viewer_for_token(database, None) for _ in range(5)]
    with database.sessions.begin() as session:
        glob = create_version(
            session, name="text-v1", modality="text", base_model="embedded", adapter_path=str(adapter(settings.adapters_dir / "text-v1"))
        )
        promote_version(session, version_id=glob.id)
    return settings, database, context, text, viewers


def add_personal(settings, database, owner_id: int, name: str, content: str = "ok", rated: int = 57) -> None:
    with database.sessions.begin() as session:
        run = start_run(session, modality="text", data_counts={"rated_outputs": rated}, owner_id=owner_id)
        folder = adapter(settings.adapters_dir / name, content)
        version = create_version(
            session, name=name, modality="text", base_model="embedded", adapter_path=str(folder), training_run_id=run.id, owner_id=owner_id
        )
        promote_version(session, version_id=version.id)


def answer(context, viewer: Viewer | None) -> tuple[str, Recorded]:
    final = list(stream_text(context, viewer, "hello", TextParams(n=1, max_new_tokens=4)))[-1]
    assert final.recorded is not None
    return final.texts[0], final.recorded


def test_each_identity_is_answered_by_its_own_version_and_nobody_elses(world):
    settings, database, context, text, (alice, bob, carol, *_) = world
    add_personal(settings, database, alice.user_id, "text-p-alice00001", rated=57)
    add_personal(settings, database, bob.user_id, "text-p-bob0000001", rated=41)
    # 1. Each is served its own; an identity without one, and a browser with no identity row, the global one.
    for who, expected in ((alice, "text-p-alice00001"), (bob, "text-p-bob0000001"), (carol, "text-v1"), (None, "text-v1")):
        words, recorded = answer(context, who)
        assert words.startswith(f"answer0 to {expected}") and recorded.model_version == expected
    _, recorded = answer(context, alice)
    assert recorded.version_words == "your version `text-p-alice00001` (trained on 57 of your ratings)"
    assert answer(context, carol)[1].version_words == "version `text-v1`"
    # 2. Nobody can name another's version, and nothing lists it; the global version stays active.
    with pytest.raises(UnknownServedVersionError, match="no text version named"), context.serving("text", "text-p-alice00001", bob.user_id):
        pass
    with database.read_sessions() as session:
        with pytest.raises(UnknownIdError):
            version_by_name(session, name="text-p-alice00001", modality="text")
        assert version_by_name(session, name="text-p-alice00001", owner_id=alice.user_id).owner_id == alice.user_id
        assert [v.name for v in list_versions(session, modality="text")] == ["text-v1"]
        assert active_version(session, modality="text").name == "text-v1"
    # 3. Personal versions off: everyone is served the global version.
    context_off = build_context(settings.model_copy(update={"personal_versions": False}), database, text_factory=lambda: text)
    assert answer(context_off, alice)[1].model_version == "text-v1"


@pytest.mark.parametrize("problem", ["missing", "corrupt"])
def test_an_adapter_that_will_not_load_serves_the_global_version_with_a_warning(world, caplog, problem):
    settings, database, context, text, (alice, *_) = world
    add_personal(settings, database, alice.user_id, "text-p-broken0001", content="not json")
    if problem == "missing":
        import shutil

        shutil.rmtree(settings.adapters_dir / "text-p-broken0001")
    with caplog.at_level(logging.WARNING, logger="playground.serving.versions"):
        words, recorded = answer(context, alice)
    assert words.startswith("answer0 to text-v1") and recorded.model_version == "text-v1" and recorded.personal_ratings is None
    assert "personal text version text-p-broken0001 did not load" in caplog.text and "served text-v1" in caplog.text
    assert "text-p-broken0001" not in text.loaded_versions


def test_personal_adapters_stay_within_the_budget_least_recently_served_first(world):
    settings, database, context, text, ids = world
    names = [f"text-p-user{k:010d}" for k in range(4)]
    for who, name in zip(ids, names, strict=False):
        add_personal(settings, database, who.user_id, name)
    # ids[4] has no personal version: the global one is loaded, and stays (it is everyone else's).
    for who in (ids[4], ids[0], ids[1], ids[0], ids[2]):  # budget 2: ids[1] is the least recently served
        answer(context, who)
    assert set(text.loaded_versions) == {BASE_VERSION, "text-v1", names[0], names[2]}
    answer(context, ids[3])
    assert set(text.loaded_versions) == {BASE_VERSION, "text-v1", names[2], names[3]}
    assert answer(context, ids[1])[1].model_version == names[1]  # unloaded ones load again on demand


def test_delete_my_data_removes_personal_versions_adapters_and_reports(world):
    settings, database, context, text, (alice, bob, *_) = world
    add_personal(settings, database, alice.user_id, "text-p-alice00001")
    add_personal(settings, database, bob.user_id, "text-p-bob0000001")
    settings.reports_dir.mkdir(parents=True, exist_ok=True)
    (settings.reports_dir / "text-p-alice00001.md").write_text("alice's prompts")
    answer(context, alice)
    answer(context, bob)
    erased = delete_my_data(context, alice)
    assert erased.personal_versions == 1
    assert not (settings.adapters_dir / "text-p-alice00001").exists() and not (settings.reports_dir / "text-p-alice00001.md").exists()
    assert "text-p-alice00001" not in text.loaded_versions
    assert (settings.adapters_dir / "text-p-bob0000001").exists()
    with database.read_sessions() as session:
        assert served_personal_version(session, modality="text", owner_id=alice.user_id) is None
        assert served_personal_version(session, modality="text", owner_id=bob.user_id).name == "text-p-bob0000001"
    # The same identity id can never be served the deleted version again (its rows are gone).
    with database.sessions.begin() as session, pytest.raises(UnknownIdError):
        erase_identity(session, user_id=alice.user_id)
