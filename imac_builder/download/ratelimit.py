"""What paces the download workers together: one rate for the whole run, and a gate
that pauses every worker after a rate-limit answer."""

from __future__ import annotations

import random
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


class Pace:
    """One rate for the whole run: every worker takes the next start slot before a
    download, so ``per_hour`` holds across all workers together. The gap between two
    slots is drawn from ``[1 - jitter, 1 + jitter]`` times the mean gap, so the average
    stays ``per_hour`` while the starts do not tick like a clock. ``per_hour`` 0 (or
    None) paces nothing."""

    def __init__(self, per_hour: float | None, jitter: float = 0.5,
                 rng: random.Random | None = None) -> None:
        self.gap = 3600.0 / per_hour if per_hour else 0.0
        self.jitter = min(max(jitter, 0.0), 1.0)
        self._rng = rng or random.Random()
        self._next = 0.0
        self._lock = threading.Lock()
        self.waited = 0.0  # seconds spent waiting for slots, all workers together

    def wait(self, stop: threading.Event) -> None:
        """Block until this worker's slot (the first download starts at once)."""
        if not self.gap:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.gap * self._rng.uniform(1 - self.jitter, 1 + self.jitter)
            self.waited += slot - now
        while not stop.is_set():
            left = slot - time.monotonic()
            if left <= 0:
                return
            stop.wait(min(left, 0.5))
