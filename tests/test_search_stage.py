"""The search stage around the backends: rerank with no network, resumable
candidates.jsonl, --limit, --retry-failed, the pipeline file, the CLI, the quota day,
and the yt-dlp backend's conversion of its results."""

from __future__ import annotations

import csv
import json
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest

from imac_builder.config import SearchConfig

pytest.importorskip("rapidfuzz")

from tagdata import write_songs_csv  # noqa: E402

from imac_builder.cli import cli  # noqa: E402
from imac_builder.search.backend import Backoff, SearchError  # noqa: E402
from imac_builder.search.match import Candidate  # noqa: E402
from imac_builder.search.quota import QuotaLedger  # noqa: E402
from imac_builder.search.stage import CandidateLog, run_search  # noqa: E402
from imac_builder.search.ytdlp_search import YtdlpBackend, entries_to_candidates  # noqa: E402
from imac_builder.workdir import Workdir  # noqa: E402

T1, T2, T3, T4 = (f"TRAAAAA128F000000{i}" for i in range(1, 5))
SONGS = [(T1, "Adele", "Hello (Album Version)", "295.5"),
         (T2, "Sugarland", "Stay", "213.0"),
         (T3, "Radiohead", "Creep", "238.6"),
         (T4, "Portishead", "Roads", "305.0")]

# written by hand from the public format (spec §2)
CANDIDATES_JSONL = (Path(__file__).parent / "search_candidates.jsonl").read_text(
    encoding="utf-8")


def write_songs(root: Path, songs=SONGS) -> Workdir:
    return write_songs_csv(root, songs)


def matches(wd: Workdir) -> dict[str, dict]:
    with (wd.root / "search" / "matches.csv").open(encoding="utf-8", newline="") as fh:
        return {r["track_id"]: r for r in csv.DictReader(fh)}


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*a, **k):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.delenv("YOUTUBE_API_KEY", raising=False)


