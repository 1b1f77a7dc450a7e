"""`tags --imac-scores`: the authors' Song Emotion Score File beside our labels."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from imac_builder.cli import cli
from imac_builder.vocab import LABELS

SAMPLE = Path(__file__).resolve().parents[1] / "imac_builder" / "data" / "sample"

SCORES = {"positive": (3, 1, 0), "neutral": (0, 2, 1), "negative": (1, 0, 4)}


def _songs(root: Path) -> list[dict[str, str]]:
    with (root / "tags" / "songs.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _unlabelled_msd_track(labelled: set[str]) -> tuple[str, str, str]:
    for line in (SAMPLE / "unique_tracks.txt").read_text(encoding="utf-8").splitlines():
        tid, _, artist, title = line.split("<SEP>")
        if tid not in labelled:
            return tid, artist, title
    raise AssertionError("the sample has no unlabelled track")


@pytest.mark.parametrize("sep, header", [
    ("\t", ["Song Name", "Artist Name", "posScore", "neuScore", "negScore"]),
    (",", ["song", "ARTIST", "Pos Score", "neu_score", "NegScore"]),
])
def test_agreement_report(tmp_path, runner, sep, header) -> None:
    w = tmp_path / "w"
    res = runner.invoke(cli, ["--workdir", str(w), "tags", "--lastfm",
                              str(SAMPLE / "lastfm_tags.db"), "--metadata",
                              str(SAMPLE / "unique_tracks.txt")])
    assert res.exit_code == 0, res.output
    songs = _songs(w)
    picked = [next(s for s in songs if s["label"] == lab) for lab in LABELS for _ in (0,)]
    picked += [s for s in songs if s not in picked][:3]
    # planted: the first 4 agree with us, the next 2 disagree (shifted one class)
    rows, expect = [], []
    for i, s in enumerate(picked[:6]):
        ours = s["label"]
        theirs = ours if i < 4 else LABELS[(LABELS.index(ours) + 1) % 3]
        title = s["title"].upper() if i == 0 else s["title"]  # case does not matter
        rows.append([title, s["artist_name"], *SCORES[theirs]])
        expect.append((s["track_id"], theirs, ours))
    rows.append([picked[0]["title"], picked[0]["artist_name"] + "x", 1, 0, 0])  # no track
    tid, artist, title = _unlabelled_msd_track({s["track_id"] for s in songs})
    rows.append([title, artist, 0, 0, 5])  # an MSD track we did not label
    rows.append(["Some Song", "Some Artist", 2, 2, 1])  # a tie: no label
    rows.append(["Broken", "Row", "many", 0, 0])  # unreadable
    path = tmp_path / ("scores.tsv" if sep == "\t" else "scores.csv")
    with path.open("w", newline="", encoding="utf-8") as fh:
        wr = csv.writer(fh, delimiter=sep)
        wr.writerow(header)
        wr.writerows(rows)

    res = runner.invoke(cli, ["--workdir", str(w), "--json", "tags", "--imac-scores",
                              str(path), "--metadata", str(SAMPLE / "unique_tracks.txt")])
    assert res.exit_code == 0, res.output
    import json

    s = json.loads(res.output)
    assert s["rows"] == 10 and s["bad_rows"] == 1 and s["ties"] == 1
    assert s["matched_msd"] == 7  # 6 labelled + the unlabelled MSD track
    assert s["in_our_songs"] == 6 and s["compared"] == 6 and s["agree"] == 4
    assert s["ours_not_theirs"] == len(songs) - 6
    confusion: dict[str, dict[str, int]] = {}
    for _, theirs, ours in expect:
        confusion.setdefault(theirs, {}).setdefault(ours, 0)
        confusion[theirs][ours] += 1
    confusion.setdefault("negative", {})[""] = 1  # the unlabelled track, their negative
    got = {k: v for k, v in s["confusion"].items() if v}
    assert got == confusion

    with (w / "tags" / "imac_scores.csv").open(newline="", encoding="utf-8") as fh:
        out = list(csv.DictReader(fh))
    assert len(out) == 10  # every row, the unreadable one too (agree "unreadable")
    assert [r["agree"] for r in out].count("unreadable") == 1
    by_tid = {r["track_id"]: r for r in out if r["track_id"]}
    for t, theirs, ours in expect:
        assert by_tid[t]["imac_label"] == theirs and by_tid[t]["our_label"] == ours
        assert by_tid[t]["agree"] == ("yes" if theirs == ours else "no")
    assert by_tid[tid]["our_label"] == "" and by_tid[tid]["imac_label"] == "negative"
    report = (w / "tags" / "imac_agreement.md").read_text(encoding="utf-8")
    assert "**4/6 (66.7%)**" in report and "| rows matched to an MSD track | 7 |" in report


def test_a_file_without_the_score_columns_is_one_line(tmp_path, runner) -> None:
    w = tmp_path / "w"
    runner.invoke(cli, ["--workdir", str(w), "tags", "--lastfm",
                        str(SAMPLE / "lastfm_tags.db"), "--metadata",
                        str(SAMPLE / "unique_tracks.txt")])
    bad = tmp_path / "x.csv"
    bad.write_text("title,artist,score\na,b,1\n")
    res = runner.invoke(cli, ["--workdir", str(w), "tags", "--imac-scores", str(bad)])
    assert res.exit_code == 1 and "no column for pos, neu, neg" in res.output
    res = runner.invoke(cli, ["--workdir", str(w), "tags"])
    assert res.exit_code == 1 and "--lastfm" in res.output
