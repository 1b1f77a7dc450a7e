"""The work directory remembers its pipeline file and image root, and `status` shows a
plan and the failures by reason."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from tagdata import write_songs_csv

from imac_builder.cli import cli
from imac_builder.workdir import read_state

pytest.importorskip("rapidfuzz")

T1, T2, T3, T4, T5 = (f"TRMEMORY00000000{i}{i}" for i in range(1, 6))
SONGS = [(T1, "Sugarland", "Stay", "213.0"), (T2, "Adele", "Hello", "295.0"),
         (T3, "Radiohead", "Creep", "238.0"), (T4, "Portishead", "Roads", "305.0"),
         (T5, "Bjork", "Joga", "305.0")]


def _cand(vid: str, title: str, channel: str, dur: float | None) -> dict:
    return {"video_id": vid, "title": title, "channel_title": channel, "duration": dur,
            "rank": 0, "url": f"https://www.youtube.com/watch?v={vid}"}


def build(root: Path) -> Path:
    write_songs_csv(root, SONGS)
    recs = [
        {"track_id": T1, "query": "Sugarland Stay", "backend": "api", "searched_at": "",
         "candidates": [_cand("kara0000001", "Sugarland - Stay (Karaoke Version)",
                              "Sing King", 214)]},
        {"track_id": T2, "query": "Adele Hello", "backend": "api", "searched_at": "",
         "candidates": [_cand("hello000001", "Hello", "Adele - Topic", 295)]},
        {"track_id": T3, "query": "Radiohead Creep", "backend": "api", "searched_at": "",
         "candidates": [_cand("creep000001", "Creep", "Radiohead - Topic", 238)]},
    ]
    (root / "search" / "candidates.jsonl").parent.mkdir(parents=True, exist_ok=True)
    (root / "search" / "candidates.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in recs))
    pipeline = root.parent / "tuned.toml"
    # a user who accepts karaoke uploads: the tuned thresholds a plain run must keep
    pipeline.write_text('[search]\npenalty_words = ["cover"]\nqualifier_penalty = 0\n'
                        "min_title = 60\n\n[download]\nrate = 120\n")
    return pipeline


def run(runner, *args: str) -> dict:
    res = runner.invoke(cli, [*args, "--json"] if "status" not in args else list(args))
    assert res.exit_code == 0, res.output
    return json.loads(res.output) if "status" not in args else res.output


def test_a_command_without_config_uses_the_remembered_pipeline(tmp_path, runner) -> None:
    w = tmp_path / "w"
    pipeline = build(w)
    first = run(runner, "--workdir", str(w), "--config", str(pipeline), "search", "--rerank")
    assert first["match_config"]["min_title"] == 60 and first["matched"] == 3
    assert read_state(w)["pipeline"] == str(pipeline.resolve())

    # the daily run without --config keeps the tuned thresholds
    again = run(runner, "--workdir", str(w), "search", "--rerank")
    assert again["match_config"] == first["match_config"] and again["matched"] == 3
    with (w / "search" / "matches.csv").open(newline="") as fh:
        assert {r["track_id"]: r["video_id"] for r in csv.DictReader(fh)}[T1] == "kara0000001"
    # status judges against the remembered file (nothing stale) and prints commands
    # that will use it (no --config needed)
    out = run(runner, "--workdir", str(w), "status")
    assert f"remembers pipeline: {pipeline.resolve()}" in out
    assert "configuration changed" not in out
    assert "--config" not in out.split("next:")[1]

    # --no-config: the built-in defaults, for this command only
    plain = run(runner, "--workdir", str(w), "--no-config", "search", "--rerank")
    assert plain["match_config"]["min_title"] == 80 and plain["matched"] == 2
    assert read_state(w)["pipeline"] == str(pipeline.resolve())

    # a remembered file that is gone is one line, not the defaults in silence
    pipeline.unlink()
    res = runner.invoke(cli, ["--workdir", str(w), "search", "--rerank"])
    assert res.exit_code == 1 and "which is gone" in res.output and str(pipeline) in res.output


def test_the_image_root_is_remembered(tmp_path, runner) -> None:
    pytest.importorskip("PIL")
    from images_support import folder_layout

    images = tmp_path / "emotion_dataset"
    folder_layout(images, per_emotion=1)
    w = tmp_path / "w"
    run(runner, "--workdir", str(w), "images", "--image-root", str(images))
    assert read_state(w)["image_root"] == str(images.resolve())
    moved = tmp_path / "elsewhere"
    shutil.copytree(images, moved)
    # without --image-root: the remembered root (the images there are all found)
    again = run(runner, "--workdir", str(w), "images")
    assert again["image_root"] == str(images.resolve()) and again["per_status"] == {"ok": 8}
    out = run(runner, "--workdir", str(w), "status")
    assert "IMAGE_EMOTION_DIR" not in out  # the next command needs no --image-root
    # an explicit root wins and is remembered from then on
    run(runner, "--workdir", str(w), "images", "--image-root", str(moved))
    assert read_state(w)["image_root"] == str(moved.resolve())


def test_status_shows_the_plan_and_failures_by_reason(tmp_path, runner) -> None:
    w = tmp_path / "w"
    pipeline = build(w)
    run(runner, "--workdir", str(w), "--config", str(pipeline), "search", "--rerank")
    # planted mid-way state: 2 matched songs downloaded or failed, quota of 5,000 a day
    (w / "search" / "quota.json").write_text(json.dumps({"daily_quota": 5000, "days": {}}))
    (w / "download").mkdir()
    (w / "download" / "ledger.csv").write_text(
        "track_id,video_id,url,status,reason,attempts,last_attempt,n_segments\n"
        f"{T2},hello000001,u,unavailable,HTTP 404: video gone,1,2026-12-01T00:00:00Z,0\n"
        f"{T3},creep000001,u,blocked,bot check: pass --cookies,1,2026-12-01T00:00:00Z,0\n")
    (w / "download" / "segments.csv").write_text(
        "segment_id,track_id,video_id,index,start,duration,path,sha256,label\n")
    (w / "search" / "overrides.csv").write_text(f"track_id,video_id,note\n{T5},skip,no\n")
    res = runner.invoke(cli, ["--workdir", str(w), "--json", "status"])
    doc = json.loads(res.output)
    plan = doc["plan"]
    # T4 and T5 are not searched (T5 is skipped by hand, but the table still says so
    # until the next search run): 2 songs; 101 units a song; 5,000 // 101 = 49 a day
    assert plan["songs_to_search"] == 2 and plan["units_per_song"] == 101
    assert plan["daily_quota"] == 5000 and plan["search_days"] == 1
    # T1 (never tried) and T3 (blocked, retryable) are left: at 120 an hour (recorded)
    assert plan["videos_to_download"] == 2 and plan["rate"] == 120
    assert plan["download_hours"] == round(2 / 120, 2)
    # 214 s -> 3 segments, 238 s -> 3 segments, 2 MB each
    assert plan["disk_gb"] == 0.01
    assert doc["failures_by_reason"] == {"download": {"blocked": 1, "unavailable": 1}}
    assert doc["overrides"] == 1

    out = run(runner, "--workdir", str(w), "status", "--failures")
    assert "2 songs left to search, about 1 days at 5,000 units a day" in out
    assert "2 videos left, under 0.1 hours at 120 videos an hour" in out
    assert "download: 1 blocked, 1 unavailable" in out
    from imac_builder.vocab import DOWNLOAD_STATUSES

    advice = DOWNLOAD_STATUSES["unavailable"].advice
    assert "`search --rematch`" in advice
    assert f"download unavailable (1): {advice}" in out
    assert f"  {T3} (creep000001): bot check: pass --cookies" in out
    assert "1 songs decided by hand in search/overrides.csv" in out


def test_a_search_stopped_by_the_quota_exits_75(tmp_path, runner, monkeypatch) -> None:
    pytest.importorskip("googleapiclient")
    w = tmp_path / "w"
    write_songs_csv(w, SONGS)
    key = tmp_path / "key"
    key.write_text("AIzaFakeKeyForATest0000000000000000000\n")
    monkeypatch.delenv("YOUTUBE_API_KEY", raising=False)
    # today's budget is all but spent (50 units left, one song costs 101): the run stops
    # before the first search and no request is made (a budget below one song's cost is
    # another error, tested in test_user_path.py)
    import json
    from datetime import datetime
    from zoneinfo import ZoneInfo

    today = datetime.now(ZoneInfo("America/Los_Angeles")).date().isoformat()
    (w / "search").mkdir(parents=True, exist_ok=True)
    (w / "search" / "quota.json").write_text(json.dumps(
        {"days": {today: {"units": 9950, "calls": {}}}}))
    res = runner.invoke(cli, ["--workdir", str(w), "search", "--api-key-file", str(key),
                              "--daily-quota", "10000"])
    assert res.exit_code == 75, res.output
    assert "stopped before exceeding the daily budget" in res.output
    assert "5 songs remain" in res.output
