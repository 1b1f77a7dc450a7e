"""Hostile inputs and real signals (issue 18): every class gets one line, the right exit
status, no process left running, no temporary left and no outside bytes published.

Classes: hand-edited or hostile manifests, tables as people save them, two writers into
one place, damage inside a store, SIGTERM/SIGHUP, symbolic links out of the roots.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from badinputs import one_clean_line
from killharness import REPO, cli, count_files, env, orphans

from imac_builder import tables as T
from imac_builder.cli import cli as imac_cli
from imac_builder.config import SplitConfig

TRIED: dict[str, list[bool]] = {}


def held(cls: str, ok: bool = True) -> None:
    """Count a case of a class (printed for docs/reliability.md)."""
    TRIED.setdefault(cls, []).append(ok)
    print(f"\n[reliability] {cls}: {sum(TRIED[cls])}/{len(TRIED[cls])} held")


def tid(i: int) -> str:
    return f"TRHOST{i:012d}"


SONG_ROWS = [[tid(i), f"SO{i:016d}", f"Artist {i}", f"Song {i}", "R", "200", "2000", "1", "0",
              "0", "positive", "happy"] for i in range(6)]


def workdir_for_release(root: Path, songs: list[list[str]] | None = None) -> Path:
    """The least a release needs: songs, matches (no video found), no segments."""
    T.write_table(root, T.SONGS, songs or SONG_ROWS)
    T.write_table(root, T.MATCHES, [[r[0], "", "", "", "", "", "", "no_match", "none"]
                                    for r in (songs or SONG_ROWS)])
    T.write_table(root, T.SEGMENTS, [])
    return root


def run(args: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "imac_builder", *args], env=env(), cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


def one_line(res: subprocess.CompletedProcess) -> str:
    text = res.stderr.strip()
    assert "Traceback" not in text and "internal error" not in text, text
    assert len(text.splitlines()) == 1, text
    return text


def session_alive(sid: int) -> list[int]:
    """Processes still alive in session ``sid`` (the stopped command and its workers)."""
    alive = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            fields = (p / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":  # field 6 of stat: the session id
            alive.append(int(p.name))
    return alive


def signalled(cmd: list[str], ready, sig: int, timeout: float = 120, on_sent=None
              ) -> subprocess.CompletedProcess:
    """Start ``cmd`` in a session of its own, send ``sig`` to its main process only (as
    systemd, SLURM and Docker do), and return once it and everything it started ended."""
    proc = subprocess.Popen(cmd, env=env(), cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + timeout
    while not ready() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before the signal: " + \
        proc.stderr.read().decode()
    proc.send_signal(sig)
    if on_sent is not None:
        on_sent(proc)
    out, err = proc.communicate(timeout=timeout)
    time.sleep(0.5)
    left = session_alive(proc.pid)
    for pid in left:  # do not leave them running on a shared machine, then fail
        os.kill(pid, signal.SIGKILL)
    assert left == [], f"processes left running after {signal.Signals(sig).name}: {left}"
    return subprocess.CompletedProcess(cmd, proc.returncode, out.decode(), err.decode())


# ----------------------------------------------------------------- 1. hostile manifests
def fake_release(folder: Path, tables: dict[str, list[list[str]]], meta: dict | None = None
                 ) -> Path:
    """A release folder written by hand: the tables and a manifest.json with their sha256
    (what a collaborator who edits a release and fixes the checksums produces)."""
    from imac_builder.release.manifest import TABLES

    folder.mkdir(parents=True)
    files = {}
    for name, t in TABLES.items():
        rows = tables.get(name, [])
        path = folder / t.file
        with path.open("w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(t.columns)
            w.writerows(rows)
        files[t.file] = {"sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                         "rows": len(rows)}
    doc = {"format": "imac-manifest", "format_version": 1, "name": "imac",
           "version": "1.0.0", "files": files, **(meta or {})}
    (folder / "manifest.json").write_text(json.dumps(doc), encoding="utf-8")
    return folder


def song(i: int, label: str = "positive") -> list[str]:
    return [tid(i), f"SO{i:016d}", f"Artist {i}", f"Song {i}", "R", "200", "2000", "1", "0",
            "0", label, "happy"]


@pytest.mark.parametrize("depth", [100, 5_000, 200_000])
def test_a_deeply_nested_manifest_is_one_line_in_verify_and_diff(tmp_path, depth):
    rel = tmp_path / "rel"
    rel.mkdir()
    (rel / "manifest.json").write_text("[" * depth + "]" * depth)
    (tmp_path / "w").mkdir()
    for args in (["verify", str(rel)], ["diff", str(rel), str(rel)]):
        res = run(["--workdir", str(tmp_path / "w"), *args])
        assert res.returncode == 1, res.stderr
        assert "nests" in one_line(res) and "manifest.json" in res.stderr
        held("hostile manifests")


def test_an_oversized_manifest_is_refused_without_reading_it(tmp_path, runner):
    rel = tmp_path / "rel"
    rel.mkdir()
    with open(rel / "manifest.json", "wb") as fh:  # sparse: 1 GiB of nothing
        fh.truncate(1 << 30)
    res = runner.invoke(imac_cli, ["diff", str(rel), str(rel)])
    assert res.exit_code == 1
    assert "1,073,741,824 bytes" in one_clean_line(res)
    held("hostile manifests")


def test_a_name_longer_than_the_file_system_allows_is_one_line(tmp_path):
    long = tmp_path / ("w" * 300)
    res = run(["--workdir", str(long), "tags", "--lastfm", str(tmp_path)])
    assert res.returncode == 1
    assert "file name too long" in one_line(res)
    rel = tmp_path / ("r" * 255)  # the longest name; the manifest inside it is fine
    res = run(["--workdir", str(tmp_path / "w"), "diff", str(rel / ("x" * 300)), str(rel)])
    assert res.returncode == 2 and "Traceback" not in res.stderr  # click: no such folder
    held("hostile manifests", True)
    held("hostile manifests", True)


@pytest.mark.parametrize("where", ["name", "track_id", "version"])
def test_ids_with_a_trailing_newline_are_refused(tmp_path, runner, where):
    rows = {"songs": [song(0)]}
    meta = {}
    if where == "name":
        meta = {"name": "imac\n"}
    elif where == "version":
        meta = {"version": "1.0.0\n"}
    else:
        rows = {"songs": [[tid(0) + "\n", *song(0)[1:]]]}
    rel = fake_release(tmp_path / "rel", rows, meta)
    res = runner.invoke(imac_cli, ["--workdir", str(tmp_path / "w"), "diff", str(rel),
                                   str(rel)])
    assert res.exit_code == 1, res.output
    one_clean_line(res)
    held("hostile manifests")


def test_every_id_rule_is_a_full_match():
    from imac_builder import vocab
    from imac_builder.release.semver import parse_version
    from imac_builder.train.trainer import run_dir
    from imac_builder.workdir import Workdir

    assert vocab.is_track_id(tid(1)) and not vocab.is_track_id(tid(1) + "\n")
    assert not vocab.is_segment_id(tid(1) + "_000\n")
    assert not vocab.is_image_id("amusement_1.jpg\n")
    from imac_builder.errors import UserError

    with pytest.raises(UserError):
        parse_version("1.2.3\n")
    with pytest.raises(UserError):
        run_dir(Workdir(Path("w")), "run\n")


def test_a_bug_names_a_log_that_exists_or_none(tmp_path):
    from imac_builder.cli.app import App, internal_error
    from imac_builder.workdir import Workdir

    for root, named in ((tmp_path / "w", True), (tmp_path / "absent", False)):
        if named:
            root.mkdir()
        try:
            raise ZeroDivisionError("a bug")
        except ZeroDivisionError as e:
            line = internal_error(App(Workdir(root)), e)
        assert "\n" not in line and "ZeroDivisionError" in line
        if named:
            log = Path(line.split("traceback in ")[1].split(";")[0])
            assert log.is_file() and "Traceback" in log.read_text()
        else:
            assert "traceback in" not in line and "-v" in line and not root.exists()


# ----------------------------------------------------------------- 2. tables as saved
CP1252_TITLE = "Caf\u00e9 \u2019Noir\u2019 \u2013 live"  # é, curly quotes, en dash


def _cp1252_songs(path: Path) -> None:
    rows = [",".join(T.SONGS.columns)] + [",".join([*song(i)[:3], CP1252_TITLE, *song(i)[4:]])
                                          for i in range(3)]
    data = ("\r\n".join(rows) + "\r\n").encode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # a real Windows-1252 file, not UTF-8 by accident
    path.write_bytes(data)


@pytest.mark.parametrize("command", [["release", "--name", "imac", "--version", "1.0.0"],
                                     ["search", "--rerank"], ["download"]])
def test_a_windows_1252_table_is_refused_naming_it(tmp_path, runner, command):
    w = workdir_for_release(tmp_path / "w")
    if command[0] == "download":
        lines = [",".join(T.MATCHES.columns),
                 f"{tid(0)},abcdefghijk,http://127.0.0.1:9/x,{CP1252_TITLE},c,200,90,matched,"]
        (w / T.MATCHES.path).write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
        name = "matches.csv"
    else:
        _cp1252_songs(w / T.SONGS.path)
        name = "songs.csv"
    res = runner.invoke(imac_cli, ["--workdir", str(w), *command,
                                   *(["--out", str(tmp_path / "out")]
                                     if command[0] == "release" else [])])
    assert res.exit_code == 1, res.output
    line = one_clean_line(res)
    assert name in line and "not UTF-8" in line and "UTF-8" in line.split("not UTF-8")[1]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    held("tables as saved")


@pytest.mark.parametrize("where", ["title", "artist", "tags"])
def test_a_200000_character_field_is_refused_by_tags_in_one_line(tmp_path, runner, where):
    from tagdata import write_json_folder

    long = "happy " + "x" * 200_000
    artist, title = ("A" * 200_000, "Song") if where == "artist" else \
        ("Artist", long) if where == "title" else ("Artist", "Song")
    tags = [("happy", 100.0)] + ([(f"happy {i} " + "y" * 2_000, 90.0) for i in range(100)]
                                 if where == "tags" else [])
    tracks = [(tid(0), artist, title, tags), (tid(1), "Artist 1", "Song 1", [("sad", 100.0)])]
    write_json_folder(tmp_path / "lastfm", tracks)
    res = runner.invoke(imac_cli, ["--workdir", str(tmp_path / "w"), "tags", "--lastfm",
                                   str(tmp_path / "lastfm")])
    if where == "tags" and res.exit_code == 0:  # the long tags are not emotion tags: dropped
        rows = T.read_table(tmp_path / "w", T.SONGS)
        assert max(len(v) for r in rows for v in r.values()) < T.FIELD_LIMIT
    else:
        assert res.exit_code == 1, res.output
        assert "characters is over the 131,072" in one_clean_line(res)
        assert not (tmp_path / "w" / T.SONGS.path).exists()
    held("tables as saved")


@pytest.mark.parametrize("size", [T.FIELD_LIMIT + 1, 200_000, 1_000_000])
def test_a_field_over_the_csv_limit_is_one_line_for_readers(tmp_path, runner, size):
    w = workdir_for_release(tmp_path / "w")
    rows = [song(0)[:11] + ["x" * size]]
    with (w / T.SONGS.path).open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([list(T.SONGS.columns), *rows])
    res = runner.invoke(imac_cli, ["--workdir", str(w), "search", "--rerank"])
    assert res.exit_code == 1
    assert "field larger than field limit" in one_clean_line(res)
    with pytest.raises(Exception, match="characters is over"):
        T.write_table(tmp_path / "x", T.SONGS, rows)  # and the writer refuses it first
    held("tables as saved")


@pytest.mark.parametrize("repeat", [2, 10, 1000])
def test_a_table_whose_key_repeats_is_refused_before_release(tmp_path, runner, repeat):
    w = tmp_path / "w"
    workdir_for_release(w)
    rows = [r for r in SONG_ROWS for _ in range(repeat)]
    atomic_rows = [dict(zip(T.SONGS.columns, r, strict=True)) for r in rows]
    with (w / T.SONGS.path).open("w", encoding="utf-8", newline="") as fh:
        dw = csv.DictWriter(fh, T.SONGS.columns)
        dw.writeheader()
        dw.writerows(atomic_rows)
    for args in (["release", "--name", "imac", "--version", "1.0.0", "--out",
                  str(tmp_path / "out")], ["search", "--rerank"]):
        res = runner.invoke(imac_cli, ["--workdir", str(w), *args])
        assert res.exit_code == 1, res.output
        assert "appears twice" in one_clean_line(res) and tid(0) in res.output
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    held("tables as saved")


def test_diff_compares_by_key_and_refuses_a_repeated_key(tmp_path, runner):
    a = fake_release(tmp_path / "a", {"songs": [song(i) for i in range(3)]})
    b = fake_release(tmp_path / "b", {"songs": [song(i) for i in range(3) for _ in range(50)]})
    res = runner.invoke(imac_cli, ["diff", str(a), str(b)])
    assert res.exit_code == 1 and "appears twice" in one_clean_line(res)
    c = fake_release(tmp_path / "c", {"songs": [song(2), song(1, "negative"), song(3)]})
    res = runner.invoke(imac_cli, ["diff", str(a), str(c)])
    assert res.exit_code == 0, res.output
    assert res.output.splitlines()[0].endswith(
        "major change (1 songs removed, 1 songs relabelled, 1 songs added)")
    held("tables as saved")


# ----------------------------------------------------------------- 3. two writers
def test_two_releases_into_one_out_one_wins_the_other_gets_one_line(tmp_path):
    out = tmp_path / "out"
    for round_ in range(3):
        ws = [workdir_for_release(tmp_path / f"w{round_}{k}") for k in range(2)]
        procs = [subprocess.Popen([sys.executable, "-m", "imac_builder", "--workdir", str(w),
                                   "-q", "release", "--name", "imac", "--version",
                                   f"{round_ + 1}.0.0", "--out", str(out)],
                                  env=env(), cwd=REPO, stderr=subprocess.PIPE, text=True)
                 for w in ws]
        results = [(p.wait(120), p.stderr.read()) for p in procs]
        rcs = sorted(rc for rc, _ in results)
        assert rcs == [0, 1], results
        loser = next(err for rc, err in results if rc == 1).strip()
        assert len(loser.splitlines()) == 1 and "Traceback" not in loser, loser
        assert f"{round_ + 1}.0.0" in loser  # the early check or the one at the rename
        held("two writers")
    assert sorted(p.name for p in out.iterdir()) == ["imac-1.0.0", "imac-2.0.0",
                                                      "imac-3.0.0"]  # nothing else


def test_a_release_published_by_another_run_after_the_check_is_not_overwritten(
        tmp_path, runner, monkeypatch):
    """The second writer publishes between the first one's check and its rename."""
    from imac_builder.release import stage

    out = tmp_path / "out"
    w1, w2 = workdir_for_release(tmp_path / "w1"), workdir_for_release(
        tmp_path / "w2", [song(i, "negative") for i in range(6)])
    real = stage._refuse_leaks  # runs after the "already exists" check, before the rename

    def racing(*args, **kwargs):  # noqa: ANN002, ANN003
        other = run(["--workdir", str(w2), "-q", "release", "--name", "imac", "--version",
                     "1.0.0", "--out", str(out)])
        assert other.returncode == 0, other.stderr
        return real(*args, **kwargs)

    monkeypatch.setattr(stage, "_refuse_leaks", racing)
    res = runner.invoke(imac_cli, ["--workdir", str(w1), "release", "--name", "imac",
                                   "--version", "1.0.0", "--out", str(out)])
    assert res.exit_code == 1
    assert "released by another run meanwhile" in one_clean_line(res)
    songs = (out / "imac-1.0.0/songs.csv").read_text()
    assert "negative" in songs and "positive" not in songs  # the winner's, untouched
    assert [p.name for p in out.iterdir()] == ["imac-1.0.0"]  # no temporary folder left
    held("two writers")


