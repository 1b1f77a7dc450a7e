"""The chooser's held-out evaluation: real MSD songs, hand-written upload templates.

Songs are real rows of the MSD subset's ``subset_unique_tracks.txt`` and of the Deezer
mood set (``../shared/data``). Candidate titles come from ``tests/data/chooser_eval.json``,
templates written by hand from how real uploads are titled (not from the chooser's rules).
For a "present" song the list holds one or two uploads of the recording among other
versions; for an "absent" song only other versions, other songs and other artists.

    PYTHONPATH=. python tests/chooser_eval.py     # prints the figures and the misses
"""

from __future__ import annotations

import csv
import json
import random
import re
import string
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from imac_builder.search.match import Candidate, MatchConfig, choose

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[1] / "shared" / "data"
TEMPLATES = HERE / "data" / "chooser_eval.json"
SEED = 20261201


@dataclass
class Case:
    source: str
    artist: str
    title: str
    duration: float
    candidates: list[Candidate]
    truth: set[str]
    kinds: dict[str, str] = field(default_factory=dict)  # video id -> template kind


def load_songs(shared: Path = SHARED) -> dict[str, list[tuple[str, str]]]:
    """(artist, title) rows of the two real sources, by source."""
    out: dict[str, list[tuple[str, str]]] = {"msd-subset": [], "deezer": []}
    path = shared / "msd-subset-unique-tracks" / "subset_unique_tracks.txt"
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("<SEP>")
        if len(parts) == 4:
            out["msd-subset"].append((parts[2], parts[3]))
    for name in ("train.csv", "validation.csv", "test.csv"):
        with (shared / "deezer-mood-msd" / name).open(encoding="utf-8", newline="") as fh:
            out["deezer"] += [(r["artist_name"], r["track_name"]) for r in csv.DictReader(fh)]
    return {k: [(a, t) for a, t in v if a.strip() and t.strip()] for k, v in out.items()}


_EDITION = re.compile(r"\s*\((?:[^)]*\b(?:album|lp|version|edit|remaster(?:ed)?|single|mono|"
                      r"stereo|explicit)\b[^)]*)\)", re.IGNORECASE)


def uploaded_title(rng: random.Random, title: str) -> str:
    """How an uploader writes an MSD title: commas back, often no edition note."""
    t = title.replace("_", ",")
    if rng.random() < 0.7:
        t = _EDITION.sub("", t).strip() or t
    return t


def uploaded_artist(artist: str) -> str:
    a = artist.replace("_", ",")
    a = re.split(r"\s+(?:featuring|feat\.?|ft\.?)\s+", a, flags=re.IGNORECASE)[0]
    return a.strip()


def _words(text: str) -> set[str]:
    return set(re.sub(r"[^a-z0-9 ]", " ", text.lower()).split())


def _marked(marks: list[str], title: str) -> bool:
    low = " " + " ".join(re.sub(r"[^a-z0-9 ]", " ", title.lower()).split()) + " "
    return any(f" {m} " in low for m in marks)


def _vid(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(11))


def _duration(rng: random.Random, spec, dur: float) -> float:
    if spec == "same":
        return dur + rng.randint(-3, 3)
    if spec == "video":
        return dur + rng.randint(0, 25)
    if isinstance(spec, dict):
        lo, hi = spec["abs"]
        return float(rng.randint(lo, hi))
    return round(dur * rng.uniform(*spec))


def build(n_per_source: int = 300, absent_share: float = 0.3, seed: int = SEED,
          shared: Path = SHARED) -> list[Case]:
    """The evaluation cases (seeded; the same every time)."""
    spec = json.loads(TEMPLATES.read_text(encoding="utf-8"))
    rng = random.Random(seed)
    songs = load_songs(shared)
    by_artist: dict[str, list[str]] = {}
    for rows in songs.values():
        for a, t in rows:
            by_artist.setdefault(a, []).append(t)
    every = [r for rows in songs.values() for r in rows]
    cases = []
    for source, rows in songs.items():
        for i, (artist, title) in enumerate(rng.sample(rows, n_per_source)):
            cases.append(_case(rng, spec, source, artist, title, by_artist, every,
                               absent=i < n_per_source * absent_share))
    return cases


