"""The download ledger and segment table, committed one song at a time (spec §3).

Each finished song (its ledger row and segment rows) is appended to a journal
(``download/.journal.jsonl``) with one write and an fsync, right after its segment
folder has been renamed into place. ``ledger.csv`` and ``segments.csv`` are rewritten
atomically from that state, sorted, every few songs and at the end of a run; the journal
is removed once both tables hold everything. A run killed at any point loses at most the
song in flight: the next run replays the journal and rewrites the tables.
"""

from __future__ import annotations

import csv
import json
import logging
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from .. import atomic

log = logging.getLogger(__name__)

LEDGER_COLUMNS = ("track_id", "video_id", "url", "status", "reason", "attempts",
                  "last_attempt", "n_segments")
SEGMENT_COLUMNS = ("segment_id", "track_id", "video_id", "index", "start", "duration",
                   "path", "sha256", "label")


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


def _read_csv(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


class Ledger:
    """What has been attempted, with the segments of every song that succeeded."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.ledger_path = self.folder / "ledger.csv"
        self.segments_path = self.folder / "segments.csv"
        self.journal_path = self.folder / ".journal.jsonl"
        self.rows: dict[str, LedgerRow] = {}
        self.segments: dict[str, list[SegmentRow]] = {}
        self._pending = 0

    def load(self) -> int:
        """Read both tables and replay the journal; return how many songs were replayed."""
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic.remove_stale_temporaries(self.folder)
        for rec in _read_csv(self.ledger_path):
            r = _typed(LedgerRow, rec)
            self.rows[r.track_id] = r  # type: ignore[attr-defined]
        for rec in _read_csv(self.segments_path):
            s = _typed(SegmentRow, rec)
            self.segments.setdefault(s.track_id, []).append(s)  # type: ignore[attr-defined]
        replayed = 0
        if self.journal_path.is_file():
            data = self.journal_path.read_bytes()
            if data and not data.endswith(b"\n"):
                # a line cut short by a kill or a full disk: drop it now, or the next song
                # committed would be appended to it and both lines would be unreadable
                keep = data.rfind(b"\n") + 1
                with open(self.journal_path, "rb+") as fh:
                    fh.truncate(keep)
                    os.fsync(fh.fileno())
                data = data[:keep]
                log.warning("dropped a half-written last journal line")
            lines = data.decode("utf-8", errors="replace").splitlines()
            for i, line in enumerate(lines):
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    # damaged by hand or by the disk: that song is downloaded again (its
                    # files are removed as uncommitted leftovers)
                    log.warning("ignored unreadable journal line %d of %s", i + 1,
                                self.journal_path)
                    continue
                self._apply(_typed(LedgerRow, rec["ledger"]),  # type: ignore[arg-type]
                            [_typed(SegmentRow, s) for s in rec["segments"]])  # type: ignore[misc]
                replayed += 1
        # keep only segments of songs whose ledger row says ok
        for tid in list(self.segments):
            r = self.rows.get(tid)
            if r is None or r.status != "ok":
                del self.segments[tid]
        self._pending = replayed
        return replayed

    def _apply(self, row: LedgerRow, segments: list[SegmentRow]) -> None:
        self.rows[row.track_id] = row
        if segments:
            self.segments[row.track_id] = segments
        else:
            self.segments.pop(row.track_id, None)

    def commit(self, row: LedgerRow, segments: list[SegmentRow]) -> None:
        """Record one finished song durably (one journal line, fsync)."""
        line = json.dumps({"ledger": asdict(row), "segments": [asdict(s) for s in segments]},
                          ensure_ascii=False, sort_keys=True) + "\n"
        with open(self.journal_path, "a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())
        self._apply(row, segments)
        self._pending += 1

    @property
    def pending(self) -> int:
        """Songs committed to the journal but not yet to the tables."""
        return self._pending

    def flush(self) -> None:
        """Rewrite both tables atomically (sorted) and drop the journal they now contain."""
        atomic.write_csv(self.ledger_path, LEDGER_COLUMNS,
                         (self.rows[t].row() for t in sorted(self.rows)))
        segs = sorted((s for per in self.segments.values() for s in per),
                      key=lambda s: s.segment_id)
        atomic.write_csv(self.segments_path, SEGMENT_COLUMNS, (s.row() for s in segs))
        self.journal_path.unlink(missing_ok=True)
        self._pending = 0

    def n_segments(self) -> int:
        return sum(len(v) for v in self.segments.values())
