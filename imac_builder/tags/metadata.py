"""MSD track metadata: ``track_metadata.db`` (table ``songs``) or ``unique_tracks.txt``."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError
from .lastfm import SQLITE_MAGIC, connect_readonly, table_names

SEP = "<SEP>"


@dataclass(frozen=True)
class TrackMeta:
    """What the MSD says about one track; None where the source lacks it."""

    track_id: str
    song_id: str | None = None
    artist_name: str | None = None
    title: str | None = None
    release: str | None = None
    duration: float | None = None
    year: int | None = None


def read_metadata(path: Path, wanted: Collection[str]) -> dict[str, TrackMeta]:
    """Metadata of the ``wanted`` tracks from either MSD metadata format."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"metadata file {path} does not exist")
    if path.is_dir():
        raise UserError(f"metadata {path} is a folder: give track_metadata.db or unique_tracks.txt")
    with path.open("rb") as fh:
        head = fh.read(16)
    if head == SQLITE_MAGIC:
        return _read_metadata_db(path, wanted)
    return _read_unique_tracks(path, wanted)


def _read_metadata_db(path: Path, wanted: Collection[str]) -> dict[str, TrackMeta]:
    con = connect_readonly(path)
    try:
        tables = table_names(con)
        if "songs" not in tables:
            hint = ("; it looks like lastfm_tags.db: pass it as --lastfm"
                    if "tid_tag" in tables else "")
            raise UserError(f"{path} is not track_metadata.db: table songs missing{hint}")
        con.execute("CREATE TEMP TABLE want(track_id TEXT PRIMARY KEY)")
        con.executemany("INSERT OR IGNORE INTO temp.want VALUES (?)", ((t,) for t in wanted))
        try:
            rows = con.execute(
                "SELECT s.track_id, s.song_id, s.artist_name, s.title, s.release, s.duration, "
                "s.year FROM songs s JOIN temp.want w ON s.track_id = w.track_id"
            ).fetchall()
        except sqlite3.DatabaseError as e:
            raise UserError(f"{path}: cannot read table songs ({e})") from None
    finally:
        con.close()
    out = {}
    for tid, sid, artist, title, release, duration, year in rows:
        out[tid] = TrackMeta(
            track_id=tid, song_id=sid or None, artist_name=artist, title=title,
            release=release,
            duration=float(duration) if duration is not None and float(duration) > 0 else None,
            year=int(year) if year else None,
        )
    return out


def _read_unique_tracks(path: Path, wanted: Collection[str]) -> dict[str, TrackMeta]:
    want = set(wanted)
    out: dict[str, TrackMeta] = {}
    good = bad = 0
    try:
        with path.open(encoding="utf-8", errors="strict", newline="") as fh:
            for line in fh:
                parts = line.rstrip("\r\n").split(SEP)
                if len(parts) != 4:
                    bad += 1
                    if good == 0 and bad >= 5:
                        break
                    continue
                good += 1
                if parts[0] in want:
                    out[parts[0]] = TrackMeta(track_id=parts[0], song_id=parts[1] or None,
                                              artist_name=parts[2], title=parts[3])
    except UnicodeDecodeError:
        raise UserError(f"{path} is not UTF-8 text (expected unique_tracks.txt)") from None
    if good == 0:
        raise UserError(
            f"{path} is neither track_metadata.db nor unique_tracks.txt "
            "(lines of track_id<SEP>song_id<SEP>artist<SEP>title)"
        )
    return out
