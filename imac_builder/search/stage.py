"""``run_search``: find each labelled song on YouTube and choose its video.

Reads ``tags/songs.csv``; writes ``search/candidates.jsonl`` (one line per searched song,
appended and synced song by song, so a crash loses at most the song in flight),
``search/matches.csv`` (every song: ``matched`` or ``no_match`` with the reason) and
``search/quota.json`` (the units ledger).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from .. import atomic, tables
from ..errors import UserError
from ..journal import Journal
from ..vocab import is_track_id
from ..workdir import Workdir
from ..ytdlp_access import YtdlpAccess
from .backend import Backoff, QuotaStop, Searcher, SearchError
from .match import Candidate, Decision, MatchConfig, choose
from .query import build_query
from .quota import DEFAULT_DAILY_QUOTA, QuotaLedger, utcnow

log = logging.getLogger(__name__)

MATCH_COLUMNS = tables.MATCHES.columns
BACKENDS = ("api", "ytdlp")
#: A run stops after this many songs failed one after the other (network down, blocked).
MAX_FAILURES_IN_A_ROW = 5


@dataclass(frozen=True)
class SongInfo:
    """What the search needs of a ``tags/songs.csv`` row."""

    track_id: str
    artist: str
    title: str
    duration: float | None

    @property
    def query(self) -> str:
        return build_query(self.artist, self.title)

    @property
    def searchable(self) -> bool:
        return bool(self.artist.strip() and self.title.strip())


def read_songs(root: Path) -> tuple[list[SongInfo], int]:
    """Songs of ``tags/songs.csv`` and the number of rows refused (bad track id)."""
    songs: dict[str, SongInfo] = {}
    bad = 0
    for row in tables.read_table(root, tables.SONGS,
                                 required=("track_id", "artist_name", "title", "duration")):
        tid = row["track_id"].strip()
        if not is_track_id(tid):
            bad += 1
            continue
        try:
            dur = float(row["duration"]) if row["duration"] else None
        except ValueError:
            dur = None
        if dur is not None and not 0 < dur < float("inf"):
            dur = None
        songs[tid] = SongInfo(tid, row["artist_name"], row["title"], dur)
    return [songs[t] for t in sorted(songs)], bad


class CandidateLog(Journal):
    """``candidates.jsonl``: the search's journal, one line per searched song."""

    def read(self) -> tuple[dict[str, dict], int]:
        """Records by track id (the last one wins) and the number of unreadable lines."""
        records: dict[str, dict] = {}
        bad = 0
        for rec in self.replay():
            try:
                tid = rec["track_id"]
                if not is_track_id(tid):
                    raise ValueError(tid)
                rec["candidates"] = [Candidate.from_dict(c).to_dict()
                                     for c in rec.get("candidates") or []]
                rec.setdefault("query", "")
                records[tid] = rec
            except (ValueError, KeyError, TypeError, AttributeError):
                bad += 1
        return records, bad + self.bad_lines


def read_matches(root: Path) -> dict[str, dict]:
    """The previous ``matches.csv`` by track id (empty when absent or unreadable)."""
    try:
        rows = tables.read_table(root, tables.MATCHES, required=("track_id",), missing_ok=True)
    except UserError:
        return {}
    return {r["track_id"]: r for r in rows if r["track_id"]}


@dataclass
class SearchSummary:
    """What the stage did, for the CLI and a notebook."""

    backend: str = ""
    songs: int = 0
    searched: int = 0
    reused: int = 0
    failed_now: int = 0
    matched: int = 0
    no_match: int = 0
    failed: int = 0
    not_searched: int = 0
    remaining: int = 0
    units_spent: int = 0
    quota_left: int | None = None
    rerank: bool = False
    stopped: str = ""
    failed_in_a_row: int = 0
    bad_rows: int = 0
    bad_lines: int = 0
    match_config: dict = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def lines(self) -> list[str]:
        if self.rerank:
            out = [f"reranked {self.songs} songs from candidates.jsonl (no network, no quota)"]
        else:
            out = [f"{self.searched} searched now ({self.backend}), {self.reused} reused "
                   f"from identical queries, {self.failed_now} failed"]
            if self.quota_left is not None:
                out.append(f"{self.units_spent} API units spent; {self.quota_left} left today")
        out.append(f"{self.songs} songs: {self.matched} matched, {self.no_match} no match, "
                   f"{self.failed} search failed, {self.not_searched} not searched yet")
        if self.bad_rows or self.bad_lines:
            out.append(f"ignored {self.bad_rows} songs.csv rows with a bad track id and "
                       f"{self.bad_lines} unreadable candidates.jsonl lines")
        if self.stopped:
            out.append(self.stopped)
        out += [f"wrote {p}" for p in self.outputs]
        return out


def _match_row(song: SongInfo, d: Decision) -> tuple:
    if d.status == "matched" and d.best is not None:
        c = d.best.candidate
        dur = "" if c.duration is None else f"{c.duration:g}"
        return (song.track_id, c.video_id, c.url, c.title, c.channel_title, dur,
                f"{d.best.score:.1f}", "matched", d.reason)
    score = "" if d.best is None else f"{d.best.score:.1f}"
    return (song.track_id, "", "", "", "", "", score, "no_match", d.reason)


