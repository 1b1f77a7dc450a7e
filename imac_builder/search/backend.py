"""What the search backends share: their errors and the retry with exponential backoff."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from .match import Candidate

log = logging.getLogger(__name__)
T = TypeVar("T")
#: The search backends by name (``search --backend``; built in ``stage._make_searcher``).
BACKENDS: tuple[str, ...] = ("api", "ytdlp")


class SearchError(Exception):
    """One song's search failed for good (after retries); the run goes on."""


class QuotaStop(Exception):
    """No more searches this run (budget reached or ``quotaExceeded``).

    ``partial`` holds the candidates already fetched for the song being searched, so
    that a search whose units are spent is kept.
    """

    def __init__(self, message: str, partial: list[Candidate] | None = None):
        super().__init__(message)
        self.partial = partial or []


class Searcher(Protocol):
    """A search backend: ``search(query)`` returns ranked candidates."""

    name: str
    uses_quota: bool

    def search(self, query: str) -> list[Candidate]: ...

    def units_per_search(self) -> int: ...


@dataclass
class Backoff:
    """Retry transient failures, sleeping ``base * 2**attempt`` seconds between tries."""

    retries: int = 5
    base: float = 1.0
    sleep: Callable[[float], None] = field(default=time.sleep)

    def run(self, call: Callable[[], T], transient: Callable[[BaseException], str | None],
            what: str) -> T:
        """``transient(exc)`` names a retryable failure, or returns None to re-raise it."""
        last = ""
        for attempt in range(self.retries + 1):
            try:
                return call()
            except Exception as e:
                why = transient(e)
                if why is None:
                    raise
                last = why
            if attempt < self.retries:
                delay = self.base * 2 ** attempt
                log.warning("%s: %s; retrying in %.1f s (%d/%d)", what, last, delay,
                            attempt + 1, self.retries)
                self.sleep(delay)
        raise SearchError(f"{last} after {self.retries + 1} attempts")


def transient_words(words: Sequence[str], who: str) -> Callable[[BaseException], str | None]:
    """A :meth:`Backoff.run` classifier: an error whose text holds one of ``words``
    (throttling, network trouble) is retryable and named ``who: first line``."""
    def transient(e: BaseException) -> str | None:
        text = str(e).lower()
        if any(w in text for w in words):
            return f"{who}: {str(e).splitlines()[0][:200]}"
        return None
    return transient


class Paced:
    """A backend that pauses ``pause`` seconds before every search but its first."""

    pause: float
    _sleep: Callable[[float], None]
    _searched: int

    def _pace(self) -> None:
        if self._searched and self.pause > 0:
            self._sleep(self.pause)
        self._searched += 1
