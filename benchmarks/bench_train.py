"""Benchmark ACP-Net training: on-device tensors and pair drawing (ours) beside a plain
PyTorch ``Dataset`` + ``DataLoader`` that reads each pair's rows from the HDF5 stores.

Builds feature stores at IMAC scale (16,000 segments × 193, 90,000 images × 2048; use
``--scale`` for less), splits them, then times whole epochs of both loops with the same
model, batch size and pair counts, in one run.

    python benchmarks/bench_train.py [--scale 0.05] [--epochs 2] [--device cpu|cuda]

On one H100, pass ``--scale 1 --epochs 50`` to time the issue's 50-epoch target.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from imac_builder.config import SplitConfig


def make_stores(wd: Path, scale: float, seed: int = 0) -> None:
    from imac_builder.features.store import write_store

    rng = np.random.default_rng(seed)
    labels = ("positive", "neutral", "negative")
    n_img, n_songs, segs = int(90_000 * scale), int(4_000 * scale), 4
    lab = rng.integers(0, 3, n_img)
    write_store(wd / "features/images.h5", rng.standard_normal((n_img, 2048), np.float32),
                [f"img{i:06d}" for i in range(n_img)], [labels[c] for c in lab],
                {"emotion": ["awe"] * n_img}, {}, modality="images")
    song_lab = rng.integers(0, 3, n_songs)
    tracks = np.repeat([f"TRBENCH{i:011d}" for i in range(n_songs)], segs)
    write_store(wd / "features/music.h5",
                rng.standard_normal((n_songs * segs, 193), np.float32),
                [f"{t}_{k % segs:03d}" for k, t in enumerate(tracks)],
                [labels[c] for c in np.repeat(song_lab, segs)], {"track_id": list(tracks)},
                {}, modality="music")


def ours(wd: Path, device: str, epochs: int) -> tuple[float, int]:
    from imac_builder.train.trainer import TrainConfig
    from imac_builder.train.trainer import run_train as train

    cfg = TrainConfig(epochs=epochs, patience=epochs + 1, batch_size=256)  # as the DataLoader
    t0 = time.perf_counter()
    s = train(wd, run="bench", device=device, config=cfg, fresh=True, progress=False)
    return time.perf_counter() - t0, s.epochs


def dataloader(wd: Path, device: str, epochs: int) -> float:
    """The usual way: a Dataset whose __getitem__ reads one pair from HDF5."""
    import h5py
    import torch
    from torch.utils.data import DataLoader, Dataset

    from imac_builder.train.data import draw_pairs, load_data
    from imac_builder.train.model import ACPNet
    from imac_builder.workdir import Workdir

    dev = torch.device(device)
    data = load_data(Workdir(wd), torch.device("cpu"))  # only for the pair lists

    class Pairs(Dataset):
        def __init__(self, pairs) -> None:
            self.pairs = pairs
            self.img = self.mus = None

        def __len__(self) -> int:
            return len(self.pairs)

        def __getitem__(self, i: int):
            if self.img is None:
                self.img = h5py.File(wd / "features/images.h5", "r")["features"]
                self.mus = h5py.File(wd / "features/music.h5", "r")["features"]
            return (torch.from_numpy(self.img[int(self.pairs.image[i])]),
                    torch.from_numpy(self.mus[int(self.pairs.music[i])]),
                    self.pairs.target[i])

    torch.manual_seed(0)
    model = ACPNet().to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    gen = torch.Generator().manual_seed(0)
    t0 = time.perf_counter()
    for _ in range(epochs):
        loader = DataLoader(Pairs(draw_pairs(data, "train", gen)), batch_size=256,
                            shuffle=True, num_workers=0)
        model.train()
        for xi, xm, y in loader:
            loss = torch.nn.functional.cross_entropy(model(xi.to(dev), xm.to(dev)), y.to(dev))
            opt.zero_grad()
            loss.backward()
            opt.step()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=0.05)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    import torch

    from imac_builder.train.split import run_split

    with tempfile.TemporaryDirectory() as tmp:
        wd = Path(tmp)
        make_stores(wd, args.scale)
        run_split(wd, progress=False, config=SplitConfig(seed=0))
        name = torch.cuda.get_device_name() if args.device == "cuda" else "CPU"
        print(f"device {args.device} ({name}), torch {torch.__version__}, scale {args.scale}: "
              f"{int(90_000 * args.scale)} images, {int(16_000 * args.scale)} segments")
        t_ours, n = ours(wd, args.device, args.epochs)
        t_dl = dataloader(wd, args.device, n)
        print(f"{'loop':<34} {'epochs':>6} {'seconds':>8} {'s/epoch':>8}")
        print(f"{'ours (tensors on device)':<34} {n:>6} {t_ours:8.1f} {t_ours / n:8.2f}")
        print(f"{'Dataset+DataLoader reading HDF5':<34} {n:>6} {t_dl:8.1f} {t_dl / n:8.2f}")
        print(f"ratio DataLoader/ours: {t_dl / t_ours:.1f}x "
              "(ours includes validation, checkpoints and the test pass)")


if __name__ == "__main__":
    main()
