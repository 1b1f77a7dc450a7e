"""The chooser on real titles nobody here wrote, labelled by a reader blind to the code.

Two materials (tests/data/real_eval/, see its NOTE.md):

* **search lists**: 41 real YouTube Music search answers (songs and videos filters) for
  27 real Spotify tracks, recorded by spotDL's test suite and read by ytmusicapi's parser
  (tests/make_real_lists.py); every candidate labelled yes / no / unsure ("is this the
  song's released recording?").
* **linked videos**: 600 rows sampled from ../shared/data/spotify-youtube-linked (a real
  Spotify track and the video public collectors linked to it; no video durations),
  each labelled the same way. Offered alone, and in lists: a labelled-yes video among
  real titles of *other* songs' linked videos by the same artist (from the whole file;
  needs the shared data), and those impostors alone ("every right recording removed").

  Later samples of the same file (:data:`PARTS`: dev, dev2, dev3 read while writing
  rules; test read in session 5; test2, test3 and test4 never read) are labelled the same
  way.

:func:`tally` counts one list for any chooser given as a :data:`Pick` (ours:
:func:`ours`; spotDL's: benchmarks/compare_spotdl.py).

Figures: right / wrong / no match over lists holding a right recording; false matches
over the same lists with every yes and unsure candidate removed; single right videos
accepted; single wrong videos refused. "unsure" candidates count neither way.

    PYTHONPATH=. python tests/chooser_real_eval.py
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from imac_builder.search.match import Candidate, MatchConfig, choose
from imac_builder.search.query import clean_title, fold

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "real_eval"
LINKED = HERE.parents[1] / "shared" / "data" / "spotify-youtube-linked" / "linked_videos.csv"
#: Impostors per linked list (real titles of the same artist's other songs).
IMPOSTORS = 9


@dataclass
class Tally:
    """One material's figures."""

    lists: int = 0  # lists holding a right recording
    right: int = 0
    wrong: int = 0  # a "no" chosen
    unsure: int = 0  # an "unsure" chosen
    none: int = 0
    absent: int = 0  # lists with every right (and unsure) recording removed
    false: int = 0
    single_right: int = 0
    single_right_ok: int = 0
    single_wrong: int = 0
    single_wrong_ok: int = 0
    misses: list[str] = field(default_factory=list)

    def single(self, label: str, accepted: bool) -> None:
        """Count one labelled video offered alone ("yes" or "no")."""
        if label == "yes":
            self.single_right += 1
            self.single_right_ok += accepted
        else:
            self.single_wrong += 1
            self.single_wrong_ok += not accepted

    def rows(self) -> list[tuple[str, str]]:
        def pct(a: int, b: int) -> str:
            return f"{100 * a / b:.1f}% ({a}/{b})" if b else "n/a (0)"
        return [
            ("right recording chosen", pct(self.right, self.lists)),
            ("wrong recording chosen", pct(self.wrong, self.lists)),
            ("an 'unsure' one chosen", pct(self.unsure, self.lists)),
            ("no match although a right one was listed", pct(self.none, self.lists)),
            ("every right recording removed: still matched (false)",
             pct(self.false, self.absent)),
            ("a right single video offered alone: accepted",
             pct(self.single_right_ok, self.single_right)),
            ("a wrong single video offered alone: refused",
             pct(self.single_wrong_ok, self.single_wrong)),
        ]


def _song_args(song: dict) -> tuple[str, str, float | None, str | None]:
    artists = song["artists"] if isinstance(song.get("artists"), list) else [song["artist"]]
    return ", ".join(artists), song["title"], song.get("duration"), song.get("album")


#: A chooser as the evaluation asks it: the chosen candidate's id (None: no match) and
#: a few words on why, for the misses.
Pick = Callable[[list[Candidate]], tuple[str | None, str]]


def tally(t: Tally, name: str, cands: list[Candidate], labels: dict[str, str],
          pick: Pick) -> None:
    """Count one list of candidates (labels by video id) for one chooser: the list whole,
    without its right (and unsure) candidates, and each yes/no candidate alone."""
    if any(labels.get(c.video_id) == "yes" for c in cands):
        t.lists += 1
        got, why = pick(cands)
        lab = labels.get(got) if got else None
        if got is None:
            t.none += 1
            t.misses.append(f"no match: {name}: {why[:160]}")
        elif lab == "yes":
            t.right += 1
        elif lab == "no":
            t.wrong += 1
            t.misses.append(f"WRONG: {name} -> {why[:200]}")
        else:
            t.unsure += 1
        rest = [c for c in cands if labels.get(c.video_id) == "no"]
        if rest:
            t.absent += 1
            got, why = pick(rest)
            if got is not None:
                t.false += 1
                t.misses.append(f"FALSE: {name} -> {why[:80]}")
    for c in cands:
        lab = labels.get(c.video_id)
        if lab in ("yes", "no"):
            t.single(lab, pick([replace(c, rank=0)])[0] is not None)


