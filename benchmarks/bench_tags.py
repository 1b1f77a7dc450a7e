"""Benchmark the tags stage on a Last.fm tag database at the real MSD scale.

Generates ``lastfm_tags.db`` with 505,216 tracks, 522,366 tags and 8,598,630 track-tag
rows (realistic tag strings; a few thousand contain the emotion strings), then runs in
fresh processes, one after the other:

* ours:   ``imac_builder.tags.run_tags`` (candidate tags first, then only their rows);
* pandas: the straightforward approach: load the three tables, join, filter.

Prints wall time and peak memory (max RSS) of each, and the ratios.

    python benchmarks/bench_tags.py [--out DIR] [--no-index] [--scale 1.0]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

EMOTION_RE = "happy|joyous|energetic|soothing|relax|calm|sad|pain"


def run_ours(db: Path, workdir: Path) -> dict:
    from imac_builder.tags import run_tags

    s = run_tags(workdir, lastfm=[db], progress=False)
    return {"songs": s.songs_labelled, "candidate_tags": s.candidate_tags}


def run_pandas(db: Path, workdir: Path) -> dict:
    import sqlite3

    import pandas as pd

    con = sqlite3.connect(db)
    tids = pd.read_sql("SELECT ROWID AS tid_row, tid AS track_id FROM tids", con)
    tags = pd.read_sql("SELECT ROWID AS tag_row, tag AS tag_text FROM tags", con)
    links = pd.read_sql("SELECT tid AS tid_row, tag AS tag_row, val FROM tid_tag", con)
    con.close()
    df = links.merge(tags, on="tag_row").merge(tids, on="tid_row")
    df = df[df["tag_text"].str.lower().str.contains(EMOTION_RE)]
    return {"songs_with_candidates": int(df["track_id"].nunique()),
            "candidate_tags": int(df["tag_text"].nunique())}


def child(method: str, db: Path, workdir: Path) -> None:
    t0 = time.perf_counter()
    info = {"ours": run_ours, "pandas": run_pandas}[method](db, workdir)
    info["seconds"] = time.perf_counter() - t0
    info["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(info))


def generate(db: Path, scale: float, no_index: bool) -> None:
    from imac_builder.synth import scale_db

    sizes = {k: int(v * scale) for k, v in
             (("n_tracks", 505_216), ("n_tags", 522_366), ("n_rows", 8_598_630))}
    t0 = time.perf_counter()
    made = scale_db(db, index=not no_index, **sizes)
    print(f"generated {db} {made} in {time.perf_counter() - t0:.0f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out"))
    ap.add_argument("--no-index", action="store_true", help="database without tid_tag indexes")
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of the real sizes")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--generate", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.generate:
        generate(Path(args.generate[0]), float(args.generate[1]), bool(int(args.generate[2])))
        return
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return

    args.out.mkdir(parents=True, exist_ok=True)
    db = args.out / f"lastfm_tags_{args.scale:g}{'_noindex' if args.no_index else ''}.db"
    if not db.exists():
        # In a process of its own: Linux keeps a parent's peak RSS across fork+exec, so
        # generating here would inflate the children's figures.
        subprocess.run([sys.executable, __file__, "--generate", str(db), str(args.scale),
                        str(int(args.no_index))], check=True)
    results = {}
    for method in ("ours", "pandas"):
        proc = subprocess.run(
            [sys.executable, __file__, "--child", method, str(db), str(args.out / "w")],
            capture_output=True, text=True, check=True)
        results[method] = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"database: {db.name} ({db.stat().st_size / 2**20:.0f} MiB), "
          f"tid_tag indexes: {'no' if args.no_index else 'yes'}")
    print(f"{'method':<8} {'seconds':>8} {'peak MiB':>9}  details")
    for m, r in results.items():
        details = {k: v for k, v in r.items() if k not in ("seconds", "peak_rss_mb")}
        print(f"{m:<8} {r['seconds']:8.1f} {r['peak_rss_mb']:9.0f}  {details}")
    o, p = results["ours"], results["pandas"]
    print(f"ratio pandas/ours: time {p['seconds'] / o['seconds']:.1f}x, "
          f"memory {p['peak_rss_mb'] / o['peak_rss_mb']:.1f}x")


if __name__ == "__main__":
    main()
