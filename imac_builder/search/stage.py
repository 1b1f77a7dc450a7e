"""``run_search``: find each labelled song on YouTube and choose its video.

Reads ``tags/songs.csv``; writes ``search/candidates.jsonl`` (one line per searched song,
appended and synced song by song, so a crash loses at most the song in flight),
``search/matches.csv`` (every song: ``matched`` or ``no_match`` with the reason) and
``search/quota.json`` (the units ledger).

Every run also reads ``search/overrides.csv`` (a person's decisions: a video id wins over
the chooser, ``skip`` drops the song) and the download stage's record of videos that
failed for good (``download/failed_videos.csv`` and the ledger): no run chooses such a
video again, so ``--rematch`` (or any rerank) picks each song's next acceptable candidate
with no network and no quota.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from .. import atomic, guard, tables
from ..config import MAX_RESULTS, SearchConfig
from ..errors import UserError
from ..journal import Journal
from ..subset import SubsetSpec
from ..subset import describe as subset_describe
from ..subset import in_effect as subset_in_effect
from ..subset import remember as subset_remember
from ..vocab import DOWNLOAD_STATUSES, SEARCH_REASONS, is_track_id, is_video_id, watch_url
from ..workdir import Workdir
from ..ytdlp_access import YtdlpAccess
from . import scores
from .backend import Backoff, QuotaStop, Searcher, SearchError
from .match import MAX_TEXT, Candidate, Decision, MatchConfig, choose
from .query import build_query
from .quota import QuotaLedger, utcnow
from .registry import BACKENDS as _REGISTRY
from .registry import BackendContext, backend_info

log = logging.getLogger(__name__)

MATCH_COLUMNS = tables.MATCHES.columns
#: The registered backends' names (:mod:`.registry`; adding one is one line there).
BACKENDS = tuple(_REGISTRY)
#: What ``--retry-failed`` accepts: every reason word, ``no_match`` (every searched song
#: without a match) and ``all`` (those and the failed searches).
RETRY_CHOICES = ("all", "no_match", *(w for w in SEARCH_REASONS
                                      if w not in ("skipped", "no_metadata", "not_searched")))
SKIP = "skip"
#: A run stops after this many songs failed one after the other (network down, blocked).
MAX_FAILURES_IN_A_ROW = 5


@dataclass(frozen=True)
class SongInfo:
    """What the search needs of a ``tags/songs.csv`` row."""

    track_id: str
    artist: str
    title: str
    duration: float | None
    #: the MSD ``release`` (the album): evidence the chooser reads (a film, a live album)
    album: str = ""

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
        songs[tid] = SongInfo(tid, row["artist_name"], row["title"], dur,
                              row.get("release") or "")
    return [songs[t] for t in sorted(songs)], bad


class CandidateLog(Journal):
    """``candidates.jsonl``: the search's journal, one line per searched song."""

    def read(self) -> tuple[dict[str, dict], int]:
        """Records by track id (the last one wins) and the number of unreadable lines."""
        records: dict[str, dict] = {}
        bad = 0
        for rec in self.replay():
            if guard.has_surrogates(rec):  # "\ud800": valid JSON, but not writable text
                rec = guard.without_surrogates(rec)
            try:
                tid = rec["track_id"]
                if not is_track_id(tid):
                    raise ValueError(tid)
                stored = rec.get("candidates") or []
                if isinstance(stored, list) and len(stored) > MAX_RESULTS:
                    log.warning("%s: %d stored candidates; the first %d are read (a search "
                                "fetches at most %d)", tid, len(stored), MAX_RESULTS,
                                MAX_RESULTS)
                    stored = stored[:MAX_RESULTS]
                rec["candidates"] = [_checked(Candidate.from_dict(c)).to_dict()
                                     for c in stored]
                rec.setdefault("query", "")
                if not isinstance(rec["query"], str):
                    raise TypeError("query")
                records[tid] = rec
            except (ValueError, KeyError, TypeError, AttributeError, OverflowError,
                    UserError):
                bad += 1
        return records, bad + self.bad_lines


