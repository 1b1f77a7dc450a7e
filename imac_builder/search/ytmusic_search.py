"""The ``ytmusic`` backend: YouTube Music's search through ``ytmusicapi``, no key, no quota.

Its "songs" results are the releases' own audio, each with structured artists, album
and duration; its "videos" results are uploads (music videos, live takes, covers) with
the uploader as their "artist". A search asks for songs first, then videos, and keeps
both (songs ranked first), so the chooser sees the release audio and the videos. Each
candidate records ``artists``, ``album`` and ``result_type`` in ``candidates.jsonl``.

ytmusicapi (https://github.com/sigma67/ytmusicapi) parses YouTube Music's internal
JSON, which changes shape now and then; keeping up with it is that library's work.
Tests hand it a ``requests.Session`` that replays recorded real responses.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from ..vocab import is_youtube_id, watch_url
from .backend import Backoff, Paced, SearchError, transient_words
from .match import Candidate
from .registry import BackendContext

log = logging.getLogger(__name__)

#: Failures worth retrying (throttling, network trouble, server errors).
_TRANSIENT = ("429", "too many requests", "timed out", "timeout", "temporarily",
              "connection", "503", "502", "500", "try again")
#: The result kinds asked for, in order: the release audio, then uploads.
FILTERS = ("songs", "videos")


def results_to_candidates(results: list[dict], start: int = 0,
                          seen: set[str] | None = None) -> list[Candidate]:
    """Candidates from ``YTMusic.search`` results (songs or videos), ranked from
    ``start``; ids already in ``seen`` are skipped."""
    seen = set() if seen is None else seen
    out: list[Candidate] = []
    for r in results or []:
        if not isinstance(r, dict):
            continue
        vid = r.get("videoId")
        if not is_youtube_id(vid) or vid in seen:
            continue
        seen.add(vid)
        artists = tuple(str(a.get("name")) for a in r.get("artists") or []
                        if isinstance(a, dict) and a.get("name"))
        album = r.get("album") if isinstance(r.get("album"), dict) else None
        dur = r.get("duration_seconds")
        out.append(Candidate(
            video_id=vid, title=str(r.get("title") or ""),
            # a song's "channel" is its artists' Topic; a video's is its uploader
            channel_title=", ".join(artists),
            duration=float(dur) if isinstance(dur, int | float) and dur > 0 else None,
            rank=start + len(out), url=watch_url(vid), artists=artists,
            album=str(album["name"]) if album and album.get("name") else None,
            result_type=str(r.get("resultType") or "") or None))
    return out


class YtmusicBackend(Paced):
    """Search YouTube Music; ``pause`` seconds between searches keep it polite."""

    name = "ytmusic"
    uses_quota = False

    def __init__(self, results: int = 10, backoff: Backoff | None = None,
                 pause: float = 1.0, session: Any = None,
                 sleep: Callable[[float], None] = time.sleep, language: str = "en"):
        self.results = max(1, int(results))
        self.backoff = backoff or Backoff(retries=3, base=5.0)
        self.pause = pause
        self._sleep = sleep
        self._session = session
        self._language = language
        self._client: Any = None
        self._searched = 0

    def units_per_search(self) -> int:
        return 0

    def _yt(self) -> Any:
        if self._client is None:
            from ytmusicapi import YTMusic

            self._client = YTMusic(requests_session=self._session, language=self._language)
        return self._client

    def close(self) -> None:
        self._client = None

    def search(self, query: str) -> list[Candidate]:
        """Songs, then videos, for ``query`` (``results`` of each at most)."""
        self._pace()
        transient = transient_words(_TRANSIENT, "ytmusic")

        out: list[Candidate] = []
        seen: set[str] = set()
        for kind in FILTERS:
            try:
                res = self.backoff.run(
                    lambda kind=kind: self._yt().search(query, filter=kind,
                                                        limit=self.results),
                    transient, f"ytmusic {kind}")
            except SearchError:
                raise
            except Exception as e:  # a server error or a shape ytmusicapi cannot read
                first = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
                raise SearchError(f"ytmusic: {first}") from None
            out += results_to_candidates(res[:self.results], len(out), seen)
        return out


def make(ctx: BackendContext) -> YtmusicBackend:
    """The registry's factory (:mod:`.registry`)."""
    return YtmusicBackend(ctx.results, backoff=ctx.backoff, session=ctx.http)
