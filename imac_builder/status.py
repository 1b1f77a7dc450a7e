"""``imac-build status``: each stage's state in a work directory and what to run next.

States: ``not started``, ``done``, ``partial`` (with counts), ``stale`` (an input changed
since the stage ran: judged by content — ids, recorded input hashes, the split's
fingerprint — not by file times, so a stage that found nothing to do stays ``done``).
"""

from __future__ import annotations

import csv
import json
import shlex
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
    doctor: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    def lines(self) -> list[str]:
        out = [f"work directory {self.workdir}"]
        out += [f"  {s.stage:<9} {s.state:<12} {s.detail}" for s in self.stages]
        out.append(f"next: {self.next_step}")
        if self.doctor:
            out.append(f"is this machine ready? {self.doctor}")
        return out


def _rows(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            return list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error):
        return []


def _count(values: list[str]) -> str:
    return ", ".join(f"{n} {k or '?'}" for k, n in sorted(Counter(values).items()))


def _store_ids(path: Path) -> tuple[list[str], str] | None:
    """The ids and recorded input hash of a feature store, without loading its features."""
    try:
        import h5py

        with h5py.File(path, "r") as f:
            id_name = f.attrs.get("id_name", "")
            id_name = id_name.decode() if isinstance(id_name, bytes) else str(id_name)
            ids = [str(v) for v in f[id_name].asstr()[()].tolist()]
            ihash = f.attrs.get("input_hash", "")
            return ids, ihash.decode() if isinstance(ihash, bytes) else str(ihash)
    except Exception:  # noqa: BLE001 - an unreadable store is simply not done
        return None


def _features_state(wd: Workdir, modality: str) -> str | None:
    """``done``/``stale`` for one store, or None when it is absent or unreadable."""
    from .errors import UserError
    from .features.shards import items_hash
    from .features.stage import image_items, music_items

    store = _store_ids(wd.root / "features" / f"{modality}.h5")
    if store is None:
        return None
    try:
        items = music_items(wd) if modality == "music" else image_items(wd)
    except UserError:
        return "stale"
    return "done" if items_hash(sorted(items, key=lambda it: it.id)) == store[1] else "stale"


def workdir_status(workdir: Workdir | Path, progress: bool = True) -> StatusSummary:
    """Read the work directory's tables (nothing is changed) and judge each stage."""
    wd = workdir if isinstance(workdir, Workdir) else Workdir(Path(workdir))
    r = wd.root
    cmd = f"imac-build --workdir {shlex.quote(str(r))}"
    commands = {
        "tags": f"{cmd} tags --lastfm lastfm_tags.db --metadata track_metadata.db",
        "search": f"{cmd} search", "download": f"{cmd} download",
        "images": f"{cmd} images --root IMAGE_EMOTION_DIR",
        "features": f"{cmd} features --image-root IMAGE_EMOTION_DIR",
        "split": f"{cmd} split", "train": f"{cmd} train", "evaluate": f"{cmd} evaluate",
    }
    st: list[StageState] = []

    songs = _rows(r / "tags/songs.csv")
    st.append(StageState("tags", "done" if (r / "tags/songs.csv").exists() else "not started",
                         _count([s.get("label", "") for s in songs])))

    matches = _rows(r / "search/matches.csv")
    if not (r / "search/matches.csv").exists():
        st.append(StageState("search", "not started"))
    else:
        kinds = []
        for m in matches:
            reason = m.get("reason", "")
            kinds.append("not searched" if reason.startswith("not_searched") else
                         "search failed" if reason.startswith("search_failed") else
                         m.get("status", ""))
        new = {s["track_id"] for s in songs} - {m.get("track_id") for m in matches}
        todo = sum(k in ("not searched", "search failed") for k in kinds)
        state = "stale" if new else "partial" if todo else "done"
        st.append(StageState("search", state, _count(kinds) +
                             (f"; {len(new)} new songs" if new else "")))

    ledger = _rows(r / "download/ledger.csv")
    if not (r / "download/ledger.csv").exists():
        st.append(StageState("download", "not started"))
    else:
        done = {(x.get("track_id"), x.get("video_id")) for x in ledger}
        want = {(m.get("track_id"), m.get("video_id")) for m in matches
                if m.get("status") == "matched"}
        todo = len(want - done)
        n_seg = len(_rows(r / "download/segments.csv"))
        st.append(StageState("download", "partial" if todo else "done",
                             _count([x.get("status", "") for x in ledger]) +
                             f"; {n_seg} segments" + (f"; {todo} to do" if todo else "")))

    images = _rows(r / "images/images.csv")
    st.append(StageState("images", "done" if (r / "images/images.csv").exists()
                         else "not started", _count([i.get("status", "") for i in images])))

    feats = {m: _features_state(wd, m) for m in ("music", "images")}
    present = [m for m, s in feats.items() if s]
    if not present:
        st.append(StageState("features", "not started"))
    else:
        state = ("stale" if "stale" in feats.values() else
                 "done" if len(present) == 2 else "partial")
        st.append(StageState("features", state,
                             ", ".join(f"{m}.h5 {s}" for m, s in feats.items() if s)))

    splits = _rows(r / "splits/splits.csv")
    split_hash = None
    if not splits:
        st.append(StageState("split", "not started"))
    else:
        assigned = {x.get("item_id") for x in splits}
        stale = any((ids := _store_ids(r / "features" / f"{m}.h5")) and
                    not set(ids[0]) <= assigned for m in present)
        st.append(StageState("split", "stale" if stale else "done",
                             _count([x.get("split", "") for x in splits])))
        from .train.split import split_fingerprint

        try:
            split_hash = split_fingerprint(wd)
        except Exception:  # noqa: BLE001 - pair lists missing: the split is not usable
            split_hash = None

    runs: dict[str, str] = {}
    for p in sorted((r / "runs").glob("*/metrics.json")):
        try:
            trained_on = json.loads(p.read_text()).get("split_sha256")
        except (OSError, ValueError):
            trained_on = None
        runs[p.parent.name] = "done" if trained_on and trained_on == split_hash else "stale"
    st.append(StageState("train", "not started" if not runs else
                         "stale" if "stale" in runs.values() else "done",
                         ", ".join(f"{k} ({v})" for k, v in runs.items())))
    evaluated = [n for n in runs if (r / "runs" / n / "report.md").exists()]
    st.append(StageState("evaluate", "not started" if not evaluated else
                         "stale" if any(runs[n] == "stale" for n in evaluated) else "done",
                         ", ".join(evaluated)))

    nxt = next((s for s in st if s.state != "done"), None)
    if nxt is None:
        released = sorted(p.name for p in (r / "manifests").glob("*") if p.is_dir())
        step = (f"everything is done ({', '.join(released)} released)" if released else
                f"everything is done: {cmd} release --name imac --version X.Y.Z")
    else:
        step = commands[nxt.stage] + (" (its inputs changed since it ran)"
                                      if nxt.state == "stale" else "")
    doctor = f"{cmd} doctor" + (f" --for {nxt.stage}" if nxt is not None else "")
    return StatusSummary(str(r), st, step, doctor)
