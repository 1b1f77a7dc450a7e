"""One song, in a worker thread: fetch, decode once, cut, encode and hash into staging."""

from __future__ import annotations

import errno
import logging
import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from ..vocab import SEGMENT_SECONDS, segment_id
from .classify import classify, disk_full
from .decode import TooShort, decode_mono, pcm_sha256, split_segments, write_flac
from .fetch import Fetched, FetchOptions, fetch
from .inputs import Job
from .ledger import SegmentRow
from .ratelimit import Pace, RateGate

log = logging.getLogger(__name__)


def fsync_path(path: Path) -> None:
    """Flush a file or a folder (a rename's directory entry) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class Outcome:
    """What one worker did for one song (committed by the main thread)."""

    job: Job
    status: str
    reason: str
    tries: int
    segments: list[SegmentRow] = field(default_factory=list)
    staged: Path | None = None
    original: Fetched | None = None


@dataclass
class WorkerContext:
    """What every worker shares: folders, yt-dlp options, the rate gate, the stop flag."""

    audio: Path
    incoming: Path
    options: FetchOptions
    ffmpeg: str
    gate: RateGate
    rate_limit_tries: int
    stop: threading.Event
    pace: Pace = field(default_factory=lambda: Pace(None))


def segment_rows(job: Job, digests: list[str]) -> list[SegmentRow]:
    """The ``segments.csv`` rows of one song, from its segment hashes in order."""
    rows = []
    for k, digest in enumerate(digests):
        sid = segment_id(job.track_id, k)
        rows.append(SegmentRow(sid, job.track_id, job.video_id, k,
                               f"{k * SEGMENT_SECONDS:.3f}", f"{SEGMENT_SECONDS:.3f}",
                               f"audio/{job.track_id}/{sid}.flac", digest, job.label))
    return rows


def download_one(job: Job, ctx: WorkerContext) -> Outcome | None:
    """Fetch, decode, cut, encode and hash one song into its staging folder."""
    if ctx.stop.is_set():
        return None
    staging = ctx.incoming / job.track_id
    shutil.rmtree(staging, ignore_errors=True)
    tries = 0
    fetched: Fetched | None = None
    try:
        scheme = urlsplit(job.url).scheme.lower()
        if scheme not in ("http", "https"):
            tries = 1
            return Outcome(job, "error", f"refused URL {job.url[:80]!r}: only http(s) URLs "
                           "are fetched; fix search/matches.csv", tries)
        if job.video_duration is not None and job.video_duration < SEGMENT_SECONDS:
            tries = 1
            raise TooShort(job.video_duration)
        ctx.pace.wait(ctx.stop)  # the run's rate, across all workers
        while True:
            ctx.gate.wait(ctx.stop)
            if ctx.stop.is_set():
                return None
            tries += 1
            try:
                fetched = fetch(job.url, staging / "original", ctx.options, ctx.stop)
                break
            except Exception as e:
                if classify(e, js_runtime=ctx.options.js_runtime_found).status \
                        != "rate_limited":
                    raise
                pause = ctx.gate.trip()
                if tries >= ctx.rate_limit_tries:
                    raise
                log.warning("%s: rate limited; all workers pause %.1f s", job.track_id, pause)
        ctx.gate.reset()
        samples = decode_mono(fetched.path, ctx.ffmpeg)
        pieces = split_segments(samples)
        seg_dir = staging / "segments"
        seg_dir.mkdir(parents=True)
        digests = []
        for k, piece in enumerate(pieces):
            path = seg_dir / f"{segment_id(job.track_id, k)}.flac"
            write_flac(path, piece)
            fsync_path(path)
            digests.append(pcm_sha256(piece))
        fsync_path(seg_dir)
        return Outcome(job, "ok", "", tries, segment_rows(job, digests), seg_dir, fetched)
    except Exception as e:
        if disk_full(e):
            raise OSError(errno.ENOSPC, "no space left on device", str(staging)) from e
        if ctx.stop.is_set():  # abandoned because the run is stopping: not an attempt
            log.info("%s: abandoned (%s)", job.track_id, e)
            return None
        failure = classify(e, js_runtime=ctx.options.js_runtime_found)
        log.info("%s (%s): %s: %s", job.track_id, job.url, failure.status, failure.reason)
        if failure.status == "error":
            log.debug("%s: unexpected exception", job.track_id, exc_info=True)
        return Outcome(job, failure.status, failure.reason, max(tries, 1), original=fetched)
