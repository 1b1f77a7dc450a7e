"""The review page's data: every song with its chosen video, its candidates scored, its
override and its download result, read through the project's guarded readers.

Rows are compact JSON arrays (field order in :data:`SONG_FIELDS` and
:data:`CANDIDATE_FIELDS`, which the page's script reads by position), so 10,000 songs
with 20 candidates each stay a page a browser opens in about a second.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from .. import tables as T
from ..errors import UserError
from ..vocab import DOWNLOAD_STATUSES, LABELS, SEARCH_REASONS, is_track_id
from ..workdir import Workdir, read_state

log = logging.getLogger(__name__)

#: Positions of a song's array in the page data.
SONG_FIELDS = ("track_id", "artist", "title", "duration", "label", "status", "reason_word",
               "reason", "video_id", "video_title", "channel", "video_duration", "score",
               "override", "override_note", "download", "failed_videos", "candidates")
#: Positions of a candidate's array.
CANDIDATE_FIELDS = ("video_id", "title", "channel", "duration", "rank", "score", "title_sim",
                    "artist_sim", "official", "penalties", "qualifiers", "failed", "excluded")
#: Scores of more songs than this are computed by one worker per core.
PARALLEL_FROM = 400
CACHE = "review/.scores.json"


def _num(text: str | None) -> float | None:
    try:
        v = float(text) if text not in (None, "") else None
    except ValueError:
        return None
    return v if v is not None and v == v and abs(v) != float("inf") else None


def match_config(root: Path) -> Any:
    """The chooser's settings the search stage last ran with (``workdir.json``), or the
    defaults: the scores shown are the ones that produced ``matches.csv``."""
    from ..config import stage_config
    from ..search.match import MatchConfig

    values = ((read_state(root).get("configs") or {}).get("search") or {}).get("values")
    if not isinstance(values, dict):
        return MatchConfig()
    try:
        return stage_config("search", values).match()  # type: ignore[attr-defined]
    except UserError:
        return MatchConfig()


def _score_songs(jobs: list[tuple[str, str, float | None, str, list[dict]]],
                 cfg: Any) -> list[list[list]]:
    """Score every candidate of each (artist, title, duration, album, candidates)."""
    from ..search.scores import score_rows

    return [score_rows(a, t, d, c, cfg, al) for a, t, d, al, c in jobs]


def _score_all(jobs: list[tuple[str, str, float | None, str, list[dict]]], cfg: Any,
               workers: int) -> list[list[list]]:
    if workers <= 1 or len(jobs) < PARALLEL_FROM:
        return _score_songs(jobs, cfg)
    size = max(50, len(jobs) // (workers * 4))
    chunks = [jobs[i:i + size] for i in range(0, len(jobs), size)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        parts = list(pool.map(_score_songs, chunks, [cfg] * len(chunks)))
    return [r for part in parts for r in part]


def scores(root: Path, items: list[tuple[str, str, str, float | None, str, list[dict]]],
           cfg: Any, workers: int = 1) -> tuple[dict[str, list[list]], int]:
    """Every candidate's score by track id, and how many songs were scored now.

    Scores come from ``search/scores.json`` (written by the search that chose the
    matches) or ``W/review/.scores.json`` (what review scored itself) when the song, its
    candidates and the chooser's settings are unchanged; the rest are scored here."""
    from ..search import scores as S

    cfg_hash = S.config_hash(cfg)
    n = sum(len(c) for *_, c in items)
    stored = S.load(T.SCORES.at(root), cfg_hash, n)
    cache = S.load(root / CACHE, cfg_hash, n)
    keys = {tid: S.song_key(a, t, d, c, al) for tid, a, t, d, al, c in items}
    out: dict[str, list[list]] = {}
    mine: dict[str, tuple[str, list[list]]] = {}
    todo = []
    bad = 0
    for tid, artist, title, dur, album, cands in items:
        hit = S.lookup(stored, tid, keys[tid], len(cands))
        if hit is None:
            hit = S.lookup(cache, tid, keys[tid], len(cands))
            if hit is None:
                bad += any(S.malformed(e, tid, keys[tid], len(cands)) for e in (stored, cache))
                todo.append((tid, artist, title, dur, album, cands))
                continue
            mine[tid] = (keys[tid], hit)
        out[tid] = hit
    if bad:
        log.warning("ignored %d malformed entries of %s or %s (edited?): scored again", bad,
                    T.SCORES.at(root), root / CACHE)
    fresh = _score_all([x[1:] for x in todo], cfg, workers)
    for (tid, *_), rows in zip(todo, fresh, strict=True):
        out[tid] = rows
        mine[tid] = (keys[tid], rows)
    if todo:
        S.save(root / CACHE, cfg_hash, mine)
    return out, len(todo)


def _read_candidates(root: Path) -> tuple[dict[str, dict], int]:
    from ..search.stage import CandidateLog

    path = T.CANDIDATES.at(root)
    if not path.is_file():
        return {}, 0
    return CandidateLog(path).read()


