"""Fetch one song's best audio stream with yt-dlp, used as a library (never a shell string)."""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..vocab import SEGMENT_SECONDS
from .decode import TooShort

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FetchOptions:
    """What the user passes through to yt-dlp."""

    cookies: Path | None = None
    proxy: str | None = None
    sleep: float = 0.0
    retries: int = 3
    socket_timeout: float = 30.0
    ffmpeg: str | None = None
    #: ``js_runtimes``, ``cookiesfrombrowser``, ``extractor_args`` (see
    #: :meth:`imac_builder.ytdlp_access.YtdlpAccess.params`)
    ytdlp_params: dict[str, Any] = field(default_factory=dict)
    #: whether a JavaScript runtime was found (None: not looked for)
    js_runtime_found: bool | None = None


@dataclass(frozen=True)
class Fetched:
    """A downloaded original."""

    path: Path
    ext: str
    size: int
    duration: float | None


class _YtdlpLog:
    """Route yt-dlp's messages to our log file; failures are reported by the stage itself.

    Warnings are kept too: they tell why a YouTube download failed (an unsolved
    JavaScript challenge, a missing PO token) where the error itself does not.
    """

    def __init__(self) -> None:
        self.warnings: list[str] = []

    def debug(self, msg: str) -> None:
        if not msg.startswith("[download] "):
            log.debug("yt-dlp: %s", msg)

    def info(self, msg: str) -> None:
        log.debug("yt-dlp: %s", msg)

    def warning(self, msg: str) -> None:
        self.warnings.append(msg)
        log.info("yt-dlp warning: %s", msg)

    def error(self, msg: str) -> None:
        log.debug("yt-dlp error: %s", msg)


def ydl_options(dest: Path, opts: FetchOptions) -> dict[str, Any]:
    """The ``YoutubeDL`` parameters for one song downloaded into the folder ``dest``."""
    params: dict[str, Any] = {
        "format": "bestaudio/best",
        "outtmpl": {"default": str(dest / "original.%(ext)s")},
        "noplaylist": True,
        "quiet": True,
        "no_warnings": False,
        "noprogress": True,
        "logger": _YtdlpLog(),
        "retries": opts.retries,
        "fragment_retries": opts.retries,
        "extractor_retries": opts.retries,
        "file_access_retries": 1,
        "socket_timeout": opts.socket_timeout,
        "cachedir": False,
        "overwrites": True,
        "continuedl": True,
        "restrictfilenames": True,
        "windowsfilenames": True,
        "writeinfojson": False,
        "color": {"stdout": "no_color", "stderr": "no_color"},
    }
    if opts.cookies is not None:
        params["cookiefile"] = str(opts.cookies)
    if opts.proxy:
        params["proxy"] = opts.proxy
    if opts.sleep > 0:
        params["sleep_interval"] = opts.sleep
        params["max_sleep_interval"] = opts.sleep * 1.5  # jitter, as the yt-dlp docs advise
    if opts.ffmpeg:
        params["ffmpeg_location"] = opts.ffmpeg
    params.update(opts.ytdlp_params)
    return params


#: More bytes than any song's audio (an hour of YouTube's best audio is about 100 MB): a
#: download past it is an endless stream or a film, stopped before it fills the disk.
MAX_DOWNLOAD_BYTES = 1 << 30


class TooLarge(Exception):
    """The download passed :data:`MAX_DOWNLOAD_BYTES`."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the download passed {limit / 2**20:,.0f} MiB")


class Aborted(Exception):
    """The run is stopping (Ctrl-C or rate limiting): the transfer was abandoned."""


def fetch(url: str, dest: Path, opts: FetchOptions,
          abort: threading.Event | None = None) -> Fetched:
    """Download ``url``'s best audio into ``dest``; raise yt-dlp's error or :class:`TooShort`.

    The page is resolved first without downloading, so a video whose reported duration
    is under one segment is refused before any audio is fetched. Setting ``abort``
    stops a transfer in progress at its next block. yt-dlp's warnings are attached to an
    exception raised here as ``ytdlp_warnings`` (for :func:`.classify.classify`).
    """
    params = ydl_options(dest, opts)
    logger = params["logger"]
    try:
        return _fetch(url, dest, params, abort)
    except Exception as e:
        try:
            e.ytdlp_warnings = tuple(logger.warnings)  # type: ignore[attr-defined]
        except AttributeError:
            pass
        raise


def _fetch(url: str, dest: Path, params: dict[str, Any],
           abort: threading.Event | None) -> Fetched:
    import yt_dlp

    def hook(status: dict) -> None:
        if abort is not None and abort.is_set():
            raise Aborted("download abandoned: the run is stopping")
        sizes = (status.get("downloaded_bytes"), status.get("total_bytes"))
        if max((n for n in sizes if isinstance(n, int | float)), default=0) \
                > MAX_DOWNLOAD_BYTES:
            raise TooLarge(MAX_DOWNLOAD_BYTES)

    dest.mkdir(parents=True, exist_ok=True)
    params["progress_hooks"] = [hook]
    with yt_dlp.YoutubeDL(params) as ydl:
        info = ydl.extract_info(url, download=False)
        if info is None:
            raise yt_dlp.utils.DownloadError("yt-dlp returned no information for the URL")
        if info.get("_type") in ("playlist", "multi_video"):
            raise yt_dlp.utils.DownloadError("the URL is a playlist, not one video")
        duration = info.get("duration")
        if isinstance(duration, int | float) and math.isfinite(duration) \
                and duration < SEGMENT_SECONDS:
            raise TooShort(float(duration))
        if info.get("is_live") or info.get("live_status") in ("is_live", "is_upcoming"):
            raise yt_dlp.utils.DownloadError("live or upcoming stream: no complete audio")
        result = ydl.process_ie_result(info, download=True)
    paths = [Path(d["filepath"]) for d in (result or {}).get("requested_downloads") or []
             if d.get("filepath")]
    path = next((p for p in paths if p.is_file()), None)
    if path is None:
        found = sorted(p for p in dest.glob("original.*")
                       if p.is_file() and p.suffix not in (".part", ".ytdl"))
        if not found:
            raise yt_dlp.utils.DownloadError("yt-dlp reported success but wrote no file")
        path = found[0]
    return Fetched(path=path, ext=path.suffix.lstrip("."), size=path.stat().st_size,
                   duration=float(duration) if isinstance(duration, int | float) else None)
