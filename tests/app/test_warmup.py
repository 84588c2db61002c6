"""Warm-up at start: one background load per model, what the page says before, during and after,
and load failures reported rather than lost; the time to first token counted from the click."""

from __future__ import annotations

import gc
import threading

from models.base import ModelLoadError
from playground.serving.context import AppContext
from playground.serving.warmup import ModelWarmup, freeze_the_loaded_heap
from playground.web.ui.waiting import first_token_words


def wait_ready(warmup: ModelWarmup) -> None:
    warmup.start().join(timeout=10)
    assert warmup.ready()


def test_warmup_loads_each_model_once_and_then_says_nothing(context, fake_text, fake_image):
    assert not fake_text.is_loaded and context.warmup.banner() == ""  # not started: silent
    wait_ready(context.warmup)

    assert fake_text.is_loaded and fake_image.is_loaded
    assert context.warmup.banner() == ""
    assert context.warmup.loading_notice("text") is None and context.warmup.loading_notice("image") is None
    assert context.warmup.start() is context.warmup.start()  # one thread, however often started


def test_the_banner_names_what_is_loading_until_it_is_ready():
    gate, loaded = threading.Event(), []
    warmup = ModelWarmup(load=lambda modality: (gate.wait(5), loaded.append(modality)), is_loaded=lambda modality: modality in loaded)
    warmup.start()
    deadline = threading.Event()
    while warmup.state("text").state != "loading" and not deadline.wait(0.01):
        pass

    banner = warmup.banner()
    assert banner.startswith("**Warming up**") and "loading the text model" in banner
    assert "the image model loads next" in banner
    assert warmup.loading_notice("text").startswith("Loading the text model (")
    gate.set()
    wait_ready(warmup)
    assert loaded == ["text", "image"] and warmup.banner() == ""


def test_a_failed_load_is_shown_on_the_page_and_the_other_model_still_loads():
    def load(modality):
        if modality == "text":
            raise ModelLoadError("could not load text model 'nope/nope': not found")

    warmup = ModelWarmup(load=load, is_loaded=lambda modality: modality == "image")
    wait_ready(warmup)

    assert warmup.state("text").state == "failed" and warmup.state("image").state == "ready"
    assert "could not be loaded" in warmup.banner() and "nope/nope" in warmup.banner()
    assert "Warming up" not in warmup.banner()
    assert "failed to load at start" in warmup.loading_notice("text")
    assert warmup.loading_notice("image") is None


def test_an_unexpected_error_in_the_warmup_thread_is_reported_by_type():
    def load(modality):
        raise RuntimeError("out of memory")

    warmup = ModelWarmup(load=load, is_loaded=lambda modality: False)
    wait_ready(warmup)
    assert "RuntimeError (details in the server log)" in warmup.banner()
    assert "out of memory" not in warmup.banner()  # messages of unknown errors stay in the log


def test_without_warmup_a_request_says_it_loads_the_model_itself(context, fake_text):
    assert context.warmup.loading_notice("text") == "Loading the text model (first time ~40 s)…"
    fake_text.load()
    assert context.warmup.loading_notice("text") is None


def test_the_click_time_is_used_once_and_never_later_than_the_run(context: AppContext):
    context.clicks.mark("client-a")
    clicked = context.clicks.take("client-a", fallback=1e12)
    assert clicked < 1e12
    assert context.clicks.take("client-a", fallback=5.0) == 5.0  # used up: an API call has no click
    context.clicks.mark("client-b")
    assert context.clicks.take("client-b", fallback=0.0) == 0.0  # a click after the run started is not its click


def test_first_token_words_count_from_the_click_when_the_wait_matters():
    assert first_token_words(506, None) == "first token 506 ms"
    assert first_token_words(506, 900) == "first token 506 ms"
    assert first_token_words(506, 40_200) == "first token 40.2 s after your click (model 506 ms)"


def test_then_runs_once_after_every_model_loaded_or_failed():
    seen = []

    def load(modality):
        if modality == "text":
            raise ModelLoadError("could not load text model 'nope/nope': not found")

    warmup = ModelWarmup(load=load, is_loaded=lambda modality: False)
    warmup.start(then=lambda: seen.append((warmup.state("text").state, warmup.state("image").state)))
    warmup.start(then=lambda: seen.append("a second start"))  # the one thread runs the first `then`
    warmup.start().join(timeout=10)
    assert seen == [("failed", "ready")]


def test_the_loaded_heap_is_frozen_out_of_garbage_collection():
    try:
        freeze_the_loaded_heap()
        assert gc.get_freeze_count() > 1000  # this test process: pytest, torch, gradio...
    finally:
        gc.unfreeze()  # the rest of the suite collects as usual