def _checked(c: Candidate) -> Candidate:
    """A stored candidate whose id is a video id and whose numbers are finite (its rank
    a whole number up to :data:`guard.RANK_LIMIT`: a 401-digit rank overflows a float)."""
    guard.video_id(c.video_id, "a candidate")
    for name, text in (("title", c.title), ("channel", c.channel_title), ("url", c.url)):
        if len(text) > MAX_TEXT:
            raise UserError(f"a candidate's {name} of {len(text):,} characters (over "
                            f"{MAX_TEXT:,})")
    guard.finite(c.rank, "a candidate's rank", lo=0, hi=guard.RANK_LIMIT, integer=True)
    if c.duration is not None:
        guard.finite(c.duration, "a candidate's duration", lo=0)
    return c


def read_matches(root: Path) -> dict[str, dict]:
    """The previous ``matches.csv`` by track id (empty when absent or unreadable)."""
    try:
        rows = tables.read_table(root, tables.MATCHES, required=("track_id",), missing_ok=True)
    except UserError:
        return {}
    return {r["track_id"]: r for r in rows if r["track_id"]}


def read_overrides(root: Path) -> dict[str, tuple[str, str]]:
    """``search/overrides.csv``: track id -> (video id or ``skip``, note). Written by a
    person; a bad row is one line naming it, and a track twice (``TR1`` and ``TR1 ``
    included) is refused with both lines by the table reader."""
    out: dict[str, tuple[str, str]] = {}
    path = tables.OVERRIDES.at(root)
    rows = tables.read_table(root, tables.OVERRIDES, required=("track_id", "video_id"),
                             missing_ok=True)
    for n, row in enumerate(rows, start=2):
        tid, vid = row["track_id"].strip(), row["video_id"].strip()
        if not tid and not vid:
            continue
        if not is_track_id(tid):
            raise UserError(f"{path} line {n}: {tid!r} is not an MSD track id")
        if vid.lower() == SKIP:
            vid = SKIP
        elif not is_video_id(vid):
            raise UserError(f"{path} line {n}: {vid!r} is not a video id "
                            f"({guard.VIDEO_ID_RULE}) or 'skip'")
        out[tid] = (vid, " ".join(row.get("note", "").split()))
    return out


def read_failed_videos(root: Path) -> dict[str, str]:
    """Video id -> why, for every video the download stage found unusable for good
    (``download/failed_videos.csv``, and the ledger's current rows)."""
    out: dict[str, str] = {}
    permanent = {w for w, st in DOWNLOAD_STATUSES.items() if w != "ok" and not st.retryable}
    for table in (tables.FAILED_VIDEOS, tables.LEDGER):
        for row in tables.read_table(root, table, required=("video_id", "status"),
                                     missing_ok=True):
            vid, status = row["video_id"].strip(), row["status"].strip()
            if vid and status in permanent:
                out.setdefault(vid, status)
    return out


def reason_word(reason: str) -> str:
    """The word that classifies a ``no_match`` reason (before its first colon)."""
    return reason.split(":", 1)[0].strip()


