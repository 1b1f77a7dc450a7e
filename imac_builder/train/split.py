"""The 70:10:20 split (music by recording, images by content) and the fixed evaluation pairs.

Two pair protocols (``--protocol``):

- ``balanced`` (default): every (image class, music class) cell holds the same number of
  false pairs F, and each true cell (same class) holds 2F. Within every image class and
  within every music class, true and false pairs are then equally many (2F against F + F),
  so any rule that sees only one modality's class, or nothing, scores exactly 50%.
- ``paper``: our reading of the paper: each image once with a uniformly drawn segment of
  its class (true) and once with a uniformly drawn segment of another class (false). Half
  the pairs are true, but P(true | music class) depends on the class proportions, so a
  rule that sees only the music's class beats 50% (about 69% with paper Table 3's).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .. import atomic
from .. import tables as T
from ..config import SplitConfig
from ..errors import UserError
from ..guard import printable
from ..vocab import PAIR_PROTOCOLS
from ..workdir import Workdir

LABELS = ("positive", "neutral", "negative")
SPLITS = ("train", "val", "test")
RATIOS = (0.7, 0.1, 0.2)
PAIR_COLUMNS = ("image_id", "segment_id", "target")
PROTOCOLS = PAIR_PROTOCOLS


@dataclass
class SplitSummary:
    seed: int = 0
    protocol: str = "balanced"
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    merged: dict[str, int] = field(default_factory=dict)
    #: tracks joined by each music rule (recording, audio, artist)
    songs_joined: dict[str, int] = field(default_factory=dict)
    #: the folder whose images were perceptually hashed ("" when none was found)
    image_root: str = ""
    #: how many of the split's images were found there and hashed
    images_hashed: int = 0
    pairs: dict[str, int] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def lines(self) -> list[str]:
        out = [f"split with seed {self.seed} (70:10:20; music by recording, images by "
               f"content), pair protocol {self.protocol}"]
        for modality, c in self.counts.items():
            out.append(f"{modality}: " + ", ".join(f"{c.get(s, 0)} {s}" for s in SPLITS))
        j = self.songs_joined
        out.append(f"merged into another's group: {self.merged.get('songs', 0)} songs ("
                   f"{j.get('recording', 0)} shared video or PCM, {j.get('audio', 0)} "
                   f"near-identical audio, {j.get('artist', 0)} same artist), "
                   f"{self.merged.get('images', 0)} images (same bytes or "
                   + (f"pHash, images in {self.image_root})" if self.image_root else
                      "— no image folder found: pHash not run; give --image-root)"))
        n_images = sum(self.counts.get("images", {}).values())
        if self.image_root and self.images_hashed < n_images:
            out.append(f"pHash compared {self.images_hashed} of the {n_images} images: the "
                       f"other {n_images - self.images_hashed} are not in "
                       f"{printable(self.image_root)} (or unreadable); near-duplicates among "
                       "them were not looked for")
        out.append(f"evaluation pairs ({self.protocol} protocol): " +
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


def _cycled(members: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` draws from ``members``, each used as evenly as possible (fresh permutations
    concatenated), in random order."""
    reps = -(-k // len(members))
    return np.concatenate([rng.permutation(members) for _ in range(reps)])[:k]


def balanced_pair_rows(image_class: np.ndarray, music_class: np.ndarray,
                       rng: np.random.Generator, per_cell: int | None = None,
                       split: str = "") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``balanced`` protocol on class indices (0, 1, 2): positions into the image and
    music arrays and the targets. ``per_cell`` false pairs F in each of the six
    other-class cells and 2F in each of the three same-class cells; each image of a row
    appears with a true and a false partner the same number of times (±1). Default F:
    half the largest image class, rounded up, so every image appears at least once."""
    n = len(LABELS)
    img_by = [np.flatnonzero(image_class == c) for c in range(n)]
    mus_by = [np.flatnonzero(music_class == c) for c in range(n)]
    lacking = [f"{'images' if side is img_by else 'music'} labelled {LABELS[c]}"
               for side in (img_by, mus_by) for c in range(n) if len(side[c]) == 0]
    if lacking:
        where = f"the {split} split" if split else "the pairs"
        raise UserError(f"{where} has no {', '.join(lacking)}: the balanced protocol needs "
                        "every class on both sides (too few items; or use --protocol paper)")
    f = per_cell if per_cell is not None else -(-max(len(m) for m in img_by) // 2)
    f = max(int(f), 1)
    img_rows, mus_class, target = [], [], []
    for c in range(n):
        imgs = _cycled(img_by[c], 2 * f, rng)  # 2F images: each once true, once false
        others = np.array([o for o in range(n) if o != c])
        false_class = rng.permutation(np.repeat(others, f))
        img_rows.append(np.repeat(imgs, 2))
        mus_class.append(np.stack([np.full(2 * f, c), false_class], axis=1).ravel())
        target.append(np.tile([1, 0], 2 * f))
    image = np.concatenate(img_rows)
    mclass = np.concatenate(mus_class)
    music = np.empty_like(image)
    for c in range(n):
        where = np.flatnonzero(mclass == c)  # 4F requests per music class
        music[where] = _cycled(mus_by[c], len(where), rng)
    return image, music, np.concatenate(target)


def make_pairs(image_ids: list[str], image_labels: list[str], music_ids: list[str],
               music_labels: list[str], rng: np.random.Generator,
               split: str, protocol: str = "balanced") -> list[tuple[str, str, int]]:
    """The fixed pairs of one split under ``protocol`` (see the module docstring)."""
    if protocol == "balanced":
        code = {lab: i for i, lab in enumerate(LABELS)}
        img, mus, tgt = balanced_pair_rows(np.array([code[v] for v in image_labels]),
                                           np.array([code[v] for v in music_labels]),
                                           rng, split=split)
        pairs = [(image_ids[a], music_ids[b], int(t)) for a, b, t in zip(img, mus, tgt,
                                                                          strict=True)]
    elif protocol == "paper":
        pairs = paper_pairs(image_ids, image_labels, music_ids, music_labels, rng, split)
    else:
        raise UserError(f"unknown pair protocol {protocol!r}: choose {', '.join(PROTOCOLS)}")
    return [pairs[k] for k in rng.permutation(len(pairs))]  # the row says nothing


def paper_pairs(image_ids: list[str], image_labels: list[str], music_ids: list[str],
                music_labels: list[str], rng: np.random.Generator,
                split: str) -> list[tuple[str, str, int]]:
    """The ``paper`` protocol: every image once with music of its class (true) and once
    with music drawn uniformly from the other classes (false)."""
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


def read_protocol(workdir: Workdir) -> str:
    """The pair protocol of the work directory's split (``splits/split.json``); a split
    written before protocols existed used the paper's."""
    path = T.SPLIT_INFO.at(workdir.root)
    try:
        protocol = json.loads(path.read_text(encoding="utf-8")).get("protocol", "paper")
    except (OSError, ValueError, AttributeError):
        raise UserError(f"{path} is missing or unreadable: run 'imac-build split' again"
                        ) from None
    if protocol not in PROTOCOLS:
        raise UserError(f"{path} names an unknown pair protocol {protocol!r}")
    return protocol


def run_split(workdir: Workdir | Path, *, config: SplitConfig | None = None,
              image_root: Path | None = None, progress: bool = True) -> SplitSummary:
    """Write ``splits/splits.csv``, the fixed ``pairs_val.csv``/``pairs_test.csv`` under
    ``protocol`` (rows shuffled) and ``splits/split.json``. Music is split by recording
    group (and artist, unless ``artist_groups`` is false) and images by content group
    (:mod:`.groups`; ``image_root`` None: the folder the work directory knows)."""
    from ..features.store import FeatureStore
    from .groups import default_image_root, image_groups, merged, music_groups

    config = config or SplitConfig()
    seed, protocol, phash_distance = config.seed, config.protocol, config.phash_distance
    artist_groups = config.artist_groups
    wd = workdir if isinstance(workdir, Workdir) else Workdir(Path(workdir))
    music = FeatureStore.open(T.MUSIC_STORE.at(wd.root))
    images = FeatureStore.open(T.IMAGE_STORE.at(wd.root))
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
    song_group, joined = music_groups(wd, song_label, artist_groups, music.features,
                                      list(tracks))
    image_label = dict(zip(images.ids, images.labels, strict=True))
    if image_root is None:
        image_root = default_image_root(wd)
    image_group, hashed = image_groups(wd, images.ids, image_root, phash_distance)
    song_split = _split_groups(song_group, song_label, rng, "songs")
    image_split = _split_groups(image_group, image_label, rng, "images")
    rows = [(sid, "music", song_split[t]) for sid, t in sorted(zip(music.ids, tracks,
                                                                   strict=True))]
    rows += [(iid, "images", image_split[iid]) for iid in sorted(images.ids)]
    T.write_table(wd.root, T.SPLITS, rows)
    summary = SplitSummary(seed=seed, protocol=protocol, counts={
        "music segments": dict(Counter(song_split[t] for t in tracks)),
        "songs": dict(Counter(song_split.values())),
        "images": dict(Counter(image_split.values())),
    }, merged={"songs": merged(song_group), "images": merged(image_group)},
        songs_joined=joined, image_root=str(image_root or ""),
        images_hashed=hashed if image_root is not None else 0)
    for split in ("val", "test"):
        m = [(i, lab) for i, t, lab in zip(music.ids, tracks, music.labels, strict=True)
             if song_split[t] == split]
        im = [(i, lab) for i, lab in zip(images.ids, images.labels, strict=True)
              if image_split[i] == split]
        pairs = make_pairs([i for i, _ in im], [lab for _, lab in im], [i for i, _ in m],
                           [lab for _, lab in m], np.random.default_rng([seed, len(split)]),
                           split, protocol)
        T.write_table(wd.root, T.PAIRS[split], pairs)
        summary.pairs[split] = len(pairs)
    atomic.write_text(T.SPLIT_INFO.at(wd.root), json.dumps(
        {"seed": seed, "ratios": RATIOS, "protocol": protocol,
         "music": "by recording group (track ids sharing a video, a segment's PCM hash or "
                  "near-identical features" + (", or the artist" if artist_groups else "")
                  + "), stratified by label",
         "images": "by content group (identical bytes" + (
             f", pHash within {phash_distance} bits" if image_root is not None else "")
                   + "), stratified by label",
         **summary.to_dict()},
        indent=2, sort_keys=True) + "\n")
    summary.outputs = [str(f.at(wd.root)) for f in (T.SPLITS, *T.PAIRS.values(),
                                                     T.SPLIT_INFO)]
    return summary


def _split_groups(group: dict[str, str], label: dict[str, str], rng: np.random.Generator,
                  what: str) -> dict[str, str]:
    """``{item: split}``: whole groups assigned 70:10:20 within each label; a group whose
    members carry different labels is filed under its first member's label (sorted)."""
    rep_label: dict[str, str] = {}
    for item in sorted(group):
        rep_label.setdefault(group[item], label[item])
    reps = sorted(rep_label)
    assigned = assign_groups(reps, [rep_label[r] for r in reps], rng)
    return {item: assigned[g] for item, g in group.items()}


def split_fingerprint(workdir: Workdir) -> str:
    """sha256 of ``splits.csv`` and the fixed pair lists: what a run was trained on."""
    import hashlib

    h = hashlib.sha256()
    for table in (T.SPLITS, *T.PAIRS.values()):
        path = table.at(workdir.root)
        if not path.is_file():
            raise T.missing_error(workdir.root, table)
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def read_splits(workdir: Workdir) -> dict[str, dict[str, str]]:
    """``{modality: {item_id: split}}`` from ``splits/splits.csv``; UserError if unusable."""
    out: dict[str, dict[str, str]] = {"music": {}, "images": {}}
    for row in T.read_table(workdir.root, T.SPLITS):
        if row["modality"] in out and row["split"] in SPLITS:
            out[row["modality"]][row["item_id"]] = row["split"]
    return out


def read_pairs(workdir: Workdir, split: str) -> list[tuple[str, str, int]]:
    table = T.PAIRS[split]
    try:
        return [(r["image_id"], r["segment_id"], int(r["target"]))
                for r in T.read_table(workdir.root, table)]
    except ValueError:
        raise UserError(f"{table.at(workdir.root)}: 'target' must be 0 or 1") from None
