"""Loading a finished work directory (or a rebuilt one) as PyTorch datasets.

- :class:`PairDataset`: image-music pairs with their target (1: same emotion class,
  0: not). Validation and test use the split's fixed pairs (``splits/pairs_*.csv``);
  train draws pairs under the split's protocol with ``seed`` (call
  :meth:`PairDataset.reshuffle` for fresh pairs each epoch, as ``train`` does).
- :class:`ItemDataset`: the single items of one modality (music segments or images) of
  a split, with their class.

``kind="features"`` gives the stores' vectors (``features/music.h5``, 193-d;
``features/images.h5``, 2048-d) as float32 tensors; ``kind="paths"`` gives the files for
end-to-end models: the segment's FLAC (``audio/<track_id>/<segment_id>.flac``) and the
image's path under the image root, with no decoding (decode them in your own transform).
Labels are indices into :data:`imac_builder.vocab.LABELS`.

The folder also holds the package's data files (``exclusions.txt``, ``sample/``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from .. import tables as T
from ..errors import UserError
from ..vocab import LABELS
from ..workdir import Workdir, read_state

KINDS = ("features", "paths")
SPLITS = ("train", "val", "test")
MODALITIES = ("music", "images")


def _wd(workdir: Workdir | Path | str) -> Workdir:
    return workdir if isinstance(workdir, Workdir) else Workdir(Path(workdir))


def _check(split: str, kind: str) -> None:
    if split not in SPLITS:
        raise UserError(f"split {split!r}: choose {', '.join(SPLITS)}")
    if kind not in KINDS:
        raise UserError(f"kind {kind!r}: choose {', '.join(KINDS)}")


class _Items:
    """One modality's items of a work directory: ids, labels, split, and either the
    store's rows or the files."""

    def __init__(self, wd: Workdir, modality: str, kind: str,
                 image_root: Path | None) -> None:
        from ..train.split import read_splits

        if modality not in MODALITIES:
            raise UserError(f"modality {modality!r}: choose {', '.join(MODALITIES)}")
        self.assign = read_splits(wd)[modality]
        self.kind = kind
        if kind == "features":
            from ..features.store import FeatureStore

            store = FeatureStore.open(T.STORES[modality].at(wd.root))
            self.ids, self.labels = store.ids, store.labels
            self.features: np.ndarray | None = store.features
            self.paths: list[str] = []
            return
        self.features = None
        if modality == "music":
            rows = T.read_table(wd.root, T.SEGMENTS, required=("segment_id", "track_id",
                                                               "label"))
            self.ids = [r["segment_id"] for r in rows]
            self.labels = [r["label"] for r in rows]
            self.paths = [str(wd.root / "audio" / r["track_id"] / f"{r['segment_id']}.flac")
                          for r in rows]
        else:
            root = image_root or _image_root(wd)
            rows = [r for r in T.read_table(wd.root, T.IMAGES, required=(
                "image_id", "path", "label", "status")) if r["status"] == "ok"]
            self.ids = [r["image_id"] for r in rows]
            self.labels = [r["label"] for r in rows]
            self.paths = [str(Path(root) / r["path"]) for r in rows]
        self.index = {v: i for i, v in enumerate(self.ids)}

    def row(self, i: int) -> Any:
        if self.features is not None:
            return torch.from_numpy(self.features[i])
        return self.paths[i]

    def position(self, item_id: str) -> int:
        if not hasattr(self, "index"):
            self.index = {v: i for i, v in enumerate(self.ids)}
        try:
            return self.index[item_id]
        except KeyError:
            raise UserError(f"{item_id} is in the split but not among the {self.kind} "
                            "items: run 'imac-build split' again") from None


def _image_root(wd: Workdir) -> Path:
    """The image root the work directory remembers, else ``images/files``."""
    remembered = read_state(wd.root).get("image_root")
    if isinstance(remembered, str) and remembered:
        return Path(remembered)
    if (wd.root / "images" / "files").is_dir():
        return wd.root / "images" / "files"
    raise UserError("no image root: the work directory remembers none; pass image_root=")


class ItemDataset(Dataset):
    """The items of one ``modality`` in one ``split``: ``(x, label)``, ``x`` a float32
    feature vector (``kind="features"``) or a file path (``kind="paths"``)."""

    def __init__(self, workdir: Workdir | Path | str, modality: str = "music",
                 split: str = "train", kind: str = "features",
                 image_root: Path | None = None) -> None:
        _check(split, kind)
        self.items = _Items(_wd(workdir), modality, kind, image_root)
        self.rows = [i for i, v in enumerate(self.items.ids)
                     if self.items.assign.get(v) == split]
        self.ids = [self.items.ids[i] for i in self.rows]
        self.targets = [LABELS.index(self.items.labels[i]) for i in self.rows]

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, k: int) -> tuple[Any, int]:
        return self.items.row(self.rows[k]), self.targets[k]


class PairDataset(Dataset):
    """Image-music pairs of one ``split``: ``(music, image, target)``, each a float32
    vector (``kind="features"``) or a file path (``kind="paths"``); ``target`` is 1
    when both have the same class. Val and test: the split's fixed pairs; train: pairs
    drawn under the split's protocol with ``seed`` (:meth:`reshuffle` draws afresh)."""

    def __init__(self, workdir: Workdir | Path | str, split: str = "train",
                 kind: str = "features", seed: int = 0,
                 image_root: Path | None = None) -> None:
        _check(split, kind)
        self.wd = _wd(workdir)
        self.split = split
        self.music = _Items(self.wd, "music", kind, image_root)
        self.images = _Items(self.wd, "images", kind, image_root)
        if split == "train":
            self.reshuffle(seed)
        else:
            from ..train.split import read_pairs

            self.pairs = [(self.music.position(m), self.images.position(i), t)
                          for i, m, t in read_pairs(self.wd, split)]

    def reshuffle(self, seed: int) -> None:
        """Draw the training pairs again (the split's protocol, seeded)."""
        from ..train.split import make_pairs, read_protocol

        if self.split != "train":
            raise UserError("only the train split draws its pairs; val and test are fixed")
        m = [i for i, v in enumerate(self.music.ids) if self.music.assign.get(v) == "train"]
        im = [i for i, v in enumerate(self.images.ids)
              if self.images.assign.get(v) == "train"]
        pairs = make_pairs([self.images.ids[i] for i in im],
                           [self.images.labels[i] for i in im],
                           [self.music.ids[i] for i in m], [self.music.labels[i] for i in m],
                           np.random.default_rng(seed), "train", read_protocol(self.wd))
        self.pairs = [(self.music.position(mid), self.images.position(iid), t)
                      for iid, mid, t in pairs]

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, k: int) -> tuple[Any, Any, int]:
        m, i, t = self.pairs[k]
        return self.music.row(m), self.images.row(i), int(t)


__all__ = ["ItemDataset", "PairDataset"]
