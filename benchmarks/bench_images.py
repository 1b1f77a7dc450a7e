"""Benchmark the images stage's checks on 10,000 small JPEGs made from real photographs.

Generates the images once (crops of Debian's wallpaper photographs, 320x240, JPEG
quality 85, like Flickr's medium-size pictures), then checks all of them, one after the
other, in this process:

* reference: the straightforward loop: sha256 of the bytes, ``Image.open(...).load()``;
* ours, serial: :func:`imac_builder.images.check.check_many` with ``jobs=1``;
* ours, parallel: the same with one process per core (``--jobs``).

Prints wall time, images/second and CPU time (this process and its workers) for each
(best of ``--repeat`` runs) and the ratios, then times the whole stage (``run_images``:
listing, checks, duplicates, tables) once and a rerun. "cores busy" (CPU / wall) shows
how many cores a run actually got: on a machine shared with other work the parallel
speed-up is capped by it, while the CPU per image shows what parallelism costs.

    python benchmarks/bench_images.py [--n 10000] [--jobs N] [--out DIR] [--repeat 3]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from machine import describe  # benchmarks/machine.py

from imac_builder.config import ImagesConfig

PHOTOS = sorted(Path("/usr/share/backgrounds/mate/nature").glob("*.jpg"))
SIZE = (320, 240)


def _make_batch(args: tuple[str, int, int, int]) -> int:
    from PIL import Image

    out, start, stop, seed = args
    rng = random.Random(seed)
    sources = []
    for p in PHOTOS:
        with Image.open(p) as im:
            im.draft("RGB", (1280, 960))
            sources.append(im.convert("RGB"))
    for i in range(start, stop):
        src = sources[i % len(sources)]
        w, h = src.size
        cw, ch = rng.randint(w // 4, w // 2), rng.randint(h // 4, h // 2)
        x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
        tile = src.crop((x, y, x + cw, y + ch)).resize(SIZE)
        folder = Path(out) / ("amusement", "anger", "awe", "contentment", "disgust",
                              "excitement", "fear", "sadness")[i % 8]
        folder.mkdir(parents=True, exist_ok=True)
        tile.save(folder / f"{folder.name}_{i:05d}.jpg", quality=85)
    return stop - start


def generate(out: Path, n: int, jobs: int) -> list[Path]:
    existing = sorted(out.rglob("*.jpg"))
    if len(existing) == n:
        return existing
    step = max(1, n // (jobs * 4))
    batches = [(str(out), s, min(n, s + step), s) for s in range(0, n, step)]
    with ProcessPoolExecutor(jobs) as pool:
        list(pool.map(_make_batch, batches))
    return sorted(out.rglob("*.jpg"))


def reference(paths: list[Path]) -> int:
    from PIL import Image

    ok = 0
    for p in paths:
        data = p.read_bytes()
        hashlib.sha256(data).hexdigest()
        try:
            with Image.open(p) as im:
                im.load()
            ok += 1
        except Exception:  # noqa: BLE001
            pass
    return ok


def ours(paths: list[Path], root: Path, jobs: int) -> int:
    from imac_builder.images.check import DEFAULT_MAX_PIXELS, check_many

    tasks = [(p.relative_to(root).as_posix(), str(p), DEFAULT_MAX_PIXELS) for p in paths]
    return sum(not r.problem for r in check_many(tasks, jobs=jobs))


def _burn(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i
    return total


def control(jobs: int) -> float:
    """The speed-up a trivially parallel CPU task gets on this machine right now."""
    work = [1_000_000] * (jobs * 6)
    t = time.perf_counter()
    list(map(_burn, work))
    serial = time.perf_counter() - t
    t = time.perf_counter()
    with ProcessPoolExecutor(jobs) as pool:
        list(pool.map(_burn, work))
    return serial / (time.perf_counter() - t)


def _cpu() -> float:
    """CPU seconds used so far by this process and its finished children."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    from imac_builder.images.check import default_jobs

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--jobs", type=int, default=default_jobs())
    ap.add_argument("--out", type=Path, help="keep the generated images here (reused)")
    ap.add_argument("--repeat", type=int, default=3, help="best of this many runs each")
    args = ap.parse_args()
    if not PHOTOS:
        sys.exit("needs the mate-backgrounds photographs (apt-get install mate-backgrounds)")
    tmp = None
    if args.out is None:
        tmp = tempfile.TemporaryDirectory(prefix="bench_images_")
        out = Path(tmp.name)
    else:
        out = args.out
    t0 = time.perf_counter()
    paths = generate(out, args.n, args.jobs)
    mb = sum(p.stat().st_size for p in paths) / 1e6
    print(f"{len(paths)} JPEGs {SIZE[0]}x{SIZE[1]} ({mb:.0f} MB) from {len(PHOTOS)} photographs "
          f"ready in {time.perf_counter() - t0:.1f} s")
    print(f"machine: {describe()}")
    for p in paths:  # warm the page cache so every method reads from memory
        p.read_bytes()
    print(f"control: a trivially parallel CPU task runs x{control(args.jobs):.2f} faster on "
          f"{args.jobs} processes than on 1 right now (the most this machine can show)")
    results = {}
    methods = [("reference (sha256 + full decode, serial)", lambda: reference(paths)),
               ("ours, serial (--jobs 1)", lambda: ours(paths, out, 1)),
               (f"ours, parallel (--jobs {args.jobs})", lambda: ours(paths, out, args.jobs))]
    print(f"{'method':44s} {'wall':>7s}    {'images/s':>8s}   CPU, all processes   "
          "cores busy")
    for name, fn in methods:
        best, cpu = float("inf"), 0.0
        for _ in range(max(1, args.repeat)):
            c = _cpu()
            t = time.perf_counter()
            ok = fn()
            wall = time.perf_counter() - t
            if wall < best:
                best, cpu = wall, _cpu() - c
        results[name] = len(paths) / best
        print(f"{name:44s} {best:7.2f} s  {len(paths) / best:8.0f}   {cpu:6.2f} s "
              f"({1e6 * cpu / len(paths):3.0f} us/img)   {cpu / best:4.2f}   ({ok} ok)")
    with tempfile.TemporaryDirectory(prefix="bench_images_w_") as w:
        from imac_builder.images import run_images

        for label in ("stage end to end (run_images)", "stage rerun (checks reused)"):
            t = time.perf_counter()
            s = run_images(w, root=out, progress=False, config=ImagesConfig(jobs=args.jobs))
            dt = time.perf_counter() - t
            print(f"{label:44s} {dt:7.2f} s  {len(paths) / dt:8.0f} images/s  "
                  f"({s.per_status.get('ok', 0)} ok, {s.checked} checked)")
    print(f"control again: x{control(args.jobs):.2f}")
    base = next(iter(results.values()))
    serial = results["ours, serial (--jobs 1)"]
    for name, rate in results.items():
        print(f"{name:44s} x{rate / base:5.2f} vs reference   x{rate / serial:5.2f} vs serial")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
