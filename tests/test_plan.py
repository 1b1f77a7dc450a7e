"""``imac-build plan``: every figure before anything is spent, checked against a hand
computation (on the real MSD sample files, and on the built-in sample for non-zero song
counts)."""

from __future__ import annotations

import json

import pytest
from conftest import shared_data

from imac_builder.cli import cli
from imac_builder.demo import sample_dir


def plan_json(runner, tmp_path, *args: str) -> dict:
    w = tmp_path / "never-made"
    res = runner.invoke(cli, ["--workdir", str(w), "--json", "plan", *args])
    assert res.exit_code == 0, res.output
    assert not w.exists()  # nothing written, not even the work directory
    return json.loads(res.output)


def test_plan_on_the_real_msd_files(runner, tmp_path):
    lastfm = shared_data("lastfm-subset-json", "lastfm_subset")
    meta = shared_data("msd-subset-unique-tracks", "subset_unique_tracks.txt")
    from imac_builder.tags import run_tags

    # the labels as the tags stage gives them, run on its own
    run_tags(tmp_path / "t", lastfm=[lastfm], metadata=meta, progress=False)
    labelled = (tmp_path / "t" / "tags" / "songs.csv").read_text().count("\n") - 1
    p = plan_json(runner, tmp_path, "--lastfm", str(lastfm), "--metadata", str(meta),
                  "--cores", "2")
    assert p["songs"] == labelled == sum(p["songs_per_label"].values())
    assert p["searches"] == labelled and p["videos"] == labelled
    # api: search.list (100) + videos.list (1) = 101 units; 10,000 // 101 = 99 songs a day
    assert p["search"]["api"] == {"quota": True, "units_per_song": 101, "daily_quota": 10000,
                                  "songs_per_day": 99, "days": -(-labelled // 99)}
    assert p["search"]["ytdlp"] == {"quota": False}
    from imac_builder.search.registry import BACKENDS

    assert set(p["search"]) == set(BACKENDS)  # every registered backend (ytmusic too)
    # images by hand: 89,395 x 2,048 x 4 B = 0.732 GB; pixels 89,395 x 224 x 224 x 3 B =
    # 13.456 GB; checkpoints 34.3 + 102.9 MB = 0.137 GB
    d = p["disk_gb"]
    assert d["images"] == pytest.approx(0.732, abs=1e-3)
    assert d["pixels"] == pytest.approx(13.456, abs=1e-3)
    assert d["checkpoints"] == pytest.approx(0.137, abs=1e-3)
    # images here: 89,395 / 9.7 images/s = 2.560 h; training: 50 x 8.14 s x 89,395 / 1,800
    # = 20,213 s = 5.615 h; GPU targets: 89,395 / 5,000 /s = 0.00497 h, 60 s x 89,395 /
    # 90,000 = 0.01656 h
    assert p["hours_here"]["images"] == pytest.approx(2.560, abs=1e-3)
    assert p["hours_here"]["train"] == pytest.approx(5.615, abs=1e-3)
    assert p["gpu_hours"]["images"] == pytest.approx(0.00497, abs=1e-4)
    assert p["gpu_hours"]["train"] == pytest.approx(0.01656, abs=1e-4)
    assert p["figures"]["train_cpu_s_per_epoch"]["date"] == "2026-11-25"
    assert "Xeon" in p["figures"]["music_fast_wall_s"]["machine"]


def test_plan_arithmetic_on_the_sample(runner, tmp_path):
    sample = sample_dir()
    args = ["--lastfm", str(sample / "lastfm_tags.db"), "--metadata",
            str(sample / "unique_tracks.txt"), "--cores", "2"]
    whole = plan_json(runner, tmp_path, *args)
    assert whole["songs_per_label"] == {"positive": 64, "neutral": 59, "negative": 57}
    assert whole["search"]["api"]["days"] == 2  # 180 songs / 99 a day
    p = plan_json(runner, tmp_path, *args, "--per-class", "5", "--rate", "240")
    assert p["songs"] == 15 and set(p["songs_per_label"].values()) == {5}
    # no MSD durations in unique_tracks.txt: 300 s a song, 5 segments: 75 segments
    assert p["segments"] == 75
    assert p["download_hours"] == pytest.approx(15 / 240, abs=0.01)
    d = p["disk_gb"]
    assert d["audio"] == pytest.approx(0.150, abs=1e-3)          # 75 x 2 MB
    assert d["music"] == pytest.approx(75 * 772 / 1e9, abs=1e-3)  # 193 float32
    assert d["spectrograms"] == pytest.approx(0.046, abs=1e-3)    # 75 x 128 x 2,402 x 2 B
    h = p["hours_here"]
    assert h["music"] == pytest.approx(75 * 1.38 / 2 / 3600, abs=1e-3)  # 0.0144 h
    assert p["cpu_hours"]["music"] == pytest.approx(75 * 1.22 / 3600, abs=1e-3)
    # a smaller quota: 1,000 // 101 = 9 songs a day, 15 songs: 2 days; 50: never
    assert plan_json(runner, tmp_path, *args, "--per-class", "5", "--daily-quota", "1000"
                     )["search"]["api"]["days"] == 2
    res = runner.invoke(cli, ["--workdir", str(tmp_path / "x"), "plan", *args,
                              "--daily-quota", "50"])
    assert "never: the daily quota is below one song's cost" in res.output


def test_plan_without_sources_is_one_line(runner, tmp_path):
    res = runner.invoke(cli, ["--workdir", str(tmp_path / "w"), "plan"])
    assert res.exit_code == 1 and len(res.output.strip().splitlines()) == 1
    assert "--lastfm" in res.output