def test_rerank_hand_written_candidates_with_no_network(tmp_path: Path, runner,
                                                        no_network) -> None:
    wd = write_songs(tmp_path)
    (wd.stage("search") / "candidates.jsonl").write_text(CANDIDATES_JSONL, encoding="utf-8")
    res = runner.invoke(cli, ["--workdir", str(tmp_path), "search", "--rerank"])
    assert res.exit_code == 0, res.output
    assert "reranked 4 songs" in res.output and "1 not searched yet" in res.output
    m = matches(wd)
    assert m[T1]["status"] == "matched" and m[T1]["video_id"] == "be12BC5pQLE"
    assert m[T1]["url"] == "https://www.youtube.com/watch?v=be12BC5pQLE"
    assert m[T1]["video_duration"] == "295" and "Topic" in m[T1]["reason"]
    assert m[T2]["status"] == "no_match" and m[T2]["video_id"] == ""
    assert "karaoke" in m[T2]["reason"] or "artist" in m[T2]["reason"]
    assert m[T3]["status"] == "matched"  # no duration known: no duration check
    assert m[T4]["status"] == "no_match" and m[T4]["reason"].startswith("not_searched")
    assert not (wd.root / "search" / "quota.json").exists()

    # thresholds and penalty words from the pipeline file's [search] table
    toml = tmp_path / "pipeline.toml"
    toml.write_text('[search]\npenalty_words = ["cover", "live"]\nmin_title = 60\n'
                    'duration_tolerance = 40\nqualifier_penalty = 0\n')
    res = runner.invoke(cli, ["--workdir", str(tmp_path), "--config", str(toml), "--json",
                              "search", "--rerank"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    assert summary["match_config"]["penalty_words"] == ["cover", "live"]
    assert summary["match_config"]["min_title"] == 60
    m = matches(wd)
    assert m[T1]["video_id"] == "be12BC5pQLE"
    # "karaoke" is no longer a penalty word: the karaoke upload now passes
    assert m[T2]["status"] == "matched" and m[T2]["video_id"] == "kara0000001"
    # on the command line an option wins over the file
    res = runner.invoke(cli, ["--workdir", str(tmp_path), "--config", str(toml), "--json",
                              "search", "--rerank", "--min-score", "99"])
    assert json.loads(res.output)["match_config"]["min_score"] == 99
    assert matches(wd)[T2]["status"] == "no_match"


def test_rerank_without_candidates_is_a_one_line_error(tmp_path: Path, runner) -> None:
    write_songs(tmp_path)
    res = runner.invoke(cli, ["--workdir", str(tmp_path), "search", "--rerank"])
    assert res.exit_code == 1 and "nothing to rerank" in res.output
    assert "Traceback" not in res.output


def test_missing_key_and_missing_songs_are_one_line_errors(tmp_path: Path, runner,
                                                           monkeypatch) -> None:
    monkeypatch.delenv("YOUTUBE_API_KEY", raising=False)
    res = runner.invoke(cli, ["--workdir", str(tmp_path), "search"])
    assert res.exit_code == 1 and "run `imac-build tags` first" in res.output
    write_songs(tmp_path)
    res = runner.invoke(cli, ["--workdir", str(tmp_path), "search"])
    assert res.exit_code == 1 and "no YouTube API key" in res.output
    assert "Traceback" not in res.output
    res = runner.invoke(cli, ["--workdir", str(tmp_path), "search", "--api-key-file",
                              str(tmp_path / "nope.txt")])
    assert res.exit_code == 1 and "cannot read the API key file" in res.output


class FakeSearcher:
    """A backend that answers from a table and counts its searches."""

    name = "fake"
    uses_quota = False

    def __init__(self, answers: dict[str, list[Candidate]]):
        self.answers = answers
        self.queries: list[str] = []

    def units_per_search(self) -> int:
        return 0

    def search(self, query: str) -> list[Candidate]:
        self.queries.append(query)
        return self.answers.get(query, [])


def topic(title: str, artist: str, dur: float, vid: str) -> Candidate:
    return Candidate(vid, title, f"{artist} - Topic", dur, 0,
                     f"https://www.youtube.com/watch?v={vid}")


def test_limit_resume_and_retry_failed(tmp_path: Path) -> None:
    wd = write_songs(tmp_path)
    fake = FakeSearcher({"Adele Hello": [topic("Hello", "Adele", 295, "hello000001")],
                         "Sugarland Stay": []})
    s = run_search(wd, limit=2, _searcher=fake, progress=False,
                   config=SearchConfig(backend="ytdlp"))
    assert fake.queries == ["Adele Hello", "Sugarland Stay"]
    assert (s.searched, s.matched, s.no_match, s.not_searched) == (2, 1, 1, 2)
    assert matches(wd)[T2]["reason"].startswith("no_candidates")
    # resume: only the two songs never searched
    s = run_search(wd, _searcher=fake, progress=False, config=SearchConfig(backend="ytdlp"))
    assert fake.queries[2:] == ["Radiohead Creep", "Portishead Roads"]
    assert s.searched == 2 and s.not_searched == 0
    # --retry-failed: only the songs without a match, with their new results
    fake.answers["Sugarland Stay"] = [topic("Stay", "Sugarland", 213, "stay0000001")]
    fake.answers["Portishead Roads"] = [topic("Roads", "Portishead", 305, "roads000001")]
    s = run_search(wd, retry_failed=True, _searcher=fake, progress=False,
                   config=SearchConfig(backend="ytdlp"))
    assert sorted(fake.queries[4:]) == ["Portishead Roads", "Radiohead Creep",
                                        "Sugarland Stay"]
    m = matches(wd)
    assert m[T2]["video_id"] == "stay0000001" and m[T4]["video_id"] == "roads000001"
    assert m[T3]["status"] == "no_match"
    records, bad = CandidateLog(wd.root / "search" / "candidates.jsonl").read()
    assert bad == 0 and records[T2]["candidates"][0]["video_id"] == "stay0000001"


class FailingSearcher(FakeSearcher):
    """Fails the queries listed in ``fail`` (a backend error for one song)."""

    def __init__(self, answers, fail):
        super().__init__(answers)
        self.fail = set(fail)

    def search(self, query: str) -> list[Candidate]:
        self.queries.append(query)
        if query in self.fail:
            raise SearchError("HTTP 500 from the backend")
        return self.answers.get(query, [])


def test_retry_failed_by_reason(tmp_path: Path, runner) -> None:
    wd = write_songs(tmp_path)
    fake = FailingSearcher({"Adele Hello": [topic("Hello", "Adele", 295, "hello000001")],
                            "Sugarland Stay": [], "Radiohead Creep": [
                                topic("Creep", "Radiohead", 238, "creep000001")],
                            "Portishead Roads": [topic("Roads", "Portishead", 305,
                                                       "roads000001")]},
                           fail={"Radiohead Creep"})
    s = run_search(wd, _searcher=fake, progress=False, config=SearchConfig(backend="ytdlp"))
    m = matches(wd)
    assert m[T2]["reason"].startswith("no_candidates")
    assert m[T3]["reason"].startswith("search_failed")
    # the screen says why, not only the log
    assert any(x.startswith("last search failure: HTTP 500 from the backend")
               for x in s.lines()), s.lines()
    fake.fail.clear()
    fake.queries.clear()
    # only the failed search, not the song that found nothing
    run_search(wd, retry_failed="search_failed", _searcher=fake, progress=False,
               config=SearchConfig(backend="ytdlp"))
    assert fake.queries == ["Radiohead Creep"]
    assert matches(wd)[T3]["video_id"] == "creep000001"
    fake.queries.clear()
    run_search(wd, retry_failed="no_candidates", _searcher=fake, progress=False,
               config=SearchConfig(backend="ytdlp"))
    assert fake.queries == ["Sugarland Stay"]
    res = runner.invoke(cli, ["--workdir", str(tmp_path), "search", "--retry-failed",
                              "typo_reason"])
    assert res.exit_code == 1 and "choose one of all, no_match, search_failed" in res.output


def test_run_stops_after_failures_in_a_row(tmp_path: Path) -> None:
    songs = [(f"TRAAAAA128F00000{i:02d}", f"Artist {i}", f"Song {i}", "200") for i in range(8)]
    wd = write_songs(tmp_path, songs)

    class Down(FakeSearcher):
        def search(self, query: str) -> list[Candidate]:
            self.queries.append(query)
            raise SearchError("network: ConnectionError after 4 attempts")

    down = Down({})
    s = run_search(wd, _searcher=down, progress=False, config=SearchConfig(backend="ytdlp"))
    # the backend failed, not the songs: all 8 are left for the plain rerun
    assert len(down.queries) == 5 and s.failed == 0 and s.remaining == 8
    assert s.stopped.startswith("stopped after 5 failed searches in a row")
    assert "8 songs remain" in s.stopped and "quota" not in s.stopped


def test_torn_last_line_is_ignored_and_repaired(tmp_path: Path) -> None:
    wd = write_songs(tmp_path)
    path = wd.stage("search") / "candidates.jsonl"
    lines = CANDIDATES_JSONL.splitlines(keepends=True)
    path.write_text(lines[0] + lines[1][:57], encoding="utf-8")  # killed mid-write
    records, bad = CandidateLog(path).read()
    assert list(records) == [T1] and bad == 0
    fake = FakeSearcher({"Sugarland Stay": [topic("Stay", "Sugarland", 213, "stay0000001")]})
    run_search(wd, _searcher=fake, progress=False, limit=1, config=SearchConfig(backend="ytdlp"))
    assert fake.queries == ["Sugarland Stay"]
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n") and all(json.loads(x) for x in text.splitlines())
    assert [json.loads(x)["track_id"] for x in text.splitlines()] == [T1, T2]


def test_progress_bar_shows_matched_and_quota(tmp_path: Path, capsys) -> None:
    wd = write_songs(tmp_path)
    fake = FakeSearcher({"Adele Hello": [topic("Hello", "Adele", 295, "hello000001")]})
    run_search(wd, _searcher=fake, progress=True, limit=2, config=SearchConfig(backend="ytdlp"))
    err = capsys.readouterr().err
    assert "2/2" in err and "matched=1" in err and "quota_left=n/a" in err


def test_quota_day_is_pacific(tmp_path: Path) -> None:
    before = QuotaLedger(tmp_path / "q.json", 300,
                         lambda: datetime(2026, 11, 25, 7, 59, tzinfo=UTC))
    after = QuotaLedger(tmp_path / "q.json", 300,
                        lambda: datetime(2026, 11, 25, 8, 0, tzinfo=UTC))
    assert before.today == "2026-11-24" and after.today == "2026-11-25"
    assert after.reset_text() == "2026-11-26 00:00 PST (2026-11-26 08:00 UTC)"
    summer = QuotaLedger(tmp_path / "q.json", 300,
                         lambda: datetime(2026, 7, 1, 12, 0, tzinfo=UTC))
    assert summer.reset_text() == "2026-07-02 00:00 PDT (2026-07-02 07:00 UTC)"
    before.spend("search.list")
    before.spend("videos.list")
    assert before.left == 199 and not before.can_spend(200) and before.can_spend(199)
    again = QuotaLedger.load(tmp_path / "q.json", 300, before.clock)
    assert again.spent_today == 101
    assert QuotaLedger.load(tmp_path / "q.json", 300, after.clock).spent_today == 0
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(Exception, match="not a quota ledger"):
        QuotaLedger.load(tmp_path / "bad.json")


# The shape of yt_dlp.YoutubeDL.extract_info("ytsearch3:...", download=False) with
# extract_flat="in_playlist" (recorded from yt-dlp 2026.10.26's YoutubeSearch extractor).
YTSEARCH_INFO = {
    "id": "Adele Hello", "title": "Adele Hello", "_type": "playlist",
    "extractor": "youtube:search", "extractor_key": "YoutubeSearch",
    "webpage_url": "ytsearch3:Adele Hello",
    "entries": [
        {"_type": "url", "ie_key": "Youtube", "id": "YQHsXMglC9A",
         "url": "https://www.youtube.com/watch?v=YQHsXMglC9A", "title": "Adele - Hello",
         "description": None, "duration": 367.0, "channel_id": "UCsRM0YB_dabtEPGPTKo-gcw",
         "channel": "Adele", "channel_url": "https://www.youtube.com/channel/UCsRM0YB",
         "uploader": "Adele", "view_count": 3300000000, "live_status": None},
        {"_type": "url", "ie_key": "Youtube", "id": "be12BC5pQLE",
         "url": "https://www.youtube.com/watch?v=be12BC5pQLE", "title": "Hello",
         "duration": 295, "channel": "Adele - Topic", "uploader": "Adele - Topic"},
        {"_type": "url", "ie_key": "Youtube", "id": "not-a-valid-id",
         "url": "https://example.invalid/", "title": "junk", "duration": None},
        {"_type": "url", "ie_key": "Youtube", "id": "live0000001",
         "url": "https://www.youtube.com/watch?v=live0000001",
         "title": "Adele - Hello (Live at the BBC)", "duration": None,
         "uploader": "BBC Music"},
    ]}


def test_ytdlp_result_conversion() -> None:
    cands = entries_to_candidates(YTSEARCH_INFO)
    assert [c.video_id for c in cands] == ["YQHsXMglC9A", "be12BC5pQLE", "live0000001"]
    assert [c.rank for c in cands] == [0, 1, 2]
    assert cands[0].duration == 367.0 and cands[2].duration is None
    assert cands[1].channel_title == "Adele - Topic" and cands[2].channel_title == "BBC Music"
    assert cands[2].url == "https://www.youtube.com/watch?v=live0000001"
    assert entries_to_candidates(None) == [] and entries_to_candidates({"entries": None}) == []


def test_ytdlp_backend_retries_throttling_and_fails_cleanly() -> None:
    calls: list[str] = []
    sleeps: list[float] = []

    def extract(url: str) -> dict:
        calls.append(url)
        if len(calls) == 1:
            raise RuntimeError("ERROR: [youtube:search] HTTP Error 429: Too Many Requests")
        if "Missing" in url:
            raise RuntimeError("ERROR: [youtube:search] Unsupported URL")
        return YTSEARCH_INFO

    be = YtdlpBackend(results=3, backoff=Backoff(retries=2, base=0.01, sleep=sleeps.append),
                      pause=0.5, extract=extract, sleep=sleeps.append)
    cands = be.search("Adele Hello")
    assert calls == ["ytsearch3:Adele Hello"] * 2 and len(cands) == 3
    assert sleeps == [0.01]
    with pytest.raises(SearchError, match="Unsupported URL"):
        be.search("Missing Song")
    assert sleeps == [0.01, 0.5]  # the pause between searches


def test_ytdlp_backend_builds_a_real_youtubedl(monkeypatch) -> None:
    """The real yt-dlp object is built with flat extraction and the ytsearchN: URL; its
    search extractor needs YouTube, so only the call it receives is checked here."""
    yt_dlp = pytest.importorskip("yt_dlp")
    seen = {}

    def fake_extract_info(self, url, download=True, **kw):
        seen.update(url=url, download=download, flat=self.params.get("extract_flat"))
        return YTSEARCH_INFO

    monkeypatch.setattr(yt_dlp.YoutubeDL, "extract_info", fake_extract_info)
    be = YtdlpBackend(results=5, pause=0)
    assert len(be.search("Adele Hello")) == 3
    be.close()
    assert seen == {"url": "ytsearch5:Adele Hello", "download": False, "flat": "in_playlist"}


@pytest.mark.parametrize("release, status", [
    ("Live at Wembley", "matched"),  # the album says the track is that live recording
    ("Greatest Hits", "no_match"),  # a studio track: the live video is another version
])
def test_the_msd_release_is_the_album_the_chooser_reads(tmp_path: Path, release: str,
                                                        status: str) -> None:
    """search passes ``tags/songs.csv``'s ``release`` to the chooser as the album, and
    keeps it in the score file's song key (review scores the same way)."""
    from imac_builder import tables as T
    from imac_builder.review import write_review

    root = tmp_path / "w"
    wd = write_songs_csv(root, [("TRAAAAAAA128F00001", "Queen", "Bohemian Rhapsody", "360")])
    path = T.SONGS.at(root)
    rows = list(csv.reader(path.open(encoding="utf-8", newline="")))
    rows[1][rows[0].index("release")] = release
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    cand = Candidate("fJ9rUzIMcZQ", "Queen - Bohemian Rhapsody (Live at Wembley 1986)",
                     "Queen Official", 362, 0, "https://www.youtube.com/watch?v=fJ9rUzIMcZQ")
    with (wd.stage("search") / "candidates.jsonl").open("w", encoding="utf-8") as fh:
        fh.write(json.dumps({"track_id": "TRAAAAAAA128F00001", "query": "q", "backend": "api",
                             "searched_at": "x", "candidates": [cand.to_dict()]}) + "\n")
    run_search(wd, rerank=True, progress=False)
    match = next(csv.DictReader(T.MATCHES.at(root).open(encoding="utf-8", newline="")))
    assert match["status"] == status, match["reason"]
    assert write_review(wd, jobs=1).scored_now == 0  # the same key and scores as search's


def _one_record(wd: Workdir, cand: dict) -> Path:
    log = wd.stage("search") / "candidates.jsonl"
    log.write_text(json.dumps({"track_id": "TRAAAAAAA128F00001", "query": "q",
                               "candidates": [cand]}) + "\n", encoding="utf-8")
    return log


GOOD = {"video_id": "YQHsXMglC9A", "title": "Adele - Hello", "channel_title": "AdeleVEVO",
        "duration": 295, "rank": 0, "url": "https://www.youtube.com/watch?v=YQHsXMglC9A"}


def _adele(tmp_path: Path) -> Workdir:
    return write_songs_csv(tmp_path / "w", [("TRAAAAAAA128F00001", "Adele", "Hello", "295")])


@pytest.mark.parametrize("field, value", [
    ("title", ["Adele", "Hello"]), ("title", "Adele - Hello" + " " * 2000 + "x"),
    ("channel_title", "x" * 1_000_000), ("rank", True), ("rank", 1.7), ("duration", "295"),
    ("duration", True), ("video_id", 12345678901), ("artists", [["Adele"]]),
    ("album", {"name": "25"}), ("result_type", 5)])
def test_a_hand_edited_candidate_of_another_type_or_size_is_unreadable(
        tmp_path: Path, field: str, value: object) -> None:
    """Red-team (session 5): wrong JSON types were converted ("['Adele', 'Hello']" as a
    title, ``true`` as rank 1), a 1 MB channel aborted the whole rerank, a 2,000-space
    title took seconds a song. Now the record is unreadable (counted) and the run goes on."""
    wd = _adele(tmp_path)
    _one_record(wd, GOOD | {field: value})
    records, bad = CandidateLog(wd.stage("search") / "candidates.jsonl").read()
    assert records == {} and bad == 1
    run_search(wd, rerank=True, progress=False)
    m = matches(wd)["TRAAAAAAA128F00001"]
    assert m["status"] == "no_match" and m["reason"].startswith("not_searched"), m


def test_a_lone_surrogate_in_a_candidate_is_replaced_not_fatal(tmp_path: Path) -> None:
    wd = _adele(tmp_path)
    log = _one_record(wd, GOOD)
    log.write_text(log.read_text(encoding="utf-8").replace("Adele - Hello",
                                                           "Adele - Hello \\ud800"),
                   encoding="utf-8")
    run_search(wd, rerank=True, progress=False)
    m = matches(wd)["TRAAAAAAA128F00001"]
    assert m["status"] == "matched" and m["video_title"] == "Adele - Hello \ufffd"


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_candidates_jsonl_that_is_no_file_is_refused_in_one_line(tmp_path: Path, runner,
                                                                 kind: str) -> None:
    """A FIFO was read as empty (every match overwritten with not_searched) and a plain
    search blocked on it for ever; a folder likewise."""
    import os

    wd = _adele(tmp_path)
    log = wd.stage("search") / "candidates.jsonl"
    os.mkfifo(log) if kind == "fifo" else log.mkdir()
    for args in (["search", "--rerank"], ["search", "--backend", "ytdlp"]):
        r = runner.invoke(cli, ["--workdir", str(wd.root), *args])
        assert r.exit_code == 1 and "a journal must be a regular file" in r.output, r.output
        assert "Traceback" not in r.output


def test_a_stored_list_longer_than_any_search_is_read_to_its_first_results(tmp_path: Path
                                                                          ) -> None:
    """A hand-made candidates.jsonl line with 5,000 candidates for one song is read to
    the first MAX_RESULTS (a search never fetches more): bounded time, the same choice
    when the right one is among them."""
    from imac_builder.config import MAX_RESULTS

    wd = write_songs(tmp_path)
    cands = [topic("Hello", "Adele", 295, "hello000001").to_dict()] + [
        topic(f"Other {i}", "Someone", 200, f"x{i:010d}").to_dict() for i in range(5000)]
    (wd.root / "search").mkdir(exist_ok=True)
    (wd.root / "search" / "candidates.jsonl").write_text(json.dumps(
        {"track_id": T1, "query": "Adele Hello", "candidates": cands}) + "\n",
        encoding="utf-8")
    records, bad = CandidateLog(wd.root / "search" / "candidates.jsonl").read()
    assert bad == 0 and len(records[T1]["candidates"]) == MAX_RESULTS
    run_search(wd, rerank=True, progress=False)
    assert matches(wd)[T1]["video_id"] == "hello000001"
