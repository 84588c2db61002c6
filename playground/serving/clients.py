"""What the server keeps per browser client between events: its Stop signal and its last click.

Both are keyed by the client's key (playground.services.identity) and live only in memory. A page
that closes forgets its entries (the app's unload event calls `forget`), so they do not pile up
over a server's life; a Stop signal a running generation still holds is kept until that run ends,
since another tab of the same client may still press Stop.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager


class StopSignals:
    """One threading.Event per client: Stop sets it, generation checks it per step."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: dict[str, threading.Event] = {}
        self._holders: Counter[str] = Counter()

    def event(self, key: str) -> threading.Event:
        with self._lock:
            return self._events.setdefault(key, threading.Event())

    @contextmanager
    def held(self, key: str) -> Iterator[threading.Event]:
        """The client's event, kept while a run uses it (`forget` leaves it alone meanwhile)."""
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

    def forget(self, key: str) -> None:
        """The client's page closed: drop its event unless a run still holds it."""
        with self._lock:
            if key not in self._holders:
                self._events.pop(key, None)

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
