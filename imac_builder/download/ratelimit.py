"""A gate that pauses every download worker after a rate-limit answer."""

from __future__ import annotations

import threading
import time


class RateGate:
    """Pauses every worker after a rate-limit answer, doubling the pause each time."""

    def __init__(self, initial: float, maximum: float) -> None:
        self.initial = initial
        self.maximum = max(maximum, initial)
        self._next = initial
        self._until = 0.0
        self._lock = threading.Lock()
        self.pauses = 0

    def trip(self) -> float:
        """Start a pause (unless one is running); return the seconds left of it."""
        with self._lock:
            now = time.monotonic()
            if self._until > now:
                return self._until - now
            pause = self._next
            self._until = now + pause
            self._next = min(self._next * 2, self.maximum)
            self.pauses += 1
            return pause

    def reset(self) -> None:
        """A success: the next pause starts from the initial length again."""
        with self._lock:
            self._next = self.initial

    def wait(self, stop: threading.Event) -> None:
        """Block while a pause is running (or until ``stop`` is set)."""
        while not stop.is_set():
            with self._lock:
                left = self._until - time.monotonic()
            if left <= 0:
                return
            stop.wait(min(left, 0.5))
