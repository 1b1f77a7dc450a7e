"""Benchmark the demo: ``imac-build --workdir W demo`` in a fresh work directory, N times.

Prints each run's wall time, its music-features line and the load average before and
after, then the median. A load average above the core count means the figure is not an
idle machine's: measure again when the machine is idle (the README's figure is one).

    python benchmarks/bench_demo.py [--runs 3] [--small] [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import describe


def one_run(folder: Path, small: bool) -> tuple[float, str]:
    w = folder / "demo"
    shutil.rmtree(w, ignore_errors=True)
    cmd = [sys.executable, "-m", "imac_builder", "--workdir", str(w), "demo"]
    cmd += ["--small"] if small else []
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    took = time.perf_counter() - t0
    music = re.search(r"\[features\] music: .*", out)
    shutil.rmtree(w, ignore_errors=True)
    return took, music.group(0) if music else ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--small", action="store_true")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    folder = args.out or Path(tempfile.mkdtemp(prefix="bench-demo-"))
    print(f"machine: {describe()}")
    times = []
    for k in range(args.runs):
        before = os.getloadavg()[0]
        took, music = one_run(folder, args.small)
        times.append(took)
        print(f"run {k + 1}: {took:.1f} s (load average {before:.1f} -> "
              f"{os.getloadavg()[0]:.1f}); {music}")
    print(f"median of {len(times)}: {statistics.median(times):.1f} s "
          f"(min {min(times):.1f}, max {max(times):.1f}) on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
