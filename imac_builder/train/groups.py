"""Groups that must not straddle splits: songs that are one recording, images that are one
picture.

- Music: track ids are joined when they share a video (``download/segments.csv``
  ``video_id``, or a ``matched`` row of ``search/matches.csv``: search reuses its result for
  duplicate MSD entries), any segment's decoded-PCM sha256 (``download/segments.csv``),
  the artist (``tags/songs.csv`` ``artist_name``, case and spacing ignored; on by default)
  or near-identical audio: two segments whose standardised 193-d music features have a
  cosine similarity of at least ``AUDIO_DUPLICATE_COSINE`` (the same recording uploaded
  twice, re-encoded: the PCM differs, the features hardly).
- Images: image ids are joined when their bytes are identical (``images/images.csv``
  ``sha256``) or, when the image folder is known (given, remembered by the work directory,
  or the images stage's ``images/files``), when their perceptual hashes
  (``imagehash.phash``, 64 bits) differ in at most ``max_distance`` bits.

Missing tables simply add no links (planted stores have none).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .. import tables as T
from ..errors import UserError
from ..guard import printable
from ..workdir import Workdir


class UnionFind:
    """Disjoint sets over hashable items; ``find`` gives the smallest member as the root."""

    def __init__(self, items: Iterable[str]) -> None:
        self.parent = {i: i for i in items}

    def find(self, x: str) -> str:
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:  # path compression
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            lo, hi = sorted((ra, rb))
            self.parent[hi] = lo

    def groups(self) -> dict[str, str]:
        return {x: self.find(x) for x in self.parent}


def _rows(root: Path, table: T.Table, needed: tuple[str, ...]) -> list[dict[str, str]]:
    return T.read_table(root, table, required=needed, missing_ok=True)


def _link(uf: UnionFind, keyed: Iterable[tuple[str, str]]) -> None:
    """Join every member sharing a non-empty key."""
    first: dict[str, str] = {}
    for key, member in keyed:
        if key and member in uf.parent:
            uf.union(first.setdefault(key, member), member)


#: Segments from two tracks whose standardised features are at least this similar
#: (cosine) are taken for one recording.
AUDIO_DUPLICATE_COSINE = 0.98


def music_groups(wd: Workdir, tracks: Iterable[str], by_artist: bool = True,
                 features: np.ndarray | None = None, segment_tracks: list[str] | None = None,
                 ) -> tuple[dict[str, str], dict[str, int]]:
    """``{track_id: group}`` (tracks sharing a video, a segment's PCM hash, the artist when
    ``by_artist``, or near-identical features) and how many tracks each rule joined."""
    uf = UnionFind(sorted(set(tracks)))
    seg = _rows(wd.root, T.SEGMENTS, ("track_id", "video_id", "sha256"))
    matches = _rows(wd.root, T.MATCHES, ("track_id", "video_id", "status"))
    joined: dict[str, int] = {}

    def step(name: str, keyed: Iterable[tuple[str, str]]) -> None:
        before = merged(uf.groups())
        _link(uf, keyed)
        joined[name] = merged(uf.groups()) - before

    step("recording", [("v:" + r["video_id"], r["track_id"]) for r in seg]
         + [("v:" + r["video_id"], r["track_id"]) for r in matches if r["status"] == "matched"]
         + [("p:" + r["sha256"], r["track_id"]) for r in seg])
    if features is not None and segment_tracks is not None:
        before = merged(uf.groups())
        for i, j in near_duplicate_rows(features):
            if segment_tracks[i] != segment_tracks[j]:
                uf.union(segment_tracks[i], segment_tracks[j])
        joined["audio"] = merged(uf.groups()) - before
    if by_artist:
        songs = _rows(wd.root, T.SONGS, ("track_id", "artist_name"))
        step("artist", [("a:" + " ".join(r["artist_name"].casefold().split()), r["track_id"])
                        for r in songs if r["artist_name"].strip()])
    return uf.groups(), joined


def near_duplicate_rows(x: np.ndarray, threshold: float = AUDIO_DUPLICATE_COSINE,
                        chunk: int = 2048) -> Iterable[tuple[int, int]]:
    """Row pairs (i < j) whose standardised, unit-length feature vectors have a cosine
    similarity of at least ``threshold`` (chunked: N × chunk similarities at a time)."""
    x = np.asarray(x, dtype=np.float32).reshape(len(x), -1)
    if len(x) < 2:
        return
    z = (x - x.mean(0)) / np.maximum(x.std(0), 1e-6)
    z /= np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)
    for a in range(0, len(z), chunk):
        sim = z[a:a + chunk] @ z.T
        for i, j in zip(*np.nonzero(sim >= threshold), strict=True):
            if a + i < j:
                yield int(a + i), int(j)


def perceptual_hashes(root: Path, paths: dict[str, str]) -> dict[str, int]:
    """64-bit pHash of each readable image (ids whose file is unreadable are left out)."""
    import imagehash
    from PIL import Image, UnidentifiedImageError

    from ..images.layout import check_relpath

    out = {}
    base = root.resolve()
    for image_id, rel in paths.items():
        try:
            path = (base / check_relpath(rel)).resolve()
        except ValueError as e:
            raise UserError(f"images/images.csv, {image_id}: {e}") from None
        if not path.is_relative_to(base) or not path.is_file():
            continue
        try:
            with Image.open(path) as im:
                h = imagehash.phash(im)
        except (OSError, UnidentifiedImageError, ValueError):
            continue
        out[image_id] = int(str(h), 16)
    return out


def near_pairs(hashes: np.ndarray, max_distance: int, chunk: int = 2048
               ) -> Iterable[tuple[int, int]]:
    """Index pairs (i < j) of 64-bit hashes at most ``max_distance`` bits apart."""
    h = hashes.astype(np.uint64)
    for a in range(0, len(h), chunk):
        d = np.bitwise_count(h[a:a + chunk, None] ^ h[None, :])
        for i, j in zip(*np.nonzero(d <= max_distance), strict=True):
            if a + i < j:
                yield int(a + i), int(j)


def image_groups(wd: Workdir, image_ids: Iterable[str], image_root: Path | None = None,
                 max_distance: int = 4) -> tuple[dict[str, str], int]:
    """``{image_id: group}``: identical bytes, or (with ``image_root``) pHashes within
    ``max_distance`` bits, are one group; and how many images were hashed (found and
    readable under ``image_root``). See :func:`default_image_root`."""
    ids = sorted(set(image_ids))
    uf = UnionFind(ids)
    rows = _rows(wd.root, T.IMAGES, ("image_id", "path", "sha256"))
    _link(uf, [(r["sha256"], r["image_id"]) for r in rows])
    hashes: dict[str, int] = {}
    if image_root is not None:
        if not Path(image_root).is_dir():
            raise UserError(f"--image-root {image_root} is not a folder")
        known = set(ids)
        wanted = {r["image_id"]: r["path"] for r in rows if r["image_id"] in known}
        hashes = perceptual_hashes(Path(image_root), wanted)
        if ids and not hashes:
            raise UserError(f"the image folder {printable(str(image_root))} holds none of the "
                            f"{len(ids)} images of the split at their paths in "
                            "images/images.csv (inside the folder, not through links out "
                            "of it): give --image-root the folder the images stage read")
        order = sorted(hashes)
        for i, j in near_pairs(np.array([hashes[k] for k in order], dtype=np.uint64),
                               max_distance):
            uf.union(order[i], order[j])
    return uf.groups(), len(hashes)


def default_image_root(wd: Workdir) -> Path | None:
    """The folder ``images/images.csv`` paths are relative to: the one the work directory
    remembers (``workdir.json`` ``image_root``, from ``images --root`` or ``features
    --image-root``), else the images stage's own ``images/files``; None when neither is a
    folder."""
    from ..workdir import read_state

    remembered = read_state(wd.root).get("image_root")
    for cand in (remembered, wd.root / "images" / "files"):
        if isinstance(cand, str | Path) and str(cand) and Path(cand).is_dir():
            return Path(cand)
    return None


def merged(groups: dict[str, str]) -> int:
    """How many items were joined to another (items minus groups)."""
    return len(groups) - len(set(groups.values()))
