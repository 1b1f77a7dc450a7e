"""Every stored candidate's score: written by search beside ``matches.csv``
(``search/scores.json``) and read by review, so that the page shows the scores that chose
the matches without scoring 200,000 candidates again.

The file is a cache, never a source of truth: an entry is used only when the chooser's
settings (a hash of :class:`MatchConfig`), the song's artist, title, duration, album and its
stored candidates are those it was computed from, and only in the shape written here; any
other entry, or an unreadable file, means "score again".
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from .match import Candidate, MatchConfig, Scored, score_candidate

log = logging.getLogger(__name__)

#: The parts of a candidate's score, in the order of a stored row.
ROW_FIELDS = ("score", "title_sim", "artist_sim", "official", "penalties", "qualifiers",
              "failed")
#: Bytes a stored candidate may take in the file (the reader's bound).
BYTES_PER_CANDIDATE = 1024
#: Longest word list entry kept (a penalty phrase, a qualifier, a failed threshold).
TEXT_LIMIT = 2000


def row(s: Scored) -> list:
    """One candidate's stored score (:data:`ROW_FIELDS`)."""
    return [s.score, round(s.title), round(s.artist), s.official, list(s.penalties),
            list(s.qualifiers), list(s.failed)]


def score_rows(artist: str, title: str, duration: float | None, cands: list[dict],
               cfg: MatchConfig, album: str = "") -> list[list]:
    """Score every stored candidate (``Candidate.to_dict`` form) of one song."""
    return [row(score_candidate(artist, title, duration, Candidate.from_dict(c), cfg,
                                album or None)) for c in cands]


def config_hash(cfg: MatchConfig) -> str:
    return hashlib.sha1(json.dumps(cfg.to_dict(), sort_keys=True).encode(),
                        usedforsecurity=False).hexdigest()


def song_key(artist: str, title: str, duration: float | None, cands: list[dict],
             album: str = "") -> str:
    """What a song's scores depend on besides the settings, hashed."""
    blob = json.dumps([artist, title, duration, album, cands], sort_keys=True,
                      separators=(",", ":"))
    return hashlib.sha1(blob.encode("utf-8"), usedforsecurity=False).hexdigest()[:20]


def valid_rows(rows: object, n: int) -> bool:
    """Whether an entry has the shape :func:`row` writes, one row per candidate, its
    numbers within their ranges and its words short (a hand-edited entry of another
    shape, or a score of 1e308, is a miss, never shown)."""
    def num(v: object, lo: float, hi: float) -> bool:  # no NaN; a 400-digit int compares
        return isinstance(v, (int, float)) and not isinstance(v, bool) and lo <= v <= hi

    def text(v: object) -> bool:
        return isinstance(v, str) and len(v) <= TEXT_LIMIT

    def words(v: object) -> bool:
        return isinstance(v, list) and len(v) <= 64 and all(text(x) for x in v)

    return isinstance(rows, list) and len(rows) == n and all(
        isinstance(r, list) and len(r) == 7 and num(r[0], 0, 100) and num(r[1], -100, 100)
        and num(r[2], -100, 100) and text(r[3]) and words(r[4]) and words(r[5])
        and words(r[6]) for r in rows)


def load(path: Path, cfg_hash: str, candidates: int) -> dict[str, Any]:
    """The entries of a score file written under settings ``cfg_hash`` (track id ->
    ``[song key, rows]``; check each with :func:`lookup`), or nothing."""
    from ..errors import UserError
    from ..guard import read_json

    try:  # bounded and strict: a FIFO or a link planted here is no cache
        doc = read_json(path, "a score file", (candidates + 1) * BYTES_PER_CANDIDATE,
                        nofollow=True)
    except (OSError, UserError):
        return {}
    if not isinstance(doc, dict) or doc.get("config") != cfg_hash or \
            not isinstance(doc.get("songs"), dict):
        return {}
    return doc["songs"]


def lookup(entries: dict[str, Any], track_id: str, key: str, n: int) -> list[list] | None:
    """A song's stored rows when they were computed from the same song and candidates."""
    hit = entries.get(track_id)
    if isinstance(hit, list) and len(hit) == 2 and hit[0] == key and valid_rows(hit[1], n):
        return hit[1]
    return None


def malformed(entries: dict[str, Any], track_id: str, key: str, n: int) -> bool:
    """Whether a song's entry was computed from the same song but is not of the shape
    :func:`row` writes (edited by hand)."""
    hit = entries.get(track_id)
    return isinstance(hit, list) and len(hit) == 2 and hit[0] == key and \
        not valid_rows(hit[1], n)


def save(path: Path, cfg_hash: str, songs: dict[str, tuple[str, list[list]]]) -> None:
    """Write the entries atomically; a file that cannot be written is only a warning."""
    from .. import atomic

    try:
        atomic.write_text(path, json.dumps(
            {"config": cfg_hash, "songs": {t: [k, r] for t, (k, r) in songs.items()}},
            separators=(",", ":")))
    except OSError as e:
        log.warning("could not write %s: %s", path, e)
