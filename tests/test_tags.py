"""The tags stage on real-schema data the tests build, and on the real files in ../shared."""

from __future__ import annotations

import csv
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from conftest import shared_data
from tagdata import (
    write_db,
    write_json_folder,
    write_json_zip,
    write_track_metadata_db,
    write_unique_tracks,
)

from imac_builder.cli import cli
from imac_builder.config import TagsConfig
from imac_builder.tags import run_tags
from imac_builder.tags.emotion import Exclusions, classify_tag, label_of

T = [f"TRAAAAA128F00000{i:02d}" for i in range(10)]
TRACKS = [
    (T[1], "Alpha", "One", [("happy", 100), ("sad", 50), ("joyous", 10), ("rock", 100)]),
    (T[2], "Beta, Band", "Two (Album Version)", [("sad", 90), ("makes me sad", 5), ("calm", 40)]),
    (T[3], "Gamma", "Three", [("happy", 30), ("sad", 30)]),  # tie: positive wins
    (T[4], "Delta", "Four", [("calm", 70), ("for the painfully alone", 20)]),  # neutral wins
    (T[5], "Eps", "Five", [("spain", 100), ("painting", 100), ("happysad", 100)]),
    (T[6], "Zeta", "Six", [("rock", 100), ("pop", 60)]),
    (T[7], "Eta", "Seven", [("Sad", 80), ("sad", 10), ("relaxing", 0)]),
    (T[8], "Theta", "Eight", [("happy", 5), ("calm", 90)]),
]
# By hand, from the rules of spec §1 (scores = kept entries per group; tie → more positive).
EXPECTED = {
    T[1]: ("2", "0", "1", "positive", "happy|joyous|sad"),  # all selected tags
    T[2]: ("0", "1", "2", "negative", "calm|makes me sad|sad"),
    T[3]: ("1", "0", "1", "positive", "happy|sad"),
    T[4]: ("0", "1", "1", "neutral", "calm|for the painfully alone"),
    T[7]: ("0", "1", "2", "negative", "Sad|relaxing|sad"),
    T[8]: ("1", "1", "0", "positive", "calm|happy"),
}


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def check_expected(rows: list[dict[str, str]], expected: dict) -> None:
    got = {r["track_id"]: (r["pos_score"], r["neu_score"], r["neg_score"], r["label"], r["tags"])
           for r in rows}
    assert got == expected
    assert [r["track_id"] for r in rows] == sorted(got)


def test_rules_on_sqlite_with_metadata(tmp_path: Path) -> None:
    db = write_db(tmp_path / "lastfm_tags.db", TRACKS)
    meta = write_unique_tracks(tmp_path / "unique_tracks.txt", TRACKS)
    s = run_tags(tmp_path / "w", lastfm=[db], metadata=meta, progress=False)
    rows = read_csv(tmp_path / "w/tags/songs.csv")
    check_expected(rows, EXPECTED)
    assert s.songs_per_label == {"positive": 3, "neutral": 1, "negative": 2}
    by_id = {r["track_id"]: r for r in rows}
    assert by_id[T[2]]["artist_name"] == "Beta, Band"
    assert by_id[T[2]]["title"] == "Two (Album Version)"
    assert by_id[T[2]]["song_id"] == "SO" + T[2][2:]
    assert s.songs_without_metadata == 0
    tags = {r["tag"]: r for r in read_csv(tmp_path / "w/tags/emotion_tags.csv")}
    assert tags["happysad"]["kept"] == "0" and tags["happysad"]["reason"].startswith("ambiguous")
    assert tags["spain"]["kept"] == "0" and "excluded" in tags["spain"]["reason"]
    assert tags["sad"]["n_tracks"] == "4"  # T1, T2, T3, T7
    assert "rock" not in tags


