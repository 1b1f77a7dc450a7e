"""The download stage end to end: yt-dlp fetching real music from a loopback server."""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import namedtuple
from pathlib import Path

import numpy as np
import pytest
from download_media import (
    ffmpeg,
    files_under,
    make_media,
    read_csv,
    track_id,
    write_inputs,
)
from loopback import Route

from imac_builder.cli import cli
from imac_builder.config import DownloadConfig

pytest.importorskip("yt_dlp")
sf = pytest.importorskip("soundfile")

from imac_builder.download import SEGMENT_COLUMNS, run_download  # noqa: E402
from imac_builder.download.ledger import LEDGER_COLUMNS  # noqa: E402

N = 1_323_000
REPO = Path(__file__).resolve().parents[1]
def fast(**settings: object) -> dict:
    """Quick download settings for loopback tests (unpaced, short waits)."""
    base = dict(socket_timeout=2.0, retries=1, rate_limit_wait=0.3, rate=0.0)
    return dict(config=DownloadConfig(**{**base, **settings}), _rate_limit_tries=2, progress=False)


@pytest.fixture(scope="session")
def media(tmp_path_factory):
    return make_media(tmp_path_factory.mktemp("media"))


def reference_pcm(path: Path) -> np.ndarray:
    """The original decoded independently: mono 22,050 Hz int16."""
    out = subprocess.run([ffmpeg(), "-nostdin", "-v", "error", "-i", str(path), "-ac", "1",
                          "-ar", "22050", "-f", "s16le", "-acodec", "pcm_s16le", "-"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(out, dtype="<i2")


def probe_seconds(path: Path) -> float:
    out = subprocess.run([shutil.which("ffprobe") or "ffprobe", "-v", "error",
                          "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return float(out)


def serve(srv, media, names):
    rows = []
    for i, name in enumerate(names):
        song = media[name]
        srv.routes[f"/{name}"] = Route.file(song.path, song.content_type)
        rows.append((track_id(i), f"vid{i:08d}", srv.url(f"/{name}")))
    return rows


def test_every_format_gives_exact_segments_equal_to_the_decoded_original(
        tmp_path, loopback, media):
    names = ["vorbis", "opus", "mp3", "m4a"]
    rows = serve(loopback, media, names)
    write_inputs(tmp_path, rows)
    summary = run_download(tmp_path, **fast(jobs=2))
    assert summary.ok == 4 and not summary.failures

    segs = read_csv(tmp_path / "download" / "segments.csv")
    assert tuple(segs[0]) == SEGMENT_COLUMNS
    assert [s["segment_id"] for s in segs] == sorted(s["segment_id"] for s in segs)
    ledger = {r["track_id"]: r for r in read_csv(tmp_path / "download" / "ledger.csv")}
    assert tuple(next(iter(ledger.values()))) == LEDGER_COLUMNS
    labels = {r["track_id"]: r["label"] for r in read_csv(tmp_path / "tags" / "songs.csv")}
    for (tid, vid, url), name in zip(rows, names, strict=True):
        ref = reference_pcm(media[name].path)
        n = len(ref) // N
        assert n == math.floor(probe_seconds(media[name].path) / 60) >= 2, name
        mine = [s for s in segs if s["track_id"] == tid]
        assert len(mine) == n and ledger[tid]["n_segments"] == str(n)
        assert ledger[tid]["status"] == "ok" and ledger[tid]["url"] == url
        for k, s in enumerate(mine):
            assert s["segment_id"] == f"{tid}_{k:03d}" and s["index"] == str(k)
            assert float(s["start"]) == 60 * k and float(s["duration"]) == 60
            assert s["path"] == f"audio/{tid}/{tid}_{k:03d}.flac"
            assert s["video_id"] == vid and s["label"] == labels[tid]
            info = sf.info(str(tmp_path / s["path"]))
            assert (info.format, info.subtype, info.samplerate, info.channels,
                    info.frames) == ("FLAC", "PCM_16", 22050, 1, N)
            data, _ = sf.read(str(tmp_path / s["path"]), dtype="int16")
            expected = ref[k * N:(k + 1) * N]
            assert np.array_equal(data, expected), f"{name} segment {k}"
            assert s["sha256"] == hashlib.sha256(expected.astype("<i2").tobytes()).hexdigest()
    # originals deleted once segmented; nothing but the segments under audio/
    assert files_under(tmp_path / "audio") == {s["path"][len("audio/"):] for s in segs}
    assert not (tmp_path / "download" / "originals").exists()


def test_failures_end_in_the_ledger_and_the_run_goes_on(tmp_path, loopback, media):
    srv = loopback
    ogg = media["vorbis"].path.read_bytes()
    srv.routes["/good.ogg"] = Route(ogg, content_type="audio/ogg")
    srv.routes["/forbidden.ogg"] = Route(b"forbidden", 403, "text/plain")
    srv.routes["/noise.ogg"] = Route(os.urandom(200_000), content_type="audio/ogg")
    srv.routes["/page.html"] = Route(b"<html><body><p>no media here</p></body></html>",
                                     content_type="text/html")
    srv.routes["/cut.ogg"] = Route(ogg, content_type="audio/ogg", truncate_to=len(ogg) // 10)
    srv.routes["/short.ogg"] = Route.file(media["short"].path, "audio/ogg")
    srv.routes["/stall.ogg"] = Route(ogg, content_type="audio/ogg", stall=6)
    srv.routes["/busy.ogg"] = Route(b"slow down", 429, "text/plain")
    expected = {"/gone.ogg": "unavailable", "/forbidden.ogg": "blocked",
                "/noise.ogg": "invalid_media", "/page.html": "invalid_media",
                "/cut.ogg": "network", "/short.ogg": "too_short", "/stall.ogg": "network",
                "/busy.ogg": "rate_limited", "/good.ogg": "ok"}
    paths = list(expected)
    rows = [(track_id(i), f"vid{i:08d}", srv.url(p)) for i, p in enumerate(paths)]
    write_inputs(tmp_path, rows)
    by_path = dict(zip(paths, (r[0] for r in rows), strict=True))

    t0 = time.monotonic()
    summary = run_download(tmp_path, **fast(jobs=2))
    assert time.monotonic() - t0 < 30
    ledger = {r["track_id"]: r for r in read_csv(tmp_path / "download" / "ledger.csv")}
    got = {p: ledger[by_path[p]]["status"] for p in paths}
    assert got == expected
    assert summary.ok == 1 and summary.attempted == len(paths)
    assert summary.failures == {"unavailable": 1, "blocked": 1, "invalid_media": 2,
                                "network": 2, "too_short": 1, "rate_limited": 1}
    reasons = {p: ledger[by_path[p]]["reason"] for p in paths}
    assert reasons["/good.ogg"] == ""
    assert "404" in reasons["/gone.ogg"] and "search --rematch" in reasons["/gone.ogg"]
    assert "403" in reasons["/forbidden.ogg"] and "--cookies" in reasons["/forbidden.ogg"]
    assert "ffmpeg cannot decode" in reasons["/noise.ogg"]
    assert "48.0 s" in reasons["/short.ogg"]
    assert "timed out" in reasons["/stall.ogg"] and "--retry-failed" in reasons["/stall.ogg"]
    assert "more expected" in reasons["/cut.ogg"]
    assert "429" in reasons["/busy.ogg"] and "--rate" in reasons["/busy.ogg"]
    assert all("\n" not in r for r in reasons.values())
    # the 429 paused the workers and was tried again once, then given up
    assert srv.hits["/busy.ogg"] == 2 and summary.rate_limit_pauses >= 1
    assert ledger[by_path["/busy.ogg"]]["attempts"] == "2"
    assert all(ledger[by_path[p]]["n_segments"] == "0" for p in paths if p != "/good.ogg")
    good = by_path["/good.ogg"]
    assert {p.split("/")[0] for p in files_under(tmp_path / "audio")} == {good}
    segments_before = (tmp_path / "download" / "segments.csv").read_bytes()

    # a plain rerun fetches nothing again: done songs and earlier failures are kept
    hits = dict(srv.hits)
    again = run_download(tmp_path, **fast(jobs=2))
    assert again.attempted == 0 and again.already_done == 1 and again.failed_before == 8
    assert again.retryable_before == 4
    assert srv.hits == hits
    assert (tmp_path / "download" / "segments.csv").read_bytes() == segments_before

    # --retry-failed retries blocked/network/rate_limited only, never permanent failures
    srv.routes["/busy.ogg"] = Route(ogg, content_type="audio/ogg")  # the site recovered
    retried = run_download(tmp_path, retry_failed=True, **fast(jobs=2))
    fetched_again = {p for p in paths if srv.hits.get(p, 0) > hits.get(p, 0)}
    assert fetched_again == {"/forbidden.ogg", "/cut.ogg", "/stall.ogg", "/busy.ogg"}
    assert retried.attempted == 4 and retried.ok == 1
    ledger = {r["track_id"]: r for r in read_csv(tmp_path / "download" / "ledger.csv")}
    busy = ledger[by_path["/busy.ogg"]]
    assert busy["status"] == "ok" and busy["n_segments"] == "3" and busy["attempts"] == "3"
    assert ledger[by_path["/stall.ogg"]]["attempts"] == "2"
    assert ledger[by_path["/gone.ogg"]]["attempts"] == "1"
    segs = read_csv(tmp_path / "download" / "segments.csv")
    assert {s["track_id"] for s in segs} == {good, by_path["/busy.ogg"]}
    assert files_under(tmp_path / "audio") == {s["path"][len("audio/"):] for s in segs}


def test_a_download_past_the_size_cap_is_stopped(tmp_path, loopback, monkeypatch):
    from imac_builder.download import fetch

    monkeypatch.setattr(fetch, "MAX_DOWNLOAD_BYTES", 3 << 20)
    # 16 MiB with no length announced stands for an endless stream
    loopback.routes["/endless.ogg"] = Route(b"OggS", content_type="audio/ogg",
                                            unsized=16 << 20)
    write_inputs(tmp_path, [(track_id(0), "vid00000000", loopback.url("/endless.ogg"))])
    t0 = time.monotonic()
    run_download(tmp_path, **fast())
    assert time.monotonic() - t0 < 30
    row = read_csv(tmp_path / "download" / "ledger.csv")[0]
    assert row["status"] == "invalid_media" and "passed 3 MiB" in row["reason"], row
    assert not files_under(tmp_path / "audio")


def test_a_songs_folder_made_a_link_is_replaced_never_followed(tmp_path, loopback, media):
    rows = serve(loopback, media, ["vorbis", "mp3"])
    write_inputs(tmp_path, rows)
    assert run_download(tmp_path, **fast()).ok == 2
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("mine")
    for tid, _, _ in rows:  # one link to a folder with a stray file, one dangling
        shutil.rmtree(tmp_path / "audio" / tid)
    (tmp_path / "audio" / rows[0][0]).symlink_to(outside)
    (tmp_path / "audio" / rows[1][0]).symlink_to(tmp_path / "nowhere")
    again = run_download(tmp_path, **fast())
    assert again.ok == 2 and (outside / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in outside.iterdir()) == ["keep.txt"]
    for tid, _, _ in rows:
        folder = tmp_path / "audio" / tid
        assert folder.is_dir() and not folder.is_symlink() and any(folder.iterdir())


def test_an_audio_folder_linked_out_of_the_work_directory_is_refused(tmp_path, loopback,
                                                                     media):
    from imac_builder.errors import UserError

    rows = serve(loopback, media, ["vorbis"])
    w = tmp_path / "w"
    write_inputs(w, rows)
    outside = tmp_path / "elsewhere"
    (outside / rows[0][0]).mkdir(parents=True)
    (outside / rows[0][0] / "thesis.txt").write_text("mine")
    (outside / ".incoming").mkdir()
    (w / "audio").symlink_to(outside)
    with pytest.raises(UserError, match="symbolic link out of the work directory"):
        run_download(w, **fast())
    assert (outside / rows[0][0] / "thesis.txt").read_text() == "mine"
    assert (outside / ".incoming").is_dir()


def test_limit_keep_original_and_proxy(tmp_path, loopback, media):
    srv = loopback
    ogg = media["vorbis"]
    m4a = media["m4a"]
    # the second song lives on a host that only the proxy (our loopback server) knows
    srv.routes["/a.ogg"] = Route.file(ogg.path, ogg.content_type)
    remote = "http://music.example.invalid/b.m4a"
    srv.routes[remote] = Route.file(m4a.path, m4a.content_type)
    rows = [(track_id(0), "a" * 11, srv.url("/a.ogg")), (track_id(1), "b" * 11, remote)]
    write_inputs(tmp_path, rows)

    first = run_download(tmp_path, limit=1, **fast(keep_original=True))
    assert first.ok == 1 and first.not_attempted == 1
    kept = tmp_path / "download" / "originals" / f"{track_id(0)}.ogg"
    assert kept.read_bytes() == ogg.path.read_bytes()

    second = run_download(tmp_path, proxy=srv.url("").rstrip("/"), **fast())
    assert second.attempted == 1 and second.ok == 1 and second.already_done == 1
    assert srv.hits["/a.ogg"] == 2  # one probe + one download, in the first run only
    assert srv.hits[remote] >= 1
    ledger = {r["track_id"]: r for r in read_csv(tmp_path / "download" / "ledger.csv")}
    assert ledger[track_id(1)]["status"] == "ok" and ledger[track_id(1)]["n_segments"] == "2"
    assert not (tmp_path / "download" / "originals" / f"{track_id(1)}.m4a").exists()


def test_rate_limiting_stops_the_run_instead_of_burning_the_list(tmp_path, loopback):
    rows = []
    for i in range(5):
        loopback.routes[f"/r{i}"] = Route(b"slow down", 429, "text/plain")
        rows.append((track_id(i), f"v{i:010d}", loopback.url(f"/r{i}")))
    write_inputs(tmp_path, rows)
    t0 = time.monotonic()
    summary = run_download(tmp_path, **{**fast(rate_limit_wait=0.2), "_rate_limit_tries": 1},
                           _stop_after_rate_limited=2)
    # every 429 paused all workers (0.2 s, then 0.4 s) and two in a row stopped the run
    assert time.monotonic() - t0 >= 0.2
    assert summary.attempted == 2 and summary.not_attempted == 3
    assert summary.rate_limit_pauses == 2 and "rate limited" in summary.stopped
    assert sum(loopback.hits.values()) == 2
    ledger = read_csv(tmp_path / "download" / "ledger.csv")
    assert [r["status"] for r in ledger] == ["rate_limited", "rate_limited"]
    assert any("rerun" in line for line in summary.lines())


def test_disk_check_refuses_before_fetching(tmp_path, loopback, media, runner, monkeypatch):
    rows = serve(loopback, media, ["vorbis"])
    write_inputs(tmp_path, rows, durations={rows[0][0]: 195.5})
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(10**9, 10**9 - 5_000_000,
                                                              5_000_000))
    res = runner.invoke(cli, ["--workdir", str(tmp_path), "download"])
    assert res.exit_code == 1
    assert "not enough free disk space" in res.output and "--limit" in res.output
    assert "Traceback" not in res.output
    assert loopback.hits == {}
    assert not (tmp_path / "download" / "ledger.csv").exists()


def test_a_disk_filling_up_stops_the_run_and_keeps_finished_songs(
        tmp_path, loopback, media, runner, monkeypatch):
    import imac_builder.download.worker as worker

    rows = serve(loopback, media, ["vorbis", "opus", "mp3"])
    write_inputs(tmp_path, rows)
    real_write = worker.write_flac
    written = []

    def write_until_full(path, segment):
        if len(written) >= 3:  # the first song (3 segments) fits, then the disk is full
            raise OSError(28, "No space left on device", str(path))
        written.append(path)
        real_write(path, segment)

    monkeypatch.setattr(worker, "write_flac", write_until_full)
    res = runner.invoke(cli, ["--workdir", str(tmp_path), "download", "--rate", "0"])
    assert res.exit_code == 1 and "disk full" in res.output, res.output
    ledger = read_csv(tmp_path / "download" / "ledger.csv")
    assert [(r["track_id"], r["status"]) for r in ledger] == [(rows[0][0], "ok")]
    segs = read_csv(tmp_path / "download" / "segments.csv")
    assert files_under(tmp_path / "audio") == {s["path"][len("audio/"):] for s in segs}
    assert len(segs) == 3


def test_cli_refuses_bad_input_with_one_line(tmp_path, runner):
    res = runner.invoke(cli, ["--workdir", str(tmp_path), "download"])
    assert res.exit_code == 1 and "run `imac-build tags` first" in res.output
    write_inputs(tmp_path, [(track_id(0), "v" * 11, "http://127.0.0.1:9/x.ogg")])
    res = runner.invoke(cli, ["--workdir", str(tmp_path), "download", "--cookies",
                              str(tmp_path / "missing.txt")])
    assert res.exit_code == 1 and "cookie file" in res.output
    res = runner.invoke(cli, ["--workdir", str(tmp_path), "download", "--proxy", "nonsense"])
    assert res.exit_code == 1 and "--proxy" in res.output
    (tmp_path / "search" / "matches.csv").write_text("a,b\n1,2\n")
    res = runner.invoke(cli, ["--workdir", str(tmp_path), "download"])
    assert res.exit_code == 1 and "lacks the column" in res.output


def _journal_songs(root: Path) -> int:
    j = root / "download" / ".journal.jsonl"
    return len(j.read_text().splitlines()) if j.exists() else 0


@pytest.mark.slow
def test_sigkill_midway_then_rerun_matches_an_uninterrupted_run(tmp_path, loopback, media):
    srv = loopback
    names = ["vorbis", "opus", "mp3", "m4a"]
    rows = []
    for i in range(8):
        song = media[names[i % 4]]
        # a short stall per request makes the run last long enough to be killed midway
        srv.routes[f"/s{i}"] = Route.file(song.path, song.content_type, stall=0.3)
        rows.append((track_id(i), f"v{i:010d}", srv.url(f"/s{i}")))
    ref, killed = tmp_path / "ref", tmp_path / "killed"
    write_inputs(ref, rows)
    write_inputs(killed, rows)
    run_download(ref, **fast(jobs=2))

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "imac_builder", "--workdir", str(killed), "-q", "download",
           "--jobs", "2", "--socket-timeout", "5", "--rate", "0"]
    proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while _journal_songs(killed) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, proc.stderr.read().decode()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    committed = _journal_songs(killed)
    assert 2 <= committed < len(rows), "the kill must land midway"
    hits_at_kill = dict(srv.hits)

    res = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, timeout=120)
    assert res.returncode == 0, res.stderr.decode()
    a = (ref / "download" / "segments.csv").read_bytes()
    b = (killed / "download" / "segments.csv").read_bytes()
    assert a == b and a.count(b"\n") == 1 + 2 * 3 + 6 * 2
    # no orphan: exactly the listed segments on disk, no staging folder, no temporary
    listed = {s["path"][len("audio/"):] for s in read_csv(killed / "download" / "segments.csv")}
    assert files_under(killed / "audio") == listed
    assert sorted(os.listdir(killed / "download")) == ["ledger.csv", "segments.csv"]
    ledger = read_csv(killed / "download" / "ledger.csv")
    assert len(ledger) == len(rows) and {r["status"] for r in ledger} == {"ok"}
    # songs committed before the kill were not fetched again
    refetched = {p for p in hits_at_kill if srv.hits[p] > hits_at_kill[p]}
    assert len(refetched) <= len(rows) - committed
