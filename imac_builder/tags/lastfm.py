"""Readers (and a writer) for the Million Song Dataset's Last.fm tag data.

Formats (field notes): ``lastfm_tags.db`` (SQLite ``tids(tid)``, ``tags(tag)``,
``tid_tag(tid, tag, val)`` joined through the implicit ROWID) and per-track JSON files
(``{"track_id", "artist", "title", "tags": [[tag, "count"]], ...}``) in a folder or in
the official zips. Only candidate tags are kept in memory, so the full 8.6 M-row
database is read in seconds.
"""

from __future__ import annotations

import json
import sqlite3
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from ..errors import UserError
from ..vocab import is_track_id

SQLITE_MAGIC = b"SQLite format 3\x00"
MAX_JSON_BYTES = 64 * 1024 * 1024
LASTFM_TABLES = ("tids", "tags", "tid_tag")


@dataclass
class LastfmTags:
    """Candidate tag entries per track, merged over every source read."""

    entries: dict[str, dict[str, float]] = field(default_factory=dict)
    artist_title: dict[str, tuple[str, str]] = field(default_factory=dict)
    tracks_read: int = 0
    duplicates_merged: int = 0  # a track with candidate tags read again and merged
    skipped: Counter[str] = field(default_factory=Counter)
    skipped_examples: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def add(self, track_id: str, tags: Iterable[tuple[str, float]]) -> None:
        """Merge one track's candidate entries; a (track, tag) pair counts once."""
        per = self.entries.get(track_id)
        if per is not None:
            self.duplicates_merged += 1
        new = per is None
        if new:
            per = {}
        for tag, weight in tags:
            old = per.get(tag)
            per[tag] = weight if old is None else max(old, weight)
        if new and per:
            self.entries[track_id] = per

    def skip(self, where: str, reason: str) -> None:
        self.skipped[reason] += 1
        if len(self.skipped_examples) < 20:
            self.skipped_examples.append(f"{where}: {reason}")


