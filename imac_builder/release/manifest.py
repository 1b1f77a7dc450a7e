"""The manifest: the tables a rebuild needs, and ``manifest.json`` describing them.

A release folder holds ``songs.csv``, ``videos.csv``, ``segments.csv``, ``images.csv``,
``splits.csv``, ``pairs_val.csv``, ``pairs_test.csv``, ``status.csv``, ``manifest.json``
(versions, configuration, store hashes, the sha256 of every table) and ``croissant.json``.
Reading one back treats it as hostile: unknown files, bad ids, escaping paths, damaged
tables and newer format versions are refused with one clear line.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import guard
from .. import tables as T
from ..errors import UserError
from ..journal import Journal
from ..paths import inside
from ..workdir import Workdir
from .checks import (
    Scrubber,
    check_image_id,
    check_relative_path,
    check_segment_id,
    check_track_id,
    check_url,
)

FORMAT = "imac-manifest"
FORMAT_VERSION = 1
MANIFEST_JSON = "manifest.json"
CROISSANT_JSON = "croissant.json"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
SPLITS = ("train", "val", "test")
MODALITIES = ("music", "images")


@dataclass(frozen=True)
class Table:
    """One CSV of a release: its columns, the columns that identify a record, and what
    each record is (for the Croissant RecordSet)."""

    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    description: str
    #: whether a record may appear more than once (a fixed pair drawn twice)
    repeats: bool = False

    @property
    def file(self) -> str:
        return f"{self.name}.csv"

    def key_of(self, row: dict[str, str]) -> tuple[str, ...]:
        return tuple(row[c] for c in self.key)


TABLES: dict[str, Table] = {t.name: t for t in (
    Table("songs", T.SONGS.columns, T.SONGS.key,
          "Labelled MSD songs: Last.fm emotion tag scores and the 3-class label (tags joined "
          "with |)."),
    Table("videos", ("track_id", "video_id", "url", "query", "video_title", "channel_title",
                     "video_duration", "score", "status", "reason"),
          ("track_id",), "The video chosen for each searched song, the query that found it, "
                         "the match score and why it was chosen or not."),
    Table("segments", tuple(c for c in T.SEGMENTS.columns if c != "path"), T.SEGMENTS.key,
          "60 s segments of each song's audio (mono, 22,050 Hz): offsets in seconds and the "
          "sha256 of the decoded 16-bit PCM samples."),
    Table("images", ("image_id", "path", "emotion", "label", "sha256", "width", "height",
                     "source", "status", "reason"),
          ("image_id",), "Image Emotion database images: original emotion, 3-class label, "
                         "sha256 of the file, where it came from and whether it is usable."),
    Table("splits", T.SPLITS.columns, ("modality", "item_id"),
          "The train/val/test split of every segment (by song) and image."),
    Table("pairs_val", T.PAIRS["val"].columns, T.PAIRS["val"].columns,
          "Fixed, balanced validation pairs.", repeats=True),
    Table("pairs_test", T.PAIRS["test"].columns, T.PAIRS["test"].columns,
          "Fixed, balanced test pairs.", repeats=True),
    Table("status", ("kind", "item_id", "stage", "status", "reason"),
          ("kind", "item_id", "stage"), "Every item that is missing from the dataset, the "
                                        "stage where it was lost and why."),
)}
DATA_FILES = frozenset(t.file for t in TABLES.values())
#: Tables every release lists (a manifest without them describes no dataset).
REQUIRED_FILES = ("songs.csv", "videos.csv", "segments.csv")
#: Free-text columns written by tools (messages may quote local paths): scrubbed.
SCRUBBED_COLUMNS = frozenset({"reason", "source", "url"})


@dataclass
class Manifest:
    """A release read back: its ``manifest.json`` and its tables (rows as dicts)."""

    folder: Path
    meta: dict[str, Any]
    tables: dict[str, list[dict[str, str]]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.meta["name"])

    @property
    def version(self) -> str:
        return str(self.meta["version"])

    @property
    def label(self) -> str:
        return f"{self.name}-{self.version}"

    def rows(self, table: str) -> list[dict[str, str]]:
        return self.tables.get(table, [])

    @classmethod
    def load(cls, folder: Path | str) -> Manifest:
        """Read and check a release folder; UserError when it is unusable or unsafe."""
        from .provenance import sha256_file
        from .semver import parse_version

        folder = Path(folder)
        path = folder / MANIFEST_JSON
        if not path.exists():  # absent, or a link to nothing (a FIFO is refused below)
            raise UserError(f"{folder} is not a release: it has no {MANIFEST_JSON}")
        if not inside(folder, path):
            raise UserError(f"{path} is a symbolic link out of the release folder: a "
                            "release holds its own files; not read")
        meta = read_json(path, "a manifest")
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise UserError(f"{path} is not an imac-build manifest (no \"format\": "
                            f"\"{FORMAT}\")")
        fv = meta.get("format_version")
        if not isinstance(fv, int) or isinstance(fv, bool) or fv < 1:
            raise UserError(f"{path}: format_version must be a positive integer")
        if fv > FORMAT_VERSION:
            raise UserError(f"{path} uses manifest format version {fv}, newer than this "
                            f"imac-build supports ({FORMAT_VERSION}); upgrade imac_builder "
                            "to read it")
        if not isinstance(meta.get("name"), str) or not NAME.fullmatch(meta["name"]):
            raise UserError(f"{path}: the dataset name is missing or unusable")
        parse_version(str(meta.get("version", "")), where=str(path))
        files = meta.get("files")
        if not isinstance(files, dict):
            raise UserError(f"{path}: no \"files\" table of checksums")
        unknown = sorted(set(files) - DATA_FILES)
        if unknown:
            raise UserError(f"{path} names unknown file(s) {', '.join(unknown)[:120]}; "
                            "the manifest is not trustworthy")
        absent = [f for f in REQUIRED_FILES if f not in files]
        if absent:
            raise UserError(f"{path} lists no {', '.join(absent)}: every release has them; "
                            "the manifest is damaged or was edited")
        manifest = cls(folder, meta)
        for name in sorted(files):
            table = TABLES[name[:-4]]
            f = folder / name
            if not os.path.lexists(f):
                raise UserError(f"{folder}: {name} is listed but missing")
            if not inside(folder, f):  # docs: links are followed only inside their root
                raise UserError(f"{f} is a symbolic link out of the release folder (to "
                                f"{guard.shown(os.path.realpath(f), 80)}): a release holds "
                                "its own files; not read")
            want = files[name].get("sha256") if isinstance(files[name], dict) else None
            _check_size(f, files[name], name)
            if sha256_file(f) != want:
                raise UserError(f"{folder}: {name} does not match its sha256 in "
                                f"{MANIFEST_JSON}; the release is damaged or was edited")
            manifest.tables[table.name] = _read_table(f, table)
            _check_count(path, name, len(manifest.tables[table.name]), files[name],
                         meta.get("counts"))
        _check_rows(manifest)
        _check_croissant(folder, meta)
        return manifest


def _check_count(path: Path, name: str, n: int, entry: object, counts: object) -> None:
    """The rows a table holds against the count the manifest records for it (``rows`` of
    its ``files`` entry, and ``counts``), where recorded."""
    if counts is not None and not isinstance(counts, dict):
        raise UserError(f"{path}: \"counts\" is not a table of row counts; the manifest is "
                        "damaged or was edited")
    for where, recorded in (("rows", entry.get("rows") if isinstance(entry, dict) else None),
                            ("counts", counts.get(name[:-4]) if counts else None)):
        if recorded is None:
            continue
        if isinstance(recorded, str):  # JSON numbers only ("9" is a hand edit)
            raise UserError(f"{path}: {where} of {name} is text, not a number; the manifest "
                            "is damaged or was edited")
        want = guard.finite(recorded, f"{path}: {where} of {name}", lo=0, hi=MAX_COUNT,
                            integer=True)
        if want != n:
            raise UserError(f"{path.parent}: {name} holds {n:,} rows, not the {want:,} "
                            f"{MANIFEST_JSON} records; the release is damaged or was edited")


#: Largest size or count a manifest may record (2**53: exact in JSON's doubles).
MAX_COUNT = 2**53


#: Largest table a release may hold when its manifest records no size (older releases).
TABLE_LIMIT = 4 << 30


def _check_size(path: Path, entry: object, name: str) -> None:
    """A listed file must be a regular file of the size the manifest records (or at most
    :data:`TABLE_LIMIT`), checked before a byte is hashed: a FIFO or a 1 TiB sparse file
    is refused at once."""
    from .. import guard

    recorded = entry.get("bytes") if isinstance(entry, dict) else None
    fd = guard.open_input(path, f"a release's {name}", None)
    try:
        size = os.fstat(fd).st_size
    finally:
        os.close(fd)
    if recorded is not None:
        want = guard.finite(recorded, f"{path.parent / MANIFEST_JSON}: bytes of {name}",
                            lo=0, hi=MAX_COUNT, integer=True)
        if size != want:
            raise UserError(f"{path.parent}: {name} is {size:,} bytes, not the {want:,} "
                            f"{MANIFEST_JSON} records; the release is damaged or was edited")
    elif size > TABLE_LIMIT:
        raise UserError(f"{path} is {size:,} bytes, over the {TABLE_LIMIT:,} a release table "
                        "may have; the release is damaged or was edited")


def _distribution(doc: Any) -> list[dict]:
    """The file entries of a Croissant document; none when it (or its ``distribution``)
    is of another type (a tampered file: its checksum then does not match)."""
    dist = doc.get("distribution") if isinstance(doc, dict) else None
    return [d for d in dist if isinstance(d, dict)] if isinstance(dist, list) else []


def croissant_digest(doc: Any) -> str:
    """The checksum ``manifest.json`` records for ``croissant.json``: the sha256 of its
    JSON in canonical form with the manifest's own checksum left out (croissant.json
    lists manifest.json's sha256, so the two cannot hold each other's plain checksum)."""
    import copy
    import hashlib

    doc = copy.deepcopy(doc)
    for d in _distribution(doc):
        if d.get("name") == MANIFEST_JSON:
            d["sha256"] = ""
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _check_croissant(folder: Path, meta: dict[str, Any]) -> None:
    """``croissant.json`` against the checksum the manifest records (releases made since
    it is recorded), and the manifest's sha256 that croissant.json lists."""
    from .. import guard
    from .provenance import sha256_file

    want = meta.get("croissant_sha256")
    if want is None:
        return
    path = folder / CROISSANT_JSON
    if not os.path.lexists(path):  # a FIFO or a folder is refused by the reader, below
        raise UserError(f"{folder}: {CROISSANT_JSON} is listed in {MANIFEST_JSON} but missing")
    doc = guard.read_json(path, "a Croissant description", JSON_LIMIT, nofollow=True)
    listed = {str(d.get("name")): d.get("sha256") for d in _distribution(doc)}
    if (croissant_digest(doc) != want
            or listed.get(MANIFEST_JSON) != sha256_file(folder / MANIFEST_JSON)):
        raise UserError(f"{folder}: {CROISSANT_JSON} does not match its checksum in "
                        f"{MANIFEST_JSON}; the release is damaged or was edited")


