"""Dev tool: the chooser on the linked file's rows that are NOT in the labelled sample.

Never reads any label. Prints refused rows (the linked video offered alone) with the
reason, and (``--accepted``) accepted ones, for a developer to judge by eye; with
``--dump FILE`` writes every row's decision (for before/after comparisons).

    PYTHONPATH=. python benchmarks/chooser_dev.py [--accepted] [--dump out.tsv] [-n 300]
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from pathlib import Path

from imac_builder.search.match import Candidate, MatchConfig, choose

ROOT = Path(__file__).resolve().parents[1]
LINKED = ROOT.parents[1] / "shared" / "data" / "spotify-youtube-linked" / "linked_videos.csv"
SAMPLE = ROOT / "tests" / "data" / "real_eval" / "linked_sample.csv"


def dev_rows(linked: Path = LINKED) -> list[dict]:
    """The linked rows outside the labelled sample (``row``: line number)."""
    with SAMPLE.open(encoding="utf-8", newline="") as fh:
        held = {int(r["row"]) for r in csv.DictReader(fh)}
    out = []
    with linked.open(encoding="utf-8", newline="") as fh:
        for n, r in enumerate(csv.DictReader(fh), start=2):
            if n not in held:
                r["row"] = n
                out.append(r)
    return out


def decide(r: dict, cfg: MatchConfig):
    c = Candidate("v", r["video_title"], r["video_channel"], None, 0, "")
    return choose(r["artist"], r["title"], float(r["duration_s"]) if r["duration_s"] else None,
                  [c], cfg, album=r["album"] or None)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--accepted", action="store_true")
    ap.add_argument("--dump")
    ap.add_argument("-n", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    cfg = MatchConfig()
    rows = dev_rows()
    res = [(r, decide(r, cfg)) for r in rows]
    ok = sum(d.status == "matched" for _, d in res)
    print(f"dev rows {len(rows)}: accepted {ok} ({100 * ok / len(rows):.1f}%)", file=sys.stderr)
    if a.dump:
        with open(a.dump, "w", encoding="utf-8") as fh:
            for r, d in res:
                fh.write(f"{r['row']}\t{d.status}\t{d.reason}\n")
    pick = [(r, d) for r, d in res if (d.status == "matched") == a.accepted]
    if a.n:
        random.Random(a.seed).shuffle(pick)
        pick = pick[:a.n]
    for r, d in pick:
        why = d.reason.split(": ", 1)[-1] if d.status != "matched" else d.reason
        print(f"{r['row']} | {r['artist']} / {r['title']} || {r['video_title']} || "
              f"{r['video_channel']} || {why[:200]}")


if __name__ == "__main__":
    main()
