"""The ``api`` backend run for real (google-api-python-client) against recorded-shape
responses served by ``HttpMockSequence``: no network."""

from __future__ import annotations

import csv
import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from imac_builder.config import SearchConfig

pytest.importorskip("googleapiclient")
pytest.importorskip("rapidfuzz")

from googleapiclient.http import HttpMockSequence  # noqa: E402
from tagdata import write_songs_csv  # noqa: E402

from imac_builder.cli import App  # noqa: E402
from imac_builder.errors import UserError  # noqa: E402
from imac_builder.search.backend import Backoff  # noqa: E402
from imac_builder.search.quota import QuotaLedger  # noqa: E402
from imac_builder.search.stage import MATCH_COLUMNS, run_search  # noqa: E402
from imac_builder.search.youtube_api import ApiBackend, parse_duration  # noqa: E402
from imac_builder.workdir import Workdir  # noqa: E402

KEY = "AIzaSyTEST-secret-key-0123456789abcdef"
DAY1 = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)   # 10:00 Pacific, Nov 25
DAY2 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)    # 01:00 Pacific, Nov 26


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YOUTUBE_API_KEY", KEY)


def vid(n: int) -> str:
    return f"vid{n:08d}"


def search_page(items: list[tuple[str, str, str]], token: str | None = None) -> str:
    """A search.list response body as the API sends it (snippets HTML-escaped)."""
    body = {"kind": "youtube#searchListResponse", "etag": "x", "regionCode": "US",
            "pageInfo": {"totalResults": 1000000, "resultsPerPage": len(items)},
            "items": [{"kind": "youtube#searchResult", "etag": "e",
                       "id": {"kind": "youtube#video", "videoId": v},
                       "snippet": {"publishedAt": "2009-10-25T06:57:33Z",
                                   "channelId": "UC" + "x" * 22, "title": t,
                                   "description": "", "channelTitle": ch,
                                   "liveBroadcastContent": "none",
                                   "publishTime": "2009-10-25T06:57:33Z"}}
                      for v, t, ch in items]}
    if token:
        body["nextPageToken"] = token
    return json.dumps(body)


def videos_page(durations: dict[str, str]) -> str:
    return json.dumps({"kind": "youtube#videoListResponse", "items": [
        {"kind": "youtube#video", "id": v, "contentDetails": {
            "duration": d, "dimension": "2d", "definition": "hd", "caption": "false",
            "licensedContent": True, "contentRating": {}, "projection": "rectangular"}}
        for v, d in durations.items()], "pageInfo": {"totalResults": len(durations)}})


def error(code: int, reason: str, message: str, domain: str = "youtube.quota") -> str:
    return json.dumps({"error": {"code": code, "message": message, "errors": [
        {"message": message, "domain": domain, "reason": reason}]}})


QUOTA_403 = ({"status": "403"}, error(
    403, "quotaExceeded", "The request cannot be completed because you have exceeded your "
    "<a href=\"/youtube/v3/getting-started#quota\">quota</a>."))
KEY_400 = ({"status": "400"}, json.dumps({"error": {
    "code": 400, "message": "API key not valid. Please pass a valid API key.",
    "errors": [{"message": "API key not valid. Please pass a valid API key.",
                "domain": "global", "reason": "keyInvalid"}], "status": "INVALID_ARGUMENT"}}))
ERR_500 = ({"status": "500"}, error(500, "backendError", "Backend Error", "global"))


def ok(body: str) -> tuple[dict, str]:
    return ({"status": "200"}, body)


def song_results(artist: str, title: str, base: int) -> list[tuple[dict, str]]:
    """search.list + videos.list responses for one song: the right video is second."""
    items = [(vid(base), f"{artist} - {title} (Live at Wembley)", artist),
             (vid(base + 1), title, f"{artist} - Topic"),
             (vid(base + 2), f"{title} - {artist} (Karaoke Version)", "Sing King Karaoke")]
    durs = {vid(base): "PT4M40S", vid(base + 1): "PT3M52S", vid(base + 2): "PT3M50S"}
    return [ok(search_page(items)), ok(videos_page(durs))]