@dataclass
class SearchSummary:
    """What the stage did, for the CLI and a notebook."""

    backend: str = ""
    songs: int = 0
    searched: int = 0
    reused: int = 0
    failed_now: int = 0
    #: Why the last search of this run failed (the log has each one).
    last_failure: str = ""
    matched: int = 0
    no_match: int = 0
    failed: int = 0
    not_searched: int = 0
    remaining: int = 0
    units_spent: int = 0
    quota_left: int | None = None
    rerank: bool = False
    rematch: bool = False
    rematched: int = 0
    rematch_none: int = 0
    overrides: int = 0
    skipped: int = 0
    excluded_videos: int = 0
    stopped: str = ""
    failed_in_a_row: int = 0
    subset: str = ""
    bad_rows: int = 0
    bad_lines: int = 0
    #: Tracks of search/overrides.csv that are not in tags/songs.csv (never applied).
    unknown_overrides: list[str] = field(default_factory=list)
    match_config: dict = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def lines(self) -> list[str]:
        if self.rematch:
            out = [f"rematched {self.rematched + self.rematch_none} songs whose video failed "
                   f"for good: {self.rematched} got another candidate, {self.rematch_none} "
                   "none left (no network, no quota)"]
        elif self.rerank:
            out = [f"reranked {self.songs} songs from candidates.jsonl (no network, no quota)"]
        else:
            out = [f"{self.searched} searched now ({self.backend}), {self.reused} reused "
                   f"from identical queries, {self.failed_now} failed"]
            if self.failed_now and not self.stopped:  # a stop names the last failure
                why = self.last_failure if len(self.last_failure) <= 200 else \
                    self.last_failure[:199] + "…"
                out.append(f"last search failure: {why} (each one in "
                           "logs/imac-build.log; --retry-failed search_failed tries again)")
            if self.quota_left is not None:
                out.append(f"{self.units_spent} API units spent; {self.quota_left} left today")
        out.append(f"{self.songs} songs: {self.matched} matched, {self.no_match} no match, "
                   f"{self.failed} search failed, {self.not_searched} not searched yet")
        if self.overrides or self.excluded_videos:
            out.append(f"applied {self.overrides} overrides ({self.skipped} skip); "
                       f"{self.excluded_videos} videos excluded as failed downloads")
        if self.unknown_overrides:
            out.append(f"{len(self.unknown_overrides)} rows of search/overrides.csv name "
                       f"tracks not in tags/songs.csv (first: {self.unknown_overrides[0]}): "
                       "not applied; check the track ids")
        if self.bad_rows or self.bad_lines:
            out.append(f"ignored {self.bad_rows} songs.csv rows with a bad track id and "
                       f"{self.bad_lines} unreadable candidates.jsonl lines")
        if self.subset:
            out.append(self.subset)
        if self.stopped:
            out.append(self.stopped)
        out += [f"wrote {p}" for p in self.outputs]
        return out


def _override_row(song: SongInfo, video_id: str, note: str, record: dict | None) -> tuple:
    """The ``matches.csv`` row a person's override gives."""
    why = f"override: search/overrides.csv{f' ({note})' if note else ''}"
    if video_id == SKIP:
        return (song.track_id, "", "", "", "", "", "", "no_match",
                f"skipped: by search/overrides.csv{f' ({note})' if note else ''}")
    for c in (record or {}).get("candidates", []):
        if c.get("video_id") == video_id:  # a stored candidate: keep what we know of it
            cand = Candidate.from_dict(c)
            dur = "" if cand.duration is None else f"{cand.duration:g}"
            return (song.track_id, video_id, cand.url, cand.title, cand.channel_title, dur,
                    "", "matched", why)
    return (song.track_id, video_id, watch_url(video_id), "", "", "", "", "matched", why)


def _match_row(song: SongInfo, d: Decision) -> tuple:
    if d.status == "matched" and d.best is not None:
        c = d.best.candidate
        dur = "" if c.duration is None else f"{c.duration:g}"
        return (song.track_id, c.video_id, c.url, c.title, c.channel_title, dur,
                f"{d.best.score:.1f}", "matched", d.reason)
    score = "" if d.best is None else f"{d.best.score:.1f}"
    return (song.track_id, "", "", "", "", "", score, "no_match", d.reason)


def _decide(song: SongInfo, record: dict, cfg: MatchConfig,
            excluded: dict[str, str] | None = None) -> Decision:
    """The chooser's verdict on the stored candidates, without the videos that failed."""
    cands = [Candidate.from_dict(c) for c in record.get("candidates", [])]
    if not excluded:
        return choose(song.artist, song.title, song.duration, cands, cfg, song.album or None)
    left = [c for c in cands if c.video_id not in excluded]
    gone = len(cands) - len(left)
    if cands and not left:
        return Decision("no_match", None,
                        f"no_candidates_left: all {gone} stored candidates failed to "
                        "download for good (download/failed_videos.csv)")
    d = choose(song.artist, song.title, song.duration, left, cfg, song.album or None)
    if gone and d.status == "no_match":
        d.reason = d.reason.replace(
            "below_threshold:", f"below_threshold: ({gone} failed videos excluded)", 1)
    return d


def _bar(total: int, progress: bool) -> Iterator:
    from tqdm import tqdm

    return tqdm(total=total, unit="song", desc="search", disable=not progress,
                dynamic_ncols=True)