#: Largest manifest.json read (a real one is a few kilobytes).
JSON_LIMIT = 16 * 1024 * 1024
#: Deepest nesting a manifest.json may have (a real one nests 3 levels).
JSON_DEPTH = 64


def read_json(path: Path, what: str) -> Any:
    """Parse a small JSON file from elsewhere: size and nesting bounded, one-line errors."""
    from .. import guard

    return guard.read_json(path, what, JSON_LIMIT)


def _read_table(path: Path, table: Table) -> list[dict[str, str]]:
    return [{c: r.get(c, "") for c in table.columns}
            for r in T.read_csv(path, required=table.columns, what=f"a release's {table.file}",
                                key=() if table.repeats else table.key,
                                fix="the release is damaged or was edited")]


def _check_rows(m: Manifest) -> None:
    """Refuse ids and paths that could name files outside the work directory."""
    from .. import guard

    for r in m.rows("songs"):
        check_track_id(r["track_id"], "songs.csv")
    for r in m.rows("videos"):
        check_track_id(r["track_id"], "videos.csv")
        guard.video_id(r["video_id"], f"videos.csv ({r['track_id']})", empty_ok=True)
        if r["url"]:
            check_url(r["url"], f"videos.csv ({r['track_id']})")
    for r in m.rows("segments"):
        guard.video_id(r["video_id"], f"segments.csv ({r['segment_id'][:40]})")
        check_segment_id(r["segment_id"], check_track_id(r["track_id"], "segments.csv"),
                         "segments.csv")
    for r in m.rows("images"):
        check_image_id(r["image_id"], "images.csv")
        check_relative_path(r["path"], f"images.csv ({r['image_id']})")
    for r in m.rows("splits"):
        if r["modality"] not in MODALITIES or r["split"] not in SPLITS:
            raise UserError(f"splits.csv: unknown modality or split in row {r}"[:200])
        _check_item(r["modality"], r["item_id"], "splits.csv")
    for name in ("pairs_val", "pairs_test"):
        for r in m.rows(name):
            check_image_id(r["image_id"], f"{name}.csv")
            _check_item("music", r["segment_id"], f"{name}.csv")
    for r in m.rows("status"):
        _check_item({"song": "song", "segment": "music", "image": "images"}.get(r["kind"], ""),
                    r["item_id"], "status.csv")


