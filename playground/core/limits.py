"""In-process rate limits: log-in throttling with lockout, and generation limits.

Counters live in memory (one process serves the app; a restart forgives everyone, which is
acceptable: a restart costs an attacker far more time than a lockout). Every refusal says when
to try again. Thread-safe: Gradio runs handlers in a thread pool.
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from feedback_db.users import user_name_key
from playground.core.errors import RateLimitedError


@dataclass
class SlidingWindow:
    """At most `limit` events per key within `window_s` seconds."""

    limit: int
    window_s: float
    clock: Callable[[], float] = time.monotonic
    _events: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def retry_after(self, key: str) -> float:
        """Seconds until `key` may act again; 0 if it may act now."""
        with self._lock:
            events = self._trim(key)
            return 0.0 if len(events) < self.limit else events[0] + self.window_s - self.clock()

    def take(self, key: str) -> float:
        """Record an event if allowed and return 0, else return the seconds to wait."""
        with self._lock:
            events = self._trim(key)
            if len(events) >= self.limit:
                return events[0] + self.window_s - self.clock()
            events.append(self.clock())
            return 0.0

    def add(self, key: str) -> None:
        with self._lock:
            self._trim(key).append(self.clock())

    def clear(self, key: str) -> None:
        with self._lock:
            self._events.pop(key, None)

    def _trim(self, key: str) -> deque[float]:
        events = self._events[key]
        horizon = self.clock() - self.window_s
        while events and events[0] <= horizon:
            events.popleft()
        return events


def refuse(what: str, wait_s: float) -> RateLimitedError:
    seconds = max(1, math.ceil(wait_s))
    return RateLimitedError(f"{what}: try again in {seconds} s.", retry_after_s=seconds)


@dataclass
class LoginThrottle:
    """Failed log-ins per name and per address; past the limit, that name or address is locked
    out until its oldest failure leaves the window (checked before the password is hashed).
    Names are counted by `user_name_key`, the key the log-in looks accounts up by, so padding or
    re-spelling a name neither escapes its lockout nor starts a fresh count."""

    per_name: SlidingWindow
    per_ip: SlidingWindow

    def check(self, name: str, ip: str) -> None:
        wait = max(self.per_name.retry_after(user_name_key(name)), self.per_ip.retry_after(ip))
        if wait > 0:
            raise refuse("Too many failed log-ins", wait)

    def failed(self, name: str, ip: str) -> None:
        self.per_name.add(user_name_key(name))
        self.per_ip.add(ip)

    def succeeded(self, name: str) -> None:
        self.per_name.clear(user_name_key(name))


@dataclass
class GenerationLimits:
    """Generations per client (browser cookie) and per address."""

    per_client: SlidingWindow
    per_ip: SlidingWindow

    def take(self, client_key: str, ip: str) -> None:
        wait = max(self.per_client.retry_after(client_key), self.per_ip.retry_after(ip))
        if wait > 0:
            raise refuse("Too many generations", wait)
        self.per_client.add(client_key)
        self.per_ip.add(ip)
