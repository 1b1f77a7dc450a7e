"""``imac-build status``: each stage's state in a work directory and what to run next."""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .workdir import Workdir


@dataclass
class StageState:
    stage: str
    state: str  # not started | done | partial | stale
    detail: str = ""


@dataclass
class StatusSummary:
    workdir: str = ""
    stages: list[StageState] = field(default_factory=list)
    next_step: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    def lines(self) -> list[str]:
        out = [f"work directory {self.workdir}"]
        out += [f"  {s.stage:<9} {s.state:<12} {s.detail}" for s in self.stages]
        out.append(f"next: {self.next_step}")
        return out


def _rows(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            return list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error):
        return []


def _newer(a: Path, b: Path) -> bool:
    """True when input ``a`` changed after output ``b`` was written."""
    return a.exists() and b.exists() and a.stat().st_mtime > b.stat().st_mtime + 1e-3


def _count(rows: list[dict[str, str]], key: str) -> str:
    return ", ".join(f"{n} {k or '?'}" for k, n in sorted(Counter(r.get(key, "")
                                                                   for r in rows).items()))


def workdir_status(workdir: Workdir | Path, progress: bool = True) -> StatusSummary:
    """Read the work directory's tables (nothing is changed) and judge each stage."""
    wd = workdir if isinstance(workdir, Workdir) else Workdir(Path(workdir))
    r = wd.root
    songs, matches = r / "tags/songs.csv", r / "search/matches.csv"
    ledger, segments = r / "download/ledger.csv", r / "download/segments.csv"
    images = r / "images/images.csv"
    music_h5, images_h5 = r / "features/music.h5", r / "features/images.h5"
    splits = r / "splits/splits.csv"
    st: list[StageState] = []
    commands = {
        "tags": "imac-build tags --lastfm lastfm_tags.db --metadata track_metadata.db",
        "search": "imac-build search", "download": "imac-build download",
        "images": "imac-build images --root IMAGE_EMOTION_DIR",
        "features": "imac-build features", "split": "imac-build split",
        "train": "imac-build train", "evaluate": "imac-build evaluate",
    }

    song_rows = _rows(songs)
    st.append(StageState("tags", "done" if songs.exists() else "not started",
                         _count(song_rows, "label") if song_rows else ""))
    if not matches.exists():
        st.append(StageState("search", "not started"))
    else:
        m = _rows(matches)
        left = len(song_rows) - len(m)
        state = "stale" if _newer(songs, matches) else "partial" if left > 0 else "done"
        st.append(StageState("search", state, _count(m, "status") +
                             (f", {left} not searched" if left > 0 else "")))
    if not ledger.exists():
        st.append(StageState("download", "not started"))
    else:
        led = _rows(ledger)
        want = sum(row.get("status") == "matched" for row in _rows(matches))
        ok = sum(row.get("status") == "ok" for row in led)
        state = "stale" if _newer(matches, ledger) else "partial" if len(led) < want else "done"
        st.append(StageState("download", state, _count(led, "status") +
                             f"; {len(_rows(segments))} segments; {want - len(led)} to do"
                             if want > len(led) else _count(led, "status") +
                             f"; {len(_rows(segments))} segments ({ok} songs)"))
    st.append(StageState("images", "done" if images.exists() else "not started",
                         _count(_rows(images), "status") if images.exists() else ""))
    feats = [p for p in (music_h5, images_h5) if p.exists()]
    if not feats:
        st.append(StageState("features", "not started"))
    else:
        stale = _newer(segments, music_h5) or _newer(images, images_h5)
        state = "stale" if stale else "done" if len(feats) == 2 else "partial"
        st.append(StageState("features", state, ", ".join(p.name for p in feats)))
    if not splits.exists():
        st.append(StageState("split", "not started"))
    else:
        stale = _newer(music_h5, splits) or _newer(images_h5, splits)
        st.append(StageState("split", "stale" if stale else "done",
                             _count(_rows(splits), "split")))
    runs = sorted(p.parent.name for p in (r / "runs").glob("*/metrics.json"))
    st.append(StageState("train", "done" if runs else "not started",
                         ", ".join(runs) if runs else ""))
    evaluated = sorted(p.parent.name for p in (r / "runs").glob("*/report.md"))
    st.append(StageState("evaluate", "done" if evaluated else "not started",
                         ", ".join(evaluated)))
    nxt = next((s for s in st if s.state != "done"), None)
    if nxt is None:
        step = "everything is done: imac-build release --name imac --version X.Y.Z"
    else:
        step = commands[nxt.stage] + (" (inputs changed since it ran)"
                                      if nxt.state == "stale" else "")
    return StatusSummary(str(r), st, step)
