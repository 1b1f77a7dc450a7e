"""Do the training recipes learn at the paper's widths? Planted stores of known Bayes accuracy.

Builds feature stores with the paper's input sizes (2,048-d images, 193-d music), where
class c adds ``--signal`` to dimension c of each modality (three informative dimensions,
unit Gaussian noise everywhere), splits them under the balanced protocol, trains each
recipe with the paper's layer widths, and prints the test accuracy beside the Bayes
accuracy of the pair task, computed by Monte Carlo from the generating distribution.

    python benchmarks/bench_recipes.py [--items 6000] [--epochs 50] [--recipes default paper]

``--width-scale 0.25`` divides every hidden width by four (a quicker look; the docs'
figures use 1).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from imac_builder.config import SplitConfig

LABELS = ("positive", "neutral", "negative")


def planted(wd: Path, items: int, signal: float, seed: int = 0, segs: int = 3) -> None:
    from imac_builder.features.store import write_store

    rng = np.random.default_rng(seed)

    def feats(n: int, dim: int, lab: np.ndarray) -> np.ndarray:
        x = rng.standard_normal((n, dim)).astype(np.float32)
        x[np.arange(n), lab] += signal
        return x

    lab = np.arange(items) % 3
    write_store(wd / "features/images.h5", feats(items, 2048, lab),
                [f"img{i:06d}" for i in range(items)], [LABELS[c] for c in lab],
                {"emotion": ["awe"] * items}, {}, modality="images")
    songs = items // segs
    seg_lab = np.repeat(np.arange(songs) % 3, segs)
    tracks = np.repeat([f"TRPLANT{i:011d}" for i in range(songs)], segs)
    write_store(wd / "features/music.h5", feats(len(seg_lab), 193, seg_lab),
                [f"{t}_{k % segs:03d}" for k, t in enumerate(tracks)],
                [LABELS[c] for c in seg_lab], {"track_id": list(tracks)}, {},
                modality="music")


def bayes_balanced(signal: float, n: int = 400_000, seed: int = 1) -> float:
    """Bayes accuracy of the pair task under the balanced protocol (cell weights 2 on the
    diagonal, 1 elsewhere), from the generating distribution: class c shifts dimension c
    by ``signal``, so p(x | c) ∝ exp(signal · x_c) over the three informative dimensions."""
    rng = np.random.default_rng(seed)
    w = np.ones((3, 3)) + np.eye(3)
    cell = rng.choice(9, n, p=(w / w.sum()).ravel())
    ci, cm = cell // 3, cell % 3
    xi = rng.standard_normal((n, 3)) + signal * np.eye(3)[ci]
    xm = rng.standard_normal((n, 3)) + signal * np.eye(3)[cm]
    li = np.exp(signal * (xi - xi.max(1, keepdims=True)))
    lm = np.exp(signal * (xm - xm.max(1, keepdims=True)))
    joint = li[:, :, None] * lm[:, None, :] * w  # ∝ P(cell | x)
    p_true = np.trace(joint, axis1=1, axis2=2)
    p_false = joint.sum((1, 2)) - p_true
    return float(((p_true > p_false) == (ci == cm)).mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=6000, help="images, and segments")
    ap.add_argument("--signal", type=float, default=4.0)
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--recipes", nargs="+", default=["default", "paper"])
    ap.add_argument("--width-scale", type=float, default=1.0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                    help="override a recipe setting (exploration), e.g. init=torch")
    a = ap.parse_args()
    import torch

    from imac_builder.train.model import FUSION_WIDTHS, IMAGE_WIDTHS, MUSIC_WIDTHS
    from imac_builder.train.split import run_split
    from imac_builder.train.trainer import RECIPES, TrainConfig
    from imac_builder.train.trainer import run_train as train

    for item in a.set:
        key, _, value = item.partition("=")
        for r in a.recipes:
            old = RECIPES[r][key]
            RECIPES[r][key] = type(old)(value == "True" if isinstance(old, bool) else value)

    if a.threads:
        torch.set_num_threads(a.threads)

    def scale(ws: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(max(8, int(w * a.width_scale)) for w in ws)

    bayes = bayes_balanced(a.signal)
    print(f"planted: {a.items} images (2048-d), {a.items} segments (193-d), signal "
          f"{a.signal}; Bayes pair accuracy {bayes:.3f}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        wd = Path(tmp)
        planted(wd, a.items, a.signal)
        run_split(wd, progress=False, config=SplitConfig(seed=0))
        for recipe in a.recipes:
            cfg = TrainConfig.recipe_config(recipe, epochs=a.epochs,
                                            image_widths=scale(IMAGE_WIDTHS),
                                            music_widths=scale(MUSIC_WIDTHS),
                                            fusion_widths=scale(FUSION_WIDTHS))
            t0 = time.perf_counter()
            s = train(wd, run=recipe, device=a.device, config=cfg, progress=False)
            hist = json.loads((wd / f"runs/{recipe}/metrics.json").read_text())["history"]
            curve = " ".join(f"{h['loss']:.3f}" for h in hist)
            print(f"recipe {recipe}: test accuracy {s.test_accuracy:.3f} (Bayes {bayes:.3f}), "
                  f"best epoch {s.best_epoch} of {s.epochs}, {time.perf_counter() - t0:.0f} s;"
                  f" loss per epoch: {curve}", flush=True)


if __name__ == "__main__":
    main()