def test_same_tracks_as_sqlite_json_folder_and_zip_give_same_songs(tmp_path: Path) -> None:
    meta = write_unique_tracks(tmp_path / "unique_tracks.txt", TRACKS)
    db = write_db(tmp_path / "lastfm_tags.db", TRACKS)
    folder = write_json_folder(tmp_path / "lastfm_subset", TRACKS)
    zipped = write_json_zip(tmp_path / "lastfm_subset.zip", TRACKS)
    outs = []
    for name, src, md in [("db", db, meta), ("folder", folder, None), ("zip", zipped, None),
                          ("zip+meta", zipped, meta)]:
        run_tags(tmp_path / name, lastfm=[src], metadata=md, progress=False)
        outs.append((tmp_path / name / "tags/songs.csv").read_bytes())
    assert outs[0] == outs[3]  # same metadata → byte-identical
    # JSON alone gives artist and title from the files, no song_id
    rows_json = read_csv(tmp_path / "folder/tags/songs.csv")
    rows_db = read_csv(tmp_path / "db/tags/songs.csv")
    for a, b in zip(rows_json, rows_db, strict=True):
        assert {k: v for k, v in a.items() if k != "song_id"} == \
            {k: v for k, v in b.items() if k != "song_id"}
    assert outs[1] == outs[2]


def test_train_and_test_sources_are_merged(tmp_path: Path) -> None:
    train = write_json_zip(tmp_path / "lastfm_train.zip", TRACKS[:4], prefix="lastfm_train/")
    test = write_json_zip(tmp_path / "lastfm_test.zip", TRACKS[4:], prefix="lastfm_test/")
    s = run_tags(tmp_path / "w", lastfm=[train, test], progress=False)
    check_expected(read_csv(tmp_path / "w/tags/songs.csv"), EXPECTED)
    assert s.tracks_read == len(TRACKS)
    # the same track in two sources (subset overlaps train) counts each tag once
    again = write_json_zip(tmp_path / "lastfm_subset.zip", TRACKS[:2])
    s2 = run_tags(tmp_path / "w2", lastfm=[train, test, again], progress=False)
    check_expected(read_csv(tmp_path / "w2/tags/songs.csv"), EXPECTED)
    assert s2.duplicates_merged == 2


def test_min_tag_weight_drops_light_entries(tmp_path: Path) -> None:
    db = write_db(tmp_path / "lastfm_tags.db", TRACKS)
    s = run_tags(tmp_path / "w", lastfm=[db], progress=False, config=TagsConfig(min_tag_weight=50))
    got = {r["track_id"]: r for r in read_csv(tmp_path / "w/tags/songs.csv")}
    assert got[T[8]]["label"] == "neutral"  # happy(5) dropped, calm(90) left
    assert got[T[7]]["tags"] == "Sad" and got[T[7]]["neg_score"] == "1"
    assert T[4] in got and got[T[4]]["tags"] == "calm"
    assert s.entries_below_min_weight >= 5


def test_rowid_join_with_gaps_and_track_metadata_db(tmp_path: Path) -> None:
    """tid_tag refers to ROWIDs, which need not be 1..n in order."""
    db = tmp_path / "lastfm_tags.db"
    con = sqlite3.connect(db)
    con.executescript("CREATE TABLE tids (tid TEXT); CREATE TABLE tags (tag TEXT);"
                      "CREATE TABLE tid_tag (tid INT, tag INT, val FLOAT);")
    con.executemany("INSERT INTO tids(ROWID, tid) VALUES (?, ?)", [(7, T[1]), (3, T[2])])
    con.executemany("INSERT INTO tags(ROWID, tag) VALUES (?, ?)",
                    [(90, "calm"), (12, "sad"), (40, "rock")])
    con.executemany("INSERT INTO tid_tag VALUES (?, ?, ?)",
                    [(7, 90, 100.0), (3, 12, 100.0), (3, 40, 100.0), (3, 90, 0.0),
                     (3, 12, 50.0)])  # a repeated (track, tag) pair counts once
    con.commit()
    con.close()
    meta = write_track_metadata_db(tmp_path / "track_metadata.db", [
        (T[1], "One", "SOAAAAA12A8C000001", "Rel", "Alpha", 215.2, 1999),
        (T[2], "Two", "SOAAAAA12A8C000002", "", "Beta", -1, 0),
    ])
    run_tags(tmp_path / "w", lastfm=[db], metadata=meta, progress=False)
    rows = {r["track_id"]: r for r in read_csv(tmp_path / "w/tags/songs.csv")}
    assert rows[T[1]]["label"] == "neutral" and rows[T[1]]["tags"] == "calm"
    assert rows[T[1]]["duration"] == "215.2" and rows[T[1]]["year"] == "1999"
    assert rows[T[1]]["release"] == "Rel"
    assert (rows[T[2]]["neg_score"], rows[T[2]]["neu_score"]) == ("1", "1")
    assert rows[T[2]]["label"] == "neutral"  # tie neutral/negative → neutral
    assert rows[T[2]]["duration"] == "" and rows[T[2]]["year"] == ""  # -1 and 0 are unknown