def summary_panel(root: Path, songs: list[dict[str, str]]) -> dict[str, Any]:
    """The figures ``status`` prints (its own functions), and songs per label beside the
    paper's Table 3."""
    from ..status import workdir_status
    from ..tags.report import PAPER_SONGS

    st = workdir_status(Workdir(root), progress=False)
    per_label = Counter(s.get("label", "") for s in songs)
    return {
        "labels": [[g, per_label.get(g, 0), PAPER_SONGS[g]] for g in LABELS],
        "stages": {s.stage: [s.state, s.detail] for s in st.stages
                   if s.stage in ("tags", "search", "download")},
        "failures_by_reason": st.failures_by_reason,
        "overrides": st.overrides,
        "status_lines": st.lines(),
    }


def build_data(workdir: Workdir | Path, *, jobs: int = 1) -> tuple[dict[str, Any], dict]:
    """The page data, and counters for the command's summary."""
    from ..search.stage import read_failed_videos, read_overrides

    wd = workdir if isinstance(workdir, Workdir) else Workdir(Path(workdir))
    root = wd.root
    songs_rows = T.read_table(root, T.SONGS, required=("track_id", "artist_name", "title",
                                                       "duration", "label"))
    matches = {r["track_id"]: r for r in T.read_table(root, T.MATCHES)}
    records, bad_lines = _read_candidates(root)
    overrides = read_overrides(root)
    excluded = read_failed_videos(root)
    ledger = {r["track_id"]: r for r in T.read_table(
        root, T.LEDGER, required=("track_id", "video_id", "status", "reason"), missing_ok=True)}
    failed: dict[str, list[list[str]]] = {}
    for r in T.read_table(root, T.FAILED_VIDEOS, required=("track_id", "video_id", "status"),
                          missing_ok=True):
        failed.setdefault(r["track_id"], []).append(
            [r["video_id"], r["status"], r.get("reason", "")])

    songs: dict[str, dict[str, str]] = {}
    for row in songs_rows:
        tid = row["track_id"].strip()
        if is_track_id(tid):
            songs[tid] = row
    order = sorted(songs)
    items = []
    for tid in order:
        rec = records.get(tid)
        if rec and rec.get("candidates"):
            s = songs[tid]
            items.append((tid, s["artist_name"], s["title"], _num(s["duration"]),
                          s.get("release") or "", rec["candidates"]))
    scored, n_scored = scores(root, items, match_config(root), jobs)

    out = []
    for tid in order:
        s, m = songs[tid], matches.get(tid, {})
        reason = m.get("reason", "")
        word = reason.split(":", 1)[0].strip() if m.get("status") == "no_match" else (
            "override" if reason.startswith("override:") else "matched" if m else "")
        ov = overrides.get(tid)
        led = ledger.get(tid)
        download = None if led is None else [led["status"], led["reason"], led["video_id"],
                                             led.get("n_segments", "")]
        cands = []
        for c, sc in zip((records.get(tid) or {}).get("candidates") or [], scored.get(tid, []),
                         strict=False):
            cands.append([c["video_id"], c["title"], c["channel_title"],
                          _num(None if c["duration"] is None else str(c["duration"])),
                          c["rank"], *sc, excluded.get(c["video_id"], "")])
        out.append([tid, s["artist_name"], s["title"], _num(s["duration"]), s["label"],
                    m.get("status", ""), word, reason, m.get("video_id", ""),
                    m.get("video_title", ""), m.get("channel_title", ""),
                    _num(m.get("video_duration")), _num(m.get("score")),
                    ov[0] if ov else "", ov[1] if ov else "", download,
                    failed.get(tid, []), cands])
    data = {
        "fields": {"song": SONG_FIELDS, "candidate": CANDIDATE_FIELDS},
        "workdir": str(root),
        "songs": out,
        "summary": summary_panel(root, list(songs.values())),
        "reasons": {w: st.advice for w, st in SEARCH_REASONS.items()},
        "downloads": {w: st.advice for w, st in DOWNLOAD_STATUSES.items()},
        "labels": list(LABELS),
        "extra_overrides": [[t, v, n] for t, (v, n) in sorted(overrides.items())
                            if t not in songs],
    }
    counts = {"songs": len(out), "candidates": sum(len(x[-1]) for x in out),
              "scored_now": n_scored, "bad_lines": bad_lines}
    return data, counts


def embed_json(data: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: no ``<``, ``>`` or ``&``
    (so no ``</script>`` or ``<!--`` can end the block), no line separators, no lone
    surrogates."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    # a lone surrogate ("\\ud800" in a stored title) cannot be written as UTF-8: as the
    # JSON escape it came in (never after a bare backslash: dumps escapes every one)
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


__all__: Sequence[str] = ("CANDIDATE_FIELDS", "SONG_FIELDS", "build_data", "embed_json",
                          "match_config", "scores", "summary_panel")
