"""The 70:10:20 split (music by song, images at random) and the fixed evaluation pairs."""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .. import atomic
from ..errors import UserError
from ..workdir import Workdir

LABELS = ("positive", "neutral", "negative")
SPLITS = ("train", "val", "test")
RATIOS = (0.7, 0.1, 0.2)
PAIR_COLUMNS = ("image_id", "segment_id", "target")


@dataclass
class SplitSummary:
    seed: int = 0
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    pairs: dict[str, int] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def lines(self) -> list[str]:
        out = [f"split with seed {self.seed} (70:10:20; music by song, images at random)"]
        for modality, c in self.counts.items():
            out.append(f"{modality}: " + ", ".join(f"{c.get(s, 0)} {s}" for s in SPLITS))
        out.append("evaluation pairs (half true): " +
                   ", ".join(f"{n} {s}" for s, n in self.pairs.items()))
        out += [f"wrote {p}" for p in self.outputs]
        return out


def _cut(n: int) -> tuple[int, int]:
    """Boundaries of train/val/test for ``n`` items (rounded, each split non-empty when n≥3)."""
    a = int(round(n * RATIOS[0]))
    b = int(round(n * (RATIOS[0] + RATIOS[1])))
    if n >= 3:
        a = min(max(a, 1), n - 2)
        b = min(max(b, a + 1), n - 1)
    return a, b


def assign_groups(groups: list[str], strata: list[str], rng: np.random.Generator) -> dict[str, str]:
    """Assign each distinct group to a split, 70:10:20 within each stratum (label)."""
    by_stratum: dict[str, list[str]] = {}
    for g, s in zip(groups, strata, strict=True):
        by_stratum.setdefault(s, [])
        if not by_stratum[s] or by_stratum[s][-1] != g:
            by_stratum[s].append(g)
    out: dict[str, str] = {}
    for s in sorted(by_stratum):
        members = sorted(set(by_stratum[s]))
        order = rng.permutation(len(members))
        a, b = _cut(len(members))
        for rank, i in enumerate(order):
            out[members[i]] = SPLITS[0] if rank < a else SPLITS[1] if rank < b else SPLITS[2]
    return out


def make_pairs(image_ids: list[str], image_labels: list[str], music_ids: list[str],
               music_labels: list[str], rng: np.random.Generator,
               split: str) -> list[tuple[str, str, int]]:
    """Balanced pairs: every image once with music of its class (true) and once with music
    of another class (false)."""
    by_label: dict[str, list[int]] = {lab: [] for lab in LABELS}
    for i, lab in enumerate(music_labels):
        by_label[lab].append(i)
    missing = [lab for lab in sorted(set(image_labels)) if not by_label.get(lab)]
    if missing:
        raise UserError(f"the {split} split has no music labelled {', '.join(missing)}: "
                        "too few songs to pair every image class")
    pairs: list[tuple[str, str, int]] = []
    for k in rng.permutation(len(image_ids)):
        lab = image_labels[k]
        same = by_label[lab]
        other = [i for o in LABELS if o != lab for i in by_label[o]]
        if not other:
            raise UserError(f"the {split} split has music of one class only: no false pairs")
        pairs.append((image_ids[k], music_ids[same[rng.integers(len(same))]], 1))
        pairs.append((image_ids[k], music_ids[other[rng.integers(len(other))]], 0))
    return pairs