def test_reruns_are_byte_identical_and_leave_no_temporaries(tmp_path: Path) -> None:
    db = write_db(tmp_path / "lastfm_tags.db", TRACKS)
    meta = write_unique_tracks(tmp_path / "unique_tracks.txt", TRACKS)
    names = ("songs.csv", "emotion_tags.csv", "report.md")
    run_tags(tmp_path / "w", lastfm=[db], metadata=meta, progress=False)
    first = {n: (tmp_path / "w/tags" / n).read_bytes() for n in names}
    run_tags(tmp_path / "w", lastfm=[db], metadata=meta, progress=False)
    assert {n: (tmp_path / "w/tags" / n).read_bytes() for n in names} == first
    assert sorted(p.name for p in (tmp_path / "w/tags").iterdir()) == sorted(names)


def test_report_has_tables_beside_the_paper(tmp_path: Path) -> None:
    db = write_db(tmp_path / "lastfm_tags.db", TRACKS)
    run_tags(tmp_path / "w", lastfm=[db], progress=False)
    report = (tmp_path / "w/tags/report.md").read_text()
    assert "## Table 2" in report and "## Table 3" in report
    assert "| negative | sad | 873 | 4 |" in report  # T1, T2, T3, T7 ("Sad"+"sad" once)
    assert "| positive | 3 | 1,342 |" in report
    assert "| labelled songs lacking metadata (no artist/title) | 6 |" in report


def test_exclusions_file_replaces_default_and_supports_wildcards(tmp_path: Path) -> None:
    excl = tmp_path / "excl.txt"
    excl.write_text("# only this\nSAD   # case-insensitive, whole tag\n*painfully*\n")
    e = Exclusions.from_file(excl)
    assert classify_tag("Sad", e).kept is False
    assert classify_tag("makes me sad", e).kept is True
    assert classify_tag("for the painfully alone", e).kept is False
    assert classify_tag("spain", e).kept is True  # the default list no longer applies
    assert classify_tag("rock", e) is None
    db = write_db(tmp_path / "lastfm_tags.db", TRACKS)
    run_tags(tmp_path / "w", lastfm=[db], progress=False, config=TagsConfig(exclusions=excl))
    rows = {r["track_id"]: r for r in read_csv(tmp_path / "w/tags/songs.csv")}
    assert rows[T[5]]["tags"] == "painting|spain"  # pain: negative, kept without defaults
    assert rows[T[7]]["tags"] == "relaxing"


@pytest.mark.parametrize("tag,group,kept", [
    ("spain", "negative", False), ("Painting", "negative", False), ("crusaders", "negative", False),
    ("Sade", "negative", False), ("unhappy", "positive", False),
    ("uk happy hardcore", "positive", False), ("excalm", "neutral", False),
    ("happysad", "ambiguous", False), ("Calm and Sad", "ambiguous", False),
    ("sad", "negative", True), ("makes me energetic and wanna dance", "positive", True),
    ("cool and relaxing music", "neutral", True), ("for the painfully alone", "negative", True),
])
def test_default_exclusions(tag: str, group: str, kept: bool) -> None:
    d = classify_tag(tag, Exclusions.default())
    assert (d.group, d.kept) == (group, kept)


