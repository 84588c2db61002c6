"""Ratings are never held up by generations: not by a generation holding the model queue, not
by another rater's write, and the torch thread cap leaves a core to the web server."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from gradio_client import Client
from pydantic import ValidationError

from feedback_db.frames import ratings_frame
from models.base import TextProgress
from playground.core.settings import Settings
from tests.fakes import FakeTextGenerator
from tests.launch import running_app


class HeldTextGenerator(FakeTextGenerator):
    """Streams one word, then waits for `release` before finishing: a generation hogging the
    model (and the app's one-slot "models" queue) for as long as the test likes."""

    def __init__(self):
        super().__init__()
        self.hold = False
        self.started, self.release = threading.Event(), threading.Event()

    def stream(self, prompt, params, cancel=None, continuing=None):
        inner = super().stream(prompt, params, cancel, continuing)
        if not self.hold:
            return inner

        def held():
            yield TextProgress(texts=["…"] * params.n)
            self.started.set()
            assert self.release.wait(30), "the test never released the generation"
            yield from inner

        return held()


@pytest.fixture
def held_text():
    return HeldTextGenerator()


@pytest.fixture
def fake_text(held_text):  # the app's context (tests/conftest.py) serves this generator
    return held_text


def test_a_rating_is_saved_while_a_generation_holds_the_model_queue(context, database, held_text):
    with running_app(context) as url:
        rater, generator = Client(url, verbose=False), Client(url, verbose=False)
        # 1. The rater has candidates; then another browser's generation takes the model and stays.
        rater.predict("hello", 2, 16, 0.7, 0.9, 1.1, 3, "", api_name="/generate_text")
        held_text.hold = True
        job = generator.submit("a long one", 1, 16, 0.7, 0.9, 1.1, 3, "", api_name="/generate_text")
        assert held_text.started.wait(30)
        try:
            # 2. Rating (gradio_client joins the queue for it too) does not wait for that generation.
            with ThreadPoolExecutor(1) as pool:
                saved = pool.submit(rater.predict, 0, 4, None, None, "ok", api_name="/rate_text").result(timeout=20)
            assert saved.startswith("Saved naturalness 4")
            assert not job.done()
        finally:
            held_text.release.set()
        job.result(timeout=30)
    with database.read_sessions() as session:
        assert list(ratings_frame(session)["naturalness"]) == [4]


def test_raters_calling_at_once_through_the_queue_are_all_saved(context, database):
    """gradio_client sends even un-queued events through the queue (where Gradio's default limit
    is one event at a time per endpoint; ours have none): every concurrent write lands."""
    with running_app(context) as url:
        raters = [Client(url, verbose=False) for _ in range(6)]
        for rater in raters:
            rater.predict("hello", 2, 16, 0.7, 0.9, 1.1, 3, "", api_name="/generate_text")
        config = raters[0].config
        rate_fns = [d for d in config["dependencies"] if d.get("api_name") in ("rate_text", "rate_text_set")]
        assert rate_fns and all(d["queue"] is False for d in rate_fns)
        with ThreadPoolExecutor(len(raters)) as pool:
            results = list(pool.map(lambda r: r[1].predict(0, 1 + r[0] % 5, None, None, None, api_name="/rate_text"), enumerate(raters)))
    assert all(result.startswith("Saved naturalness") for result in results)
    with database.read_sessions() as session:
        assert sorted(ratings_frame(session)["naturalness"]) == sorted(1 + i % 5 for i in range(6))


def test_write_transactions_of_one_process_take_turns_on_sqlite(database):
    """The second writer waits in Python for the first to commit (no SQLite busy polling)."""
    order: list[str] = []
    first_open, second_tried = threading.Event(), threading.Event()

    def first() -> None:
        with database.sessions.begin():
            first_open.set()
            second_tried.wait(5)
            order.append("first commits")

    def second() -> None:
        first_open.wait(5)
        second_tried.set()
        with database.sessions.begin():
            order.append("second writes")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert order == ["first commits", "second writes"]
    assert database.sessions.in_flight == 0


def test_torch_threads_default_leaves_a_core_and_is_validated(tmp_path, monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    assert Settings(data_dir=tmp_path).resolved_torch_threads == 7
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    assert Settings(data_dir=tmp_path).resolved_torch_threads == 1
    assert Settings(data_dir=tmp_path, torch_threads=3).resolved_torch_threads == 3
    monkeypatch.setenv("PLAYGROUND_TORCH_THREADS", "2")
    assert Settings(data_dir=tmp_path).torch_threads == 2
    with pytest.raises(ValidationError, match="torch_threads"):
        Settings(data_dir=tmp_path, torch_threads=0)