def _check_item(modality: str, item_id: str, where: str) -> None:
    if modality == "music":
        check_segment_id(item_id, item_id[:18], where)
    elif modality == "song":
        check_track_id(item_id, where)
    elif modality == "images":
        check_image_id(item_id, where)
    else:
        raise UserError(f"{where}: unknown kind of item for {item_id[:40]!r}")


def segment_path(row: dict[str, str]) -> str:
    """Where a segment lives in a work directory (spec §3), from checked ids only."""
    return f"audio/{row['track_id']}/{row['segment_id']}.flac"


# --------------------------------------------------------------------------- building

def _queries(root: Path) -> dict[str, str]:
    """``track_id -> query`` from ``search/candidates.jsonl`` (the last search wins)."""
    out: dict[str, str] = {}
    for rec in Journal(T.CANDIDATES.at(root)).replay():
        if isinstance(rec, dict) and isinstance(rec.get("track_id"), str):
            out[rec["track_id"]] = str(rec.get("query") or "")
    return out


def build_tables(wd: Workdir, scrub: Scrubber) -> tuple[dict[str, list[dict[str, str]]],
                                                        dict[str, Any]]:
    """The release tables from a work directory, and the split's description."""
    root = wd.root
    songs = T.read_table(root, T.SONGS)
    matches = T.read_table(root, T.MATCHES,
                           required=("track_id", "video_id", "url", "status", "reason"))
    segments = T.read_table(root, T.SEGMENTS, required=TABLES["segments"].columns)
    ledger = {r["track_id"]: r for r in T.read_table(
        root, T.LEDGER, required=("track_id", "status", "reason"), missing_ok=True)}
    queries = _queries(root)
    images = T.read_table(root, T.IMAGES, missing_ok=True,
                          required=("image_id", "path", "emotion", "label", "sha256", "status"))
    sources = {r["image_id"]: r.get("url", "") for r in T.read_table(
        root, T.IMAGE_LEDGER, required=("image_id", "url"), missing_ok=True)}

    t: dict[str, list[dict[str, str]]] = {}
    t["songs"] = [{c: r.get(c, "") for c in TABLES["songs"].columns} for r in songs]
    t["videos"] = [{**{c: r.get(c, "") for c in TABLES["videos"].columns},
                    "query": queries.get(r["track_id"], "")} for r in matches]
    t["segments"] = [{c: r.get(c, "") for c in TABLES["segments"].columns} for r in segments]
    t["images"] = [{**{c: r.get(c, "") for c in TABLES["images"].columns},
                    "source": sources.get(r["image_id"]) or "local file"} for r in images]
    t["splits"] = T.read_table(root, T.SPLITS, missing_ok=True)
    for split, table in T.PAIRS.items():
        t[f"pairs_{split}"] = T.read_table(root, table, missing_ok=True)
    t["status"] = _status_rows(songs, matches, ledger, images, root)

    for name, rows in t.items():
        table = TABLES[name]
        rows[:] = [{c: scrub(v) if c in SCRUBBED_COLUMNS else v
                    for c, v in ((c, str(r.get(c, ""))) for c in table.columns)}
                   for r in rows]
        rows.sort(key=table.key_of)
    split: dict[str, Any] = {}
    split_json = T.SPLIT_INFO.at(root)
    if split_json.is_file():
        try:
            split = json.loads(split_json.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            raise UserError(f"{split_json} is not valid JSON") from None
    return t, split


def _status_rows(songs: list[dict[str, str]], matches: list[dict[str, str]],
                 ledger: dict[str, dict[str, str]], images: list[dict[str, str]],
                 root: Path) -> list[dict[str, str]]:
    """One row per item missing from the dataset: where it was lost and why."""
    by_track = {r["track_id"]: r for r in matches}
    out = []

    def add(kind: str, item: str, stage: str, status: str, reason: str) -> None:
        out.append({"kind": kind, "item_id": item, "stage": stage, "status": status,
                    "reason": reason})

    for s in songs:
        tid = s["track_id"]
        m = by_track.get(tid)
        if m is None:
            add("song", tid, "search", "not_searched", "")
        elif m["status"] != "matched":
            add("song", tid, "search", m["status"] or "no_match", m.get("reason", ""))
        elif tid not in ledger:
            add("song", tid, "download", "not_attempted", "")
        elif ledger[tid]["status"] != "ok":
            add("song", tid, "download", ledger[tid]["status"], ledger[tid]["reason"])
    for r in images:
        if r["status"] != "ok":
            add("image", r["image_id"], "images", r["status"], r.get("reason", ""))
    for modality, kind in (("music", "segment"), ("images", "image")):
        for r in T.read_table(root, T.failures_table(modality), required=(),
                              missing_ok=True):
            item = r.get("segment_id") or r.get("image_id") or ""
            if item:
                add(kind, item, "features", r.get("reason", "failed") or "failed",
                    r.get("detail", ""))
    return out
