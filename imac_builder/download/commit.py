"""Committing finished songs (main thread): segments renamed into place, then the ledger.

Also what a rerun needs: removing what a killed run left behind, and deciding which
matched songs still need fetching.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

from ..vocab import is_track_id
from .classify import PERMANENT
from .inputs import Job
from .ledger import Ledger, LedgerRow
from .summary import DownloadSummary
from .worker import Outcome, fsync_path

log = logging.getLogger(__name__)

_EXT = re.compile(r"^[A-Za-z0-9]{1,8}$")
FLUSH_EVERY_SONGS = 25
FLUSH_EVERY_SECONDS = 30.0


def utc_now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class Committer:
    """Moves a finished song into place and records it (main thread only)."""

    def __init__(self, ledger: Ledger, audio: Path, incoming: Path,
                 originals: Path | None) -> None:
        self.ledger = ledger
        self.audio = audio
        self.incoming = incoming
        self.originals = originals
        self._last_flush = time.monotonic()

    def commit(self, out: Outcome) -> None:
        tid = out.job.track_id
        final = self.audio / tid
        if final.is_symlink() or (final.exists() and not final.is_dir()):
            final.unlink()  # the song's own slot: a link (never its target) or a stray file
        elif final.exists():  # a re-attempt replaces (or, failing, drops) older segments
            shutil.rmtree(final)
        if out.status == "ok" and out.staged is not None:
            os.replace(out.staged, final)
            fsync_path(self.audio)
        if self.originals is not None and out.original is not None \
                and out.original.path.is_file():
            ext = out.original.ext if _EXT.fullmatch(out.original.ext) else "bin"
            self.originals.mkdir(parents=True, exist_ok=True)
            os.replace(out.original.path, self.originals / f"{tid}.{ext}")
        prev = self.ledger.rows.get(tid)
        attempts = out.tries + (prev.attempts if prev and prev.video_id == out.job.video_id
                                else 0)
        row = LedgerRow(tid, out.job.video_id, out.job.url, out.status, out.reason, attempts,
                        utc_now(), len(out.segments))
        self.ledger.commit(row, out.segments)
        shutil.rmtree(self.incoming / tid, ignore_errors=True)
        if (self.ledger.pending >= FLUSH_EVERY_SONGS
                or time.monotonic() - self._last_flush > FLUSH_EVERY_SECONDS):
            self.flush()

    def flush(self) -> None:
        self.ledger.flush()
        self._last_flush = time.monotonic()


def clean_orphans(ledger: Ledger, audio: Path, incoming: Path) -> int:
    """Remove what a killed run left: staging folders, uncommitted or stray segment files."""
    removed = 0
    if incoming.is_symlink():
        incoming.unlink()
        removed += 1
    elif incoming.exists():
        shutil.rmtree(incoming)
        removed += 1
    if not audio.is_dir():
        return removed
    for d in audio.iterdir():
        if not is_track_id(d.name):
            continue
        if d.is_symlink():  # never followed: the link goes (its target stays), the song
            d.unlink()      # is fetched again into a folder of its own
            removed += 1
            continue
        if not d.is_dir():
            continue
        row = ledger.rows.get(d.name)
        if row is None or row.status != "ok":
            shutil.rmtree(d)
            removed += 1
            continue
        listed = {Path(s.path).name for s in ledger.segments.get(d.name, [])}
        for f in d.iterdir():
            if f.name not in listed:
                f.unlink() if f.is_symlink() or not f.is_dir() else shutil.rmtree(f)
                removed += 1
    return removed


def _is_complete(ledger: Ledger, root: Path, track_id: str) -> bool:
    segs = ledger.segments.get(track_id, [])
    row = ledger.rows[track_id]
    return len(segs) == row.n_segments > 0 and all((root / s.path).is_file() for s in segs)


def plan(jobs: list[Job], ledger: Ledger, root: Path, retry_failed: bool,
         summary: DownloadSummary) -> list[Job]:
    """Which matched songs to fetch now; fill the 'before' counts of the summary."""
    todo = []
    for job in jobs:
        prev = ledger.rows.get(job.track_id)
        if prev is None or prev.video_id != job.video_id or prev.url != job.url:
            todo.append(job)
        elif prev.status == "ok":
            if _is_complete(ledger, root, job.track_id):
                summary.already_done += 1
            else:
                log.warning("%s: segment files missing on disk; downloading again",
                            job.track_id)
                todo.append(job)
        else:
            summary.failed_before += 1
            if prev.status not in PERMANENT:
                if retry_failed:
                    todo.append(job)
                else:
                    summary.retryable_before += 1
    return todo
