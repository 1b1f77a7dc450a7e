"""Our chooser beside spotDL's matcher on the same real, blind-labelled material.

spotDL (https://github.com/spotDL/spotify-downloader) is the tool people already use to
find a song's recording on YouTube; its matcher is ``spotdl.utils.matching.
order_results``. This script runs both on ``tests/data/real_eval/`` (see its NOTE.md and
docs/search.md): the recorded YouTube Music search lists and the linked-video samples,
and prints one table per material with the two columns side by side.

spotDL is not a dependency of this project: install it apart, e.g.

    python -m venv /tmp/spot && /tmp/spot/bin/pip install spotdl==4.6.0
    PYTHONPATH=.:tests /tmp/spot/bin/python benchmarks/compare_spotdl.py

How spotDL is asked (its provider's own rule, ``AudioProvider.search``): a candidate
is a match when ``order_results`` keeps it (it drops those it judges wrong) and the
highest-scoring kept one is chosen (its view-count tie-break needs the network and is
left out). A YouTube Music "song" result is ``verified``. The linked videos have no
known length; spotDL's time match needs one, so it is given **the song's own length**
(the most favourable answer for it); ours is given none.
"""

from __future__ import annotations

import csv
import json
import sys
from collections import defaultdict

import chooser_real_eval as ev

from imac_builder.search.match import Candidate, MatchConfig


def _spot() -> tuple[object, object, object]:
    try:
        from spotdl.types.result import Result
        from spotdl.types.song import Song
        from spotdl.utils.matching import order_results
    except ImportError:
        sys.exit("spotDL is not installed here: see this script's docstring")
    return Result, Song, order_results


def _song(Song, artists: list[str], title: str, album: str | None,  # noqa: N803
          duration: float | None, sid: str):
    return Song.from_missing_data(
        name=title, artists=artists, artist=artists[0], album_name=album or "",
        album_artist=artists[0], duration=int(round(duration or 0)), song_id=sid,
        explicit=None, genres=[], year=0, date="", url="", isrc=None)


def _result(Result, c: Candidate, duration: float | None):  # noqa: N803
    verified = c.result_type == "song"
    return Result(source="youtube-music" if c.artists else "youtube",
                  url=f"https://www.youtube.com/watch?v={c.video_id}", verified=verified,
                  name=c.title, duration=float(duration or 0), author=c.channel_title,
                  result_id=c.video_id, artists=tuple(c.artists) or (c.channel_title,),
                  album=c.album)


def _spot_pick(order_results, song, Result, duration: float | None = None):  # noqa: N803
    """spotDL's matcher as a :data:`chooser_real_eval.Pick` (``duration``: the length
    given to every candidate that has none)."""
    def pick(cands: list[Candidate]) -> tuple[str | None, str]:
        kept = order_results([_result(Result, c, c.duration or duration) for c in cands],
                             song)
        if not kept:
            return None, "none kept"
        best, score = max(kept.items(), key=lambda kv: kv[1])
        return best.result_id, f"{best.name!r} ({best.author}): {score:.1f}"
    return pick


def search_lists() -> dict[str, ev.Tally]:
    Result, Song, order_results = _spot()
    cfg = MatchConfig()
    lists = json.loads((ev.DATA / "search_lists.json").read_text(encoding="utf-8"))
    labels: dict[int, dict[int, str]] = defaultdict(dict)
    with (ev.DATA / "search_labels.csv").open(encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            labels[int(r["list_index"])][int(r["candidate_index"])] = r["label"].strip()
    out = {"ours": ev.Tally(), "spotDL 4.6.0": ev.Tally()}
    for i, lst in enumerate(lists):
        s = lst["song"]
        artists = s["artists"] if isinstance(s.get("artists"), list) else [s["artist"]]
        song = _song(Song, artists, s["title"], s.get("album"), s.get("duration"), str(i))
        cands = [Candidate(c["video_id"], c["title"], c["channel"], c.get("duration"), k, "",
                           tuple(c.get("artists") or ()), c.get("album"), c.get("result_type"))
                 for k, c in enumerate(lst["candidates"])]
        lab = {c.video_id: labels[i].get(k, "") for k, c in enumerate(cands)}
        name = f"{', '.join(artists)} / {s['title']}"
        ev.tally(out["ours"], name, cands, lab, ev.ours(
            ", ".join(artists), s["title"], s.get("duration"), s.get("album"), cfg))
        ev.tally(out["spotDL 4.6.0"], name, cands, lab, _spot_pick(order_results, song, Result))
    return out


def linked(part: str) -> dict[str, ev.Tally]:
    """Single linked videos of one sample (lists need the shared data: left out)."""
    Result, Song, order_results = _spot()
    cfg = MatchConfig()
    stem = ev.PARTS[part]
    with (ev.DATA / f"{stem}_labels.csv").open(encoding="utf-8", newline="") as fh:
        labels = {int(r["row"]): r["label"].strip() for r in csv.DictReader(fh)}
    with (ev.DATA / f"{stem}_sample.csv").open(encoding="utf-8", newline="") as fh:
        sample = list(csv.DictReader(fh))
    out = {"ours": ev.Tally(), "spotDL 4.6.0": ev.Tally()}
    for r in sample:
        dur = float(r["duration_s"]) if r["duration_s"] else None
        song = _song(Song, [r["artist"]], r["title"], r["album"] or None, dur, r["row"])
        c = Candidate(f"row{r['row']}", r["video_title"], r["video_channel"], None, 0, "")
        lab = {c.video_id: labels.get(int(r["row"]), "")}
        name = f"{r['artist']} / {r['title']}"
        ev.tally(out["ours"], name, [c], lab,
                 ev.ours(r["artist"], r["title"], dur, r["album"] or None, cfg))
        ev.tally(out["spotDL 4.6.0"], name, [c], lab,
                 _spot_pick(order_results, song, Result, dur))
    return out


def main() -> None:
    print("Search lists (recorded YouTube Music answers, 38 lists holding a right one):")
    print(ev.table(search_lists()))
    for part in ("test2", "test3", "test4"):
        print(f"\nLinked videos offered alone, {part} (never read by the developers):")
        rows = ev.table(linked(part)).splitlines()
        print("\n".join(rows[:2] + rows[-2:]))


if __name__ == "__main__":
    main()