def _decide(song: SongInfo, record: dict, cfg: MatchConfig) -> Decision:
    cands = [Candidate.from_dict(c) for c in record.get("candidates", [])]
    return choose(song.artist, song.title, song.duration, cands, cfg)


def _bar(total: int, progress: bool) -> Iterator:
    from tqdm import tqdm

    return tqdm(total=total, unit="song", desc="search", disable=not progress,
                dynamic_ncols=True)


def run_search(
    workdir: Workdir | Path,
    backend: str = "api",
    limit: int | None = None,
    rerank: bool = False,
    retry_failed: bool = False,
    api_key_file: Path | None = None,
    daily_quota: int = DEFAULT_DAILY_QUOTA,
    results: int = 10,
    match: MatchConfig | None = None,
    progress: bool = True,
    searcher: Searcher | None = None,
    http: object = None,
    clock: Callable[[], datetime] = utcnow,
    backoff: Backoff | None = None,
    access: YtdlpAccess | None = None,
) -> SearchSummary:
    """Search every labelled song not searched yet, then rewrite ``matches.csv``.

    ``searcher`` replaces the backend (tests), ``http`` is handed to the API client
    (an ``HttpMockSequence`` in tests), ``clock`` gives the time for the quota day;
    ``access`` holds the yt-dlp options of the ``ytdlp`` backend (JS runtime, browser
    cookies, extractor arguments).
    """
    if backend not in BACKENDS:
        raise UserError(f"unknown backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    if limit is not None and limit < 0:
        raise UserError("--limit must be 0 or more")
    if not 1 <= results <= 500:
        raise UserError("--results must be between 1 and 500")
    cfg = match or MatchConfig()
    wd = workdir if isinstance(workdir, Workdir) else Workdir(Path(workdir))
    songs, bad_rows = read_songs(wd.root)
    out = wd.stage("search")
    atomic.remove_stale_temporaries(out)
    clog = CandidateLog(tables.CANDIDATES.at(wd.root))
    records, bad_lines = clog.read()
    previous = read_matches(wd.root)
    summary = SearchSummary(backend=backend, rerank=rerank, bad_rows=bad_rows,
                            bad_lines=bad_lines, match_config=cfg.to_dict())
    failures: dict[str, str] = {
        t: r["reason"] for t, r in previous.items()
        if r.get("status") == "no_match" and (r.get("reason") or "").startswith("search_failed")
        and t not in records}

    if rerank:
        if not clog.path.exists():
            raise UserError(f"nothing to rerank: {clog.path} does not exist; run search first")
        _write_matches(wd.root, songs, records, failures, cfg, summary)
        summary.remaining = summary.not_searched
        log.info("search --rerank: %s", "; ".join(summary.lines()))
        return summary

    ledger = QuotaLedger.load(tables.QUOTA.at(wd.root), daily_quota, clock)
    by_query = {r["query"]: r for r in records.values() if r.get("query")}
    if retry_failed:
        todo = [s for s in songs if s.searchable and (
            s.track_id in failures or (s.track_id in records
                                       and _decide(s, records[s.track_id], cfg).status
                                       == "no_match"))]
    else:
        todo = [s for s in songs if s.searchable and s.track_id not in records
                and s.track_id not in failures]
    if limit is not None:
        todo = todo[:limit]

    own_searcher = searcher is None
    spent_before = ledger.spent_today
    try:
        if todo:
            if searcher is None:
                searcher = _make_searcher(backend, ledger, results, api_key_file, http,
                                          backoff, access)
            _search_songs(todo, searcher, clog, records, by_query, failures, ledger, cfg,
                          retry_failed, summary, progress)
    finally:
        if own_searcher and searcher is not None:
            searcher.close()  # type: ignore[attr-defined]
        summary.units_spent = max(0, ledger.spent_today - spent_before)
        uses_quota = searcher.uses_quota if searcher is not None else backend == "api"
        summary.quota_left = ledger.left if uses_quota else None
        ledger.save()
        _write_matches(wd.root, songs, records, failures, cfg, summary)
        summary.outputs.append(str(tables.QUOTA.at(wd.root)))
    summary.remaining = sum(1 for s in songs if s.searchable and s.track_id not in records
                            and s.track_id not in failures)
    if summary.stopped and summary.failed_in_a_row >= MAX_FAILURES_IN_A_ROW:
        summary.stopped += f"; {summary.remaining} songs remain; run the same command again"
    elif summary.stopped:
        summary.stopped += (f"; {summary.remaining} songs remain; the quota resets at "
                            f"{ledger.reset_text()}; run the same command again then")
    log.info("search: %s", "; ".join(summary.lines()))
    return summary


def _make_searcher(backend: str, ledger: QuotaLedger, results: int,
                   api_key_file: Path | None, http: object,
                   backoff: Backoff | None, access: YtdlpAccess | None = None) -> Searcher:
    if backend == "api":
        from .youtube_api import ApiBackend, read_api_key

        try:
            import googleapiclient  # noqa: F401
        except ImportError:
            raise UserError("the api backend needs google-api-python-client: "
                            "pip install 'imac_builder[search]'") from None
        return ApiBackend(read_api_key(api_key_file), ledger, results, http=http,
                          backoff=backoff)
    from .ytdlp_search import YtdlpBackend

    try:
        import yt_dlp  # noqa: F401
    except ImportError:
        raise UserError("the ytdlp backend needs yt-dlp: pip install "
                        "'imac_builder[search]'") from None
    return YtdlpBackend(results, backoff=backoff, access=access)


def _search_songs(todo: list[SongInfo], searcher: Searcher, clog: CandidateLog,
                  records: dict[str, dict], by_query: dict[str, dict],
                  failures: dict[str, str], ledger: QuotaLedger, cfg: MatchConfig,
                  retry: bool, summary: SearchSummary, progress: bool) -> None:
    matched = 0
    fresh: set[str] = set()  # queries searched in this run (reused even when retrying)
    with clog, _bar(len(todo), progress) as bar:
        for song in todo:
            query = song.query
            reuse = by_query.get(query) if not retry or query in fresh else None
            if reuse is not None:  # the same query was searched for another song
                rec = _keep(song, query, reuse.get("backend", searcher.name),
                            [Candidate.from_dict(c) for c in reuse["candidates"]],
                            clog, records, by_query, failures, reuse.get("searched_at"))
                summary.reused += 1
            else:
                if searcher.uses_quota and ledger.exhausted_today:
                    summary.stopped = "stopped: the YouTube API said quotaExceeded today"
                    break
                if searcher.uses_quota and not ledger.can_spend(searcher.units_per_search()):
                    summary.stopped = (f"stopped before exceeding the daily budget of "
                                       f"{ledger.daily_quota} units ({ledger.spent_today} "
                                       "spent today)")
                    break
                try:
                    cands = searcher.search(query)
                except SearchError as e:
                    failures[song.track_id] = f"search_failed: {e}"
                    summary.failed_now += 1
                    summary.failed_in_a_row += 1
                    log.warning("%s: search failed: %s", song.track_id, e)
                    bar.update(1)
                    if summary.failed_in_a_row >= MAX_FAILURES_IN_A_ROW:
                        summary.stopped = (f"stopped after {MAX_FAILURES_IN_A_ROW} failed "
                                           f"searches in a row (last: {e}); check the "
                                           "network or the backend")
                        break
                    continue
                except QuotaStop as stop:
                    if stop.partial:
                        _keep(song, query, searcher.name, stop.partial, clog, records,
                              by_query, failures)
                        summary.searched += 1
                    summary.stopped = f"stopped: {stop}"
                    break
                rec = _keep(song, query, searcher.name, cands, clog, records, by_query,
                            failures)
                fresh.add(query)
                summary.failed_in_a_row = 0
                summary.searched += 1
            if _decide(song, rec, cfg).status == "matched":
                matched += 1
            bar.update(1)
            bar.set_postfix(matched=matched,
                            quota_left=ledger.left if searcher.uses_quota else "n/a")


def _keep(song: SongInfo, query: str, backend: str, cands: list[Candidate],
          clog: CandidateLog, records: dict[str, dict], by_query: dict[str, dict],
          failures: dict[str, str], searched_at: str | None = None) -> dict:
    """Append one song's search to ``candidates.jsonl`` and to the in-memory indexes."""
    rec = {"track_id": song.track_id, "query": query, "backend": backend,
           "searched_at": searched_at or datetime.now(UTC).isoformat(timespec="seconds"),
           "candidates": [c.to_dict() for c in cands]}
    clog.append(rec)
    records[song.track_id] = rec
    by_query[query] = rec
    failures.pop(song.track_id, None)
    return rec


def _write_matches(root: Path, songs: list[SongInfo], records: dict[str, dict],
                   failures: dict[str, str], cfg: MatchConfig,
                   summary: SearchSummary) -> None:
    rows = []
    summary.songs = len(songs)
    summary.matched = summary.no_match = summary.failed = summary.not_searched = 0
    for song in songs:
        if song.track_id in records:
            d = _decide(song, records[song.track_id], cfg)
        elif not song.searchable:
            d = Decision("no_match", None, "no_metadata: the song has no artist or title")
        elif song.track_id in failures:
            d = Decision("no_match", None, failures[song.track_id])
            summary.failed += 1
        else:
            d = Decision("no_match", None, "not_searched: run search again to continue")
            summary.not_searched += 1
        if d.status == "matched":
            summary.matched += 1
        elif song.track_id in records or not song.searchable:
            summary.no_match += 1
        rows.append(_match_row(song, d))
    tables.write_table(root, tables.MATCHES, rows)
    summary.outputs = [str(tables.CANDIDATES.at(root)), str(tables.MATCHES.at(root))]