SONGS = [("TRAAAAA128F0000001", "Bobby McFerrin", "Don't Worry_ Be Happy", "232.0"),
         ("TRAAAAA128F0000002", "Adele", "Hello (Album Version)", "232.0"),
         ("TRAAAAA128F0000003", "Radiohead", "Creep", "232.0"),
         ("TRAAAAA128F0000004", "Radiohead", "Creep", "232.0")]  # same query as song 3


def write_songs(root: Path, songs=SONGS) -> Workdir:
    return write_songs_csv(root, songs)


def fast() -> Backoff:
    sleeps: list[float] = []
    b = Backoff(retries=3, base=0.001, sleep=sleeps.append)
    b.sleeps = sleeps  # type: ignore[attr-defined]
    return b


def queries(http: HttpMockSequence) -> list[str]:
    return [parse_qs(urlparse(uri).query).get("q", [""])[0]
            for uri, *_ in http.request_sequence if "/search" in uri]


def read_matches(wd: Workdir) -> list[dict]:
    with (wd.root / "search" / "matches.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_iso_durations() -> None:
    assert parse_duration("PT3M59S") == 239
    assert parse_duration("P0D") == 0
    assert parse_duration("PT1H2M3S") == 3723
    assert parse_duration("P1DT1S") == 86401
    assert parse_duration("PT45.5S") == 45.5
    assert parse_duration("") is None and parse_duration("3:59") is None
    assert parse_duration("PT") is None


def test_pagination_and_durations(tmp_path: Path) -> None:
    page1 = [(vid(i), f"Song &amp; Dance #{i}", "Band &#39;n&#39; Co") for i in range(50)]
    page2 = [(vid(i), f"Song {i}", "Band") for i in range(50, 60)]
    d1 = {vid(i): f"PT{i // 10}M{i % 60}S" for i in range(50)}
    d1[vid(7)] = "P0D"  # a live stream
    d2 = {vid(i): "PT3M59S" for i in range(50, 60)}
    http = HttpMockSequence([ok(search_page(page1, "PAGE2")), ok(search_page(page2, "PAGE3")),
                             ok(videos_page(d1)), ok(videos_page(d2))])
    ledger = QuotaLedger(tmp_path / "quota.json", 10_000, lambda: DAY1)
    api = ApiBackend(KEY, ledger, results=60, http=http, backoff=fast())
    cands = api.search("band song")
    api.close()
    assert [c.video_id for c in cands] == [vid(i) for i in range(60)]
    assert [c.rank for c in cands] == list(range(60))
    assert cands[0].title == "Song & Dance #0" and cands[0].channel_title == "Band 'n' Co"
    assert cands[7].duration == 0 and cands[13].duration == 73 and cands[55].duration == 239
    reqs = [parse_qs(urlparse(u).query) for u, *_ in http.request_sequence]
    assert [r.get("maxResults") for r in reqs[:2]] == [["50"], ["10"]]
    assert "pageToken" not in reqs[0] and reqs[1]["pageToken"] == ["PAGE2"]
    assert reqs[0]["type"] == ["video"] and reqs[0]["videoCategoryId"] == ["10"]
    assert reqs[2]["id"][0].split(",") == [vid(i) for i in range(50)]
    assert reqs[3]["id"][0].split(",") == [vid(i) for i in range(50, 60)]
    assert ledger.spent_today == 2 * 100 + 2 * 1
    assert ledger.days["2026-11-25"]["calls"] == {"search.list": 2, "videos.list": 2}


def test_500_then_success_retries_with_backoff(tmp_path: Path) -> None:
    http = HttpMockSequence([ERR_500, ({"status": "503"}, "Service Unavailable"),
                             *song_results("Adele", "Hello", 0)])
    ledger = QuotaLedger(tmp_path / "quota.json", 10_000, lambda: DAY1)
    backoff = fast()
    api = ApiBackend(KEY, ledger, results=3, http=http, backoff=backoff)
    cands = api.search("Adele Hello")
    assert len(cands) == 3 and cands[1].duration == 232
    assert backoff.sleeps == [0.001, 0.002]  # type: ignore[attr-defined]
    assert ledger.spent_today == 101  # failed calls are not counted


def test_persistent_500_fails_the_song_then_retry_failed(tmp_path: Path) -> None:
    wd = write_songs(tmp_path, SONGS[:2])
    http = HttpMockSequence([ERR_500] * 4 + song_results("Adele", "Hello", 10))
    s = run_search(wd, _http=http, _backoff=fast(), _clock=lambda: DAY1, progress=False,
                   config=SearchConfig(results=3))
    assert (s.searched, s.failed_now, s.matched) == (1, 1, 1)
    rows = {r["track_id"]: r for r in read_matches(wd)}
    bobby = rows["TRAAAAA128F0000001"]
    assert bobby["status"] == "no_match" and bobby["reason"].startswith(
        "search_failed: HTTP 500 backendError after 4 attempts")
    # a plain rerun does not search the failed song again; --retry-failed does, alone
    s = run_search(wd, _http=HttpMockSequence([]), _clock=lambda: DAY1, progress=False,
                   config=SearchConfig(results=3))
    assert s.searched == 0 and s.failed == 1
    http = HttpMockSequence(song_results("Bobby McFerrin", "Don't Worry, Be Happy", 20))
    s = run_search(wd, retry_failed=True, _http=http, _clock=lambda: DAY1, progress=False,
                   config=SearchConfig(results=3))
    assert s.searched == 1 and s.matched == 2 and s.failed == 0
    assert queries(http) == ["Bobby McFerrin Don't Worry, Be Happy"]
    assert {r["video_id"] for r in read_matches(wd)} == {vid(11), vid(21)}


def test_quota_exceeded_mid_run_then_resume_without_repeating(tmp_path: Path) -> None:
    wd = write_songs(tmp_path)
    http = HttpMockSequence([*song_results("Bobby McFerrin", "Don't Worry, Be Happy", 0),
                             QUOTA_403])
    s = run_search(wd, _http=http, _backoff=fast(), _clock=lambda: DAY1, progress=False,
                   config=SearchConfig(results=3))
    assert http._iterable == []  # noqa: SLF001 - every response was used
    assert s.searched == 1 and s.remaining == 3
    assert "quotaExceeded" in s.stopped and "3 songs remain" in s.stopped
    assert "2026-11-26 00:00 PST (2026-11-26 08:00 UTC)" in s.stopped
    assert any("3 songs remain" in line for line in s.lines())
    lines = (wd.root / "search" / "candidates.jsonl").read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["track_id"] == "TRAAAAA128F0000001"
    quota = json.loads((wd.root / "search" / "quota.json").read_text())
    assert quota["days"]["2026-11-25"]["units"] == 101
    assert quota["days"]["2026-11-25"]["quota_exceeded_at"]
    statuses = [r["reason"].split(":")[0] for r in read_matches(wd)]
    assert statuses[1:] == ["not_searched"] * 3

    # the same Pacific day: no request at all
    same_day = HttpMockSequence([])
    s = run_search(wd, _http=same_day, _clock=lambda: DAY1, progress=False,
                   config=SearchConfig(results=3))
    assert same_day.request_sequence == [] and "quotaExceeded" in s.stopped

    # the next Pacific day: the remaining songs only, song 4 reuses song 3's search
    http = HttpMockSequence([*song_results("Adele", "Hello", 10),
                             *song_results("Radiohead", "Creep", 20)])
    s = run_search(wd, _http=http, _clock=lambda: DAY2, progress=False,
                   config=SearchConfig(results=3))
    assert queries(http) == ["Adele Hello", "Radiohead Creep"]
    assert (s.searched, s.reused, s.remaining, s.matched) == (2, 1, 0, 4)
    assert s.stopped == ""
    recs = [json.loads(x) for x in
            (wd.root / "search" / "candidates.jsonl").read_text().splitlines()]
    assert [r["track_id"] for r in recs] == [t for t, *_ in SONGS]
    assert recs[3]["candidates"] == recs[2]["candidates"]
    assert set(recs[0]) == {"track_id", "query", "backend", "searched_at", "candidates"}
    assert set(recs[0]["candidates"][0]) == {"video_id", "title", "channel_title",
                                             "duration", "rank", "url"}
    rows = read_matches(wd)
    assert list(rows[0]) == list(MATCH_COLUMNS)
    assert [r["video_id"] for r in rows] == [vid(1), vid(11), vid(21), vid(21)]
    assert all(r["status"] == "matched" and "Topic" in r["reason"] for r in rows)
    # a further run spends nothing
    idle = HttpMockSequence([])
    s = run_search(wd, _http=idle, _clock=lambda: DAY2, progress=False,
                   config=SearchConfig(results=3))
    assert idle.request_sequence == [] and s.searched == 0 and s.matched == 4


def test_daily_budget_stops_before_exceeding(tmp_path: Path) -> None:
    wd = write_songs(tmp_path)
    http = HttpMockSequence([*song_results("Bobby McFerrin", "Don't Worry, Be Happy", 0),
                             *song_results("Adele", "Hello", 10)])
    s = run_search(wd, _http=http, _clock=lambda: DAY1, progress=False,
                   config=SearchConfig(results=3, daily_quota=250))
    assert s.searched == 2 and s.units_spent == 202 and s.quota_left == 48
    assert "stopped before exceeding the daily budget of 250 units" in s.stopped
    assert "2 songs remain" in s.stopped


def test_key_invalid_stops_at_once_with_a_clear_error(tmp_path: Path) -> None:
    wd = write_songs(tmp_path)
    http = HttpMockSequence([KEY_400])
    with pytest.raises(UserError) as e:
        run_search(wd, _http=http, _backoff=fast(), _clock=lambda: DAY1, progress=False,
                   config=SearchConfig(results=3))
    assert "refused the key (keyInvalid)" in str(e.value) and KEY not in str(e.value)
    assert len(http.request_sequence) == 1  # no retry
    assert e.value.__suppress_context__  # the HttpError (whose text has the URL) is hidden


def test_key_appears_in_no_output_and_no_log_line(tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture,
                                                  capsys: pytest.CaptureFixture) -> None:
    """Every path that logs (retries, a failed song, quotaExceeded, the client library's
    debug lines with URLs) runs; then the key is looked for everywhere."""
    caplog.set_level(logging.DEBUG)
    wd = write_songs(tmp_path)
    app = App(wd, verbose=0)
    root = logging.getLogger("imac_builder")
    old = [h for h in root.handlers if getattr(h, "_imac", False)]
    for h in old:  # another test's log file: this run must write its own
        root.removeHandler(h)
    http = HttpMockSequence([ERR_500, *song_results("Bobby McFerrin", "x", 0),
                             ERR_500, ERR_500, ERR_500, ERR_500, QUOTA_403])
    try:
        app.run("search", run_search, workdir=wd, config=SearchConfig(results=3), _http=http,
                _backoff=fast(), _clock=lambda: DAY1, progress=True)
    finally:
        for h in [h for h in root.handlers if getattr(h, "_imac", False)]:
            root.removeHandler(h)
            h.close()
        for h in old:
            root.addHandler(h)
    # the key was really sent, so the test can see a leak
    assert all(f"key={KEY}" in uri for uri, *_ in http.request_sequence)
    assert "URL being requested" in caplog.text and "<redacted>" in caplog.text
    out = capsys.readouterr()
    texts = {"stdout": out.out, "stderr": out.err, "caplog": caplog.text}
    for p in wd.root.rglob("*"):
        if p.is_file():
            texts[str(p)] = p.read_bytes().decode("utf-8", "replace")
    log_text = texts[str(wd.root / "logs" / "imac-build.log")]
    assert "retrying" in log_text and "search failed" in log_text
    assert "search_failed" in texts[str(wd.root / "search" / "matches.csv")]
    for where, text in texts.items():
        assert KEY not in text, f"the API key leaked into {where}"
    assert KEY[8:24] not in "".join(texts.values())


def test_api_key_from_file_and_missing_key(tmp_path: Path, monkeypatch) -> None:
    from imac_builder.search.youtube_api import read_api_key

    monkeypatch.delenv("YOUTUBE_API_KEY", raising=False)
    with pytest.raises(UserError, match="no YouTube API key"):
        read_api_key(None)
    f = tmp_path / "key.txt"
    f.write_text(f"  {KEY}\n")
    assert read_api_key(f) == KEY
    f.write_text("\n")
    with pytest.raises(UserError, match="is empty"):
        read_api_key(f)
    with pytest.raises(UserError, match="cannot read"):
        read_api_key(tmp_path / "absent.txt")
    monkeypatch.setenv("YOUTUBE_API_KEY", KEY)
    assert read_api_key(None) == KEY
    assert os.environ["YOUTUBE_API_KEY"] == KEY
