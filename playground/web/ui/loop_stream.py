"""A generation's stream served from the event loop: the handler's work runs in one thread of its
own, and what it yields reaches Gradio through an async generator.

Why: Gradio runs a sync generator's every `next()` in one of its worker threads, and its queue
admits at most `max_threads` (40) events at once, so the 41st concurrent stream waited for a
thread; each streamed update also postprocessed every output in a worker thread of its own.
With 100 browsers streaming, first tokens took 4.5-27 s (docs/PERFORMANCE.md, "Streaming
fan-out"). Here:

1. the handler (sync, as every other handler: SQLite, the content filter and the model's
   iterator all block) runs in a thread started for the request, outside Gradio's pool;
2. each update is postprocessed in that thread, once, so the event runs with
   `postprocess=False` and Gradio's queue does no per-output thread hops;
3. updates that arrive while the loop is busy are merged (a later value of a component
   replaces an earlier one: every update carries whole texts), so a slow loop sends fewer,
   larger updates instead of falling behind;
4. when the event ends early (the browser left, Stop, an error elsewhere) the thread closes the
   handler's generator at its next update, which runs its `finally` (the stop signal, the
   model's cancel).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from gradio import utils
from gradio.blocks import Block
from gradio.components import Component
from gradio.data_classes import GradioModel, GradioRootModel

Update = Any  # what a handler yields: usually {component: value}


def served_from_loop(run: Callable[..., Iterator[Update]]) -> Callable[..., AsyncIterator[Update]]:
    """`run` (a sync generator function) as an async generator function with its signature,
    which Gradio reads for the API's parameter names and for gr.Request / gr.Progress."""

    @functools.wraps(run)
    async def streamed(*args: Any, **kwargs: Any) -> AsyncIterator[Update]:
        feed = _Feed(asyncio.get_running_loop())
        # The event's context (Gradio's request, progress and gr.Warning hooks live in contextvars)
        # goes with the thread, as anyio's worker threads carry it for a sync handler.
        context = contextvars.copy_context()
        worker = threading.Thread(target=context.run, args=(feed.pump, lambda: run(*args, **kwargs)), name="playground-stream", daemon=True)
        worker.start()
        try:
            while (update := await feed.next()) is not _END:
                yield update
        finally:
            feed.stop()

    return streamed


def postprocessed(update: Update) -> Update:
    """What Gradio's queue would send for `update` with `postprocess=True`: each component's
    value through its `postprocess`, models as dicts. Prop updates (gr.update, gr.skip) and
    States pass as they are: Gradio handles those itself either way. The block's own
    `postprocess` is used, not a per-session copy: the streamed outputs (texts, Markdown,
    images, the status line) postprocess alike whatever their visibility."""
    if not isinstance(update, dict) or _is_prop_update(update):
        return update
    return {block: _value(block, value) for block, value in update.items()}


def _value(block: Block, value: Any) -> Any:
    if not isinstance(block, Component) or block.stateful or _is_prop_update(value):
        return value
    processed = block.postprocess(value)  # type: ignore[no-untyped-call]
    return processed.model_dump() if isinstance(processed, GradioModel | GradioRootModel) else processed


_END = object()


class _Feed:
    """Updates from the handler's thread to the loop; merged while the loop has not taken them."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.lock = threading.Lock()
        self.waiting: deque[Update] = deque()
        self.ready = asyncio.Event()
        self.finished = False
        self.error: BaseException | None = None
        self.stopped = threading.Event()

    def pump(self, start: Callable[[], Iterator[Update]]) -> None:
        """The thread: run the handler to its end, or until `stop`."""
        try:
            updates = start()
            try:
                for update in updates:
                    if self.stopped.is_set():
                        break
                    self._put(postprocessed(update))
            finally:
                close = getattr(updates, "close", None)
                if close is not None:
                    close()  # runs the handler's `finally` in this thread, now rather than at GC
        except BaseException as error:  # handed to the loop, which raises it in Gradio's event
            self._end(error)
        else:
            self._end(None)

    def _put(self, update: Update) -> None:
        with self.lock:
            was_empty = not self.waiting
            if self.waiting and _mergeable(self.waiting[-1], update):
                self.waiting[-1] = {**self.waiting[-1], **update}
            else:
                self.waiting.append(update)
        if was_empty:
            self._wake()

    def _end(self, error: BaseException | None) -> None:
        with self.lock:
            self.finished, self.error = True, error
        self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(RuntimeError):  # the loop has closed (the server is stopping): nobody to tell
            self.loop.call_soon_threadsafe(self.ready.set)

    async def next(self) -> Update:
        """The next (merged) update, or _END; raises what the handler raised."""
        while True:
            with self.lock:
                if self.waiting:
                    return self.waiting.popleft()
                if self.finished:
                    if self.error is not None:
                        raise self.error
                    return _END
                self.ready.clear()
            await self.ready.wait()

    def stop(self) -> None:
        """The event is over: the thread closes the handler at its next update."""
        self.stopped.set()


def _mergeable(earlier: Update, later: Update) -> bool:
    """Two {component: value} updates merge: a component's later value replaces its earlier one.
    A prop update (gr.update) is kept apart: merging it would drop the properties it sets."""
    return (
        isinstance(earlier, dict)
        and isinstance(later, dict)
        and not _is_prop_update(earlier)
        and not _is_prop_update(later)
        and all(isinstance(key, Block) for key in (*earlier, *later))
        and not any(_is_prop_update(value) for value in (*earlier.values(), *later.values()))
    )


def _is_prop_update(value: Any) -> bool:
    """gr.update(...) / gr.skip(): Gradio's own test, typed."""
    return bool(utils.is_prop_update(value))  # type: ignore[no-untyped-call]
