"""The stage's inputs and checks: matched songs, labels, options, free disk space."""

from __future__ import annotations

import logging
import math
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .. import tables
from ..errors import UserError
from ..vocab import SEGMENT_SECONDS, is_track_id, is_video_id

log = logging.getLogger(__name__)

PROXY_SCHEMES = ("http", "https", "socks4", "socks4a", "socks5", "socks5h")
#: Disk estimate: a 16-bit mono FLAC minute of music is ~1.6-2.0 MB; an original
#: best-audio stream ~1.2 MB a minute; songs of unknown length are taken as 5 minutes.
FLAC_BYTES_PER_SEGMENT = 2_000_000
ORIGINAL_BYTES_PER_SECOND = 24_000
PCM_BYTES_PER_SECOND = 44_100  # the decoded song, in a scratch file while it is cut
DEFAULT_SECONDS = 300.0
DISK_MARGIN = 200_000_000


@dataclass(frozen=True)
class Job:
    """One matched song to fetch."""

    track_id: str
    video_id: str
    url: str
    video_duration: float | None
    label: str


def _float_or_none(text: str | None) -> float | None:
    try:
        v = float(text) if text not in (None, "") else None
    except ValueError:
        return None
    return v if v is not None and math.isfinite(v) else None


def read_labels(root: Path) -> dict[str, str]:
    """``track_id -> label`` from ``tags/songs.csv``."""
    return {r["track_id"]: r["label"]
            for r in tables.read_table(root, tables.SONGS, required=("track_id", "label"))}


def read_matches(root: Path, labels: dict[str, str]) -> tuple[list[Job], int]:
    """Rows of ``search/matches.csv`` whose status is ``matched``; also count invalid rows
    (a track id or video id that is not one: never handed to yt-dlp)."""
    jobs: list[Job] = []
    seen: set[str] = set()
    invalid = 0
    for rec in tables.read_table(root, tables.MATCHES,
                                 required=("track_id", "video_id", "url", "status")):
        if rec["status"].strip() != "matched":
            continue
        tid = rec["track_id"].strip()
        if not is_track_id(tid):
            log.warning("matches.csv: skipped a row with invalid track_id %r", tid)
            invalid += 1
            continue
        if not is_video_id(rec["video_id"].strip()):
            log.warning("matches.csv: skipped %s: video id %r is not a video id", tid,
                        rec["video_id"][:40])
            invalid += 1
            continue
        if tid in seen:
            log.warning("matches.csv: duplicate track_id %s, kept the first row", tid)
            continue
        seen.add(tid)
        jobs.append(Job(tid, rec["video_id"].strip(), rec["url"].strip(),
                        _float_or_none(rec.get("video_duration")), labels.get(tid, "")))
    return jobs, invalid


def check_options(cookies: Path | None, proxy: str | None, limit: int | None) -> None:
    """Refuse bad per-run options with one clear line (the settings are checked by
    :class:`~imac_builder.config.DownloadConfig`)."""
    if cookies is not None and not Path(cookies).exists():
        raise UserError(f"cookie file {cookies} not found (export it from a browser in "
                        "Netscape format)")
    if cookies is not None:  # a FIFO, /dev/zero: refused before yt-dlp reads it
        from ..guard import COOKIES_LIMIT, check_input

        check_input(cookies, "a cookie file", COOKIES_LIMIT)
    if proxy:
        scheme = urlsplit(proxy).scheme.lower()
        if scheme not in PROXY_SCHEMES or not urlsplit(proxy).hostname:
            raise UserError(f"--proxy {proxy!r} is not a proxy URL (scheme://host:port with "
                            f"scheme one of {', '.join(PROXY_SCHEMES)})")
    if limit is not None and limit < 0:
        raise UserError("--limit must be >= 0")


def check_disk_space(root: Path, todo: list[Job], jobs: int, keep_original: bool) -> int:
    """Estimate the bytes the run needs; refuse with a clear message if they are not free."""
    seconds = [j.video_duration or DEFAULT_SECONDS for j in todo]
    n_segments = sum(int(s // SEGMENT_SECONDS) for s in seconds)
    need = n_segments * FLAC_BYTES_PER_SEGMENT + DISK_MARGIN if todo else 0
    if keep_original:
        need += int(sum(seconds) * ORIGINAL_BYTES_PER_SECOND)
    else:
        need += int(sum(sorted(seconds)[-jobs:]) * ORIGINAL_BYTES_PER_SECOND)
    need += int(sum(sorted(seconds)[-jobs:]) * PCM_BYTES_PER_SECOND)
    free = shutil.disk_usage(root).free
    if need > free:
        raise UserError(
            f"not enough free disk space under {root}: about {need / 1e9:.2f} GB needed for "
            f"{len(todo)} songs (~{n_segments} segments), {free / 1e9:.2f} GB free; free "
            "some space or download in parts with --limit N")
    return need
