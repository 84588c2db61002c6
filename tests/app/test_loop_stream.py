"""A generation served from the event loop (playground/web/ui/loop_stream.py): every update
arrives or is merged into a later one, errors and early ends reach the handler, values are
postprocessed as Gradio would."""

from __future__ import annotations

import asyncio
import inspect
import threading
import time

import gradio as gr
import pytest

from playground.web.ui.loop_stream import postprocessed, served_from_loop


def collect(stream, *, slow_s: float = 0.0, take: int | None = None) -> list:
    async def run() -> list:
        seen = []
        updates = stream()
        async for update in updates:
            seen.append(update)
            await asyncio.sleep(slow_s)
            if take is not None and len(seen) >= take:
                await updates.aclose()
                break
        return seen

    return asyncio.run(run())


def test_a_slow_loop_gets_fewer_updates_that_end_with_every_last_value():
    text, status = gr.Textbox(render=False), gr.Markdown(render=False)

    def run():
        for i in range(200):
            yield {text: f"word {i}", **({status: f"step {i}"} if i % 7 == 0 else {})}

    seen = collect(served_from_loop(run), slow_s=0.005)
    assert 1 <= len(seen) < 200  # merged while the loop slept
    merged: dict = {}
    for update in seen:
        merged |= update
    assert merged[text] == "word 199" and merged[status] == "step 196"


def test_updates_arrive_in_order_and_none_is_lost_when_the_loop_keeps_up():
    text = gr.Textbox(render=False)

    def run():
        for i in range(20):
            time.sleep(0.002)
            yield {text: str(i)}

    values = [int(u[text]) for u in collect(served_from_loop(run))]
    assert values == sorted(values) and values[-1] == 19


def test_the_handlers_error_is_raised_in_the_event():
    def run():
        yield {gr.Textbox(render=False): "a"}
        raise gr.Error("the model failed")

    with pytest.raises(gr.Error, match="the model failed"):
        collect(served_from_loop(run))


def test_an_event_that_ends_early_closes_the_handler_in_its_thread():
    closed = threading.Event()
    text = gr.Textbox(render=False)

    def run():
        try:
            for i in range(10_000):
                time.sleep(0.001)
                yield {text: str(i)}
        finally:
            closed.set()  # where the stop signal and the model's cancel are released

    collect(served_from_loop(run), take=2)
    assert closed.wait(5), "the handler's generator was not closed after the event ended"


def test_the_wrapper_keeps_the_signature_gradio_reads():
    def run(prompt_value: str, n_value: float, request: gr.Request):
        yield {}

    streamed = served_from_loop(run)
    assert inspect.isasyncgenfunction(streamed)
    assert list(inspect.signature(streamed).parameters) == ["prompt_value", "n_value", "request"]


def test_values_are_postprocessed_states_and_prop_updates_pass_as_they_are():
    text, state, markdown = gr.Textbox(render=False), gr.State(render=False), gr.Markdown(render=False)
    update = postprocessed({text: 12, state: {"kept": 1}, markdown: gr.update(visible=False)})
    assert update[text] == "12"  # Textbox.postprocess makes a str
    assert update[state] == {"kept": 1}
    assert update[markdown] == gr.update(visible=False)
