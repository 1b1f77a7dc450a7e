"""Subsets: which labelled songs ``search`` and ``download`` work on.

A subset is chosen from ``tags/songs.csv`` by, in this order:

1. ``tracks``: a file of MSD track ids (one a line, ``#`` comments allowed), a CSV with a
   ``track_id`` column, or the IMAC authors' Song Emotion Score File (song name, artist
   name, posScore, neuScore, negScore), matched to our songs by folded artist and title
   exactly as ``tags --imac-scores`` matches it;
2. ``classes``: only songs of these labels;
3. ``per_class``: N songs of each label, drawn with ``seed`` (a label with fewer gives all);
4. ``offset``: the first N of the result, ordered by track id, are left out.

The choice is recorded in ``workdir.json`` (``subset``: the options and the chosen track
ids), so a later ``search`` or ``download`` without subset options keeps to it, ``status``
counts only its songs, and ``release`` records it. A new choice replaces it;
``no_subset`` forgets it. ``--limit`` stays per run (at most N songs this run).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import random
import re
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import tables
from .errors import UserError
from .guard import printable, read_bytes
from .vocab import LABELS, is_track_id
from .workdir import read_state, replace_state, update_state

#: The key of ``workdir.json`` that holds the subset.
STATE_KEY = "subset"


@dataclass(frozen=True)
class SubsetSpec:
    """The subset options of ``search`` and ``download``."""

    tracks: Path | None = None
    per_class: int | None = None
    classes: tuple[str, ...] = field(default_factory=tuple)
    seed: int = 0
    offset: int = 0

    @property
    def given(self) -> bool:
        return bool(self.tracks is not None or self.per_class is not None or self.classes
                    or self.offset)

    def check(self) -> None:
        unknown = [c for c in self.classes if c not in LABELS]
        if unknown:
            raise UserError(f"--classes {unknown[0]!r}: choose among {', '.join(LABELS)}")
        if self.per_class is not None and self.per_class < 1:
            raise UserError("--per-class must be 1 or more")
        if self.offset < 0:
            raise UserError("--offset must be 0 or more")


def _looks_like_score_file(header: list[str]) -> bool:
    keys = {re.sub(r"[^a-z]", "", h.lower()) for h in header}
    return bool(keys & {"posscore", "pos", "positive"}) and bool(keys & {"negscore", "neg"})


#: Largest --tracks file read (the MSD's million track ids take 19 MB).
TRACKS_LIMIT = 512 * 1024 * 1024


def read_tracks(path: Path, songs: list[dict[str, str]]) -> tuple[list[str], str]:
    """Track ids named by ``path`` (ids, a CSV with ``track_id``, or a score file) and
    what the file was; the ids of a score file are those of our songs it matches."""
    path = Path(path)
    if not os.path.lexists(path):
        raise UserError(f"--tracks {path}: no such file")
    data = read_bytes(path, "a --tracks file", TRACKS_LIMIT)  # a FIFO: one line
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first else ";" if first.count(";") > first.count(",") else ","
    header = next(csv.reader(io.StringIO(first), delimiter=delimiter), [])
    if _looks_like_score_file(header):
        from .search.query import fold
        from .tags.imac_scores import read_score_file

        rows, _ = read_score_file(path)
        index: dict[tuple[str, str], list[str]] = {}
        for s in songs:
            index.setdefault((fold(s["artist_name"]), fold(s["title"])), []).append(
                s["track_id"])
        ids = [t for r in rows for t in index.get((fold(r.artist), fold(r.song)), [])]
        return ids, f"score file {path.name} ({len(rows)} rows)"
    if "track_id" in [h.strip() for h in header]:
        reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
        ids = [(r.get("track_id") or "").strip() for r in reader]
        what = f"track list {path.name} (CSV)"
    else:
        ids = [ln.split("#", 1)[0].strip() for ln in text.splitlines()]
        what = f"track list {path.name}"
    ids = [t for t in ids if t]
    bad = [t for t in ids if not is_track_id(t)]
    if bad:
        raise UserError(f"--tracks {path}: {bad[0][:40]!r} is not an MSD track id (TR + 16 "
                        "characters); give one id a line, a CSV with a track_id column, "
                        "or the Song Emotion Score File")
    return ids, what


def select(songs: list[dict[str, str]], spec: SubsetSpec) -> tuple[list[str], dict[str, Any]]:
    """The chosen track ids (sorted) and the record ``workdir.json`` keeps of them."""
    spec.check()
    pool = sorted((s for s in songs if s.get("label") in LABELS), key=lambda s: s["track_id"])
    record: dict[str, Any] = {"per_class": spec.per_class, "classes": list(spec.classes),
                              "seed": spec.seed, "offset": spec.offset, "tracks": None}
    if spec.tracks is not None:
        ids, what = read_tracks(spec.tracks, pool)
        wanted = set(ids)
        record["tracks"] = {"file": Path(spec.tracks).name, "what": what, "ids": len(wanted),
                            "sha256": hashlib.sha256(Path(spec.tracks).read_bytes())
                            .hexdigest()}
        pool = [s for s in pool if s["track_id"] in wanted]
    if spec.classes:
        pool = [s for s in pool if s["label"] in spec.classes]
    if spec.per_class is not None:
        chosen = []
        for label in LABELS:
            of_label = [s for s in pool if s["label"] == label]
            random.Random(f"{spec.seed}:{label}").shuffle(of_label)
            chosen += of_label[:spec.per_class]
        pool = sorted(chosen, key=lambda s: s["track_id"])
    pool = pool[spec.offset:]
    ids = [s["track_id"] for s in pool]
    record.update(songs=len(ids), by_label=dict(sorted(Counter(s["label"] for s in pool)
                                                       .items())), track_ids=ids)
    return ids, record


def in_effect(root: Path, subset: SubsetSpec | Collection[str] | None = None,
              no_subset: bool = False, record: bool = True) -> set[str] | None:
    """The track ids a stage keeps to, or None for every song.

    A :class:`SubsetSpec` with options chooses (and records) a new subset; a collection
    of track ids is used as it is; otherwise the recorded one applies (``no_subset``
    forgets it). ``record=False`` leaves ``workdir.json`` as it is: a stage that may
    still refuse to start (no API key, no ffmpeg) records the choice with
    :func:`remember` once it does start."""
    root = Path(root)
    if no_subset:
        if record and read_state(root).get(STATE_KEY) is not None:
            update_state(root, **{STATE_KEY: None})
        return None
    if isinstance(subset, SubsetSpec):
        if not subset.given:
            subset = None
        else:
            songs = tables.read_table(root, tables.SONGS, required=("track_id", "label"))
            ids, chosen = select(songs, subset)
            if not ids:
                raise UserError("the subset options choose no song (check --tracks, "
                                "--classes and --offset against tags/songs.csv)")
            if record:
                replace_state(root, **{STATE_KEY: chosen})
            return set(ids)
    if subset is not None:
        return set(subset)
    return recorded(root)


def remember(root: Path, subset: SubsetSpec | Collection[str] | None = None,
             no_subset: bool = False) -> None:
    """Record in ``workdir.json`` what :func:`in_effect` chose with ``record=False``."""
    in_effect(root, subset, no_subset)


def recorded(root: Path) -> set[str] | None:
    """The subset ``workdir.json`` records, or None."""
    rec = read_state(root).get(STATE_KEY)
    if isinstance(rec, dict) and isinstance(rec.get("track_ids"), list):
        return {str(t) for t in rec["track_ids"]}
    return None


def describe(root: Path) -> str:
    """One phrase naming the recorded subset, or ``""``."""
    rec = read_state(Path(root)).get(STATE_KEY)
    if not isinstance(rec, dict) or not isinstance(rec.get("track_ids"), list):
        return ""
    parts = []
    if rec.get("source"):
        parts.append(str(rec["source"]))
    if isinstance(rec.get("tracks"), dict):
        parts.append(str(rec["tracks"].get("what", "")))
    if rec.get("classes"):
        classes = rec["classes"] if isinstance(rec["classes"], list) else [rec["classes"]]
        parts.append("classes " + ", ".join(map(str, classes)))
    if rec.get("per_class") is not None:
        parts.append(f"{rec['per_class']} a class, seed {rec.get('seed', 0)}")
    if rec.get("offset"):
        parts.append(f"offset {rec['offset']}")
    by = rec.get("by_label") if isinstance(rec.get("by_label"), dict) else {}
    counts = ", ".join(f"{by.get(lab, 0)} {lab}" for lab in LABELS) if by else ""
    text = (f"subset of {len(rec['track_ids'])} songs" + (f" ({counts})" if counts else "")
            + (f": {'; '.join(p for p in parts if p)}" if parts else ""))
    return printable(text)[:300]  # a hand-edited workdir.json: one printable line


def for_release(root: Path) -> dict[str, Any] | None:
    """What a release records of the subset: the options, counts and the ids' hash."""
    rec = read_state(Path(root)).get(STATE_KEY)
    if not isinstance(rec, dict) or not isinstance(rec.get("track_ids"), list):
        return None
    ids = "\n".join(sorted(str(t) for t in rec["track_ids"]))
    out = {k: v for k, v in rec.items() if k != "track_ids"}
    out["track_ids_sha256"] = hashlib.sha256(ids.encode()).hexdigest()
    return out