def test_tie_break_order() -> None:
    assert label_of({"positive": 2, "neutral": 2, "negative": 2}) == "positive"
    assert label_of({"positive": 0, "neutral": 3, "negative": 3}) == "neutral"
    assert label_of({"positive": 0, "neutral": 0, "negative": 1}) == "negative"
    assert label_of({"positive": 0, "neutral": 0, "negative": 0}) is None


# --- real files from ../shared/data ----------------------------------------------------

def test_real_lastfm_json_files(tmp_path: Path) -> None:
    src = shared_data("lastfm-subset-json", "lastfm_subset")
    s = run_tags(tmp_path / "w", lastfm=[src], progress=False)
    assert s.tracks_read == 10 and s.skipped_files == 0
    assert s.songs_labelled == 0  # none of the ten real files carries an emotion tag


def test_real_json_with_emotion_tags_matches_sqlite_and_real_metadata(tmp_path: Path) -> None:
    """Real files, each given one emotion tag, as JSON and as SQLite, with the real
    subset_unique_tracks.txt as metadata: same songs.csv either way."""
    src = shared_data("lastfm-subset-json", "lastfm_subset")
    meta = shared_data("msd-subset-unique-tracks", "subset_unique_tracks.txt")
    folder = tmp_path / "json"
    shutil.copytree(src, folder)
    extra = ["sad", "so energetic", "Relaxing", "happy", "spain"]
    tracks = []
    for i, p in enumerate(sorted(folder.rglob("*.json"))):
        doc = json.loads(p.read_text())
        doc["tags"].append([extra[i % len(extra)], "100"])
        p.write_text(json.dumps(doc))
        tracks.append((doc["track_id"], [(t, float(c)) for t, c in doc["tags"]]))
    from imac_builder.tags.lastfm import write_lastfm_db

    write_lastfm_db(tmp_path / "lastfm_tags.db", tracks)
    run_tags(tmp_path / "a", lastfm=[folder], metadata=meta, progress=False)
    run_tags(tmp_path / "b", lastfm=[tmp_path / "lastfm_tags.db"], metadata=meta, progress=False)
    a = (tmp_path / "a/tags/songs.csv").read_bytes()
    assert a == (tmp_path / "b/tags/songs.csv").read_bytes()
    rows = {r["track_id"]: r for r in read_csv(tmp_path / "a/tags/songs.csv")}
    assert len(rows) == 8  # 10 files, two got "spain"
    assert rows["TRAAABD128F429CF47"]["artist_name"] == "The Box Tops"
    assert rows["TRAAABD128F429CF47"]["song_id"] == "SOCIWDW12A8C13D406"


def test_real_unique_tracks_head_keeps_underscores(tmp_path: Path) -> None:
    meta = shared_data("msd-unique-tracks-head", "unique_tracks_head5000.txt")
    lines = meta.read_text(encoding="utf-8").splitlines()
    picked = [ln.split("<SEP>") for ln in lines if "_ " in ln][:3] + \
        [lines[0].split("<SEP>")]
    tracks = [(tid, artist, title, [("sad", 100)]) for tid, _, artist, title in picked]
    db = write_db(tmp_path / "lastfm_tags.db", tracks)
    run_tags(tmp_path / "w", lastfm=[db], metadata=meta, progress=False)
    rows = {r["track_id"]: r for r in read_csv(tmp_path / "w/tags/songs.csv")}
    for tid, sid, artist, title in picked:
        assert (rows[tid]["song_id"], rows[tid]["artist_name"], rows[tid]["title"]) == \
            (sid, artist, title)


# --- bad input through the CLI: one line, non-zero exit, never a traceback -----------

