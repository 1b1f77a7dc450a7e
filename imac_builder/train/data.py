"""Stores and the split loaded once onto the training device as tensors.

Which stores a model reads (``features/<name>.h5``) is its registry entry's
(:mod:`.registry`); its pipeline turns the arrays into the model's inputs:

| model | image input | music input |
|---|---|---|
| acp | ``images`` (N × 2048 float32) | ``music`` (N × 193 float32) |
| spectrogram-acp | ``images`` | ``spectrograms``, averaged into 1 s blocks, flattened |
| l3 | ``pixels`` (N × 224 × 224 × 3 uint8) | ``spectrograms`` (N × 128 × 2,402 float16) |

Pair targets of the fixed evaluation pairs are checked against the stores' labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..errors import UserError
from ..guard import printable
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
    store_names: tuple[str, str] = ("images", "music")


def as_tensors(image_array: np.ndarray, music_array: np.ndarray, config: object
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """The default pipeline: the stores' arrays as they are."""
    import torch

    return (torch.from_numpy(np.ascontiguousarray(image_array)),
            torch.from_numpy(np.ascontiguousarray(music_array)))


def spectrogram_blocks(image_array: np.ndarray, music_array: np.ndarray, config: object
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """Spectrogram-ACP: each spectrogram averaged into ``spec_blocks`` 1 s blocks."""
    import torch

    return (torch.from_numpy(np.ascontiguousarray(image_array)),
            block_means(music_array, int(getattr(config, "spec_blocks", 60))))


def l3_inputs(image_array: np.ndarray, music_array: np.ndarray, config: object
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """L3-Net: pixels (N × H × W × 3) and spectrograms (N × bands × frames) as they are."""
    if music_array.ndim != 3 or image_array.ndim != 4:
        raise UserError("L3-Net needs a pixel store (N × H × W × 3) and a spectrogram store "
                        "(N × bands × frames)")
    return as_tensors(image_array, music_array, config)


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
              config: object = None, check: bool = True) -> TrainData:
    """Load the model's two stores (its registry entry's) and the split; UserError when
    they do not match (``check``: also when a fixed pair's target disagrees with the
    stores' labels; see :func:`check_targets`). ``config``: the run's TrainConfig."""
    import torch

    from .registry import get

    entry = get(model)
    image_name, music_name = entry.stores
    images, image_arr = open_store(workdir, image_name)
    music, music_arr = open_store(workdir, music_name)
    image_x, music_x = entry.prepare(image_arr, music_arr, config)
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
    lab = {v: i for i, v in enumerate(LABELS)}
    image_label = [lab[v] for v in images.labels]
    music_label = [lab[v] for v in music.labels]
    pairs = {}
    for s in ("val", "test"):
        plist = read_pairs(workdir, s)
        _check_pairs(plist, s, splits)
        try:
            img = [index_i[a] for a, _, _ in plist]
            mus = [index_m[b] for _, b, _ in plist]
        except KeyError as e:
            raise UserError(f"splits/pairs_{s}.csv names {e.args[0]}, which is not in the "
                            "feature stores; run 'imac-build split' again") from None
        pairs[s] = PairSet(torch.tensor(img, device=device), torch.tensor(mus, device=device),
                           torch.tensor([t for _, _, t in plist], device=device))
    data = TrainData(
        images=images, music=music, image_x=image_x.to(device), music_x=music_x.to(device),
        image_label=torch.tensor(image_label, device=device),
        music_label=torch.tensor(music_label, device=device),
        image_emotion=list(images.extra.get("emotion", images.labels)),
        image_split=rows["images"], music_split=rows["music"], pairs=pairs, device=device,
        model=model, protocol=protocol, store_names=(image_name, music_name))
    if check:
        check_targets(data)
    return data


def _check_pairs(plist: list[tuple[str, str, int]], split: str,
                 splits: dict[str, dict[str, str]]) -> None:
    """UserError for a pairs file that scores nothing or pairs items of another split (a
    hand-edited splits.csv would let training items into the test). A pair may repeat:
    the balanced draw cycles the smaller classes."""
    where = f"splits/pairs_{split}.csv"
    if not plist:
        raise UserError(f"{where} holds no pairs: run 'imac-build split' again")
    for image, segment, _ in plist:
        for kind, item in (("images", image), ("music", segment)):
            other = splits[kind].get(item)
            if other is not None and other != split:
                raise UserError(f"{where} pairs {printable(item)}, which splits/splits.csv "
                                f"puts in {printable(other)}: run 'imac-build split' again")


def check_targets(data: TrainData) -> None:
    """UserError when a fixed pair's target is not (image label == music label)."""
    for s, p in data.pairs.items():
        agree = (data.image_label[p.image] == data.music_label[p.music]).long()
        wrong = int((agree != p.target).sum())
        if wrong:
            raise UserError(f"splits/pairs_{s}.csv: {wrong} of {len(p)} pair targets disagree "
                            "with the stores' labels (relabelled after the split): run "
                            "'imac-build split' again, then train")


def draw_pairs(data: TrainData, split: str, generator: torch.Generator,
               pairs_per_image: int = 2) -> PairSet:
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
                                     per_cell=-(-len(img_rows) * pairs_per_image // 12),
                                     split=split)
        dev = data.device
        return PairSet(img_rows[torch.from_numpy(i)].to(dev),
                       mus_rows[torch.from_numpy(m)].to(dev), torch.from_numpy(t).to(dev))

    img_rows = data.image_split[split].cpu().repeat(max(1, pairs_per_image // 2))
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