def run_split(workdir: Workdir | Path, seed: int = 0, progress: bool = True) -> SplitSummary:
    """Write ``splits/splits.csv`` and the fixed ``pairs_val.csv``/``pairs_test.csv``."""
    from ..features.store import FeatureStore

    wd = workdir if isinstance(workdir, Workdir) else Workdir(Path(workdir))
    music = FeatureStore.open(wd.root / "features" / "music.h5")
    images = FeatureStore.open(wd.root / "features" / "images.h5")
    for store in (music, images):
        bad = sorted(set(store.labels) - set(LABELS))
        if bad:
            raise UserError(f"{store.modality} store has labels outside {LABELS}: {bad[:3]}")
    rng = np.random.default_rng(seed)
    tracks = music.extra["track_id"]
    song_label: dict[str, str] = {}
    for t, lab in zip(tracks, music.labels, strict=True):
        if song_label.setdefault(t, lab) != lab:
            raise UserError(f"song {t} has segments with different labels in the music store")
    order = sorted(song_label)
    song_split = assign_groups(order, [song_label[t] for t in order], rng)
    image_split = assign_groups(sorted(images.ids),
                                [lab for _, lab in sorted(zip(images.ids, images.labels,
                                                              strict=True))], rng)
    rows = [(sid, "music", song_split[t]) for sid, t in sorted(zip(music.ids, tracks,
                                                                   strict=True))]
    rows += [(iid, "images", image_split[iid]) for iid in sorted(images.ids)]
    out = wd.stage("splits")
    atomic.write_csv(out / "splits.csv", ("item_id", "modality", "split"), rows)
    summary = SplitSummary(seed=seed, counts={
        "music segments": dict(Counter(song_split[t] for t in tracks)),
        "songs": dict(Counter(song_split.values())),
        "images": dict(Counter(image_split.values())),
    })
    for split in ("val", "test"):
        m = [(i, lab) for i, t, lab in zip(music.ids, tracks, music.labels, strict=True)
             if song_split[t] == split]
        im = [(i, lab) for i, lab in zip(images.ids, images.labels, strict=True)
              if image_split[i] == split]
        pairs = make_pairs([i for i, _ in im], [lab for _, lab in im], [i for i, _ in m],
                           [lab for _, lab in m], np.random.default_rng([seed, len(split)]),
                           split)
        atomic.write_csv(out / f"pairs_{split}.csv", PAIR_COLUMNS, pairs)
        summary.pairs[split] = len(pairs)
    atomic.write_text(out / "split.json", json.dumps(
        {"seed": seed, "ratios": RATIOS, "music": "by song, stratified by label",
         "images": "at random, stratified by label", **summary.to_dict()},
        indent=2, sort_keys=True) + "\n")
    summary.outputs = [str(out / n) for n in ("splits.csv", "pairs_val.csv", "pairs_test.csv")]
    return summary


def split_fingerprint(workdir: Workdir) -> str:
    """sha256 of ``splits.csv`` and the fixed pair lists: what a run was trained on."""
    import hashlib

    h = hashlib.sha256()
    for name in ("splits.csv", "pairs_val.csv", "pairs_test.csv"):
        path = workdir.root / "splits" / name
        if not path.is_file():
            raise UserError(f"{path} does not exist: run 'imac-build split' first")
        h.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def read_splits(workdir: Workdir) -> dict[str, dict[str, str]]:
    """``{modality: {item_id: split}}`` from ``splits/splits.csv``; UserError if unusable."""
    path = workdir.root / "splits" / "splits.csv"
    if not path.is_file():
        raise UserError(f"{path} does not exist: run 'imac-build split' first")
    out: dict[str, dict[str, str]] = {"music": {}, "images": {}}
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        lacking = {"item_id", "modality", "split"} - set(reader.fieldnames or ())
        if lacking:
            raise UserError(f"{path} lacks column(s) {', '.join(sorted(lacking))}")
        for row in reader:
            if row["modality"] in out and row["split"] in SPLITS:
                out[row["modality"]][row["item_id"]] = row["split"]
    return out


def read_pairs(workdir: Workdir, split: str) -> list[tuple[str, str, int]]:
    path = workdir.root / "splits" / f"pairs_{split}.csv"
    if not path.is_file():
        raise UserError(f"{path} does not exist: run 'imac-build split' first")
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if set(PAIR_COLUMNS) - set(reader.fieldnames or ()):
            raise UserError(f"{path} lacks the columns {', '.join(PAIR_COLUMNS)}")
        try:
            return [(r["image_id"], r["segment_id"], int(r["target"])) for r in reader]
        except ValueError:
            raise UserError(f"{path}: 'target' must be 0 or 1") from None
