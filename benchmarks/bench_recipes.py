"""Do the training recipes learn at the paper's widths? Planted stores of known Bayes accuracy.

Builds feature stores with the paper's input sizes (2,048-d images, 193-d music), where
class c adds ``--signal`` to dimension c of each modality (three informative dimensions,
unit Gaussian noise everywhere), splits them under the balanced protocol, trains each
recipe with the paper's layer widths, and prints the test accuracy beside the Bayes
accuracy of the pair task, computed by Monte Carlo from the generating distribution,
and the classifier reference (two logistic regressions on the class labels, combined by
agreement: ``imac_builder.train.classifiers``).

    python benchmarks/bench_recipes.py [--items 6000] [--epochs 50] \
        [--recipes default paper class-heads]

Only ``default`` and ``paper`` are label-free (ACP-Net); ``class-heads`` is "ACP-Net +
class heads" and uses the per-modality class labels, like the reference.

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


def planted(wd: Path, items: int, signal: float, seed: int = 0, segs: int = 3,
            image_dim: int = 2048, music_dim: int = 193) -> None:
    """Class c adds ``signal`` to dimension c of each modality; unit Gaussian noise."""
    from imac_builder.features.store import write_store

    rng = np.random.default_rng(seed)

    def feats(n: int, dim: int, lab: np.ndarray) -> np.ndarray:
        x = rng.standard_normal((n, dim)).astype(np.float32)
        x[np.arange(n), lab] += signal
        return x

    lab = np.arange(items) % 3
    write_store(wd / "features/images.h5", feats(items, image_dim, lab),
                [f"img{i:06d}" for i in range(items)], [LABELS[c] for c in lab],
                {"emotion": ["awe"] * items}, {}, modality="images")
    songs = items // segs
    seg_lab = np.repeat(np.arange(songs) % 3, segs)
    tracks = np.repeat([f"TRPLANT{i:011d}" for i in range(songs)], segs)
    write_store(wd / "features/music.h5", feats(len(seg_lab), music_dim, seg_lab),
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
    ap.add_argument("--patience", type=int, default=10)
    ap.add_argument("--recipes", nargs="+", default=["default", "paper", "class-heads"])
    ap.add_argument("--width-scale", type=float, default=1.0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                    help="override a recipe setting (exploration), e.g. lr=3e-4")
    a = ap.parse_args()
    import logging

    import torch

    from imac_builder.config import TrainConfig
    from imac_builder.train.classifiers import agreement_reference
    from imac_builder.train.data import load_data
    from imac_builder.train.recipes import FUSION_WIDTHS, IMAGE_WIDTHS, MUSIC_WIDTHS, RECIPES
    from imac_builder.train.split import run_split
    from imac_builder.train.trainer import run_train as train
    from imac_builder.workdir import Workdir

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("imac_builder.train.trainer").setLevel(logging.INFO)
    overrides = {}
    for item in a.set:
        key, _, value = item.partition("=")
        old = RECIPES["default"][key]
        overrides[key] = (value == "True") if isinstance(old, bool) else type(old)(value)
    if a.threads:
        torch.set_num_threads(a.threads)

    def scale(ws: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(max(8, int(w * a.width_scale)) for w in ws)

    bayes = bayes_balanced(a.signal)
    print(f"planted: {a.items} images (2048-d), {a.items} segments (193-d), signal "
          f"{a.signal}; Bayes pair accuracy {bayes:.3f}; torch threads "
          f"{torch.get_num_threads()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        wd = Path(tmp)
        planted(wd, a.items, a.signal)
        run_split(wd, progress=False, config=SplitConfig(seed=0))
        t0 = time.perf_counter()
        ref = agreement_reference(load_data(Workdir(wd), torch.device("cpu")))
        print(f"reference (two logistic regressions on the class labels, combined by "
              f"agreement; uses class labels): test accuracy {ref['pair_accuracy']:.3f} "
              f"(image classifier {ref['image_accuracy']:.3f}, music classifier "
              f"{ref['music_accuracy']:.3f}), {time.perf_counter() - t0:.1f} s", flush=True)
        for recipe in a.recipes:
            cfg = TrainConfig.recipe_config(recipe, epochs=a.epochs, patience=a.patience,
                                            image_widths=scale(IMAGE_WIDTHS),
                                            music_widths=scale(MUSIC_WIDTHS),
                                            fusion_widths=scale(FUSION_WIDTHS), **overrides)
            t0 = time.perf_counter()
            s = train(wd, run=recipe, device=a.device, config=cfg, progress=False)
            hist = json.loads((wd / f"runs/{recipe}/metrics.json").read_text())["history"]
            curve = " ".join(f"{h['loss']:.3f}/{h['val_accuracy']:.3f}" for h in hist)
            labels = "uses class labels" if cfg.class_head_weight > 0 else "label-free"
            print(f"recipe {recipe} ({labels}): test accuracy {s.test_accuracy:.3f} (Bayes "
                  f"{bayes:.3f}), best epoch {s.best_epoch} of {s.epochs}, "
                  f"{time.perf_counter() - t0:.0f} s; loss/val accuracy per epoch: {curve}",
                  flush=True)


if __name__ == "__main__":
    main()