def test_rename_noreplace_refuses_even_an_empty_folder(tmp_path):
    from imac_builder.atomic import rename_noreplace

    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    (src / "f").write_text("new")
    dst.mkdir()  # os.rename would silently replace an empty folder
    with pytest.raises(FileExistsError):
        rename_noreplace(src, dst)
    assert (src / "f").exists() and not any(dst.iterdir())
    dst.rmdir()
    rename_noreplace(src, dst)
    assert (dst / "f").read_text() == "new"


# ----------------------------------------------------------------- 4. damaged stores
def _music_store(root: Path) -> Path:
    """Real HDF5 stores (music and images) as the features stage writes them."""
    from train_support import make_stores

    make_stores(root, informative=False, n_images=150, n_songs=120)
    return root / T.MUSIC_STORE.path


def _damage(path: Path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "middle":
        mid = len(data) // 2
        data[mid:mid + 4096] = os.urandom(4096)
    elif how == "metadata":  # the object headers after the superblock
        data[96:2048] = b"\xff" * (2048 - 96)
    elif how == "truncated":
        data = data[: len(data) * 2 // 3]
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["middle", "metadata", "truncated"])
def test_a_damaged_store_is_one_line_naming_it_and_the_rebuild(tmp_path, runner, how):
    pytest.importorskip("h5py")
    from imac_builder.errors import UserError
    from imac_builder.features.store import FeatureStore

    path = _music_store(tmp_path)
    FeatureStore.open(path)  # whole before the damage
    _damage(path, how)
    try:
        FeatureStore.open(path)
    except UserError as e:
        msg = str(e)
    else:
        pytest.skip(f"{how}: these bytes held no data this read needs (the store reads)")
    assert str(path) in msg and "features --modality music" in msg and "\n" not in msg
    res = runner.invoke(imac_cli, ["--workdir", str(tmp_path), "split"])
    assert res.exit_code == 1
    line = one_clean_line(res)
    assert "music.h5" in line or "images.h5" in line
    held("damaged stores")


# ----------------------------------------------------------------- 5. signals
def test_sigterm_stops_features_with_two_workers_and_nothing_runs_on(tmp_path):
    pytest.importorskip("librosa")
    from features_support import decode, music_files, write_segments

    (a,) = music_files(1)
    segs = {f"{tid(k)}_000": decode(a, start=5.0 + 10 * k, seconds=60.0) for k in range(6)}
    write_segments(tmp_path, segs)
    cmd = cli(tmp_path, "features", "--modality", "music", "--engine", "fast",
              "--shard-size", "1", "--jobs", "2")
    parts = tmp_path / "features" / "parts"

    def finished() -> list[tuple[str, int]]:
        return sorted((p.name, p.stat().st_mtime_ns) for p in parts.rglob("*.h5")
                      if not p.name.startswith("."))

    at_release: dict[str, list] = {}

    def wait_for_the_lock(proc: subprocess.Popen) -> None:
        """Take the work directory's lock the moment the stopped run releases it."""
        import fcntl

        with open(tmp_path / ".lock", "rb") as fh:
            while True:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    time.sleep(0.005)
                    continue
                at_release["parts"] = finished()
                fcntl.flock(fh, fcntl.LOCK_UN)
                return

    res = signalled(cmd, lambda: count_files(parts, "*.h5") >= 1, signal.SIGTERM,
                    on_sent=wait_for_the_lock)
    assert res.returncode == 143, res.stderr
    assert "stopped by SIGTERM" in one_line(res)
    time.sleep(2.0)  # nothing runs on: no part is finished after the lock was released
    assert finished() == at_release["parts"]
    assert orphans(tmp_path) == []
    held("signals")


@pytest.mark.parametrize("sig,code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129),
                                      (signal.SIGINT, 130)])
