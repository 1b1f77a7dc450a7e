"""Search and download as one loop: a dead video leads to the next stored candidate
(``search --rematch``), a person's overrides win over the chooser, and no search run
chooses a video that failed for good. Real yt-dlp against a loopback server."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from download_media import FROZEN, read_csv, source
from loopback import Route
from tagdata import write_songs_csv

from imac_builder.cli import cli
from imac_builder.config import DownloadConfig

pytest.importorskip("rapidfuzz")
pytest.importorskip("yt_dlp")
pytest.importorskip("soundfile")

from imac_builder.download import run_download  # noqa: E402

TA, TB, TC, TD = (f"TRREMATCH0000000{i}{i}" for i in range(1, 5))
SONGS = [(TA, "Portishead", "Roads", "195.5"), (TB, "Radiohead", "Creep", "195.5"),
         (TC, "Adele", "Hello", "195.5"), (TD, "Sugarland", "Stay", "195.5")]
def fast(**settings: object) -> dict:
    """Quick download settings for loopback tests (unpaced, short waits)."""
    base = dict(socket_timeout=2.0, retries=0, rate_limit_wait=0.3, rate=0.0)
    return dict(config=DownloadConfig(**{**base, **settings}), _rate_limit_tries=2, progress=False)


def candidates(srv) -> list[dict]:
    """Stored search results as the search stage writes them (urls on the loopback)."""
    def c(vid: str, title: str, channel: str, rank: int, path: str) -> dict:
        return {"video_id": vid, "title": title, "channel_title": channel,
                "duration": None, "rank": rank, "url": srv.url(path)}

    return [
        {"track_id": TA, "query": "portishead roads", "backend": "api",
         "searched_at": "2026-11-30T10:00:00+00:00", "candidates": [
             c("a1-gone-000", "Roads", "Portishead - Topic", 0, "/a1.ogg"),
             c("a2-audio-00", "Portishead - Roads (Official Audio)", "Portishead", 1,
               "/a2.ogg"),
             c("a3-live-000", "Portishead - Roads (Live at Roseland NYC 1997)", "Portishead",
               2, "/a3.ogg")]},
        {"track_id": TB, "query": "radiohead creep", "backend": "api",
         "searched_at": "2026-11-30T10:00:00+00:00", "candidates": [
             c("b1-gone-000", "Creep", "Radiohead - Topic", 0, "/b1.ogg"),
             c("b2-cover-00", "Creep - Radiohead (Acoustic Cover by Mia Lane)", "Mia Lane", 1,
               "/b2.ogg")]},
        {"track_id": TC, "query": "adele hello", "backend": "api",
         "searched_at": "2026-11-30T10:00:00+00:00", "candidates": [
             c("c1-topic-00", "Hello", "Adele - Topic", 0, "/c1.ogg"),
             c("c2-video-00", "Adele - Hello (Live at the BBC)", "AdeleVEVO", 1, "/c2.ogg")]},
        {"track_id": TD, "query": "sugarland stay", "backend": "api",
         "searched_at": "2026-11-30T10:00:00+00:00", "candidates": [
             c("d1-topic-00", "Stay", "Sugarland - Topic", 0, "/d1.ogg")]},
    ]


def matches(root: Path) -> dict[str, dict]:
    return {r["track_id"]: r for r in read_csv(root / "search" / "matches.csv")}


def search(runner, root: Path, *args: str) -> str:
    res = runner.invoke(cli, ["--workdir", str(root), "search", *args])
    assert res.exit_code == 0, res.output
    return res.output


def test_a_dead_video_leads_to_the_next_candidate_and_overrides_win(
        tmp_path, loopback, runner, monkeypatch):
    monkeypatch.delenv("YOUTUBE_API_KEY", raising=False)  # any search would need a key
    ogg = source(FROZEN, "introzik.ogg").read_bytes()
    for p in ("/a2.ogg", "/a3.ogg", "/b2.ogg", "/c1.ogg", "/c2.ogg", "/d1.ogg"):
        loopback.routes[p] = Route(ogg, content_type="audio/ogg")
    # /a1.ogg and /b1.ogg are gone (404)
    write_songs_csv(tmp_path, SONGS)
    (tmp_path / "search").mkdir(exist_ok=True)
    (tmp_path / "search" / "candidates.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in candidates(loopback)), encoding="utf-8")

    search(runner, tmp_path, "--rerank")
    m = matches(tmp_path)
    assert {t: m[t]["video_id"] for t in (TA, TB, TC, TD)} == {
        TA: "a1-gone-000", TB: "b1-gone-000", TC: "c1-topic-00", TD: "d1-topic-00"}

    first = run_download(tmp_path, **fast())
    assert first.failures == {"unavailable": 2} and first.ok == 2
    failed = read_csv(tmp_path / "download" / "failed_videos.csv")
    assert {(r["track_id"], r["video_id"], r["status"]) for r in failed} == {
        (TA, "a1-gone-000", "unavailable"), (TB, "b1-gone-000", "unavailable")}

    # a person's decisions: C takes its second candidate (the chooser would refuse it),
    # D is dropped
    with (tmp_path / "search" / "overrides.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["track_id", "video_id", "note"])
        w.writerow([TC, "c2-video-00", "the BBC session is the one we want"])
        w.writerow([TD, "skip", "not this song"])

    out = search(runner, tmp_path, "--rematch")
    assert "1 got another candidate, 1 none left" in out
    assert not (tmp_path / "search" / "quota.json").exists()  # no quota, no network
    m = matches(tmp_path)
    assert m[TA]["status"] == "matched" and m[TA]["video_id"] == "a2-audio-00"
    assert m[TA]["url"] == loopback.url("/a2.ogg")
    assert m[TB]["status"] == "no_match" and m[TB]["video_id"] == ""
    assert m[TB]["reason"].startswith("below_threshold: (1 failed videos excluded)")
    assert "cover" in m[TB]["reason"]
    assert m[TC]["video_id"] == "c2-video-00" and m[TC]["reason"].startswith("override:")
    assert m[TC]["url"] == loopback.url("/c2.ogg")
    assert m[TD]["status"] == "no_match"
    assert m[TD]["reason"] == "skipped: by search/overrides.csv (not this song)"

    hits = dict(loopback.hits)
    second = run_download(tmp_path, **fast())
    fetched = {p for p in loopback.routes if loopback.hits.get(p, 0) > hits.get(p, 0)}
    assert fetched == {"/a2.ogg", "/c2.ogg"}  # the new choices, nothing else
    assert second.ok == 2 and not second.failures
    ledger = {r["track_id"]: r for r in read_csv(tmp_path / "download" / "ledger.csv")}
    assert ledger[TA]["status"] == "ok" and ledger[TA]["video_id"] == "a2-audio-00"
    assert ledger[TA]["n_segments"] == "3"
    segs = read_csv(tmp_path / "download" / "segments.csv")
    assert {s["video_id"] for s in segs if s["track_id"] == TA} == {"a2-audio-00"}
    # the history survives the ledger row being replaced by the success
    failed = read_csv(tmp_path / "download" / "failed_videos.csv")
    assert (TA, "a1-gone-000") in {(r["track_id"], r["video_id"]) for r in failed}

    # a later rerank neither chooses the dead video again nor undoes the overrides
    search(runner, tmp_path, "--rerank")
    m = matches(tmp_path)
    assert m[TA]["video_id"] == "a2-audio-00"
    assert m[TB]["status"] == "no_match"
    assert m[TC]["video_id"] == "c2-video-00"
    assert m[TD]["reason"].startswith("skipped")
    # the overrides file is the person's: never rewritten
    assert "the BBC session" in (tmp_path / "search" / "overrides.csv").read_text()


def test_no_candidate_left_is_no_match_with_a_reason(tmp_path, runner):
    write_songs_csv(tmp_path, [(TA, "Portishead", "Roads", "195.5")])
    (tmp_path / "search").mkdir(exist_ok=True)
    rec = {"track_id": TA, "query": "q", "backend": "api", "searched_at": "",
           "candidates": [{"video_id": "a1-gone-000", "title": "Roads",
                           "channel_title": "Portishead - Topic", "duration": 195,
                           "rank": 0, "url": "https://www.youtube.com/watch?v=a1-gone-000"}]}
    (tmp_path / "search" / "candidates.jsonl").write_text(json.dumps(rec) + "\n")
    (tmp_path / "download").mkdir()
    (tmp_path / "download" / "failed_videos.csv").write_text(
        "track_id,video_id,status,reason,when\n"
        f"{TA},a1-gone-000,invalid_media,ffmpeg cannot decode,2026-11-30T10:00:00Z\n")
    search(runner, tmp_path, "--rerank")
    m = matches(tmp_path)
    assert m[TA]["status"] == "no_match"
    assert m[TA]["reason"].startswith("no_candidates_left: all 1 stored candidates")


@pytest.mark.parametrize("row, message", [
    ("TRBAD,xyz,", "not an MSD track id"),
    (f"{TA},bad id!,", "is not a video id"),
])
def test_a_bad_override_row_is_one_line(tmp_path, runner, row, message):
    write_songs_csv(tmp_path, [(TA, "Portishead", "Roads", "195.5")])
    (tmp_path / "search").mkdir(exist_ok=True)
    (tmp_path / "search" / "candidates.jsonl").write_text("")
    (tmp_path / "search" / "overrides.csv").write_text(f"track_id,video_id,note\n{row}\n")
    res = runner.invoke(cli, ["--workdir", str(tmp_path), "search", "--rerank"])
    assert res.exit_code == 1 and message in res.output and "line 2" in res.output