def run_cli(runner, *args: str):
    result = runner.invoke(cli, list(args))
    assert "Traceback" not in result.output
    return result


def assert_one_line_error(result, needle: str) -> None:
    assert result.exit_code in (1, 2), result.output  # a user error, not a crash
    assert isinstance(result.exception, SystemExit), result.exception
    assert "internal error" not in result.output, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1, result.output
    assert needle in lines[0], result.output


def test_cli_bad_inputs(tmp_path: Path, runner) -> None:
    w = str(tmp_path / "w")
    assert_one_line_error(run_cli(runner, "--workdir", w, "tags", "--lastfm",
                                  str(tmp_path / "nope.db")), "does not exist")
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    assert_one_line_error(run_cli(runner, "--workdir", w, "tags", "--lastfm", str(text)),
                          "is not a Last.fm source")
    empty_db = tmp_path / "empty.db"
    sqlite3.connect(empty_db).execute("CREATE TABLE x (a)").connection.close()
    assert_one_line_error(run_cli(runner, "--workdir", w, "tags", "--lastfm", str(empty_db)),
                          "table(s) tids, tags, tid_tag missing")
    meta_db = write_track_metadata_db(tmp_path / "track_metadata.db", [])
    assert_one_line_error(run_cli(runner, "--workdir", w, "tags", "--lastfm", str(meta_db)),
                          "pass it as --metadata")
    import zipfile

    z = tmp_path / "lastfm_test.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("readme.txt", "nothing here")
    assert_one_line_error(run_cli(runner, "--workdir", w, "tags", "--lastfm", str(z)),
                          "holds no Last.fm track JSON files")
    db = write_db(tmp_path / "lastfm_tags.db", TRACKS)
    assert_one_line_error(run_cli(runner, "--workdir", w, "tags", "--lastfm", str(db),
                                  "--metadata", str(text)), "neither track_metadata.db")
    assert_one_line_error(run_cli(runner, "--workdir", w, "tags", "--lastfm", str(db),
                                  "--exclusions", str(tmp_path / "x.txt")), "does not exist")
    assert_one_line_error(run_cli(runner, "--workdir", w, "tags", "--lastfm", str(db),
                                  "--min-tag-weight", "300"), "--min-tag-weight")
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[tags]\nmin_tag_wieght = 3\n")
    assert_one_line_error(run_cli(runner, "--workdir", w, "--config", str(cfg), "tags",
                                  "--lastfm", str(db)), "no option min_tag_wieght")
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"SQLite format 3\x00" + b"\xff" * 200)
    assert_one_line_error(run_cli(runner, "--workdir", w, "tags", "--lastfm", str(corrupt)),
                          "corrupt.db")


def test_bad_json_tracks_are_skipped_and_counted(tmp_path: Path, runner) -> None:
    folder = write_json_folder(tmp_path / "lastfm_train", TRACKS)
    (folder / "A/A/A/TRAAAAA128F0000099.json").write_text('{"track_id": "TRAAAAA128F0000099"}')
    (folder / "A/A/A/TRAAAAA128F0000098.json").write_bytes(
        b'{"artist": "\xff\xfe", "title": "x", "tags": [], "track_id": "TRAAAAA128F0000098"}')
    (folder / "A/A/A/TRAAAAA128F0000097.json").write_text('{"broken": ')
    (folder / "A/A/A/TRAAAAA128F0000096.json").write_text(
        '{"artist": "a", "title": "t", "tags": [["sad", "lots"]], '
        '"track_id": "TRAAAAA128F0000096"}')
    (folder / "A/A/A/TRAAAAA128F0000095.json").write_text(
        '{"artist": "a", "title": "t", "tags": [["sad", "1"]], "track_id": "../../etc/passwd"}')
    result = run_cli(runner, "--workdir", str(tmp_path / "w"), "tags", "--lastfm", str(folder))
    assert result.exit_code == 0, result.output
    assert "skipped 5 unreadable track records" in result.output
    check_expected(read_csv(tmp_path / "w/tags/songs.csv"), EXPECTED)
    report = (tmp_path / "w/tags/report.md").read_text()
    for reason in ("missing key(s): artist, title, tags", "not UTF-8", "not valid JSON",
                   "tag count is not a number", "malformed track id"):
        assert f"| {reason} | 1 |" in report


