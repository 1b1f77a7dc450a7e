"""Builders of Last.fm tag data in the real formats, for the tags tests."""

from __future__ import annotations

import json
import sqlite3
import zipfile
from pathlib import Path

from imac_builder.tags.lastfm import write_lastfm_db

Track = tuple[str, str, str, list[tuple[str, float]]]  # track_id, artist, title, tags


def track_json(track_id: str, artist: str, title: str, tags: list[tuple[str, float]]) -> str:
    """One per-track file as the MSD ships it (counts as strings, no trailing newline)."""
    return json.dumps({"artist": artist, "timestamp": "2011-08-09 16:39:17.211274",
                       "similars": [], "tags": [[t, str(int(w))] for t, w in tags],
                       "track_id": track_id, "title": title})


def json_member(track_id: str) -> str:
    return f"{track_id[2]}/{track_id[3]}/{track_id[4]}/{track_id}.json"


def write_json_folder(root: Path, tracks: list[Track]) -> Path:
    for tid, artist, title, tags in tracks:
        p = root / json_member(tid)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(track_json(tid, artist, title, tags), encoding="utf-8")
    return root


def write_json_zip(path: Path, tracks: list[Track], prefix: str = "lastfm_subset/") -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for tid, artist, title, tags in tracks:
            zf.writestr(prefix + json_member(tid), track_json(tid, artist, title, tags))
    return path


def write_db(path: Path, tracks: list[Track]) -> Path:
    write_lastfm_db(path, ((tid, tags) for tid, _, _, tags in tracks))
    return path


def write_unique_tracks(path: Path, tracks: list[Track]) -> Path:
    lines = [f"{tid}<SEP>SO{tid[2:]}<SEP>{artist}<SEP>{title}\n"
             for tid, artist, title, _ in tracks]
    path.write_text("".join(lines), encoding="utf-8")
    return path


def write_track_metadata_db(path: Path, rows: list[tuple]) -> Path:
    """``track_metadata.db`` with the real ``songs`` schema; rows are
    (track_id, title, song_id, release, artist_name, duration, year)."""
    con = sqlite3.connect(path)
    con.execute(
        "CREATE TABLE songs (track_id text PRIMARY KEY, title text, song_id text, release text, "
        "artist_id text, artist_mbid text, artist_name text, duration real, "
        "artist_familiarity real, artist_hotttnesss real, year int, track_7digitalid int, "
        "shs_perf int, shs_work int)")
    con.executemany(
        "INSERT INTO songs VALUES (?, ?, ?, ?, 'AR0', '', ?, ?, 0.5, 0.5, ?, 0, -1, 0)", rows)
    con.commit()
    con.close()
    return path


def write_songs_csv(root: Path, songs: list[tuple[str, str, str, str]]):
    """``W/tags/songs.csv`` for the stages after tags: (track_id, artist, title, duration),
    every song positive. Returns the Workdir."""
    import csv

    from imac_builder.tags.stage import SONGS_COLUMNS
    from imac_builder.workdir import Workdir

    wd = Workdir(root)
    with (wd.stage("tags") / "songs.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(SONGS_COLUMNS)
        for tid, a, t, d in songs:
            w.writerow([tid, "SO" + tid[2:], a, t, "", d, 2000, 1, 0, 0, "positive", "happy"])
    return wd
