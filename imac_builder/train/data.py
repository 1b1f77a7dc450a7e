"""Stores and the split loaded once onto the training device as tensors.

Which stores a model reads (``features/<name>.h5``):

| model | image input | music input |
|---|---|---|
| acp | ``images`` (N × 2048 float32) | ``music`` (N × 193 float32) |
| spectrogram-acp | ``images`` | ``spectrograms``, averaged into 1 s blocks, flattened |
| l3 | ``pixels`` (N × 224 × 224 × 3 uint8) | ``spectrograms`` (N × 128 × 2,402 float16) |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..errors import UserError
from ..workdir import Workdir
from .split import LABELS, SPLITS, balanced_pair_rows, read_pairs, read_protocol, read_splits

if TYPE_CHECKING:
    import torch

    from ..features.arrays import ArrayStore
    from ..features.store import FeatureStore

    Store = FeatureStore | ArrayStore


@dataclass
class PairSet:
    """Image rows, music rows and targets of fixed evaluation pairs, on the device."""

    image: torch.Tensor
    music: torch.Tensor
    target: torch.Tensor

    def __len__(self) -> int:
        return int(self.target.shape[0])


@dataclass
class TrainData:
    """Everything training and evaluation read, already on ``device``."""

    images: Store
    music: Store
    image_x: torch.Tensor  # all images × the model's image input
    music_x: torch.Tensor  # all segments × the model's music input
    image_label: torch.Tensor  # 3-class index per image row
    music_label: torch.Tensor
    image_emotion: list[str]
    image_split: dict[str, torch.Tensor]  # split -> image rows
    music_split: dict[str, torch.Tensor]
    pairs: dict[str, PairSet]  # val, test
    device: torch.device
    model: str = "acp"
    protocol: str = "balanced"  # the split's pair protocol, used for training pairs too


#: model -> (image store, music store) under features/
STORES = {"acp": ("images", "music"), "spectrogram-acp": ("images", "spectrograms"),
          "l3": ("pixels", "spectrograms")}


def open_store(workdir: Workdir, name: str) -> tuple[Store, np.ndarray]:
    """A store and its array: a feature store (``images``, ``music``) or an array store
    (``pixels``, ``spectrograms``)."""
    from ..features.arrays import ArrayStore
    from ..features.store import FeatureStore

    path = workdir.root / "features" / f"{name}.h5"
    if name in ("images", "music"):
        fs = FeatureStore.open(path)
        return fs, fs.features
    store = ArrayStore.open(path, name)
    return store, store.data


def block_means(spectrograms: np.ndarray, blocks: int, chunk: int = 512) -> torch.Tensor:
    """N × bands × frames -> N × (bands · blocks) float32: the dB values averaged over
    ``blocks`` equal stretches of time (Spectrogram-ACP's input), chunked so a 10 GB
    float16 store never becomes 20 GB of float32 at once."""
    import torch
    import torch.nn.functional as F

    n, bands, frames = spectrograms.shape
    if frames < blocks:
        raise UserError(f"the spectrogram store has {frames} frames per segment, fewer than "
                        f"the {blocks} blocks Spectrogram-ACP averages into")
    out = torch.empty((n, bands * blocks), dtype=torch.float32)
    for b in range(0, n, chunk):
        x = torch.from_numpy(np.asarray(spectrograms[b:b + chunk], dtype=np.float32))
        out[b:b + chunk] = F.adaptive_avg_pool1d(x, blocks).reshape(len(x), -1)
    return out


def resolve_device(name: str) -> torch.device:
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda: no CUDA GPU is visible to torch on this machine")
    return torch.device(name)


def load_data(workdir: Workdir, device: torch.device, model: str = "acp",
              spec_blocks: int = 60) -> TrainData:
    """Load the model's two stores and the split; UserError when they do not match."""
    import torch

    if model not in STORES:
        raise UserError(f"unknown model {model!r}: choose {', '.join(STORES)}")
    image_name, music_name = STORES[model]
    images, image_arr = open_store(workdir, image_name)
    music, music_arr = open_store(workdir, music_name)
    if model == "spectrogram-acp":
        music_x = block_means(music_arr, spec_blocks)
    else:
        music_x = torch.from_numpy(np.ascontiguousarray(music_arr))
    if model == "l3" and (music_arr.ndim != 3 or image_arr.ndim != 4):
        raise UserError("L3-Net needs a pixel store (N × H × W × 3) and a spectrogram store "
                        "(N × bands × frames)")
    splits = read_splits(workdir)
    protocol = read_protocol(workdir)
    rows: dict[str, dict[str, torch.Tensor]] = {}
    for name, store in (("music", music), ("images", images)):
        assign = splits[name]
        absent = [i for i in store.ids if i not in assign]
        if absent:
            raise UserError(
                f"the {name} store does not match splits/splits.csv: {len(absent)} ids have "
                f"no split (first: {absent[0]}); run 'imac-build split' again")
        bad = sorted(set(store.labels) - set(LABELS))
        if bad:
            raise UserError(f"the {name} store has labels outside {LABELS}: {bad[:3]}")
        rows[name] = {s: torch.tensor([i for i, v in enumerate(store.ids) if assign[v] == s],
                                      dtype=torch.long, device=device) for s in SPLITS}
        for s in SPLITS:
            if len(rows[name][s]) == 0:
                raise UserError(f"the {s} split has no {name}: too little data to train")
    index_i = {v: i for i, v in enumerate(images.ids)}
    index_m = {v: i for i, v in enumerate(music.ids)}
    pairs = {}
    for s in ("val", "test"):
        plist = read_pairs(workdir, s)
        try:
            img = [index_i[a] for a, _, _ in plist]
            mus = [index_m[b] for _, b, _ in plist]
        except KeyError as e:
            raise UserError(f"splits/pairs_{s}.csv names {e.args[0]}, which is not in the "
                            "feature stores; run 'imac-build split' again") from None
        pairs[s] = PairSet(torch.tensor(img, device=device), torch.tensor(mus, device=device),
                           torch.tensor([t for _, _, t in plist], device=device))
    lab = {v: i for i, v in enumerate(LABELS)}
    return TrainData(
        images=images, music=music,
        image_x=torch.from_numpy(np.ascontiguousarray(image_arr)).to(device),
        music_x=music_x.to(device),
        image_label=torch.tensor([lab[v] for v in images.labels], device=device),
        music_label=torch.tensor([lab[v] for v in music.labels], device=device),
        image_emotion=list(images.extra.get("emotion", images.labels)),
        image_split=rows["images"], music_split=rows["music"], pairs=pairs, device=device,
        model=model, protocol=protocol)


def draw_pairs(data: TrainData, split: str, generator: torch.Generator) -> PairSet:
    """Fresh pairs for one epoch under the split's protocol, drawn with a CPU generator so
    the CPU and the GPU draw the same pairs for the same seed. ``balanced``: F false pairs
    per other-class cell and 2F per same-class cell, F = images / 6 (about two pairs per
    image, as ``paper``); ``paper``: each image once with music of its class and once with
    music of another class."""
    import torch

    if data.protocol == "balanced":
        img_rows = data.image_split[split].cpu()
        mus_rows = data.music_split[split].cpu()
        seed = int(torch.randint(2**62, (1,), generator=generator))
        i, m, t = balanced_pair_rows(data.image_label.cpu()[img_rows].numpy(),
                                     data.music_label.cpu()[mus_rows].numpy(),
                                     np.random.default_rng(seed),
                                     per_cell=-(-len(img_rows) // 6), split=split)
        dev = data.device
        return PairSet(img_rows[torch.from_numpy(i)].to(dev),
                       mus_rows[torch.from_numpy(m)].to(dev), torch.from_numpy(t).to(dev))

    img_rows = data.image_split[split].cpu()
    mus_rows = data.music_split[split].cpu()
    mus_lab = data.music_label.cpu()[mus_rows]
    img_rows = img_rows[torch.randperm(len(img_rows), generator=generator)]
    img_lab = data.image_label.cpu()[img_rows]
    true_m = torch.empty(len(img_rows), dtype=torch.long)
    false_m = torch.empty(len(img_rows), dtype=torch.long)
    for c in range(len(LABELS)):
        mask = img_lab == c
        k = int(mask.sum())
        if k == 0:
            continue
        same = mus_rows[mus_lab == c]
        other = mus_rows[mus_lab != c]
        if len(same) == 0 or len(other) == 0:
            raise UserError(f"the {split} split lacks music for class {LABELS[c]} or for the "
                            "other classes: cannot draw balanced pairs")
        true_m[mask] = same[torch.randint(len(same), (k,), generator=generator)]
        false_m[mask] = other[torch.randint(len(other), (k,), generator=generator)]
    image = torch.cat([img_rows, img_rows])
    music = torch.cat([true_m, false_m])
    target = torch.cat([torch.ones(len(img_rows), dtype=torch.long),
                        torch.zeros(len(img_rows), dtype=torch.long)])
    dev = data.device
    return PairSet(image.to(dev), music.to(dev), target.to(dev))
