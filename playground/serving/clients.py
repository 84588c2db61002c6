"""What the server keeps per browser client between events: its Stop signal and its last click.

Both are keyed by the client's key (playground.services.identity) and live only in memory. A page
that closes forgets its entries (the app's unload event calls `forget`), so they do not pile up
over a server's life. A Stop signal that a running generation holds when its page closes is kept
until that run ends (another tab of the same client may still press Stop) and dropped then.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

CLOSED_PAGES_KEPT = 4096


class StopSignals:
    """One threading.Event per client: Stop sets it, generation checks it per step."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: dict[str, threading.Event] = {}
        self._holders: Counter[str] = Counter()
        # Clients whose page closed, newest last: a run of theirs that is still going, or that the
        # queue starts only now, drops their signal when it ends. Bounded: only recent closings matter.
        self._closed: OrderedDict[str, None] = OrderedDict()

    def event(self, key: str) -> threading.Event:
        with self._lock:
            self._closed.pop(key, None)  # the client acts again (another tab of theirs)
            return self._events.setdefault(key, threading.Event())

    @contextmanager
    def held(self, key: str) -> Iterator[threading.Event]:
        """The client's event, kept while a run uses it (`forget` defers to the run's end)."""
        with self._lock:
            event = self._events.setdefault(key, threading.Event())
            self._holders[key] += 1
        try:
            yield event
        finally:
            with self._lock:
                self._holders[key] -= 1
                if self._holders[key] <= 0:
                    del self._holders[key]
                    if key in self._closed:  # its page is gone: nobody can press Stop any more
                        del self._closed[key]
                        self._events.pop(key, None)

    def running(self, key: str) -> bool:
        """Whether a run of this client holds its event now (a generation is under way)."""
        with self._lock:
            return key in self._holders

    def forget(self, key: str) -> None:
        """The client's page closed: drop its event now, or when a run holding it ends."""
        with self._lock:
            if key not in self._holders:
                self._events.pop(key, None)
            self._closed[key] = None
            self._closed.move_to_end(key)
            while len(self._closed) > CLOSED_PAGES_KEPT:
                self._closed.popitem(last=False)

    def __len__(self) -> int:
        return len(self._events)


class ClickTimes:
    """When each client last clicked Generate (time.monotonic()), so the time to the first token
    shown on a card includes the wait in the queue and for the model, as the user saw it."""

    def __init__(self) -> None:
        self._clicked: dict[str, float] = {}

    def mark(self, key: str) -> None:
        self._clicked[key] = time.monotonic()

    def take(self, key: str, fallback: float) -> float:
        """When this client's current request was clicked (once; `fallback` for API calls, which
        have no click, or a click older than the fallback's run)."""
        clicked = self._clicked.pop(key, None)
        return clicked if clicked is not None and clicked <= fallback else fallback

    def forget(self, key: str) -> None:
        self._clicked.pop(key, None)

    def __len__(self) -> int:
        return len(self._clicked)
