"""Crash anywhere, lose nothing: each long stage is SIGKILLed at seeded random points,
rerun, and compared with an uninterrupted run (tests/killharness.py). Ctrl-C stops with
exit 130 and a message."""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path

import pytest
from killharness import (
    REPO,
    KillHarness,
    cli,
    clips_fixture,  # noqa: F401 (the clips fixture)
    count_files,
    env,
    interrupt,
    orphans,
    read_csv,
    store_content,
)
from loopback import Route

from imac_builder.config import DownloadConfig, FeaturesConfig, ImagesConfig, SplitConfig

SEED = int(os.environ.get("IMAC_KILL_SEED", "11"))
KILLS = 3


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


# --------------------------------------------------------------------------- search
TRACKS = [(f"TRKILL{i:012d}", f"Artist{i}", f"Song Title {i}") for i in range(8)]


def _songs(root: Path) -> None:
    from imac_builder.tags.stage import SONGS_COLUMNS

    (root / "tags").mkdir(parents=True)
    with (root / "tags" / "songs.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(SONGS_COLUMNS)
        for tid, a, t in TRACKS:
            w.writerow([tid, "SO" + tid[2:], a, t, "", "232.0", 2000, 1, 0, 0, "positive",
                        "happy"])


def _candidates(root: Path) -> dict[str, list]:
    out = {}
    for line in (root / "search" / "candidates.jsonl").read_text().splitlines():
        rec = json.loads(line)
        out[rec["track_id"]] = rec["candidates"]
    return out


def test_search_killed_and_torn_line_resumes_without_asking_twice(tmp_path):
    pytest.importorskip("googleapiclient")
    pytest.importorskip("rapidfuzz")
    driver = str(REPO / "tests" / "search_driver.py")
    e = env(YOUTUBE_API_KEY="AIzaSyKILL-test-key-000000000000000")
    runs = {}
    for name in ("ref", "killed"):
        root = tmp_path / name
        _songs(root)
        runs[name] = root
    ref, killed = runs["ref"], runs["killed"]
    h = KillHarness("search", [sys.executable, driver, str(ref), str(tmp_path / "ref.log"),
                               "0"], lambda: 0, 1, environ=e)
    assert h.run(0, SEED).final_rc == 0
    h = KillHarness("search", [sys.executable, driver, str(killed),
                               str(tmp_path / "killed.log"), "0.15"],
                    lambda: _lines(killed / "search" / "candidates.jsonl"), len(TRACKS),
                    environ=e)
    report = h.run(KILLS, SEED)
    assert report.final_rc == 0, report.final_stderr
    assert report.kills == KILLS
    assert (ref / "search/matches.csv").read_bytes() == \
        (killed / "search/matches.csv").read_bytes()
    assert _candidates(ref) == _candidates(killed)
    asked = (tmp_path / "killed.log").read_text().splitlines()
    assert len(asked) - len(TRACKS) <= report.kills  # only the song in flight, once a kill
    assert orphans(killed) == []

    # a torn last line (a kill inside the append): that song alone is searched again
    cands = killed / "search" / "candidates.jsonl"
    data = cands.read_bytes()
    last = data[:-1].rfind(b"\n") + 1
    cands.write_bytes(data[:last + 25])
    (tmp_path / "killed.log").unlink()
    h.run(0, SEED)
    again = [json.loads(q) for q in (tmp_path / "killed.log").read_text().splitlines()]
    assert len(again) == 1 and again[0] == json.loads(data[last:])["query"]
    assert _candidates(ref) == _candidates(killed)
    assert (ref / "search/matches.csv").read_bytes() == \
        (killed / "search/matches.csv").read_bytes()
    # --rerank (no network) killed anywhere leaves matches.csv whole, then equal
    (killed / "search/matches.csv").unlink()
    rerank = KillHarness("search --rerank", cli(killed, "search", "--rerank"), lambda: 0, 4)
    assert rerank.run(KILLS, SEED, jitter=0.25).final_rc == 0
    assert (ref / "search/matches.csv").read_bytes() == \
        (killed / "search/matches.csv").read_bytes()
    assert orphans(killed) == []


# --------------------------------------------------------------------------- download
def _fetched(srv, prefix: str) -> int:
    return sum(1 for p in srv.hits if p.startswith(prefix))


def test_download_killed_at_random_points_matches_a_clean_run(tmp_path, loopback, clips):
    from download_media import files_under, write_inputs

    from imac_builder.download import run_download

    rows = {}
    for name in ("ref", "killed"):
        rows[name] = []
        for i, clip in enumerate(clips):
            loopback.routes[f"/{name}/{i}"] = Route.file(clip, "audio/mpeg", stall=0.25)
            rows[name].append((f"TRKILL{i:012d}", f"vid{i:08d}", loopback.url(f"/{name}/{i}")))
    ref, killed = tmp_path / "ref", tmp_path / "killed"
    write_inputs(ref, rows["ref"])
    write_inputs(killed, rows["killed"])
    run_download(ref, progress=False,
                 config=DownloadConfig(jobs=2, socket_timeout=5, retries=0, rate=0.0))
    jobs = 2
    cmd = cli(killed, "download", "--jobs", str(jobs), "--socket-timeout", "5")
    h = KillHarness("download", cmd, lambda: _fetched(loopback, "/killed/"), len(clips))
    report = h.run(KILLS, SEED)
    assert report.final_rc == 0, report.final_stderr
    assert report.kills >= 2
    for t in ("download/segments.csv",):
        assert (ref / t).read_bytes() == (killed / t).read_bytes()
    strip = [{k: v for k, v in r.items() if k not in ("last_attempt", "attempts", "url")}
             for r in read_csv(killed / "download/ledger.csv")]
    assert strip == [{k: v for k, v in r.items() if k not in ("last_attempt", "attempts", "url")}
                     for r in read_csv(ref / "download/ledger.csv")]
    assert files_under(ref / "audio") == files_under(killed / "audio")
    assert orphans(killed) == []
    again = [p for p in loopback.hits if p.startswith("/killed/")
             and loopback.hits[p] > loopback.hits[p.replace("/killed/", "/ref/")]]
    assert len(again) <= report.kills * jobs  # only songs in flight were fetched again


def test_a_torn_journal_line_is_dropped_before_the_next_song_is_appended(tmp_path):
    """Killed (or disk full) inside a journal append, then a run that commits two songs
    and is killed before rewriting the tables: every song it committed is still there."""
    from imac_builder.download.ledger import Ledger, LedgerRow, SegmentRow

    def song(i: int) -> tuple[LedgerRow, list[SegmentRow]]:
        t = f"TRKILL{i:012d}"
        return (LedgerRow(t, "vidKILL0000", "http://x/", "ok", "", 1, "2026-11-25T00:00:00Z", 1),
                [SegmentRow(f"{t}_000", t, "vidKILL0000", 0, "0", "60", f"audio/{t}/{t}_000.flac",
                            "ab", "positive")])

    first = Ledger(tmp_path)
    first.load()
    first.commit(*song(0))
    with open(first.journal.path, "ab") as fh:  # the kill: half of song 1's line
        fh.write(b'{"ledger": {"track_id": "TRKILL0000')
    second = Ledger(tmp_path)
    assert second.load() == 1
    second.commit(*song(2))
    second.commit(*song(3))  # killed here, before any flush
    third = Ledger(tmp_path)
    assert third.load() == 3
    assert sorted(third.rows) == [f"TRKILL{i:012d}" for i in (0, 2, 3)]


# --------------------------------------------------------------------------- images
def test_images_urls_killed_at_random_points_matches_a_clean_run(tmp_path, loopback):
    pytest.importorskip("PIL")
    from images_support import EMOTIONS, jpeg_bytes, photos

    from imac_builder.images.stage import run_images

    ims = photos(12)
    lists = {}
    for name in ("ref", "killed"):
        lines = ["image_id,url,emotion"]
        for i, im in enumerate(ims):
            loopback.routes[f"/{name}/{i}.jpg"] = Route(jpeg_bytes(im), content_type="image/jpeg",
                                                       stall=0.2)
            lines.append(f"{EMOTIONS[i % 8]}_{i:04d},{loopback.url(f'/{name}/{i}.jpg')},"
                         f"{EMOTIONS[i % 8]}")
        lists[name] = tmp_path / f"{name}.csv"
        lists[name].write_text("\n".join(lines) + "\n")
    ref, killed = tmp_path / "ref", tmp_path / "killed"
    run_images(ref, urls=[lists["ref"]], progress=False, config=ImagesConfig(fetch_jobs=2, jobs=1))
    cmd = cli(killed, "images", "--urls", str(lists["killed"]), "--fetch-jobs", "2",
              "--jobs", "1")
    h = KillHarness("images --urls", cmd,
                    lambda: count_files(killed / "images" / "files", "*.jpg"), len(ims))
    report = h.run(KILLS, SEED)
    assert report.final_rc == 0, report.final_stderr
    assert report.kills >= 2
    assert (ref / "images/images.csv").read_bytes() == (killed / "images/images.csv").read_bytes()
    assert orphans(killed) == []
    again = [p for p in loopback.hits if p.startswith("/killed/")
             and loopback.hits[p] > loopback.hits[p.replace("/killed/", "/ref/")]]
    assert len(again) <= report.kills * 2


# --------------------------------------------------------------------------- features
def test_features_music_killed_at_random_points_matches_a_clean_run(tmp_path):
    pytest.importorskip("librosa")
    from features_support import decode, music_files, write_segments

    from imac_builder.features import run_features

    a, b = music_files(2)
    segs = {f"TRKILL{k:012d}_000": decode(src, start=10.0 + 60 * j, seconds=60.0)
            for k, (src, j) in enumerate([(a, 0), (b, 0), (a, 1), (b, 1)])}
    ref, killed = tmp_path / "ref", tmp_path / "killed"
    write_segments(ref, segs)
    write_segments(killed, segs)
    run_features(ref, progress=False,
                 config=FeaturesConfig(modality="music", engine="fast", shard_size=1))
    parts = killed / "features" / "parts"
    cmd = cli(killed, "features", "--modality", "music", "--engine", "fast", "--shard-size",
              "1")
    seen: dict[str, int] = {}

    def probe() -> int:
        n = 0
        for p in parts.rglob("*.h5") if parts.is_dir() else []:
            seen.setdefault(p.name, p.stat().st_mtime_ns)
            n += 1
        return n

    h = KillHarness("features (music)", cmd, probe, len(segs))
    report = h.run(KILLS, SEED)
    assert report.final_rc == 0, report.final_stderr
    assert report.kills >= 2
    assert store_content(ref / "features/music.h5") == \
        store_content(killed / "features/music.h5")
    assert orphans(killed) == []
    # parts finished before a kill were kept, not computed again
    for p in parts.rglob("*.h5"):
        if p.name in seen:
            assert p.stat().st_mtime_ns == seen[p.name], f"{p.name} was computed twice"


# --------------------------------------------------------------------------- train
def test_train_killed_resumes_from_its_last_checkpoint(tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("h5py")
    from train_support import make_stores

    from imac_builder.train.split import run_split
    from imac_builder.train.trainer import load_checkpoint

    epochs = 6
    for name in ("ref", "killed"):
        make_stores(tmp_path / name, informative=True, n_images=240, n_songs=60)
        run_split(tmp_path / name, progress=False, config=SplitConfig(seed=3))
    driver = str(REPO / "tests" / "train_driver.py")
    args = ["train", "--epochs", str(epochs), "--patience", str(epochs), "--batch-size", "64",
            "--device", "cpu", "--run", "r"]
    ref, killed = tmp_path / "ref", tmp_path / "killed"
    last = killed / "runs/r/last.pt"
    cache = {"mtime": 0, "epoch": 0}

    def probe() -> int:
        try:
            m = last.stat().st_mtime_ns
        except FileNotFoundError:
            return 0
        if m != cache["mtime"]:
            cache["mtime"] = m
            cache["epoch"] = int(torch.load(last, weights_only=True)["epoch"])
        return cache["epoch"]

    KillHarness("train", [sys.executable, driver, "--workdir", str(ref), "-q", *args],
                lambda: 0, 1).run(0, SEED)
    h = KillHarness("train", [sys.executable, driver, "--workdir", str(killed), "-q", *args],
                    probe, epochs)
    report = h.run(KILLS, SEED, jitter=0.5)
    assert report.final_rc == 0, report.final_stderr
    assert report.kills >= 2
    mr = json.loads((ref / "runs/r/metrics.json").read_text())
    mk = json.loads((killed / "runs/r/metrics.json").read_text())
    assert mk["epochs"] == mr["epochs"] == epochs
    assert [h["epoch"] for h in mk["history"]] == list(range(1, epochs + 1))
    assert [round(h["loss"], 6) for h in mk["history"]] == \
        [round(h["loss"], 6) for h in mr["history"]]  # the resumed run is the same run
    assert mk["best_epoch"] == mr["best_epoch"]
    for f in ("last.pt", "model.pt"):
        assert load_checkpoint(killed / "runs/r" / f)  # none corrupt
    assert orphans(killed) == []


# --------------------------------------------------------------------------- Ctrl-C
def test_ctrl_c_stops_download_with_130_and_a_message(tmp_path, loopback, clips):
    from download_media import write_inputs

    rows = []
    for i, clip in enumerate(clips[:4]):
        loopback.routes[f"/int/{i}"] = Route.file(clip, "audio/mpeg", stall=0.4)
        rows.append((f"TRKILL{i:012d}", f"vid{i:08d}", loopback.url(f"/int/{i}")))
    write_inputs(tmp_path, rows)
    res = interrupt(cli(tmp_path, "download"), lambda: _fetched(loopback, "/int/") >= 1)
    assert res.returncode == 130, res.stderr
    assert "Traceback" not in res.stderr
    assert "interrupted" in res.stderr and "run the same command again" in res.stderr
    assert len(res.stderr.strip().splitlines()) <= 3
    assert orphans(tmp_path) == []
    ok = subprocess_ok(cli(tmp_path, "download"))
    assert ok.returncode == 0, ok.stderr
    assert {r["status"] for r in read_csv(tmp_path / "download/ledger.csv")} == {"ok"}


def subprocess_ok(cmd: list[str]):
    import subprocess

    return subprocess.run(cmd, env=env(), cwd=REPO, capture_output=True, text=True,
                          timeout=180)


def test_ctrl_c_stops_features_with_130_and_resumes(tmp_path):
    pytest.importorskip("librosa")
    from features_support import decode, music_files, write_segments

    (a,) = music_files(1)
    segs = {f"TRKILL{k:012d}_000": decode(a, start=10.0 + 20 * k, seconds=60.0)
            for k in range(3)}
    write_segments(tmp_path, segs)
    cmd = cli(tmp_path, "features", "--modality", "music", "--engine", "fast",
              "--shard-size", "1")
    res = interrupt(cmd, lambda: count_files(tmp_path / "features" / "parts", "*.h5") >= 1)
    assert res.returncode == 130, res.stderr
    assert "Traceback" not in res.stderr and "interrupted" in res.stderr
    ok = subprocess_ok(cmd)
    assert ok.returncode == 0, ok.stderr
    assert len(store_content(tmp_path / "features/music.h5")["ids"]) == 3
    assert orphans(tmp_path) == []