def sniff(path: Path) -> str:
    """``sqlite``, ``zip``, ``folder`` or ``json`` for a Last.fm source; UserError otherwise."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path} does not exist")
    if path.is_dir():
        return "folder"
    try:
        with path.open("rb") as fh:
            head = fh.read(16)
    except OSError as e:
        raise UserError(f"cannot read {path}: {e.strerror}") from None
    if head == SQLITE_MAGIC:
        return "sqlite"
    if zipfile.is_zipfile(path):
        return "zip"
    if head.lstrip()[:1] == b"{":
        return "json"
    raise UserError(
        f"{path} is not a Last.fm source: expected lastfm_tags.db (SQLite), "
        "a folder of track JSON files, or lastfm_train/test/subset.zip"
    )


def connect_readonly(path: Path) -> sqlite3.Connection:
    """Open an SQLite file read-only; UserError when it is not a usable database."""
    try:
        con = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True)
        con.execute("SELECT name FROM sqlite_master LIMIT 1").fetchall()
    except sqlite3.DatabaseError as e:
        raise UserError(f"{path} is not a readable SQLite database ({e})") from None
    return con


def table_names(con: sqlite3.Connection) -> set[str]:
    return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def read_lastfm(
    paths: Iterable[Path],
    is_candidate: Callable[[str], bool],
    progress: bool = True,
) -> LastfmTags:
    """Read every source and keep the entries of tags for which ``is_candidate`` holds."""
    out = LastfmTags()
    paths = [Path(p) for p in paths]
    kinds = [sniff(p) for p in paths]  # check every path before reading any
    for path, kind in zip(paths, kinds, strict=True):
        if kind == "sqlite":
            _read_sqlite(path, is_candidate, out, progress)
        else:
            _read_json_source(path, kind, is_candidate, out, progress)
        out.sources.append(f"{path.name} ({kind})")
    return out


def _read_sqlite(path: Path, is_candidate: Callable[[str], bool], out: LastfmTags,
                 progress: bool) -> None:
    con = connect_readonly(path)
    try:
        tables = table_names(con)
        missing = [t for t in LASTFM_TABLES if t not in tables]
        if missing:
            hint = ("; it looks like track_metadata.db: pass it as --metadata"
                    if "songs" in tables else "")
            raise UserError(
                f"{path} is not lastfm_tags.db: table(s) {', '.join(missing)} missing{hint}"
            )
        try:
            cand = [(rowid, tag) for rowid, tag in con.execute("SELECT ROWID, tag FROM tags")
                    if isinstance(tag, str) and is_candidate(tag)]
            out.tracks_read += con.execute("SELECT COUNT(*) FROM tids").fetchone()[0]
            tag_text = dict(cand)
            con.execute("CREATE TEMP TABLE cand(id INTEGER PRIMARY KEY)")
            con.executemany("INSERT INTO temp.cand VALUES (?)", ((r,) for r, _ in cand))
            # Stream the candidate rows, keyed by ROWIDs until the end (low memory).
            per_tid: dict[int, dict[int, float]] = {}
            rows = con.execute(
                "SELECT tid_tag.tid, tid_tag.tag, tid_tag.val FROM tid_tag "
                "JOIN temp.cand ON tid_tag.tag = temp.cand.id"
            )
            for tid, tag, val in tqdm(rows, desc="tag entries", unit="row",
                                      disable=not progress, leave=False):
                try:
                    weight = float(val) if val is not None else 0.0
                except (TypeError, ValueError):
                    weight = 0.0
                per = per_tid.get(tid)
                if per is None:
                    per = per_tid[tid] = {}
                old = per.get(tag)
                per[tag] = weight if old is None or weight > old else old
            con.execute("CREATE TEMP TABLE hit(id INTEGER PRIMARY KEY)")
            con.executemany("INSERT INTO temp.hit VALUES (?)", ((t,) for t in sorted(per_tid)))
            tid_text = dict(con.execute(
                "SELECT tids.ROWID, tids.tid FROM tids JOIN temp.hit ON tids.ROWID = temp.hit.id"
            ))
        except sqlite3.DatabaseError as e:
            raise UserError(f"{path}: cannot read the Last.fm tables ({e})") from None
    finally:
        con.close()
    for tid in sorted(per_tid):
        track_id = tid_text.get(tid)
        if track_id is None:
            out.skip(path.name, "tid_tag row points to no track")
        elif not is_track_id(track_id):
            out.skip(path.name, "malformed track id")
        else:
            out.add(track_id, ((tag_text[t], w) for t, w in per_tid[tid].items()))


def _iter_json_blobs(path: Path, kind: str, progress: bool,
                     out: LastfmTags) -> Iterator[tuple[str, bytes]]:
    if kind == "json":
        yield path.name, path.read_bytes()
        return
    if kind == "folder":
        files = sorted(p for p in path.rglob("*.json") if p.is_file())
        if not files:
            raise UserError(f"{path} holds no Last.fm track JSON files (*.json)")
        for p in tqdm(files, desc=path.name, unit="file", disable=not progress, leave=False):
            if p.stat().st_size > MAX_JSON_BYTES:
                out.skip(p.name, "file too large")
                continue
            yield p.name, p.read_bytes()
        return
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise UserError(f"{path} is not a readable zip ({e})") from None
    with zf:
        members = sorted(
            (i for i in zf.infolist()
             if not i.is_dir() and i.filename.endswith(".json")
             and not i.filename.startswith("__MACOSX/")),
            key=lambda i: i.filename,
        )
        if not members:
            raise UserError(f"{path} holds no Last.fm track JSON files")
        for info in tqdm(members, desc=path.name, unit="file", disable=not progress,
                         leave=False):
            name = info.filename.rsplit("/", 1)[-1]
            if info.file_size > MAX_JSON_BYTES:
                out.skip(name, "file too large")
                continue
            try:
                yield name, zf.read(info)
            except (zipfile.BadZipFile, OSError, EOFError) as e:
                out.skip(name, f"unreadable zip member ({type(e).__name__})")


def parse_track_json(blob: bytes) -> tuple[str, str, str, list[tuple[str, float]]]:
    """Parse one Last.fm track file: (track_id, artist, title, [(tag, count)]).

    Raises ValueError with a short reason when the file is not a valid track.
    """
    try:
        doc = json.loads(blob.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError("not UTF-8") from None
    except json.JSONDecodeError:
        raise ValueError("not valid JSON") from None
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object")
    missing = [k for k in ("track_id", "artist", "title", "tags") if k not in doc]
    if missing:
        raise ValueError("missing key(s): " + ", ".join(missing))
    track_id, artist, title, tags = doc["track_id"], doc["artist"], doc["title"], doc["tags"]
    if not is_track_id(track_id):
        raise ValueError("malformed track id")
    if not isinstance(artist, str) or not isinstance(title, str):
        raise ValueError("artist or title is not text")
    if not isinstance(tags, list):
        raise ValueError("tags is not a list")
    parsed: list[tuple[str, float]] = []
    for entry in tags:
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str)):
            raise ValueError("malformed tag entry")
        try:
            parsed.append((entry[0], float(entry[1])))
        except (TypeError, ValueError):
            raise ValueError("tag count is not a number") from None
    return track_id, artist, title, parsed


def _read_json_source(path: Path, kind: str, is_candidate: Callable[[str], bool],
                      out: LastfmTags, progress: bool) -> None:
    for name, blob in _iter_json_blobs(path, kind, progress, out):
        try:
            track_id, artist, title, tags = parse_track_json(blob)
        except ValueError as e:
            out.skip(name, str(e))
            continue
        out.tracks_read += 1
        cand = [(t, w) for t, w in tags if is_candidate(t)]
        if cand:
            out.add(track_id, cand)
            out.artist_title.setdefault(track_id, (artist, title))


def write_lastfm_db(path: Path, tracks: Iterable[tuple[str, Iterable[tuple[str, float]]]],
                    index: bool = True) -> None:
    """Write tracks' tags as a ``lastfm_tags.db`` with the real schema (tests, samples)."""
    path = Path(path)
    path.unlink(missing_ok=True)
    con = sqlite3.connect(path)
    try:
        con.executescript(
            "CREATE TABLE tids (tid TEXT);"
            "CREATE TABLE tags (tag TEXT);"
            "CREATE TABLE tid_tag (tid INT, tag INT, val FLOAT);"
        )
        tag_ids: dict[str, int] = {}
        tid_rows, tag_rows, link_rows = [], [], []
        for n, (track_id, tags) in enumerate(tracks, start=1):
            tid_rows.append((track_id,))
            for tag, val in tags:
                tid = tag_ids.get(tag)
                if tid is None:
                    tid = tag_ids[tag] = len(tag_ids) + 1
                    tag_rows.append((tag,))
                link_rows.append((n, tid, val))
        con.executemany("INSERT INTO tids VALUES (?)", tid_rows)
        con.executemany("INSERT INTO tags VALUES (?)", tag_rows)
        con.executemany("INSERT INTO tid_tag VALUES (?, ?, ?)", link_rows)
        if index:
            con.executescript(
                "CREATE INDEX idx_tid_tag_tag ON tid_tag(tag);"
                "CREATE INDEX idx_tid_tag_tid ON tid_tag(tid);"
            )
        con.commit()
    finally:
        con.close()
