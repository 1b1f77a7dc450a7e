"""``imac-build status``: each stage's state in a work directory and what to run next.

States: ``not started``, ``done``, ``partial`` (with counts), ``stale`` (an input changed
since the stage ran: judged by content — ids, recorded input hashes, the split's
fingerprint — not by file times, so a stage that found nothing to do stays ``done``).
"""

from __future__ import annotations

import json
import shlex
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import tables as T
from .errors import UserError
from .workdir import Workdir, read_state


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


def _rows(root: Path, table: T.Table) -> list[dict[str, str]]:
    """A table's rows; none when it is absent or unreadable (status only reads)."""
    try:
        return T.read_table(root, table, required=(), missing_ok=True)
    except (OSError, UserError):
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
    from .features.inputs import image_items, music_items
    from .features.shards import items_hash

    store = _store_ids(T.STORES[modality].at(wd.root))
    if store is None:
        return None
    try:
        items = music_items(wd) if modality == "music" else image_items(wd)
    except UserError:
        return "stale"
    return "done" if items_hash(sorted(items, key=lambda it: it.id)) == store[1] else "stale"


def _config_changes(root: Path, pipeline: dict[str, dict] | None) -> dict[str, str]:
    """Stages whose recorded configuration differs from the pipeline's, with what changed."""
    from .config import CONFIGS, stage_config
    from .errors import UserError

    recorded = read_state(root).get("configs", {})
    out: dict[str, str] = {}
    for name, rec in recorded.items() if isinstance(recorded, dict) else ():
        if name not in CONFIGS or not isinstance(rec, dict):
            continue
        try:
            now = stage_config(name, (pipeline or {}).get(name, {}))
        except UserError:
            continue
        if rec.get("hash") != now.hash():
            old = rec.get("values") or {}
            diff = [f"{k} {old.get(k)!r} -> {v!r}" for k, v in now.to_dict().items()
                    if old.get(k) != v]
            out[name] = "configuration changed: " + (", ".join(diff[:3]) or "see workdir.json")
    return out


def workdir_status(workdir: Workdir | Path, progress: bool = True,
                   pipeline: dict[str, dict] | None = None) -> StatusSummary:
    """Read the work directory's tables (nothing is changed) and judge each stage.

    ``pipeline`` is the pipeline file's tables: a stage that ran with another
    configuration is ``stale``.
    """
    from . import stages

    wd = workdir if isinstance(workdir, Workdir) else Workdir(Path(workdir))
    r = wd.root
    cmd = f"imac-build --workdir {shlex.quote(str(r))}"
    commands = {s.name: f"{cmd} {s.name} {s.hint}".rstrip() for s in stages.STAGES}
    st: list[StageState] = []
    changed = _config_changes(r, pipeline)

    songs = _rows(r, T.SONGS)
    st.append(StageState("tags", "done" if T.SONGS.at(r).exists() else "not started",
                         _count([s.get("label", "") for s in songs])))

    matches = _rows(r, T.MATCHES)
    if not T.MATCHES.at(r).exists():
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

    ledger = _rows(r, T.LEDGER)
    if not T.LEDGER.at(r).exists():
        st.append(StageState("download", "not started"))
    else:
        done = {(x.get("track_id"), x.get("video_id")) for x in ledger}
        want = {(m.get("track_id"), m.get("video_id")) for m in matches
                if m.get("status") == "matched"}
        todo = len(want - done)
        n_seg = len(_rows(r, T.SEGMENTS))
        st.append(StageState("download", "partial" if todo else "done",
                             _count([x.get("status", "") for x in ledger]) +
                             f"; {n_seg} segments" + (f"; {todo} to do" if todo else "")))

    images = _rows(r, T.IMAGES)
    st.append(StageState("images", "done" if T.IMAGES.at(r).exists()
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

    splits = _rows(r, T.SPLITS)
    split_hash = None
    if not splits:
        st.append(StageState("split", "not started"))
    else:
        assigned = {x.get("item_id") for x in splits}
        stale = any((ids := _store_ids(T.STORES[m].at(r))) and
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

    for s in st:
        if s.stage in changed and s.state == "done":
            s.state = "stale"
            s.detail = "; ".join(x for x in (s.detail, changed[s.stage]) if x)
    order = {name: i for i, name in enumerate(stages.ORDER)}
    st.sort(key=lambda s: order.get(s.stage, len(order)))
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
