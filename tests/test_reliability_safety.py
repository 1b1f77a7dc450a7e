"""Hostile input, concurrency and full disks: nothing read from a file reaches a shell or
escapes the work directory, nothing is unpickled, the API key is never written, a second
process is refused, and ENOSPC stops a stage cleanly and resumes."""

from __future__ import annotations

import csv
import errno
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from badinputs import deadline, one_clean_line
from killharness import REPO, cli, clips_fixture, count_files, env, orphans  # noqa: F401
from loopback import Route

from imac_builder.cli import cli as imac_cli
from imac_builder.config import DownloadConfig, ImagesConfig, SearchConfig

HOSTILE = ["../../etc/passwd", "/etc/passwd", "TR;touch PWNED", "TR$(touch PWNED)",
           "TR`touch PWNED`", "TR AAAA BBBB CCCC", "-rf", "--exec=touch PWNED",
           "TRAAAAAAAAAAAAAAA\x00", "..", "TR/../../../../tmp/x"]


def test_no_shell_anywhere_in_the_package():
    pattern = re.compile(r"shell\s*=\s*True|os\.system\(|os\.popen\(|pickle\.loads?\(|"
                         r"(?<![.\w])eval\(|(?<![.\w])exec\(|yaml\.load\(|marshal\.loads?\(")
    hits = []
    for p in (REPO / "imac_builder").rglob("*.py"):
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                hits.append(f"{p.relative_to(REPO)}:{n}: {line.strip()}")
    assert hits == []


def _no_pwned(*folders: Path) -> None:
    for f in folders:
        assert not list(f.rglob("PWNED")), f"a shell ran: PWNED in {f}"
    assert not Path("/tmp/x").exists()


def test_hostile_ids_and_paths_in_tables_are_refused(tmp_path, runner, monkeypatch, loopback):
    """Track ids, video ids, URLs and paths from collaborators' CSVs: refused or recorded,
    never run, never a file outside the work directory."""
    pytest.importorskip("yt_dlp")
    from download_media import write_inputs

    monkeypatch.chdir(tmp_path)
    wd = tmp_path / "w"
    loopback.routes["/x"] = Route(b"not audio", content_type="audio/mpeg")
    rows = [(h, h, loopback.url("/x")) for h in HOSTILE]
    rows += [(f"TRHOSTILE{i:09d}", h, u) for i, (h, u) in enumerate(
        [("--exec=touch PWNED", "--exec=touch PWNED"), ("v;id", "file:///etc/passwd"),
         ("$(touch PWNED)", f"{loopback.url('/x')};touch PWNED"),
         ("-o/tmp/x", "-o/tmp/x"), ("vid00000000", "file:///etc/passwd"),
         ("vid00000001", f"{loopback.url('/x')};touch PWNED")])]
    write_inputs(wd, rows)
    with deadline(120):
        res = runner.invoke(imac_cli, ["--workdir", str(wd), "-q", "download",
                                       "--socket-timeout", "3", "--retries", "0"])
    assert res.exit_code == 0, res.output  # each hostile row is skipped or a failure
    ledger = list(csv.DictReader(open(wd / "download/ledger.csv", encoding="utf-8")))
    assert ledger and all(r["status"] != "ok" for r in ledger)
    # a hostile video id never reaches yt-dlp: the row is skipped (counted) on the way in
    assert {r["video_id"] for r in ledger} == {"vid00000000", "vid00000001"}
    assert all(re.fullmatch(r"TR[A-Z0-9]{16}", r["track_id"]) for r in ledger)
    _no_pwned(tmp_path, REPO)
    outside = {p.name for p in tmp_path.iterdir()}
    assert outside == {"w"}, outside

    # segment paths in segments.csv: never opened outside the work directory
    secret = tmp_path / "secret.flac"
    secret.write_bytes(b"x")
    from features_support import write_segments

    write_segments(wd, {f"TRHOSTILE{i:09d}_000": b"x" for i in range(4)},
                   paths={"TRHOSTILE000000000_000": "../secret.flac",
                          "TRHOSTILE000000001_000": str(secret),
                          "TRHOSTILE000000002_000": "audio/../../secret.flac",
                          "TRHOSTILE000000003_000": "-rf"})
    pytest.importorskip("librosa")
    with deadline(120):
        res = runner.invoke(imac_cli, ["--workdir", str(wd), "-q", "features", "--modality",
                                       "music", "--engine", "fast"])
    assert res.exit_code == 0, res.output  # every hostile path recorded as a failure
    from imac_builder.features import FeatureStore

    st = FeatureStore.open(wd / "features/music.h5")
    assert st.ids == [] and st.attrs["n_failed"] == 4

    # image URL lists: ids and paths that would escape the image root
    urls = tmp_path / "urls.csv"
    urls.write_text("image_id,url,emotion,path\n" + "".join(
        f"{h.replace(',', ' ')},{loopback.url('/x')},awe,{p}\n" for h, p in
        [("../../evil", "awe/a.jpg"), ("ok1", "../../evil.jpg"), ("ok2", "/tmp/x"),
         ("ok3", "awe/$(touch PWNED).jpg")]), encoding="utf-8")
    with deadline(60):
        res = runner.invoke(imac_cli, ["--workdir", str(wd), "-q", "images", "--urls",
                                       str(urls), "--timeout", "2", "--retries", "0",
                                       "--allow-missing-classes"])
    assert res.exit_code == 0, res.output  # the hostile rows are refused row by row
    _no_pwned(tmp_path, REPO)
    assert {p.name for p in tmp_path.iterdir()} == {"w", "secret.flac", "urls.csv"}