def ours(artist: str, title: str, duration: float | None, album: str | None,
         cfg: MatchConfig) -> Pick:
    """This project's chooser as a :data:`Pick`."""
    def pick(cands: list[Candidate]) -> tuple[str | None, str]:
        d = choose(artist, title, duration, cands, cfg, album=album)
        if d.status != "matched":
            return None, d.reason
        c = d.best.candidate
        return c.video_id, f"{c.title!r} ({c.channel_title}): {d.reason}"
    return pick


def _list_eval(t: Tally, song: dict, cands: list[Candidate], labels: dict[str, str],
               cfg: MatchConfig) -> None:
    artist, title, dur, album = _song_args(song)
    tally(t, f"{artist} / {title}", cands, labels, ours(artist, title, dur, album, cfg))


def search_lists(cfg: MatchConfig | None = None) -> Tally:
    """The recorded YouTube Music search lists, labelled candidate by candidate."""
    cfg = cfg or MatchConfig()
    lists = json.loads((DATA / "search_lists.json").read_text(encoding="utf-8"))
    labels: dict[int, dict[int, str]] = defaultdict(dict)
    with (DATA / "search_labels.csv").open(encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            labels[int(r["list_index"])][int(r["candidate_index"])] = r["label"].strip()
    t = Tally()
    for i, lst in enumerate(lists):
        cands, by_vid = [], {}
        for k, c in enumerate(lst["candidates"]):
            cands.append(Candidate(
                c["video_id"], c["title"], c["channel"], c.get("duration"), k,
                f"https://www.youtube.com/watch?v={c['video_id']}",
                tuple(c.get("artists") or ()), c.get("album"), c.get("result_type")))
            by_vid[c["video_id"]] = labels[i].get(k, "")
        _list_eval(t, lst["song"], cands, by_vid, cfg)
    return t


def _key(title: str) -> str:
    return fold(re.sub(r"\s*[\(\[].*?[\)\]]", "", clean_title(title)))


def _same_song(a: str, b: str) -> bool:
    """Two titles of one song, or of one song and its version ("To My Love" and "To My
    Love - Tainy Remix"): such a row's video is no impostor."""
    ka, kb = _key(a), _key(b)
    return ka == kb or f" {ka} ".startswith(f" {kb} ") or f" {kb} ".startswith(f" {ka} ")


#: The linked samples: the first (tuned on after its third measurement), dev and dev2
#: (labelled for tuning; the same artists) and test and test2 (measured, never read row
#: by row; the same artists); artists disjoint between first, dev* and test*.
PARTS = {"first": "linked", "dev": "linked_dev", "test": "linked_test",
         "dev2": "linked_dev2", "test2": "linked_test2", "dev3": "linked_dev3",
         "test3": "linked_test3", "test4": "linked_test4"}


def linked(cfg: MatchConfig | None = None, linked_csv: Path = LINKED,
           part: str = "first") -> Tally:
    """A blind-labelled linked-video sample: single videos, and lists with the same
    artist's other linked videos as impostors (those need the shared data)."""
    cfg = cfg or MatchConfig()
    labels = {}
    stem = PARTS[part]
    with (DATA / f"{stem}_labels.csv").open(encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            labels[int(r["row"])] = r["label"].strip()
    with (DATA / f"{stem}_sample.csv").open(encoding="utf-8", newline="") as fh:
        sample = list(csv.DictReader(fh))
    by_artist: dict[str, list[dict]] = defaultdict(list)
    if linked_csv.exists():
        with linked_csv.open(encoding="utf-8", newline="") as fh:
            for n, r in enumerate(csv.DictReader(fh), start=2):
                r["row"] = str(n)
                by_artist[r["artist"]].append(r)
    t = Tally()
    for r in sample:
        lab = labels.get(int(r["row"]), "")
        song = {"artist": r["artist"], "title": r["title"], "album": r["album"] or None,
                "duration": float(r["duration_s"]) if r["duration_s"] else None}
        vid = f"row{int(r['row']):08d}"
        own = Candidate(vid, r["video_title"], r["video_channel"], None, 0, "")
        others = [o for o in by_artist.get(r["artist"], [])
                  if o["row"] != r["row"] and not _same_song(o["title"], r["title"])
                  and o["video_title"] != r["video_title"]][:IMPOSTORS]
        if lab == "yes" and others:
            cands = [Candidate(f"imp{int(o['row']):08d}", o["video_title"],
                               o["video_channel"], None, k, "")
                     for k, o in enumerate(others)]
            cands.insert(len(cands) // 2, own)
            cands = [Candidate(c.video_id, c.title, c.channel_title, None, k, "")
                     for k, c in enumerate(cands)]
            lab_by = {c.video_id: "no" for c in cands} | {vid: "yes"}
            _list_eval(t, song, cands, lab_by, cfg)
            # _list_eval also counted the impostors as single wrong videos: keep only the
            # labelled video's single figure below
            t.single_right -= 1
            t.single_right_ok -= choose(song["artist"], song["title"], song["duration"],
                                        [own], cfg, album=song["album"]).status == "matched"
            t.single_wrong -= len(others)
            t.single_wrong_ok -= sum(
                choose(song["artist"], song["title"], song["duration"],
                       [Candidate(c.video_id, c.title, c.channel_title, None, 0, "")], cfg,
                       album=song["album"]).status != "matched"
                for c in cands if c.video_id != vid)
        if lab in ("yes", "no"):
            ok = choose(song["artist"], song["title"], song["duration"], [own], cfg,
                        album=song["album"]).status == "matched"
            t.single(lab, ok)
            if ok != (lab == "yes"):
                t.misses.append(f"{'accepted wrong' if ok else 'refused right'}: "
                                f"{r['artist']} / {r['title']} || {r['video_title']} || "
                                f"{r['video_channel']}")
    return t


HELD_OUT = ("test2", "test3", "test4")


def audit() -> dict[tuple[str, str], Tally]:
    """The second reading (linked_audit_*): for each (first label, second label) pair,
    whether the chooser accepts those videos offered alone; keyed "read" / "held out"
    and the label both readers gave ("yes" / "no"; rows they disagree on are left out)."""
    first: dict[str, tuple[str, str]] = {}
    for part, stem in PARTS.items():
        with (DATA / f"{stem}_labels.csv").open(encoding="utf-8", newline="") as fh:
            for r in csv.DictReader(fh):
                first[r["row"]] = (r["label"].strip(), part)
    with (DATA / "linked_audit_labels.csv").open(encoding="utf-8", newline="") as fh:
        second = {r["row"]: r["label"].strip() for r in csv.DictReader(fh)}
    with (DATA / "linked_audit_sample.csv").open(encoding="utf-8", newline="") as fh:
        sample = list(csv.DictReader(fh))
    cfg = MatchConfig()
    out: dict[tuple[str, str], Tally] = defaultdict(Tally)
    for r in sample:
        lab, part = first[r["row"]]
        if lab != second[r["row"]] or lab not in ("yes", "no"):
            continue
        t = out["held out" if part in HELD_OUT else "read", lab]
        dur = float(r["duration_s"]) if r["duration_s"] else None
        ok = choose(r["artist"], r["title"], dur,
                    [Candidate("x", r["video_title"], r["video_channel"], None, 0, "")],
                    cfg, album=r["album"] or None).status == "matched"
        t.single(lab, ok)
    return dict(out)


def table(columns: dict[str, Tally]) -> str:
    lines = ["| on real, blind-labelled material | " + " | ".join(columns) + " |",
             "|---" * (len(columns) + 1) + "|"]
    rows = [t.rows() for t in columns.values()]
    for i, (name, _) in enumerate(rows[0]):
        lines.append(f"| {name} | " + " | ".join(r[i][1] for r in rows) + " |")
    return "\n".join(lines)


def main() -> None:
    """``-v`` lists the misses of the search lists and the first and dev linked samples
    (never the test sample's: it is measured, not read)."""
    cols = {"search lists (YouTube Music)": search_lists(),
            "linked, first 600": linked(part="first"),
            "linked, dev 800": linked(part="dev"),
            "linked, dev2 800": linked(part="dev2"),
            "linked, test 600 (read)": linked(part="test"),
            "linked, test2 600 (held out)": linked(part="test2"),
            "linked, dev3 1,097": linked(part="dev3"),
            "linked, test3 600 (held out)": linked(part="test3"),
            "linked, test4 958 (held out)": linked(part="test4")}
    print(table(cols))
    print("\nRows two blind readers agree on (linked_audit_*), each video offered alone:")
    for (where, lab), t in sorted(audit().items()):
        print(f"  {where}, both '{lab}': " + (
            f"accepted {t.single_right_ok}/{t.single_right}" if lab == "yes"
            else f"refused {t.single_wrong_ok}/{t.single_wrong}"))
    if "-v" in sys.argv:
        for name, t in cols.items():
            if "test" not in name:
                for m in t.misses:
                    print(" ", name.split(",")[0], m)


if __name__ == "__main__":
    main()
