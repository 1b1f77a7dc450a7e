"""The download ledger and segment table, committed one song at a time (spec §3).

Each finished song (its ledger row and segment rows) is appended to a journal
(``download/.journal.jsonl``) with one write and an fsync, right after its segment
folder has been renamed into place. ``ledger.csv`` and ``segments.csv`` are rewritten
atomically from that state, sorted, every few songs and at the end of a run; the journal
is removed once both tables hold everything. A run killed at any point loses at most the
song in flight: the next run replays the journal and rewrites the tables.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from .. import atomic, guard, tables
from ..errors import UserError
from ..journal import Journal
from ..vocab import DOWNLOAD_STATUSES

log = logging.getLogger(__name__)

LEDGER_COLUMNS = tables.LEDGER.columns
SEGMENT_COLUMNS = tables.SEGMENTS.columns
FAILED_COLUMNS = tables.FAILED_VIDEOS.columns


def failed_for_good(status: str) -> bool:
    """A ledger status no retry can fix (the video itself is unusable)."""
    s = DOWNLOAD_STATUSES.get(status)
    return s is not None and s.word != "ok" and not s.retryable


@dataclass
class LedgerRow:
    """One attempted track (a row of ``download/ledger.csv``)."""

    track_id: str
    video_id: str
    url: str
    status: str
    reason: str
    attempts: int
    last_attempt: str
    n_segments: int

    def row(self) -> tuple:
        return tuple(getattr(self, c) for c in LEDGER_COLUMNS)


@dataclass
class SegmentRow:
    """One 60 s segment (a row of ``download/segments.csv``)."""

    segment_id: str
    track_id: str
    video_id: str
    index: int
    start: str
    duration: str
    path: str
    sha256: str
    label: str

    def row(self) -> tuple:
        return tuple(getattr(self, c) for c in SEGMENT_COLUMNS)


def _typed(cls: type, record: dict) -> object:
    kw = {}
    for f in fields(cls):
        v = record.get(f.name, "")
        kw[f.name] = int(v or 0) if f.type in ("int", int) else ("" if v is None else str(v))
    return cls(**kw)


class Ledger:
    """What has been attempted, with the segments of every song that succeeded."""

    def __init__(self, root: Path) -> None:
        """The ledger of the work directory ``root`` (its ``download/`` tables)."""
        self.root = Path(root)
        self.ledger_path = tables.LEDGER.at(root)
        self.segments_path = tables.SEGMENTS.at(root)
        self.failed_path = tables.FAILED_VIDEOS.at(root)
        self.folder = self.ledger_path.parent
        self.folder.mkdir(parents=True, exist_ok=True)
        #: (track_id, video_id) -> row of ``failed_videos.csv``: the history a track's
        #: single ledger row cannot keep once another video is tried.
        self.failed: dict[tuple[str, str], tuple[str, ...]] = {}
        self.journal = Journal(self.folder / ".journal.jsonl")
        self.rows: dict[str, LedgerRow] = {}
        self.segments: dict[str, list[SegmentRow]] = {}
        self._pending = 0

    def load(self) -> int:
        """Read both tables and replay the journal; return how many songs were replayed."""
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic.remove_stale_temporaries(self.folder)
        for n, rec in enumerate(tables.read_csv(self.ledger_path, what=tables.LEDGER.path), 2):
            r = _typed(LedgerRow, rec)
            guard.video_id(r.video_id, f"{self.ledger_path} line {n}",  # type: ignore[attr-defined]
                           empty_ok=True)
            self.rows[r.track_id] = r  # type: ignore[attr-defined]
        for rec in tables.read_csv(self.segments_path, what=tables.SEGMENTS.path):
            s = _typed(SegmentRow, rec)
            self.segments.setdefault(s.track_id, []).append(s)  # type: ignore[attr-defined]
        for rec in tables.read_csv(self.failed_path, what=tables.FAILED_VIDEOS.path):
            key = (rec.get("track_id", ""), rec.get("video_id", ""))
            if all(key) and guard.is_video_id(key[1]):
                self.failed[key] = tuple(rec.get(c, "") for c in FAILED_COLUMNS)
        for r in list(self.rows.values()):  # ledgers written before the history was kept
            self._remember_failure(r)
        replayed = 0
        for rec in self.journal.replay():
            try:
                row = _typed(LedgerRow, rec["ledger"])
                segs = [_typed(SegmentRow, x) for x in rec["segments"]]
                guard.video_id(row.video_id, "a journal record",  # type: ignore[attr-defined]
                               empty_ok=True)
            except (KeyError, TypeError, ValueError, AttributeError, OverflowError,
                    UserError):
                # damaged by hand or by the disk: that song is downloaded again (its
                # files are removed as uncommitted leftovers)
                log.warning("ignored an unusable record of %s", self.journal.path)
                continue
            self._apply(row, segs)  # type: ignore[arg-type]
            replayed += 1
        self.journal.repair()
        # keep only segments of songs whose ledger row says ok
        for tid in list(self.segments):
            r = self.rows.get(tid)
            if r is None or r.status != "ok":
                del self.segments[tid]
        self._pending = replayed
        return replayed

    def _remember_failure(self, row: LedgerRow) -> None:
        if failed_for_good(row.status) and row.video_id:
            self.failed.setdefault((row.track_id, row.video_id),
                                   (row.track_id, row.video_id, row.status, row.reason,
                                    row.last_attempt))

    def _apply(self, row: LedgerRow, segments: list[SegmentRow]) -> None:
        self._remember_failure(row)
        self.rows[row.track_id] = row
        if segments:
            self.segments[row.track_id] = segments
        else:
            self.segments.pop(row.track_id, None)

    def commit(self, row: LedgerRow, segments: list[SegmentRow]) -> None:
        """Record one finished song durably (one journal line, fsync)."""
        with self.journal:
            self.journal.append({"ledger": asdict(row),
                                 "segments": [asdict(s) for s in segments]})
        self._apply(row, segments)
        self._pending += 1

    @property
    def pending(self) -> int:
        """Songs committed to the journal but not yet to the tables."""
        return self._pending

    def flush(self) -> None:
        """Rewrite both tables atomically (sorted) and drop the journal they now contain."""
        tables.write_table(self.root, tables.LEDGER,
                           (self.rows[t].row() for t in sorted(self.rows)))
        segs = sorted((s for per in self.segments.values() for s in per),
                      key=lambda s: s.segment_id)
        tables.write_table(self.root, tables.SEGMENTS, (s.row() for s in segs))
        if self.failed or self.failed_path.exists():
            tables.write_table(self.root, tables.FAILED_VIDEOS,
                               (self.failed[k] for k in sorted(self.failed)))
        self.journal.remove()
        self._pending = 0

    def n_segments(self) -> int:
        return sum(len(v) for v in self.segments.values())