def test_stop_signals_end_download_with_their_exit_status(tmp_path, loopback, sig, code):
    from download_media import write_inputs
    from loopback import Route

    clip = tmp_path / "clip.bin"
    clip.write_bytes(os.urandom(1 << 16))
    rows = []
    for i in range(3):
        loopback.routes[f"/sig/{i}"] = Route.file(clip, "audio/mpeg", stall=0.5)
        rows.append((tid(i), f"vid{i:08d}", loopback.url(f"/sig/{i}")))
    write_inputs(tmp_path, rows)
    res = signalled(cli(tmp_path, "download"),
                    lambda: any(p.startswith("/sig/") for p in loopback.hits), sig)
    assert res.returncode == code, res.stderr
    assert "run the same command again" in one_line(res)
    assert orphans(tmp_path) == []
    held("signals")


def test_nohup_keeps_sighup_ignored(tmp_path, loopback):
    """``nohup imac-build download``: a hangup must not stop it (SIGTERM still does)."""
    from download_media import write_inputs
    from loopback import Route

    clip = tmp_path / "clip.bin"
    clip.write_bytes(os.urandom(1 << 16))
    loopback.routes["/hup/0"] = Route.file(clip, "audio/mpeg", stall=1.0)
    write_inputs(tmp_path, [(tid(0), "vid00000000", loopback.url("/hup/0"))])
    code = ("import signal, sys; signal.signal(signal.SIGHUP, signal.SIG_IGN)\n"
            "from imac_builder.cli import main\n"
            f"sys.argv = ['imac-build', *{cli(tmp_path, 'download')[3:]!r}]; main()\n")

    def hup_then_term(proc: subprocess.Popen) -> None:
        time.sleep(0.3)
        assert proc.poll() is None, "SIGHUP stopped a run whose SIGHUP was ignored"
        proc.send_signal(signal.SIGTERM)

    res = signalled([sys.executable, "-c", code], lambda: "/hup/0" in loopback.hits,
                    signal.SIGHUP, on_sent=hup_then_term)
    assert res.returncode == 143, res.stderr
    assert "stopped by SIGTERM" in one_line(res)
    held("signals")


