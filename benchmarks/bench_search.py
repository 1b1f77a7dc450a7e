"""Benchmark the search stage's chooser: quality and speed against two simple references.

Builds seeded YouTube-like result lists for real MSD artist/title strings (the Deezer
mood dataset's 18,644 tracks in ../shared/data/deezer-mood-msd; see
tests/search_cases.py for what the lists hold), then runs three choosers on the same
lists, one after the other, in this process:

* reference 1, "first result": take the top result (what a script that trusts the
  search engine does);
* reference 2, "fuzzy title": rapidfuzz ``WRatio`` of "artist title" against the video
  title, the best one if it reaches 85, else no match;
* ours: :func:`imac_builder.search.match.choose` with the default configuration.

Prints, for each, correct picks (recall), precision, false matches on songs whose video
is absent and songs per second, then the ratios. Then times ``run_search(rerank=True)``
on a work directory holding all the lists (songs.csv + candidates.jsonl in the public
formats), which is the whole offline cost of re-tuning the thresholds.

    python benchmarks/bench_search.py [--songs 5000] [--absent 0.25] [--seed 1]
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

from machine import cpu_name  # noqa: E402  (benchmarks/machine.py)
from search_cases import build_cases, evaluate, load_msd_songs  # noqa: E402

from imac_builder.search.match import MatchConfig, choose  # noqa: E402
from imac_builder.search.stage import run_search  # noqa: E402
from imac_builder.tags.stage import SONGS_COLUMNS  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "deezer-mood-msd"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--songs", type=int, default=5000)
    ap.add_argument("--absent", type=float, default=0.25)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if not DATA.exists():
        sys.exit(f"needs {DATA} (the project's shared test data)")
    from rapidfuzz import fuzz

    cases = build_cases(load_msd_songs(DATA), args.songs, args.absent, args.seed)
    n_cands = sum(len(c.candidates) for c in cases)
    cfg = MatchConfig()

    def first(c):
        return c.candidates[0].video_id if c.candidates else None

    def fuzzy(c):
        q = f"{c.artist} {c.title}"
        best = max(c.candidates, key=lambda v: fuzz.WRatio(q, v.title), default=None)
        return best.video_id if best and fuzz.WRatio(q, best.title) >= 85 else None

    def ours(c):
        d = choose(c.artist, c.title, c.duration, c.candidates, cfg)
        return d.best.candidate.video_id if d.status == "matched" else None

    print(f"machine: {cpu_name()}, {platform.python_implementation()} "
          f"{platform.python_version()}")
    print(f"{len(cases)} real MSD songs ({args.absent:.0%} without their recording), "
          f"{n_cands} candidates, seed {args.seed}\n")
    print(f"{'chooser':<14} {'recall':>8} {'precision':>10} {'false/absent':>13} "
          f"{'songs/s':>9}")
    rates = {}
    for name, pick in (("first result", first), ("fuzzy title", fuzzy), ("ours", ours)):
        t = time.perf_counter()
        s, _ = evaluate(cases, pick)
        dt = time.perf_counter() - t
        rates[name] = len(cases) / dt
        print(f"{name:<14} {s.recall:>8.1%} {s.precision:>10.1%} "
              f"{s.false_match_rate:>13.1%} {rates[name]:>9.0f}")
    print(f"\nspeed ours / fuzzy title: {rates['ours'] / rates['fuzzy title']:.2f}x")

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "tags").mkdir()
        (root / "search").mkdir()
        with (root / "tags" / "songs.csv").open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(SONGS_COLUMNS)
            for c in sorted(cases, key=lambda c: c.track_id):
                w.writerow([c.track_id, "", c.artist, c.title, "", c.duration, 0, 1, 0, 0,
                            "positive", "happy"])
        with (root / "search" / "candidates.jsonl").open("w", encoding="utf-8") as fh:
            for c in cases:
                fh.write(json.dumps({"track_id": c.track_id, "query": "", "backend": "api",
                                     "searched_at": "", "candidates":
                                     [x.to_dict() for x in c.candidates]}) + "\n")
        t = time.perf_counter()
        s = run_search(root, rerank=True, progress=False)
        dt = time.perf_counter() - t
        print(f"run_search(rerank=True) on {s.songs} songs: {dt:.2f} s "
              f"({s.songs / dt:.0f} songs/s), {s.matched} matched")


if __name__ == "__main__":
    main()
