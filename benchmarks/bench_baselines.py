"""Benchmark the three models of paper Table 4: training and scoring pairs per second.

Each model runs the trainer's own step (``trainer.train_step``: gather a batch of pairs
from on-device input tensors, forward, cross-entropy, backward, Adam; bf16 autocast and
channels_last for L3-Net on a GPU) and its own scoring (``trainer.score_pairs``: each
distinct image and segment embedded once; L3-Net averages 12 one-second crops), at the
real input sizes and the paper's widths:

- ACP-Net: 2048-d Inception features, 193-d music features;
- Spectrogram-ACP: 2048-d features, 128 bands × 60 one-second blocks (7,680 inputs);
- L3-Net: 224 × 224 × 3 uint8 pixels, 128 × 2,402 float16 spectrograms (1 s crops).

It also times L3-Net's image input both ways: decoding and resizing each JPEG when it is
needed (PIL on the CPU, as the features stage does; on a GPU also nvJPEG through
torchvision when installed) beside gathering rows of the uint8 pixel store on the device.

    python benchmarks/bench_baselines.py [--device cpu|cuda] [--batch N] [--steps N]

Defaults: batch 256 and 20 steps on a GPU; batch 16 and 3 steps on a CPU, where L3-Net
at full width is slow.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from types import SimpleNamespace

PHOTOS = Path("/usr/share/backgrounds/mate/nature")


def sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()


def inputs(model: str, rows: int, device):
    """Random stores of the model's real input shapes, already on ``device``."""
    import torch

    g = torch.Generator().manual_seed(0)
    if model == "l3":
        img = torch.randint(0, 256, (rows, 224, 224, 3), dtype=torch.uint8, generator=g)
        mus = (torch.randn((max(rows // 4, 1), 128, 2402), generator=g) * 10).half()
    else:
        img = torch.randn((rows, 2048), generator=g)
        mus = torch.randn((max(rows // 4, 1), 193 if model == "acp" else 128 * 60),
                          generator=g)
    return img.to(device), mus.to(device)


def bench_model(model: str, device, batch: int, steps: int, rows: int, warmup: bool = True,
                score: bool = True) -> dict[str, float | None]:
    """Train pairs/s over ``steps`` steps (after one warm-up step unless ``warmup`` is
    false) and, if ``score``, scored pairs/s over as many pairs."""
    import torch

    from imac_builder.train.data import PairSet
    from imac_builder.train.model import build_model
    from imac_builder.train.trainer import TrainConfig, model_config, score_pairs, train_step

    # the model's own recipe; batch norm cannot train on one pair, so a batch of one
    # (the smallest check) measures the network without it
    cfg = TrainConfig.recipe_config(model=model, **({"norm": "none"} if batch < 2 else {}))
    img, mus = inputs(model, rows, device)
    torch.manual_seed(0)
    net = build_model(model_config(cfg, img.shape[1:], mus.shape[1:])).to(device)
    if model == "l3" and device.type == "cuda":
        net.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    g = torch.Generator().manual_seed(1)

    def step() -> None:
        i = torch.randint(len(img), (batch,), generator=g).to(device)
        m = torch.randint(len(mus), (batch,), generator=g).to(device)
        y = torch.randint(2, (batch,), generator=g).to(device)
        train_step(net, opt, img[i], mus[m], y, model, device)

    net.train()
    if warmup:
        step()  # warm-up: kernels, allocator
    sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    sync(device)
    train_rate = steps * batch / (time.perf_counter() - t0)
    if not score:
        return {"train": train_rate, "score": None}
    n_pairs = steps * batch
    pairs = PairSet(torch.randint(len(img), (n_pairs,), generator=g).to(device),
                    torch.randint(len(mus), (n_pairs,), generator=g).to(device),
                    torch.randint(2, (n_pairs,), generator=g).to(device))
    data = SimpleNamespace(model=model, device=device, image_x=img, music_x=mus)
    score_pairs(net, data, pairs)  # warm-up
    sync(device)
    t0 = time.perf_counter()
    score_pairs(net, data, pairs)
    sync(device)
    return {"train": train_rate, "score": n_pairs / (time.perf_counter() - t0)}


def bench_pixels(device, batch: int) -> dict[str, float]:
    """Images per second: decode + resize per image, versus a gather from the store."""
    import torch

    from imac_builder.features.pixels import image_pixels

    out: dict[str, float] = {}
    files = sorted(PHOTOS.glob("*.jpg"))[:8]
    if files:
        image_pixels(files[0])
        n = max(batch, 16)
        t0 = time.perf_counter()
        for k in range(n):
            image_pixels(files[k % len(files)])
        out["decode+resize on the CPU (PIL, 1 core)"] = n / (time.perf_counter() - t0)
        if device.type == "cuda":
            try:
                from torchvision.io import decode_jpeg, read_file
            except ImportError:
                decode_jpeg = None
            if decode_jpeg is not None:
                data = [read_file(str(files[k % len(files)])) for k in range(n)]
                decode_jpeg(data[:2], device="cuda")
                sync(device)
                t0 = time.perf_counter()
                for b in range(0, n, 64):
                    for x in decode_jpeg(data[b:b + 64], device="cuda"):
                        torch.nn.functional.interpolate(x[None].float(), size=(224, 224),
                                                        mode="bilinear", antialias=True)
                sync(device)
                out["decode+resize on the GPU (nvJPEG)"] = n / (time.perf_counter() - t0)
    store = torch.randint(0, 256, (4096, 224, 224, 3), dtype=torch.uint8).to(device)
    g = torch.Generator().manual_seed(2)
    idx = [torch.randint(len(store), (batch,), generator=g).to(device) for _ in range(20)]
    store[idx[0]].float()
    sync(device)
    t0 = time.perf_counter()
    for i in idx:
        store[i].float()
    sync(device)
    out["gather from the uint8 store"] = 20 * batch / (time.perf_counter() - t0)
    return out


def main() -> None:
    import torch

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--batch", type=int, default=None)
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--models", default="acp,spectrogram-acp,l3")
    a = ap.parse_args()
    device = torch.device(a.device)
    gpu = device.type == "cuda"
    batch = a.batch or (256 if gpu else 16)
    steps = a.steps or (20 if gpu else 3)
    name = torch.cuda.get_device_name(device) if gpu else f"CPU, {torch.get_num_threads()} " \
        "torch threads"
    print(f"device: {name}; torch {torch.__version__}; batch {batch}, {steps} timed steps")
    print(f"{'model':<17}{'train pairs/s':>15}{'score pairs/s':>15}")
    for model in a.models.split(","):
        r = bench_model(model, device, batch, steps, rows=4096 if gpu else 256)
        print(f"{model:<17}{r['train']:>15,.0f}{r['score']:>15,.0f}")
    print("\nL3-Net image input, images per second:")
    for what, rate in bench_pixels(device, batch).items():
        print(f"  {what:<42}{rate:>12,.0f}")


if __name__ == "__main__":
    main()
