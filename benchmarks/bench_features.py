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

``--jobs-compare N`` instead times the whole stage (``run_features``, fast engine, one
segment a shard) on N real FLAC segments with ``--jobs 1`` and with every core, in turn
in one run, and prints both and their ratio.

The helpers here (:func:`flac_workdir`, :func:`stage_music_rate`, :func:`image_rate`) are
reused by ``scripts/gpu_check.py``.
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

from imac_builder.config import FeaturesConfig

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

from machine import cpu_name  # noqa: E402  (benchmarks/machine.py)

from imac_builder.features import music  # noqa: E402

SEGMENTS_CSV = ("segment_id", "track_id", "path", "sha256", "label")


def segments(n: int) -> list[np.ndarray]:
    """``n`` real 60 s segments of Debian's free music, decoded by ffmpeg."""
    from features_support import decode, music_files

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


def flac_workdir(root: Path, files: list[Path], n: int) -> list[str]:
    """A work directory whose ``download/segments.csv`` lists ``n`` segments, byte copies
    of the real FLAC segments ``files`` in turn; returns their ids."""
    import csv

    ids = [f"TR{k:016d}_000" for k in range(n)]
    rows = []
    for k, sid in enumerate(ids):
        rel = f"audio/{sid[:18]}/{sid}.flac"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(files[k % len(files)], root / rel)
        rows.append((sid, sid[:18], rel, f"sha{k}", "positive"))
    (root / "download").mkdir(parents=True, exist_ok=True)
    with (root / "download" / "segments.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(SEGMENTS_CSV)
        w.writerows(rows)
    return ids


def stage_music_rate(root: Path, engine: str, device: str, jobs: int,
                     shard_size: int | None = None) -> dict:
    """Segments per second from the FLAC files of ``root`` to ``features/music.h5``
    through the stage (rebuilt from scratch)."""
    from imac_builder.features import run_features

    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()
    t0 = time.perf_counter()
    s = run_features(root, force=True, progress=False,
                     config=FeaturesConfig(modality="music", engine=engine, device=device,
                                           jobs=jobs, shard_size=shard_size)).modalities[0]
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    return {"segments": s.items, "rows": s.rows, "failed": s.failed, "seconds": dt,
            "seg_per_s": s.items / dt, "jobs": jobs, "engine": engine, "device": device}


def image_rate(model, paths: list[Path], batch: int) -> dict:
    """Images per second from JPEG files to features in memory (``extract_images``)."""
    import torch

    from imac_builder.features import images

    if model.device.startswith("cuda"):
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    feats, good, failed = images.extract_images(model, paths, batch_size=batch)
    if model.device.startswith("cuda"):
        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    return {"images": len(paths), "failed": len(failed), "seconds": dt,
            "images_per_s": len(paths) / dt, "features": feats, "good": good}


def _flac_segments(tmp: Path, n: int) -> list[Path]:
    """``n`` real segments written as 16-bit FLAC files, as the download stage does."""
    import soundfile as sf

    out = []
    for k, y in enumerate(segments(n)):
        p = tmp / f"src{k}.flac"
        sf.write(p, y, music.SR, subtype="PCM_16", format="FLAC")
        out.append(p)
    return out


def bench_music_gpu(n: int) -> dict | None:
    """Segments per second from FLAC files to the store, torch engine on the GPU."""
    import torch

    if not torch.cuda.is_available():
        return None
    tmp = Path(tempfile.mkdtemp(prefix="bench-features-gpu-"))
    try:
        src = _flac_segments(tmp, 4)
        flac_workdir(tmp / "warm", src, 1)
        stage_music_rate(tmp / "warm", "torch", "cuda", 1)
        flac_workdir(tmp / "wd", src, n)
        out = stage_music_rate(tmp / "wd", "torch", "cuda", 1)
        return {**out, "card": torch.cuda.get_device_name(0)}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def bench_jobs(n: int) -> dict:
    """The stage on ``n`` segments (fast engine, one segment a shard) with one worker and
    with one per core, in turn, after a warm-up (numba's cache, file cache)."""
    from bench_images import control

    from imac_builder.cores import available_cores

    cores = available_cores()
    tmp = Path(tempfile.mkdtemp(prefix="bench-features-jobs-"))
    try:
        src = _flac_segments(tmp, min(n, 4))
        flac_workdir(tmp / "warm", src, 1)
        stage_music_rate(tmp / "warm", "fast", "cpu", 1)
        flac_workdir(tmp / "wd", src, n)
        before = control(cores)
        one = stage_music_rate(tmp / "wd", "fast", "cpu", 1, shard_size=1)
        every = stage_music_rate(tmp / "wd", "fast", "cpu", cores, shard_size=1)
        return {"cores": cores, "one": one, "every": every,
                "ratio": every["seg_per_s"] / one["seg_per_s"],
                "control_before": before, "control_after": control(cores),
                "load_average": os.getloadavg()[0]}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--segments", type=int, default=4)
    ap.add_argument("--images", type=int, default=32, help="images on the CPU")
    ap.add_argument("--gpu-images", type=int, default=8192, help="images on the GPU")
    ap.add_argument("--gpu-segments", type=int, default=256, help="segments on the GPU")
    ap.add_argument("--jobs-compare", type=int, default=0, metavar="N",
                    help="only: the stage on N segments with 1 worker and with every core")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.jobs_compare:
        r = bench_jobs(args.jobs_compare)
        if args.json:
            print(json.dumps(r, indent=2))
            return
        print(f"machine: {cpu_name()}, {r['cores']} cores available; load average at the "
              f"end {r['load_average']:.1f}")
        print(f"features stage, fast engine, {r['one']['segments']} real 60 s FLAC "
              "segments, one segment a shard:")
        for key, what in (("one", "--jobs 1"), ("every", f"--jobs 0 ({r['cores']} workers)")):
            x = r[key]
            print(f"  {what:<22} {x['seconds']:7.2f} s  {x['seg_per_s']:.3f} segments/s")
        print(f"  ratio: {r['ratio']:.2f}x")
        print(f"control: a trivially parallel CPU task ran x{r['control_before']:.2f} (before) "
              f"and x{r['control_after']:.2f} (after) faster on {r['cores']} processes than "
              "on 1: the most this machine could show at that moment")
        return
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