def run_search(
    workdir: Workdir | Path,
    *,
    config: SearchConfig | None = None,
    limit: int | None = None,
    rerank: bool = False,
    retry_failed: bool | str = False,
    rematch: bool = False,
    api_key_file: Path | None = None,
    access: YtdlpAccess | None = None,
    subset: SubsetSpec | Collection[str] | None = None,
    no_subset: bool = False,
    progress: bool = True,
    _searcher: Searcher | None = None,
    _http: object = None,
    _clock: Callable[[], datetime] = utcnow,
    _backoff: Backoff | None = None,
) -> SearchSummary:
    """Search every labelled song not searched yet, then rewrite ``matches.csv``.

    ``retry_failed`` searches again the songs left without a match: ``True`` or
    ``"all"`` for every one, or a reason word (``search_failed``, ``no_match``, ...).
    ``rerank`` chooses again from the stored candidates; ``rematch`` does so for every
    song whose video failed to download for good (no network, no quota either way).
    ``access`` holds the yt-dlp options of the ``ytdlp`` backend (JS runtime, browser
    cookies, extractor arguments). ``subset`` limits the searches to some songs
    (:mod:`imac_builder.subset`: options, recorded in ``workdir.json``, or track ids);
    without it the recorded subset applies (``no_subset`` forgets it). Internal test
    seams: ``_searcher`` replaces the backend, ``_http`` is handed to the backend (the
    API client takes an ``HttpMockSequence``, the ytmusic backend a
    ``requests.Session``), ``_clock`` gives the time for the quota day, ``_backoff`` the
    retry pauses.
    """
    config = config or SearchConfig()
    retry = _check_modes(limit, rerank, rematch, retry_failed)
    run = _SearchRun.open(workdir, config, rerank or rematch, rematch)
    if rerank or rematch:
        return _choose_again(run, rematch)
    todo = _songs_to_search(run, retry, limit, subset, no_subset)
    ledger = QuotaLedger.load(tables.QUOTA.at(run.root), config.daily_quota, _clock)
    own_searcher = _searcher is None
    searcher = _searcher
    spent_before = ledger.spent_today
    summary = run.summary
    try:
        if todo and searcher is None:
            searcher = _make_searcher(config.backend, ledger, config.results,
                                      api_key_file, _http, _backoff, access)
        if todo and searcher.uses_quota and ledger.daily_quota < searcher.units_per_search():
            raise UserError(f"--daily-quota {ledger.daily_quota} is below the "
                            f"{searcher.units_per_search()} units one song's search "
                            "costs: it can never cover one song; raise --daily-quota")
        # the search starts: now the subset options are recorded (not before a missing
        # API key refuses the run)
        subset_remember(run.root, subset, no_subset)
        if summary.subset:
            summary.subset += f" ({subset_describe(run.root)})"
        if todo:
            by_query = {r["query"]: r for r in run.records.values() if r.get("query")}
            _search_songs(todo, searcher, run.clog, run.records, by_query, run.failures,
                          ledger, run.cfg, bool(retry), summary, progress)
    finally:
        if own_searcher and searcher is not None:
            searcher.close()  # type: ignore[attr-defined]
        summary.units_spent = max(0, ledger.spent_today - spent_before)
        uses_quota = (searcher.uses_quota if searcher is not None
                      else _REGISTRY.get(config.backend, _REGISTRY["api"]).uses_quota)
        summary.quota_left = ledger.left if uses_quota else None
        ledger.save()
        run.write_matches()
        summary.outputs.append(str(tables.QUOTA.at(run.root)))
    _say_what_remains(run, ledger)
    log.info("search: %s", "; ".join(summary.lines()))
    return summary


def _check_modes(limit: int | None, rerank: bool, rematch: bool,
                 retry_failed: bool | str) -> str:
    """The per-run modes, checked; returns the retry word ("" for none)."""
    if limit is not None and limit < 0:
        raise UserError("--limit must be 0 or more")
    retry = "all" if retry_failed is True else (retry_failed or "")
    if retry and retry not in RETRY_CHOICES:
        raise UserError(f"--retry-failed {retry!r}: choose one of {', '.join(RETRY_CHOICES)}")
    if sum(map(bool, (rerank, rematch, retry))) > 1:
        raise UserError("--rerank, --rematch and --retry-failed exclude each other")
    return retry