def test_cli_json_summary_and_config(tmp_path: Path, runner) -> None:
    db = write_db(tmp_path / "lastfm_tags.db", TRACKS)
    cfg = tmp_path / "p.toml"
    cfg.write_text("[tags]\nmin_tag_weight = 50\n")
    result = run_cli(runner, "--workdir", str(tmp_path / "w"), "--config", str(cfg), "--json",
                     "tags", "--lastfm", str(db))
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["command"] == "tags" and summary["songs_labelled"] == 5
    got = {r["track_id"]: r["label"] for r in read_csv(tmp_path / "w/tags/songs.csv")}
    assert got[T[8]] == "neutral"  # the config's min_tag_weight applied
    result = run_cli(runner, "--workdir", str(tmp_path / "w"), "--config", str(cfg), "tags",
                     "--lastfm", str(db), "--min-tag-weight", "0")
    got = {r["track_id"]: r["label"] for r in read_csv(tmp_path / "w/tags/songs.csv")}
    assert got[T[8]] == "positive"  # the command line wins over the config
    assert (tmp_path / "w/logs/imac-build.log").exists()


def test_second_process_on_same_workdir_is_refused(tmp_path: Path, runner) -> None:
    from imac_builder.workdir import Workdir

    db = write_db(tmp_path / "lastfm_tags.db", TRACKS)
    with Workdir(tmp_path / "w").lock("test holder"):
        result = run_cli(runner, "--workdir", str(tmp_path / "w"), "tags", "--lastfm", str(db))
    assert_one_line_error(result, "is in use by pid")
    assert not (tmp_path / "w/tags/songs.csv").exists()


def test_shipped_sample_matches_its_generator(tmp_path: Path) -> None:
    from imac_builder.demo import sample_dir
    from imac_builder.synth import write_sample

    write_sample(tmp_path)
    shipped = sample_dir()
    assert (tmp_path / "unique_tracks.txt").read_bytes() == \
        (shipped / "unique_tracks.txt").read_bytes()

    def dump(p: Path) -> list:
        con = sqlite3.connect(p)
        out = [con.execute(f"SELECT ROWID, * FROM {t} ORDER BY ROWID").fetchall()
               for t in ("tids", "tags", "tid_tag")]
        con.close()
        return out

    assert dump(tmp_path / "lastfm_tags.db") == dump(shipped / "lastfm_tags.db")


def test_demo_runs_tags_on_the_sample(tmp_path: Path, runner) -> None:
    result = run_cli(runner, "--workdir", str(tmp_path / "d"), "demo")
    assert result.exit_code == 0, result.output
    assert "smoke test" in result.output
    rows = read_csv(tmp_path / "d/tags/songs.csv")
    assert {r["label"] for r in rows} == {"positive", "neutral", "negative"}
    assert all(r["artist_name"] for r in rows)


def test_cli_exclusions_file_is_recorded_as_plain_json(tmp_path: Path, runner) -> None:
    """Regression: a Path-valued setting (--exclusions) ended the run in an internal error
    when workdir.json recorded the configuration."""
    db = write_db(tmp_path / "lastfm_tags.db", TRACKS)
    excl = tmp_path / "excl.txt"
    excl.write_text("sad\n")
    w = tmp_path / "w"
    result = runner.invoke(cli, ["--workdir", str(w), "tags", "--lastfm", str(db),
                                 "--exclusions", str(excl)])
    assert result.exit_code == 0, result.output
    state = json.loads((w / "workdir.json").read_text())
    assert state["configs"]["tags"]["values"]["exclusions"] == str(excl)
