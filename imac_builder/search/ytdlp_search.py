"""The ``ytdlp`` backend: yt-dlp's ``ytsearchN:`` with no key and no quota.

Flat extraction (``extract_flat="in_playlist"``) reads one results page and returns each
video's id, title, channel and duration without opening the videos.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from ..vocab import is_youtube_id, watch_url
from ..ytdlp_access import YtdlpAccess
from .backend import Backoff, Paced, SearchError, transient_words
from .match import Candidate
from .registry import BackendContext

log = logging.getLogger(__name__)

#: Failures worth retrying (throttling, bot checks, network trouble).
_TRANSIENT = ("429", "too many requests", "timed out", "timeout", "temporarily",
              "try again later", "sign in to confirm", "connection", "503", "502", "500")


def entries_to_candidates(info: dict | None) -> list[Candidate]:
    """Candidates from an ``extract_info("ytsearchN:...")`` result, in its order."""
    out: list[Candidate] = []
    seen: set[str] = set()
    for entry in (info or {}).get("entries") or []:
        if not isinstance(entry, dict):
            continue
        vid = entry.get("id")
        if not is_youtube_id(vid) or vid in seen:
            continue
        seen.add(vid)
        dur = entry.get("duration")
        out.append(Candidate(
            video_id=vid, title=str(entry.get("title") or ""),
            channel_title=str(entry.get("channel") or entry.get("uploader") or ""),
            duration=float(dur) if isinstance(dur, int | float) else None,
            rank=len(out), url=watch_url(vid)))
    return out


class _QuietLogger:
    def debug(self, msg: str) -> None:
        log.debug("yt-dlp: %s", msg)

    def info(self, msg: str) -> None:
        log.debug("yt-dlp: %s", msg)

    def warning(self, msg: str) -> None:
        log.info("yt-dlp: %s", msg)

    def error(self, msg: str) -> None:
        log.info("yt-dlp: %s", msg)


class YtdlpBackend(Paced):
    """Search with yt-dlp; ``pause`` seconds between searches keep it polite."""

    name = "ytdlp"
    uses_quota = False

    def __init__(self, results: int = 10, backoff: Backoff | None = None,
                 pause: float = 1.0, extract: Callable[[str], dict] | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 access: YtdlpAccess | None = None):
        self.access = access or YtdlpAccess()
        self.results = max(1, int(results))
        self.backoff = backoff or Backoff(retries=3, base=5.0)
        self.pause = pause
        self._sleep = sleep
        self._extract = extract or self._extract_with_ytdlp
        self._ydl: Any = None
        self._searched = 0

    def units_per_search(self) -> int:
        return 0

    def ydl_params(self) -> dict[str, Any]:
        """The ``YoutubeDL`` parameters of the search (with the user's yt-dlp options)."""
        params: dict[str, Any] = {
            "quiet": True, "no_warnings": True, "skip_download": True,
            "extract_flat": "in_playlist", "logger": _QuietLogger(),
            "socket_timeout": 30, "noprogress": True}
        params.update(self.access.params())
        return params

    def _extract_with_ytdlp(self, url: str) -> dict:
        import yt_dlp

        if self._ydl is None:
            self._ydl = yt_dlp.YoutubeDL(self.ydl_params())
        return self._ydl.extract_info(url, download=False)

    def close(self) -> None:
        if self._ydl is not None:
            self._ydl.close()
            self._ydl = None

    def search(self, query: str) -> list[Candidate]:
        self._pace()
        transient = transient_words(_TRANSIENT, "yt-dlp")

        try:
            info = self.backoff.run(lambda: self._extract(f"ytsearch{self.results}:{query}"),
                                    transient, "ytsearch")
        except SearchError:
            raise
        except Exception as e:  # yt-dlp's DownloadError/ExtractorError: this song fails
            first = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
            raise SearchError(f"yt-dlp: {first}") from None
        return entries_to_candidates(info)


def make(ctx: BackendContext) -> YtdlpBackend:
    """The registry's factory (:mod:`.registry`)."""
    return YtdlpBackend(ctx.results, backoff=ctx.backoff, access=ctx.access)