def test_sigterm_during_train_and_a_stale_checkpoint_temporary_are_cleaned(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("h5py")
    from train_support import make_stores

    from imac_builder.atomic import temp_beside
    from imac_builder.train.split import run_split

    make_stores(tmp_path, informative=True, n_images=240, n_songs=60)
    run_split(tmp_path, progress=False, config=SplitConfig(seed=3))
    run_folder = tmp_path / "runs" / "r"
    run_folder.mkdir(parents=True)
    stale = temp_beside(run_folder / "last.pt")  # what a SIGKILL inside save() leaves
    stale.write_bytes(os.urandom(1 << 20))
    driver = str(REPO / "tests" / "train_driver.py")
    cmd = [sys.executable, driver, "--workdir", str(tmp_path), "-q", "train", "--epochs",
           "200", "--batch-size", "64", "--device", "cpu", "--run", "r"]
    res = signalled(cmd, lambda: (run_folder / "last.pt").exists(), signal.SIGTERM)
    assert res.returncode == 143, res.stderr
    assert "stopped by SIGTERM" in one_line(res)
    assert not stale.exists()
    assert [p.name for p in run_folder.iterdir() if p.name.endswith(".tmp")] == []
    held("signals")


# ----------------------------------------------------------------- 6. symlinks out
SECRET = b"SECRET-OUTSIDE-BYTES-0123456789"


@pytest.mark.parametrize("kind", ["flat", "folder", "folder-link"])
def test_a_symlink_out_of_the_image_root_is_refused_unread(tmp_path, runner, kind):
    pytest.importorskip("PIL")
    from images_support import photos, write_jpeg

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.jpg").write_bytes(SECRET + b"\n" * 64)
    root = tmp_path / "imgs"
    (root / "amusement").mkdir(parents=True)
    for i, im in enumerate(photos(2)):
        write_jpeg(root / "amusement" / f"ok{i}.jpg", im)
    if kind == "flat":
        (root / "amusement_leak.jpg").symlink_to(outside / "secret.jpg")
    elif kind == "folder":
        (root / "amusement" / "leak.jpg").symlink_to(outside / "secret.jpg")
    else:
        (root / "fear").symlink_to(outside, target_is_directory=True)
    os.symlink(root / "amusement" / "ok0.jpg", root / "amusement" / "inside.jpg")
    w = tmp_path / "w"
    res = runner.invoke(imac_cli, ["--workdir", str(w), "-q", "images", "--root", str(root),
                                   "--allow-missing-classes"])
    assert res.exit_code == 0, res.output
    rows = {r["path"]: r for r in T.read_table(w, T.IMAGES)}
    bad = [r for p, r in rows.items() if "leak" in p or p.startswith("fear/")]
    assert bad and all(r["status"] != "ok" and "outside the image root" in r["reason"]
                       for r in bad), rows
    assert rows["amusement/inside.jpg"]["status"] == "ok"  # a link inside the root is fine
    workdir_for_release(w)
    res = runner.invoke(imac_cli, ["--workdir", str(w), "-q", "release", "--name", "imac",
                                   "--version", "1.0.0", "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    for p in [*w.rglob("*"), *(tmp_path / "out").rglob("*")]:
        if p.is_file() and not p.is_symlink():
            assert b"SECRET-OUTSIDE" not in p.read_bytes(), p
    held("symlinks out of the roots")


def test_verify_does_not_read_a_segment_linked_out_of_the_audio_folder(tmp_path):
    from imac_builder.release.verify import check_segment

    outside = tmp_path / "outside.flac"
    outside.write_bytes(SECRET)
    row = {"segment_id": f"{tid(0)}_000", "track_id": tid(0)}
    path = tmp_path / "w" / "audio" / tid(0) / f"{tid(0)}_000.flac"
    path.parent.mkdir(parents=True)
    path.symlink_to(outside)
    got = check_segment(tmp_path / "w", row)
    assert got.status == "invalid" and "out of the audio folder" in got.detail
    held("symlinks out of the roots")


def test_the_next_run_removes_the_temporaries_a_sigkill_left(tmp_path, runner):
    """A SIGKILL during tags' atomic write, then the next run cleans up before working."""
    from tagdata import write_json_folder

    write_json_folder(tmp_path / "lastfm", [(tid(i), f"A{i}", f"S{i}", [("happy", 100.0)])
                                            for i in range(40)])
    w = tmp_path / "w"
    args = ["--workdir", str(w), "-q", "tags", "--lastfm", str(tmp_path / "lastfm")]
    # a real kill inside the write: the child stops itself with SIGKILL at the rename
    code = ("import os, signal, sys; from imac_builder import atomic\n"
            "atomic.publish = lambda tmp, path: os.kill(os.getpid(), signal.SIGKILL)\n"
            "from imac_builder.cli import main\n"
            f"sys.argv = ['imac-build', *{args!r}]; main()\n")
    proc = subprocess.run([sys.executable, "-c", code], env=env(), cwd=REPO,
                          capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL
    left = sorted(p.name for p in (w / "tags").glob(".*.tmp"))
    assert left, "the kill left no temporary: nothing to test"
    res = runner.invoke(imac_cli, args)
    assert res.exit_code == 0, res.output
    assert list((w / "tags").glob(".*.tmp")) == [] and orphans(w) == []
    held("signals")


def test_features_do_not_read_an_item_linked_out_of_its_root(tmp_path):
    from imac_builder.features.shards import FeatureError, safe_path

    (tmp_path / "outside.flac").write_bytes(SECRET)
    root = tmp_path / "w"
    (root / "audio" / tid(0)).mkdir(parents=True)
    (root / "audio" / tid(0) / "a.flac").symlink_to(tmp_path / "outside.flac")
    (root / "audio" / tid(0) / "b.flac").symlink_to(root / "audio" / tid(0) / "c.flac")
    with pytest.raises(FeatureError, match="symbolic link out of its root"):
        safe_path(root, f"audio/{tid(0)}/a.flac")
    assert safe_path(root, f"audio/{tid(0)}/b.flac") == root / "audio" / tid(0) / "b.flac"
    held("symlinks out of the roots")


def test_report_hostile_total():
    print("\n[reliability] hostile cases: " + ", ".join(
        f"{k} {sum(v)}/{len(v)}" for k, v in TRIED.items()))