class Payload:
    """Unpickling this runs code: it creates the file named by ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204
        return (Path.touch, (self.marker,))


def test_a_malicious_checkpoint_is_refused_without_running_it(tmp_path, runner):
    torch = pytest.importorskip("torch")
    from imac_builder.errors import UserError
    from imac_builder.train.trainer import load_checkpoint

    marker = tmp_path / "EXECUTED"
    run = tmp_path / "w/runs/evil"
    run.mkdir(parents=True)
    torch.save({"state_dict": {}, "config": {}, "x": Payload(marker)}, run / "model.pt")
    with pytest.raises(UserError, match="not a loadable checkpoint"):
        load_checkpoint(run / "model.pt")
    assert not marker.exists()
    res = runner.invoke(imac_cli, ["--workdir", str(tmp_path / "w"), "evaluate", "--run",
                                   "evil"])
    assert res.exit_code == 1 and not marker.exists(), res.output
    one_clean_line(res)


def test_hdf5_stores_from_elsewhere_execute_nothing(tmp_path, runner):
    h5py = pytest.importorskip("h5py")
    import pickle

    from imac_builder.errors import UserError
    from imac_builder.features import FeatureStore
    from imac_builder.features.store import write_store

    marker = tmp_path / "EXECUTED"
    blob = pickle.dumps(Payload(marker))
    good = tmp_path / "music.h5"
    write_store(good, np.ones((2, 3)), ["TRAAAAAAAAAAAAAAAA_000", "TRBBBBBBBBBBBBBBBB_000"],
                ["positive", "negative"], {"track_id": ["TRAAAAAAAAAAAAAAAA"] * 2}, {},
                modality="music")
    with h5py.File(good, "a") as f:  # pickle-looking attributes: read as data at most
        f.attrs["evil"] = np.void(blob)
        f.attrs["evil_bytes"] = np.frombuffer(blob, dtype=np.uint8)
        f.attrs["__reduce__"] = "os.system('touch PWNED')"
    st = FeatureStore.open(good)
    assert st.ids[0] == "TRAAAAAAAAAAAAAAAA_000" and not marker.exists()
    assert not isinstance(st.attrs.get("evil_bytes"), Payload)

    bad = tmp_path / "object.h5"
    with h5py.File(bad, "w") as f:  # features as pickled objects: refused
        f.attrs["modality"] = "music"
        f.create_dataset("features", data=np.array([np.void(blob)] * 2))
        f.create_dataset("segment_id", data=["a", "b"])
        f.create_dataset("label", data=["positive", "positive"])
        f.create_dataset("track_id", data=["a", "b"])
    with pytest.raises(UserError):
        FeatureStore.open(bad)
    assert not marker.exists()
    (tmp_path / "w/features").mkdir(parents=True)
    shutil.copy(bad, tmp_path / "w/features/music.h5")
    shutil.copy(good, tmp_path / "w/features/images.h5")
    res = runner.invoke(imac_cli, ["--workdir", str(tmp_path / "w"), "split"])
    assert res.exit_code == 1, res.output
    one_clean_line(res)
    assert not marker.exists()


def test_the_api_key_is_never_written(tmp_path, monkeypatch):
    pytest.importorskip("googleapiclient")
    pytest.importorskip("rapidfuzz")
    import logging

    from search_driver import DAY, QueryMock
    from tagdata import write_json_folder

    from imac_builder.cli import App
    from imac_builder.search.stage import run_search
    from imac_builder.tags import run_tags
    from imac_builder.workdir import Workdir

    key = "AIzaSyLEAK-canary-" + "7" * 20
    monkeypatch.setenv("YOUTUBE_API_KEY", key)
    write_json_folder(tmp_path / "lastfm", [(f"TRKEY{i:013d}", f"Artist{i}", f"Song {i}",
                                             [("happy", 100.0)]) for i in range(4)])
    wd = Workdir(tmp_path / "w")
    run_tags(wd, lastfm=[tmp_path / "lastfm"], progress=False)
    app = App(wd)
    app.setup_logging()  # W/logs/imac-build.log at DEBUG, as the CLI does
    logging.getLogger("googleapiclient").setLevel(logging.DEBUG)
    logging.getLogger("googleapiclient").addHandler(
        logging.getLogger("imac_builder").handlers[0])
    try:
        mock = QueryMock(tmp_path / "q.log", 0)
        with wd.lock("search"):
            run_search(wd, _http=mock, _clock=lambda: DAY, progress=False,
                       config=SearchConfig(results=3))
        assert any(key in u or key in (b or "") for u, _, b, _ in mock.request_sequence)
    finally:
        logging.getLogger("googleapiclient").handlers.clear()
    files = [p for p in wd.root.rglob("*") if p.is_file()]
    assert any(p.name == "imac-build.log" for p in files) and len(files) >= 5
    for p in files:
        data = p.read_bytes()
        for form in (key, key[-20:]):
            assert form.encode() not in data, f"API key written to {p}"
    print(f"\n[reliability] API key searched for in {len(files)} files: found in none")


def test_a_second_process_on_the_same_workdir_is_refused(tmp_path, loopback, runner):
    pytest.importorskip("yt_dlp")
    from download_media import write_inputs
    loopback.routes["/slow"] = Route(b"x" * 1000, content_type="audio/mpeg", stall=3.0)
    write_inputs(tmp_path / "w", [("TRLOCK000000000000", "vid00000000", loopback.url("/slow"))])
    first = subprocess.Popen(cli(tmp_path / "w", "download", "--socket-timeout", "10"),
                             env=env(), cwd=REPO, stderr=subprocess.PIPE)
    try:
        with deadline(60):
            while not loopback.hits.get("/slow"):
                assert first.poll() is None, first.stderr.read()
        for args in (["download"], ["search", "--rerank"], ["tags", "--lastfm", "x"]):
            second = subprocess.run(cli(tmp_path / "w", *args), env=env(), cwd=REPO,
                                    capture_output=True, text=True, timeout=60)
            assert second.returncode == 1, second.stderr
            assert "is in use by pid" in second.stderr and "(download)" in second.stderr
            assert "Traceback" not in second.stderr
            assert len(second.stderr.strip().splitlines()) == 1
    finally:
        first.wait(timeout=60)
    assert first.returncode == 0
    ledger = list(csv.DictReader(open(tmp_path / "w/download/ledger.csv", encoding="utf-8")))
    assert [r["track_id"] for r in ledger] == ["TRLOCK000000000000"]
    print("\n[reliability] concurrency: 3 second processes refused, 0 tables corrupted")


# --------------------------------------------------------------------------- disk full
def test_enospc_at_the_write_layer_stops_cleanly_and_resumes(tmp_path, runner, monkeypatch):
    """Injected: os.fsync in the atomic writer raises ENOSPC (every stage's tables)."""
    from tagdata import write_json_folder

    import imac_builder.atomic as atomic

    tracks = [(f"TRFULL{i:012d}", f"Artist{i}", f"Song {i}", [("happy", 100.0)])
              for i in range(20)]
    write_json_folder(tmp_path / "lastfm", tracks)
    args = ["--workdir", str(tmp_path / "w"), "tags", "--lastfm", str(tmp_path / "lastfm")]
    ref = runner.invoke(imac_cli, ["--workdir", str(tmp_path / "ref"), *args[2:]])
    assert ref.exit_code == 0, ref.output
    real_fsync = os.fsync

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", full)
    res = runner.invoke(imac_cli, args)
    assert res.exit_code == 1
    assert "disk full" in one_clean_line(res)
    assert orphans(tmp_path / "w") == []
    assert not (tmp_path / "w/tags/songs.csv").exists()  # nothing half-written
    monkeypatch.setattr(atomic.os, "fsync", real_fsync)
    res = runner.invoke(imac_cli, args)
    assert res.exit_code == 0, res.output
    for t in ("songs.csv", "emotion_tags.csv"):
        assert (tmp_path / "w/tags" / t).read_bytes() == (tmp_path / "ref/tags" / t).read_bytes()


def _tmpfs(mnt: Path, size: str) -> None:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to mount a tmpfs")
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")


@pytest.fixture
def small_tmpfs(tmp_path):
    """A real 64 KiB tmpfs (needs root and mount; skipped otherwise)."""
    mnt = tmp_path / "tmpfs"
    _tmpfs(mnt, "64k")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_a_real_full_disk_stops_images_and_resumes_when_space_returns(
        tmp_path, small_tmpfs, loopback):
    pytest.importorskip("PIL")
    from images_support import EMOTIONS, jpeg_bytes, photos

    from imac_builder.images.stage import run_images

    ims = photos(12)
    lines = ["image_id,url,emotion"]
    for i, im in enumerate(ims):
        loopback.routes[f"/f/{i}.jpg"] = Route(jpeg_bytes(im), content_type="image/jpeg")
        lines.append(f"{EMOTIONS[i % 8]}_{i:04d},{loopback.url(f'/f/{i}.jpg')},"
                     f"{EMOTIONS[i % 8]}")
    urls = tmp_path / "urls.csv"
    urls.write_text("\n".join(lines) + "\n")
    run_images(tmp_path / "ref", urls=[urls], progress=False,
               config=ImagesConfig(fetch_jobs=2, jobs=1))
    total = sum(len(jpeg_bytes(im)) for im in ims)
    wd = small_tmpfs / "w"
    cmd = cli(wd, "images", "--urls", str(urls), "--fetch-jobs", "2", "--jobs", "1")
    first = subprocess.run(cmd, env=env(), cwd=REPO, capture_output=True, text=True,
                           timeout=120)
    assert total > 64 * 1024, "the photos must not fit"
    assert first.returncode == 1, first.stderr
    assert "Traceback" not in first.stderr
    assert "disk full" in first.stderr or "No space left" in first.stderr, first.stderr
    assert len(first.stderr.strip().splitlines()) == 1, first.stderr
    assert orphans(wd) == []
    got_before = count_files(wd / "images/files", "*.jpg")
    subprocess.run(["mount", "-o", "remount,size=16m", str(small_tmpfs)], check=True)
    again = subprocess.run(cmd, env=env(), cwd=REPO, capture_output=True, text=True,
                           timeout=120)
    assert again.returncode == 0, again.stderr
    assert (wd / "images/images.csv").read_bytes() == \
        (tmp_path / "ref/images/images.csv").read_bytes()
    assert orphans(wd) == []
    print(f"\n[reliability] disk full (real tmpfs): stopped with {got_before} of {len(ims)} "
          f"images, resumed to {count_files(wd / 'images/files', '*.jpg')}; lost 0")


def test_a_disk_filled_by_another_process_mid_download_stops_and_resumes(tmp_path, loopback,
                                                                         clips):
    """A real tmpfs passes the download's free-space check; once songs flow, a ballast file
    (another process) takes the rest of the space: ENOSPC mid-run. Then space returns."""
    pytest.importorskip("yt_dlp")
    from download_media import write_inputs

    from imac_builder.download import run_download

    clips = clips[:4]
    rows = {}
    for name in ("ref", "full"):
        rows[name] = []
        for i, clip in enumerate(clips):
            loopback.routes[f"/{name}/{i}"] = Route.file(clip, "audio/mpeg", stall=0.3)
            rows[name].append((f"TRFULL{i:012d}", f"vid{i:08d}", loopback.url(f"/{name}/{i}")))
    write_inputs(tmp_path / "ref", rows["ref"])
    run_download(tmp_path / "ref", progress=False,
                 config=DownloadConfig(socket_timeout=5, retries=0, rate=0.0))
    mnt = tmp_path / "tmpfs"
    _tmpfs(mnt, "300m")
    try:
        wd = mnt / "w"
        write_inputs(wd, rows["full"])
        cmd = cli(wd, "download", "--socket-timeout", "5")
        proc = subprocess.Popen(cmd, env=env(), cwd=REPO, stderr=subprocess.PIPE, text=True)
        with deadline(60):
            while sum(1 for p in list(loopback.hits) if p.startswith("/full/")) < 2:
                assert proc.poll() is None, proc.stderr.read()
        ballast = mnt / "ballast"
        fd = os.open(ballast, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            os.posix_fallocate(fd, 0, shutil.disk_usage(mnt).free - 32 * 1024)
        finally:
            os.close(fd)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 1, err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
        assert "disk full" in err, err
        # finished songs are in the journal (the tables could not be rewritten on a full
        # disk); none is recorded as failed
        journal = wd / "download/.journal.jsonl"
        done = [json.loads(x) for x in journal.read_text().splitlines()] \
            if journal.exists() else []
        kept = len(done)
        assert "failed" not in json.dumps(done) or kept == 0
        ballast.unlink()  # space returns
        again = subprocess.run(cmd, env=env(), cwd=REPO, capture_output=True, text=True,
                               timeout=120)
        assert again.returncode == 0, again.stderr
        assert (wd / "download/segments.csv").read_bytes() == \
            (tmp_path / "ref/download/segments.csv").read_bytes()
        assert orphans(wd) == []
        print(f"\n[reliability] disk full mid-download (real tmpfs): stopped with {kept} of "
              f"{len(clips)} songs committed, resumed to all; lost 0")
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)