@dataclass
class _SearchRun:
    """What one search run reads from the work directory before it starts."""

    root: Path
    cfg: MatchConfig
    songs: list[SongInfo]
    clog: CandidateLog
    records: dict[str, dict]
    previous: dict[str, dict]
    overrides: dict[str, str]
    excluded: dict[str, str]
    failures: dict[str, str]
    summary: SearchSummary

    @classmethod
    def open(cls, workdir: Workdir | Path, config: SearchConfig, reuse: bool,
             rematch: bool) -> _SearchRun:
        wd = workdir if isinstance(workdir, Workdir) else Workdir(Path(workdir))
        cfg = config.match()
        songs, bad_rows = read_songs(wd.root)
        out = wd.stage("search")
        atomic.remove_stale_temporaries(out)
        clog = CandidateLog(tables.CANDIDATES.at(wd.root))
        records, bad_lines = clog.read()
        previous = read_matches(wd.root)
        summary = SearchSummary(backend=config.backend, rerank=reuse, rematch=rematch,
                                bad_rows=bad_rows, bad_lines=bad_lines,
                                match_config=cfg.to_dict())
        overrides = read_overrides(wd.root)
        known = {s.track_id for s in songs}
        summary.unknown_overrides = sorted(t for t in overrides if t not in known)
        failures: dict[str, str] = {
            t: r["reason"] for t, r in previous.items()
            if r.get("status") == "no_match"
            and (r.get("reason") or "").startswith("search_failed") and t not in records}
        return cls(wd.root, cfg, songs, clog, records, previous, overrides,
                   read_failed_videos(wd.root), failures, summary)

    def write_matches(self) -> None:
        _write_matches(self.root, self.songs, self.records, self.failures, self.cfg,
                       self.summary, self.overrides, self.excluded)

    def unsearched(self, song: SongInfo) -> bool:
        return (song.searchable and song.track_id not in self.records
                and song.track_id not in self.failures and song.track_id not in self.overrides)


def _choose_again(run: _SearchRun, rematch: bool) -> SearchSummary:
    """``--rerank`` / ``--rematch``: choose from the stored candidates, no network."""
    if not run.clog.path.exists():
        raise UserError(f"nothing to {'rematch' if rematch else 'rerank'}: {run.clog.path} "
                        "does not exist; run search first")
    if rematch:  # songs whose current video failed for good
        for song in run.songs:
            old = run.previous.get(song.track_id, {})
            if old.get("status") == "matched" and old.get("video_id") in run.excluded:
                rec = run.records.get(song.track_id)
                new = _decide(song, rec, run.cfg, run.excluded) if rec else None
                if song.track_id in run.overrides:
                    continue
                if new is not None and new.status == "matched":
                    run.summary.rematched += 1
                else:
                    run.summary.rematch_none += 1
    run.write_matches()
    run.summary.remaining = run.summary.not_searched
    log.info("search --rerank: %s", "; ".join(run.summary.lines()))
    return run.summary


def _songs_to_search(run: _SearchRun, retry: str, limit: int | None,
                     subset: SubsetSpec | Collection[str] | None,
                     no_subset: bool) -> list[SongInfo]:
    """The songs this run searches: new ones, or with ``retry`` those left unmatched; of
    the subset in effect, if any (:mod:`imac_builder.subset`)."""
    if retry:
        todo = [s for s in run.songs if s.searchable and s.track_id not in run.overrides
                and _wants_retry(s, run.records, run.failures, run.cfg, run.excluded, retry)]
    else:
        todo = [s for s in run.songs if run.unsearched(s)]
    chosen = subset_in_effect(run.root, subset, no_subset, record=False)
    if chosen is not None:
        todo = [s for s in todo if s.track_id in chosen]
        run.summary.subset = f"{len(chosen)} songs in the subset"
    return todo if limit is None else todo[:limit]


