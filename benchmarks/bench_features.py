"""Benchmark the features stage: music segments per second, reference and fast, side by side.

Decodes real 60 s segments of Debian's free music with ffmpeg (frozen-bubble-data,
singularity-music), then in one run, on the same segments:

* reference: the spec §5 recipe in plain librosa (``--engine reference``);
* fast:      the same numbers computed by ``--engine fast`` (checked equal here too).

Both run in this one process, single worker, BLAS limited to one thread (as the stage
runs music shards), alternating segment by segment. The fast
engine is warmed on one extra segment first (numba compiles its median once and caches
it on disk; later runs start warm). Prints wall and CPU seconds per segment, segments
per second and the ratio.

Then images per second from JPEG files to features (copies of Debian's mate-backgrounds
photographs, fid-helper weights) on the CPU, and, on a machine with an NVIDIA GPU
(``torch.cuda.is_available()``), through the ``--device cuda`` path (nvJPEG decoding,
batched resize, bf16, channels-last) with the card's name, and music segments per second
from 16-bit FLAC files to ``features/music.h5`` through the stage with ``--engine torch
--device cuda``.

    python benchmarks/bench_features.py [--segments 4] [--images 32] [--gpu-images 8192]
        [--gpu-segments 256] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

from features_support import decode, music_files  # noqa: E402
from machine import cpu_name  # noqa: E402  (benchmarks/machine.py)

from imac_builder.features import music  # noqa: E402


def segments(n: int) -> list[np.ndarray]:
    files = music_files(2)
    out = []
    for k in range(n):
        out.append(decode(files[k % len(files)], start=10.0 + 60.0 * (k // len(files))))
    return out


def timed(fn, y: np.ndarray) -> tuple[float, float, np.ndarray]:
    wall0, cpu0 = time.perf_counter(), time.process_time()
    vec = fn(y)
    return time.perf_counter() - wall0, time.process_time() - cpu0, vec


def bench_music(n: int) -> dict:
    """Reference and fast alternate segment by segment, so that both see the same load
    from whatever else runs on the machine."""
    from threadpoolctl import threadpool_limits

    segs = segments(n + 1)
    warm, segs = segs[0], segs[1:]
    music.fast_segment(warm)
    with threadpool_limits(1, user_api="blas"):
        return _bench_music(segs)


def _bench_music(segs: list[np.ndarray]) -> dict:
    n = len(segs)
    t = {"reference": [0.0, 0.0], "fast": [0.0, 0.0]}
    worst = 0.0
    for y in segs:
        rw, rc, r = timed(music.reference_segment, y)
        fw, fc, f = timed(music.fast_segment, y)
        t["reference"][0] += rw
        t["reference"][1] += rc
        t["fast"][0] += fw
        t["fast"][1] += fc
        for sl in music.group_slices().values():
            scale = float(np.abs(r[sl]).max()) or 1.0
            worst = max(worst, float(np.abs(r[sl] - f[sl]).max()) / scale)
    (ref_wall, ref_cpu), (fast_wall, fast_cpu) = t["reference"], t["fast"]
    return {"segments": n, "reference_wall_s": ref_wall, "reference_cpu_s": ref_cpu,
            "fast_wall_s": fast_wall, "fast_cpu_s": fast_cpu,
            "reference_seg_per_s": n / ref_wall, "fast_seg_per_s": n / fast_wall,
            "speedup_wall": ref_wall / fast_wall, "speedup_cpu": ref_cpu / fast_cpu,
            "max_error_of_group_scale": worst, "load_average": os.getloadavg()[0]}


def bench_images(n_cpu: int, n_gpu: int) -> dict:
    """Images per second from JPEG files to features (fid-helper weights): the CPU path
    always, the GPU path where CUDA is available."""
    import torch
    from features_support import photos

    from imac_builder.features import images

    src = photos(3)
    tmp = Path(tempfile.mkdtemp(prefix="bench-features-"))
    try:
        paths = []
        for k in range(max(n_cpu, n_gpu if torch.cuda.is_available() else 0)):
            p = tmp / f"{k:06d}.jpg"
            shutil.copy(src[k % len(src)], p)
            paths.append(p)
        out: dict = {"photos": [p.name for p in src], "torch_threads": torch.get_num_threads()}
        runs = [("cpu", n_cpu, 16)]
        if torch.cuda.is_available():
            out["card"] = torch.cuda.get_device_name(0)
            runs.append(("cuda", n_gpu, 256))
        for device, count, batch in runs:
            model = images.load_model("fid-helper", device)
            images.extract_images(model, paths[:batch], batch_size=batch)  # warm-up
            if device == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            _, good, failed = images.extract_images(model, paths[:count], batch_size=batch)
            if device == "cuda":
                torch.cuda.synchronize()
            out[f"{device}_images"] = count
            out[f"{device}_images_per_s"] = count / (time.perf_counter() - t0)
            out[f"{device}_failed"] = len(failed)
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def bench_music_gpu(n: int) -> dict | None:
    """Segments per second from FLAC files to the store, torch engine on the GPU."""
    import torch

    if not torch.cuda.is_available():
        return None
    from features_support import write_segments

    from imac_builder.features import run_features

    base = segments(4)
    tmp = Path(tempfile.mkdtemp(prefix="bench-features-gpu-"))
    try:
        ids = [f"TR{k:016d}_000" for k in range(n)]
        write_segments(tmp, {sid: base[k % len(base)] for k, sid in enumerate(ids)})
        warm = tmp / "warm"
        write_segments(warm, {ids[0]: base[0]})
        run_features(warm, modality="music", engine="torch", device="cuda", progress=False)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        s = run_features(tmp, modality="music", engine="torch", device="cuda",
                         progress=False).modalities[0]
        dt = time.perf_counter() - t0
        return {"segments": n, "rows": s.rows, "seconds": dt, "seg_per_s": n / dt,
                "card": torch.cuda.get_device_name(0)}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--segments", type=int, default=4)
    ap.add_argument("--images", type=int, default=32, help="images on the CPU")
    ap.add_argument("--gpu-images", type=int, default=8192, help="images on the GPU")
    ap.add_argument("--gpu-segments", type=int, default=256, help="segments on the GPU")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    res = {"machine": f"{cpu_name()}, {os.cpu_count()} cores",
           "music": bench_music(args.segments)}
    try:
        res["music_gpu"] = bench_music_gpu(args.gpu_segments)
    except ImportError as e:
        res["music_gpu"] = {"skipped": str(e)}
    try:
        res["images"] = bench_images(args.images, args.gpu_images)
    except ImportError as e:
        res["images"] = {"skipped": str(e)}
    if args.json:
        print(json.dumps(res, indent=2))
        return
    m = res["music"]
    print(f"machine: {res['machine']}; load average at the end "
          f"{res['music']['load_average']:.1f}")
    print(f"music, {m['segments']} real 60 s segments, one process:")
    print(f"  reference: {m['reference_wall_s'] / m['segments']:.2f} s/segment wall "
          f"({m['reference_cpu_s'] / m['segments']:.2f} s CPU), "
          f"{m['reference_seg_per_s']:.3f} segments/s")
    print(f"  fast:      {m['fast_wall_s'] / m['segments']:.2f} s/segment wall "
          f"({m['fast_cpu_s'] / m['segments']:.2f} s CPU), "
          f"{m['fast_seg_per_s']:.3f} segments/s")
    print(f"  ratio fast/reference: {m['speedup_wall']:.2f}x wall, {m['speedup_cpu']:.2f}x CPU;"
          f" largest difference {m['max_error_of_group_scale']:.1e} of a group's scale")
    mg = res["music_gpu"]
    if mg is None:
        print("music on GPU (torch engine): no CUDA device here (not measured)")
    elif "skipped" in mg:
        print(f"music on GPU: not measured ({mg['skipped']})")
    else:
        print(f"music on {mg['card']}, torch engine, FLAC files to the store: "
              f"{mg['seg_per_s']:.1f} segments/s ({mg['segments']} segments)")
    g = res["images"]
    if "skipped" in g:
        print(f"images: not measured ({g['skipped']})")
        return
    print("images from JPEG files to features (Inception-v3, fid-helper weights, 224 x 224):")
    print(f"  CPU ({g['torch_threads']} torch threads): {g['cpu_images_per_s']:.1f} images/s "
          f"({g['cpu_images']} images)")
    if "card" in g:
        print(f"  {g['card']}: {g['cuda_images_per_s']:.0f} images/s ({g['cuda_images']} "
              "images, nvJPEG, bf16, channels-last)")
    else:
        print("  GPU: no CUDA device here (not measured)")


if __name__ == "__main__":
    main()