def _case(rng: random.Random, spec: dict, source: str, artist: str, title: str,
          by_artist: dict[str, list[str]], every: list[tuple[str, str]],
          absent: bool) -> Case:
    dur = float(rng.randint(150, 400))
    a = uploaded_artist(artist)
    own = _words(f"{artist} {title}")
    others = [t for t in by_artist.get(artist, []) if _words(t) != _words(title)]
    other_t = uploaded_title(rng, rng.choice(others)) if others else None
    other_a = next(x for x in (uploaded_artist(rng.choice(every)[0]) for _ in range(100))
                   if not _words(x) & _words(a))
    fill = {"a": a, "A": re.sub(r"[^A-Za-z0-9]", "", a), "other_a": other_a,
            "venue": rng.choice(spec["venues"]), "year": str(rng.randint(1968, 2012))}

    def render(tpl: dict) -> tuple[str, str, float]:
        f = {**fill, "t": uploaded_title(rng, title), "name": rng.choice(spec["names"]),
             "other_t": other_t or ""}
        return (tpl["title"].format(**f), tpl["channel"].format(**f),
                _duration(rng, tpl["dur"], dur))

    wrong = [w for w in spec["wrong"] if not _marked(w["marks"], title)
             and not (("{other_t}" in w["title"]) and other_t is None)
             and not (_words(w["title"]) - {"a", "t", "other", "venue", "year", "name"}
                      <= own and w["kind"] not in ("other_song", "other_artist", "hidden"))]
    items: list[tuple[str, str, float, str]] = []
    for w in rng.sample(wrong, rng.randint(5, 9) if absent else rng.randint(4, 8)):
        items.append((*render(w), w["kind"]))
    if not absent:
        for r in rng.sample(spec["right"], rng.randint(1, 2)):
            items.append((*render(r), "right"))
    rng.shuffle(items)
    cands, truth, kinds = [], set(), {}
    for rank, (ti, ch, du, kind) in enumerate(items):
        vid = _vid(rng)
        cands.append(Candidate(vid, ti, ch, float(du), rank,
                               f"https://www.youtube.com/watch?v={vid}"))
        kinds[vid] = kind
        if kind == "right":
            truth.add(vid)
    return Case(source, artist, title, dur, cands, truth, kinds)


@dataclass
class Figures:
    present: int = 0
    correct: int = 0
    wrong_version: int = 0  # a present song matched to a wrong candidate
    absent: int = 0
    false_matches: int = 0
    false_kinds: Counter = field(default_factory=Counter)

    @property
    def recall(self) -> float:
        return self.correct / self.present if self.present else 0.0

    @property
    def false_match_rate(self) -> float:
        return self.false_matches / self.absent if self.absent else 0.0

    def line(self) -> str:
        return (f"present {self.present}: correct {self.correct} ({self.recall:.1%}), wrong "
                f"version {self.wrong_version}; absent {self.absent}: false matches "
                f"{self.false_matches} ({self.false_match_rate:.1%})")


def evaluate(cases: list[Case], cfg: MatchConfig | None = None,
             misses: list | None = None) -> Figures:
    cfg = cfg or MatchConfig()
    fig = Figures()
    for c in cases:
        d = choose(c.artist, c.title, c.duration, c.candidates, cfg)
        vid = d.best.candidate.video_id if d.status == "matched" and d.best else None
        if c.truth:
            fig.present += 1
            if vid in c.truth:
                fig.correct += 1
                continue
            if vid is not None:
                fig.wrong_version += 1
                fig.false_kinds[c.kinds[vid]] += 1
        else:
            fig.absent += 1
            if vid is None:
                continue
            fig.false_matches += 1
            fig.false_kinds[c.kinds[vid]] += 1
        if misses is not None:
            misses.append((c, vid, d.reason))
    return fig


def main() -> None:
    cases = build()
    misses: list = []
    fig = evaluate(cases, misses=misses)
    print(fig.line())
    print("wrong picks by kind:", dict(fig.false_kinds))
    for source in ("msd-subset", "deezer"):
        print(f"  {source}: {evaluate([c for c in cases if c.source == source]).line()}")
    if "-v" in sys.argv:
        for c, vid, reason in misses:
            got = next((x.title for x in c.candidates if x.video_id == vid), None)
            right = [x.title for x in c.candidates if x.video_id in c.truth]
            print(f"- {c.artist!r} / {c.title!r}: chose {got!r}; right {right}; {reason[:160]}")


if __name__ == "__main__":
    main()