def _say_what_remains(run: _SearchRun, ledger: QuotaLedger) -> None:
    summary = run.summary
    summary.remaining = sum(1 for s in run.songs if run.unsearched(s))
    if summary.stopped and summary.failed_in_a_row >= MAX_FAILURES_IN_A_ROW:
        summary.stopped += (f"; {summary.remaining} songs remain, those {MAX_FAILURES_IN_A_ROW}"
                            f" first; when it works again: {retry_command(run.root)}")
    elif summary.stopped:
        summary.stopped += (f"; {summary.remaining} songs remain; the quota resets at "
                            f"{ledger.reset_text()}; run the same command again then")


def retry_command(root: Path) -> str:
    """The command that picks up a search stopped by failures in a row."""
    from ..workdir import command

    return command(root, "search")


def _wants_retry(song: SongInfo, records: dict[str, dict], failures: dict[str, str],
                 cfg: MatchConfig, excluded: dict[str, str], retry: str) -> bool:
    """Whether ``--retry-failed RETRY`` searches this song again."""
    if song.track_id in failures:
        return retry in ("all", "search_failed")
    if song.track_id not in records:
        return False
    d = _decide(song, records[song.track_id], cfg, excluded)
    if d.status != "no_match":
        return False
    return retry in ("all", "no_match") or reason_word(d.reason) == retry


def _make_searcher(backend: str, ledger: QuotaLedger, results: int,
                   api_key_file: Path | None, http: object,
                   backoff: Backoff | None, access: YtdlpAccess | None = None) -> Searcher:
    """The registered backend ``backend`` (:mod:`.registry`)."""
    return backend_info(backend).make(BackendContext(
        ledger=ledger, results=results, api_key_file=api_key_file, http=http,
        backoff=backoff, access=access))


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
                    summary.last_failure = guard.printable(str(e))
                    summary.failed_in_a_row += 1
                    log.warning("%s: search failed: %s", song.track_id, e)
                    bar.update(1)
                    if summary.failed_in_a_row >= MAX_FAILURES_IN_A_ROW:
                        summary.stopped = (f"stopped after {MAX_FAILURES_IN_A_ROW} failed "
                                           f"searches in a row (last: {e}); check the "
                                           "network or the backend")
                        # the backend failed, not these songs: they count as not
                        # searched, so the plain rerun searches them first
                        at = todo.index(song)
                        for other in todo[max(0, at - MAX_FAILURES_IN_A_ROW + 1):at + 1]:
                            failures.pop(other.track_id, None)
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
                   summary: SearchSummary, overrides: dict[str, tuple[str, str]] | None = None,
                   excluded: dict[str, str] | None = None) -> None:
    rows = []
    overrides = overrides or {}
    summary.songs = len(songs)
    summary.matched = summary.no_match = summary.failed = summary.not_searched = 0
    summary.overrides = summary.skipped = 0
    summary.excluded_videos = len(excluded or {})
    entries: dict[str, tuple[str, list[list]]] = {}
    for song in songs:
        if song.track_id in records:
            d = _decide(song, records[song.track_id], cfg, excluded)
            entries[song.track_id] = _score_entry(song, records[song.track_id], d, cfg,
                                                  excluded)
        if song.track_id in overrides:
            vid, note = overrides[song.track_id]
            row = _override_row(song, vid, note, records.get(song.track_id))
            summary.overrides += 1
            summary.skipped += vid == SKIP
            if vid == SKIP:
                summary.no_match += 1
            else:
                summary.matched += 1
            rows.append(row)
            continue
        if song.track_id in records:
            pass  # decided above
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
    scores.save(tables.SCORES.at(root), scores.config_hash(cfg), entries)
    summary.outputs = [str(tables.CANDIDATES.at(root)), str(tables.MATCHES.at(root))]


def _score_entry(song: SongInfo, record: dict, d: Decision, cfg: MatchConfig,
                 excluded: dict[str, str] | None) -> tuple[str, list[list]]:
    """The song's key and every stored candidate's score for ``search/scores.json``:
    the decision's own scores (given for the candidates not excluded, in order), the
    excluded (failed) videos scored apart."""
    cands = record.get("candidates") or []
    decided = iter(d.scored)
    rows = [scores.row(next(decided)) if d.scored and c["video_id"] not in (excluded or {})
            else scores.score_rows(song.artist, song.title, song.duration, [c], cfg,
                                   song.album)[0]
            for c in cands]
    return scores.song_key(song.artist, song.title, song.duration, cands, song.album), rows
