"""release / verify / rebuild / diff on a small dataset built end to end with real stages."""

from __future__ import annotations

import getpass
import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest
from release_support import FAKE_KEY, SEED, build, fast, read_csv, tid

from imac_builder.config import ReleaseConfig

pytest.importorskip("yt_dlp")
sf = pytest.importorskip("soundfile")
pytest.importorskip("h5py")
pytest.importorskip("PIL")

from imac_builder.cli import cli  # noqa: E402
from imac_builder.config import config_hash  # noqa: E402
from imac_builder.errors import UserError  # noqa: E402
from imac_builder.release import (  # noqa: E402
    Manifest,
    run_diff,
    run_rebuild,
    run_release,
    run_verify,
)
from imac_builder.release.manifest import TABLES  # noqa: E402


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(work directory, releases folder, loopback server) with release imac-1.0.0."""
    from loopback import LoopbackServer

    base = tmp_path_factory.mktemp("release")
    with LoopbackServer() as srv:
        work = base / "work"
        build(work, base / "scratch", srv)
        run_release(work, version="1.0.0", out=base / "manifests", progress=False,
                    config=ReleaseConfig(name="imac"))
        yield work, base / "manifests", srv


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_release_carries_what_a_rebuild_needs(built):
    work, out, _ = built
    rel = out / "imac-1.0.0"
    m = Manifest.load(rel)
    # segments: the download stage's ids, offsets and sample hashes, nothing else
    segs = read_csv(work / "download" / "segments.csv")
    assert [(r["segment_id"], r["start"], r["sha256"], r["video_id"]) for r in m.rows("segments")] \
        == [(r["segment_id"], r["start"], r["sha256"], r["video_id"]) for r in segs]
    assert any(r["index"] == "1" and float(r["start"]) == 60 for r in m.rows("segments"))
    # songs with their MSD ids, tags and scores; videos with query, score and reason
    songs = {r["track_id"]: r for r in m.rows("songs")}
    assert songs == {r["track_id"]: r for r in read_csv(work / "tags" / "songs.csv")}
    v0 = {r["track_id"]: r for r in m.rows("videos")}[tid(0)]
    assert (v0["video_id"], v0["query"], v0["score"], v0["reason"]) == \
        ("vid00000000", "Artist 0 Song 0", "0.93", "title and artist")
    # images with source and sha256
    ims = {r["image_id"]: r for r in m.rows("images")}
    files = work / "images" / "files"
    for r in ims.values():
        if r["status"] == "ok":
            assert r["sha256"] == sha(files / r["path"]) and r["source"]
    # per-item status: every missing item and why
    status = {(r["kind"], r["item_id"]): r for r in m.rows("status")}
    assert status[("song", tid(9))]["stage"] == "download"
    assert status[("song", tid(9))]["status"] == "unavailable"
    assert status[("song", tid(10))]["status"] == "no_match"
    assert status[("image", "fear_9999")]["stage"] == "images"
    assert len(status) == 3
    # the split and its seed
    key = TABLES["splits"].key_of
    assert m.rows("splits") == sorted(read_csv(work / "splits" / "splits.csv"), key=key)
    assert m.meta["split"]["seed"] == SEED == m.meta["config"]["split"]["seed"]
    # versions, configuration and its hash, store hashes, every file's checksum
    for name in ("imac_builder", "yt-dlp", "ffmpeg", "librosa", "torch", "weights_sha256"):
        assert name in m.meta["versions"]
    assert m.meta["versions"]["ffmpeg"] and m.meta["versions"]["yt-dlp"]
    assert m.meta["versions"]["weights_sha256"] == "w" * 64
    assert m.meta["config_hash"] == config_hash(m.meta["config"])
    for modality in ("music", "images"):
        store = m.meta["feature_stores"][modality]
        assert store["sha256"] == sha(work / "features" / f"{modality}.h5")
    for t in TABLES.values():
        assert m.meta["files"][t.file]["sha256"] == sha(rel / t.file)
    doc = json.loads((rel / "croissant.json").read_text())
    listed = {d["name"]: d["sha256"] for d in doc["distribution"]}
    assert listed == {f: sha(rel / f) for f in [*m.meta["files"], "manifest.json"]}


def test_mlcroissant_loads_and_validates_croissant_json(built):
    mlc = pytest.importorskip("mlcroissant", reason="mlcroissant is not installed "
                              "(pip install 'imac_builder[release]')")
    _, out, _ = built
    ds = mlc.Dataset(jsonld=out / "imac-1.0.0" / "croissant.json")
    assert ds.metadata.version == "1.0.0"
    segs = list(ds.records("segments"))
    want = read_csv(out / "imac-1.0.0" / "segments.csv")
    assert [r["segments/segment_id"].decode() for r in segs] == [r["segment_id"] for r in want]
    assert [r["segments/start"] for r in segs] == [float(r["start"]) for r in want]


def _forbidden(work: Path) -> list[re.Pattern]:
    user = getpass.getuser()
    return [re.compile(re.escape(str(p))) for p in
            {work.resolve(), work.parent.resolve(), Path.cwd(), Path.home()}] + [
        re.compile(rf"\b{re.escape(user)}\b"), re.compile("AIza"), re.compile("alice|s3cret")]


def test_release_holds_no_key_no_local_path_no_user_name(built, tmp_path, monkeypatch, runner):
    work, _, _ = built
    monkeypatch.setenv("YOUTUBE_API_KEY", FAKE_KEY)
    home = str(Path.home())
    config = tmp_path / "pipeline.toml"
    config.write_text(
        f'[tags]\nlastfm = ["{home}/msd/lastfm_tags.db"]\n'
        f'[search]\napi_key_file = "{home}/keys/youtube.txt"\nresults = 5\n'
        '[download]\nproxy = "http://alice:s3cret@proxy.example:3128"\nsleep = 5.0\n'
        f'cookies = "{work}/cookies.txt"\n', encoding="utf-8")
    # a reason naming a local path, as tools' messages do
    copy = tmp_path / "w"
    shutil.copytree(work, copy)
    ledger = copy / "download" / "ledger.csv"
    ledger.write_text(ledger.read_text().replace("HTTP 404", f"{copy}/audio/x: HTTP 404"))
    res = runner.invoke(cli, ["--workdir", str(copy), "--config", str(config), "release",
                              "--name", "imac", "--out", str(tmp_path / "rel")])
    assert res.exit_code == 0, res.output
    rel = tmp_path / "rel" / "imac-1.0.0"
    m = Manifest.load(rel)
    assert m.meta["config"]["pipeline"]["tags"]["lastfm"] == ["lastfm_tags.db"]
    assert m.meta["config"]["pipeline"]["search"] == {"results": 5}
    assert m.meta["config"]["pipeline"]["download"] == {"sleep": 5.0}
    assert set(m.meta["redacted_config_keys"]) == {"search.api_key_file", "download.proxy",
                                                   "download.cookies"}
    assert "<local>/audio/x: HTTP 404" in (rel / "status.csv").read_text()
    for f in rel.iterdir():
        text = f.read_text(encoding="utf-8")
        for rx in _forbidden(copy):
            assert not rx.search(text), f"{f.name} contains {rx.pattern}"


def test_release_refuses_a_key_that_reached_its_inputs(built, tmp_path):
    work, _, _ = built
    copy = tmp_path / "w"
    shutil.copytree(work, copy)
    m = copy / "search" / "matches.csv"
    m.write_text(m.read_text().replace("title and artist", f"key={FAKE_KEY}", 1))
    with pytest.raises(UserError, match="API key"):
        run_release(copy, out=tmp_path / "rel", progress=False)
    assert list((tmp_path / "rel").iterdir()) == []  # nothing half-written


def test_rebuild_from_the_manifest_alone_then_verify(built, tmp_path, runner):
    work, out, _ = built
    rel = out / "imac-1.0.0"
    w2 = tmp_path / "w2"
    images = tmp_path / "my-copy-of-the-image-database"
    shutil.copytree(work / "images" / "files", images)
    summary = run_rebuild(w2, manifest=rel, image_root=images, _download_options=fast(),
                          progress=False)
    assert not summary.failed and summary.songs == 9
    assert summary.verify.checked == 10 + 16 and summary.verify.ok == 26
    assert not (w2 / "search" / "candidates.jsonl").exists()  # no search happened
    assert [r["sha256"] for r in read_csv(w2 / "download" / "segments.csv")] == \
        [r["sha256"] for r in read_csv(rel / "segments.csv")]
    assert read_csv(w2 / "splits" / "splits.csv") == read_csv(rel / "splits.csv")
    res = runner.invoke(cli, ["--workdir", str(w2), "verify", str(rel)])
    assert res.exit_code == 0 and "verify against imac-1.0.0 passed" in res.output
    assert "16 images not checked" in res.output
    # an image changed in the collaborator's copy is invalid too
    first = next(p for p in sorted(images.rglob("*.jpg")) if "fear_9999" not in p.name)
    first.write_bytes(first.read_bytes() + b"\0")
    res = runner.invoke(cli, ["--workdir", str(w2), "verify", str(rel), "--image-root",
                              str(images)])
    assert res.exit_code == 1 and f"invalid: image {first.stem}: sha256" in res.output

    # one segment's audio changed: invalid, named, non-zero exit
    seg = read_csv(rel / "segments.csv")[3]
    path = w2 / "audio" / seg["track_id"] / f"{seg['segment_id']}.flac"
    data, rate = sf.read(str(path), dtype="int16")
    data[1000] ^= 1
    sf.write(str(path), data, rate, subtype="PCM_16", format="FLAC")
    res = runner.invoke(cli, ["--workdir", str(w2), "verify", str(rel)])
    assert res.exit_code == 1
    assert f"invalid: segment {seg['segment_id']}: sha256" in res.output
    assert "1 invalid" in res.output and "0 missing" in res.output

    # another removed: missing, separately; --allow-missing still fails on the invalid one
    gone = read_csv(rel / "segments.csv")[5]
    (w2 / "audio" / gone["track_id"] / f"{gone['segment_id']}.flac").unlink()
    v = run_verify(w2, rel, progress=False)
    assert [s.split(":")[0] for s in v.missing] == [f"segment {gone['segment_id']}"]
    assert [s.split(":")[0] for s in v.invalid] == [f"segment {seg['segment_id']}"]
    res = runner.invoke(cli, ["--workdir", str(w2), "verify", str(rel), "--allow-missing"])
    assert res.exit_code == 1
    # restore the changed one: with --allow-missing it passes and counts the missing one
    shutil.copy(built[0] / "audio" / seg["track_id"] / f"{seg['segment_id']}.flac", path)
    res = runner.invoke(cli, ["--workdir", str(w2), "--json", "verify", str(rel),
                              "--allow-missing"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert len(doc["missing"]) == 1 and doc["invalid"] == [] and doc["failed"] is False
    res = runner.invoke(cli, ["--workdir", str(w2), "verify", str(rel)])
    assert res.exit_code == 1 and f"missing: segment {gone['segment_id']}" in res.output
    report = read_csv(w2 / "logs" / "verify-imac-1.0.0.csv")
    assert {r["item_id"]: r["status"] for r in report}[gone["segment_id"]] == "missing"


def _edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, count))


def test_semver_bumps_refusals_and_diff(built, tmp_path, runner):
    work, _, _ = built
    out = tmp_path / "rel"
    w = tmp_path / "w"
    shutil.copytree(work, w)
    # 1.0.0 without one image; adding it back is a MINOR change
    split_rows = read_csv(work / "splits" / "splits.csv")
    dropped = next(r["item_id"] for r in split_rows if r["modality"] == "images")
    (w / "splits" / "splits.csv").write_text("".join(
        line for line in (work / "splits" / "splits.csv").read_text().splitlines(True)
        if not line.startswith(f"{dropped},")))
    assert run_release(w, version="1.0.0", out=out, progress=False).version == "1.0.0"
    shutil.copy(work / "splits" / "splits.csv", w / "splits" / "splits.csv")
    with pytest.raises(UserError, match=r"understates .* MINOR .*smallest allowed version is "
                                        r"1\.1\.0"):
        run_release(w, version="1.0.1", out=out, progress=False)
    s = run_release(w, out=out, progress=False)
    assert (s.version, s.change, s.previous) == ("1.1.0", "minor", "1.0.0")
    # same data again: PATCH; a released version is never overwritten
    assert run_release(w, out=out, progress=False).version == "1.1.1"
    with pytest.raises(UserError, match="already released"):
        run_release(w, version="1.1.1", out=out, progress=False)
    # relabel a song and move a segment to another split: MAJOR
    songs = (w / "tags" / "songs.csv").read_text().splitlines()
    songs = [line.replace(",positive,", ",neutral,") if line.startswith(tid(0)) else line
             for line in songs]
    (w / "tags" / "songs.csv").write_text("\n".join(songs) + "\n")
    seg_row = next(r for r in split_rows if r["modality"] == "music")
    new = "test" if seg_row["split"] != "test" else "train"
    _edit(w / "splits" / "splits.csv", f"{seg_row['item_id']},music,{seg_row['split']}",
          f"{seg_row['item_id']},music,{new}")
    res = runner.invoke(cli, ["--workdir", str(w), "release", "--out", str(out),
                              "--version", "1.2.0"])
    assert res.exit_code == 1 and "MAJOR" in res.output and "2.0.0" in res.output
    assert not (out / "imac-1.2.0").exists()
    res = runner.invoke(cli, ["--workdir", str(w), "release", "--out", str(out),
                              "--version", "2.0.0"])
    assert res.exit_code == 0, res.output

    d = run_diff(out / "imac-1.1.1", out / "imac-2.0.0")
    assert d.level == "major"
    assert d.tables["songs"].relabelled == [f"{tid(0)}: positive -> neutral"]
    assert d.tables["splits"].moved == [f"music/{seg_row['item_id']}: {seg_row['split']} -> "
                                        f"{new}"]
    d = run_diff(out / "imac-1.0.0", out / "imac-1.1.0")
    assert d.level == "minor" and d.tables["splits"].added == [f"images/{dropped}"]
    assert not d.tables["splits"].removed and not d.tables["songs"].relabelled
    res = runner.invoke(cli, ["--json", "diff", str(out / "imac-1.1.0"),
                              str(out / "imac-1.0.0")])
    doc = json.loads(res.output)
    assert doc["level"] == "major" and doc["tables"]["splits"]["removed"] == \
        [f"images/{dropped}"]


def _tamper(rel: Path, dest: Path, table: str, old: str, new: str) -> Path:
    """A copy of a release with one table edited and its checksum made to match."""
    shutil.copytree(rel, dest)
    _edit(dest / table, old, new)
    meta = json.loads((dest / "manifest.json").read_text())
    meta["files"][table]["sha256"] = sha(dest / table)
    meta["files"][table]["bytes"] = (dest / table).stat().st_size
    reseal(dest, meta)
    return dest


def reseal(dest: Path, meta: dict) -> None:
    """Write ``meta`` as manifest.json and make croissant.json agree with it (every
    checksum fixed, as a careful tamperer would)."""
    from imac_builder.release.manifest import croissant_digest

    doc = json.loads((dest / "croissant.json").read_text())
    for d in doc["distribution"]:
        if d["name"] in meta["files"]:
            d["sha256"] = meta["files"][d["name"]]["sha256"]
    meta["croissant_sha256"] = croissant_digest(doc)
    (dest / "manifest.json").write_text(json.dumps(meta))
    for d in doc["distribution"]:
        if d["name"] == "manifest.json":
            d["sha256"] = sha(dest / "manifest.json")
    (dest / "croissant.json").write_text(json.dumps(doc))


def test_hostile_manifests_are_refused(built, tmp_path, runner):
    _, out, _ = built
    rel = out / "imac-1.0.0"
    seg = read_csv(rel / "segments.csv")[0]
    cases = {
        "segments.csv": (seg["segment_id"], "../../etc/passwd", "not a segment id"),
        "images.csv": ("amusement/amusement_0000.jpg", "/etc/passwd", "absolute or leaves"),
        "videos.csv": ("http://127.0.0.1", "file:///etc/passwd#", "not an http"),
        "status.csv": (f"song,{tid(10)}", "song,../x", "not an MSD track id"),
    }
    for i, (table, (old, new, message)) in enumerate(cases.items()):
        bad = _tamper(rel, tmp_path / f"bad{i}", table, old, new)
        with pytest.raises(UserError, match=message):
            Manifest.load(bad)
    res = runner.invoke(cli, ["--workdir", str(tmp_path / "w"), "rebuild",
                              str(tmp_path / "bad0")])
    assert res.exit_code == 1 and "not a segment id" in res.output
    assert "Traceback" not in res.output and not (tmp_path / "w" / "audio").exists()
    # edited without fixing the checksum: damaged
    edited = tmp_path / "edited"
    shutil.copytree(rel, edited)
    _edit(edited / "songs.csv", ",positive,", ",negative,")
    with pytest.raises(UserError, match="does not match its sha256"):
        Manifest.load(edited)
    # a newer format: a clear message
    newer = tmp_path / "newer"
    shutil.copytree(rel, newer)
    meta = json.loads((newer / "manifest.json").read_text())
    meta["format_version"] = 99
    (newer / "manifest.json").write_text(json.dumps(meta))
    res = runner.invoke(cli, ["--workdir", str(tmp_path / "w"), "verify", str(newer)])
    assert res.exit_code == 1
    assert "manifest format version 99, newer than this imac-build supports (1)" in res.output
    # unknown files named in the checksums are refused, not read
    meta["format_version"] = 1
    meta["files"]["../../x.csv"] = {"sha256": "0"}
    (newer / "manifest.json").write_text(json.dumps(meta))
    with pytest.raises(UserError, match="unknown file"):
        Manifest.load(newer)


def test_release_defaults_to_the_projects_manifests_folder(built, tmp_path, monkeypatch,
                                                           runner):
    work, _, _ = built
    monkeypatch.chdir(tmp_path)
    (tmp_path / "manifests").mkdir()
    res = runner.invoke(cli, ["--workdir", str(work), "release", "--name", "demo"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "manifests" / "demo-1.0.0" / "croissant.json").is_file()
    res = runner.invoke(cli, ["--workdir", str(work), "release", "--name", "demo",
                              "--version", "1.0.0"])
    assert res.exit_code == 1 and "already released" in res.output
    res = runner.invoke(cli, ["--workdir", str(work), "release", "--name", "../x"])
    assert res.exit_code == 1 and "--name" in res.output


def test_rebuild_with_a_vanished_video_reports_it_missing(built, tmp_path, runner):
    _, out, srv = built
    rel = out / "imac-1.0.0"
    gone = _tamper(rel, tmp_path / "rel", "videos.csv", srv.url("/v/2"), srv.url("/v/gone"))
    w3 = tmp_path / "w3"
    args = ["rebuild", str(gone), "--workdir", str(w3), "--rate", "0"]  # as the issue writes it
    res = runner.invoke(cli, args)
    assert res.exit_code == 1
    assert f"missing: segment {tid(2)}_000" in res.output and "0 invalid" in res.output
    assert "--allow-missing" in res.output
    # again, accepting vanished videos: the others are kept, the count is in the summary
    res = runner.invoke(cli, ["--json", "--workdir", str(w3), "rebuild", str(gone),
                              "--allow-missing", "--rate", "0"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["download"]["already_done"] == 8 and doc["download"]["failed_before"] == 1
    assert doc["verify"]["ok"] == 9 and len(doc["verify"]["missing"]) == 1
    assert doc["verify"]["invalid"] == []


def test_diff_counts_a_repeated_pair_as_a_change() -> None:
    from imac_builder.release.diff import ReleaseDiff, diff_table

    pair = {"image_id": "amusement_0001", "segment_id": "TR00000000000000AA_000", "target": "1"}
    other = {**pair, "segment_id": "TR00000000000000AB_000"}
    assert diff_table("pairs_test", [pair, other], [other, pair]).empty
    grown = diff_table("pairs_test", [pair, other], [pair, other, pair, pair])
    assert grown.added == ["amusement_0001/TR00000000000000AA_000/1 (x2)"]
    assert grown.removed == [] and ReleaseDiff(tables={"pairs_test": grown}).level == "minor"
    shrunk = diff_table("pairs_test", [pair, pair], [pair])
    assert shrunk.removed == ["amusement_0001/TR00000000000000AA_000/1"]
    assert ReleaseDiff(tables={"pairs_test": shrunk}).level == "major"


def test_a_resealed_manifest_that_lists_less_is_refused(built, tmp_path):
    _, out, _ = built
    rel = out / "imac-1.0.0"
    # the segments table dropped from the checksums: the dataset's audio unchecked
    dropped = tmp_path / "dropped"
    shutil.copytree(rel, dropped)
    meta = json.loads((dropped / "manifest.json").read_text())
    del meta["files"]["segments.csv"]
    reseal(dropped, meta)
    with pytest.raises(UserError, match="lists no segments.csv"):
        Manifest.load(dropped)
    # the segments emptied and resealed: the recorded row count no longer holds
    lines = (rel / "segments.csv").read_text().splitlines(keepends=True)
    emptied = _tamper(rel, tmp_path / "emptied", "segments.csv", "".join(lines[1:]), "")
    with pytest.raises(UserError, match=f"holds 0 rows, not the {len(lines) - 1}"):
        Manifest.load(emptied)
    # and with the counts resealed too, verify has nothing to check: it fails
    meta = json.loads((emptied / "manifest.json").read_text())
    meta["files"]["segments.csv"]["rows"] = meta["counts"]["segments"] = 0
    reseal(emptied, meta)
    summary = run_verify(tmp_path / "empty-work", emptied, progress=False)
    assert summary.checked == 0 and summary.failed and "nothing was checked" in summary.failure()


def test_a_fifo_in_place_of_a_segment_is_invalid_even_with_allow_missing(built, tmp_path):
    import os

    work, out, _ = built
    rel = out / "imac-1.0.0"
    w = tmp_path / "w"
    shutil.copytree(work / "audio", w / "audio")
    seg = read_csv(rel / "segments.csv")[0]
    path = w / "audio" / seg["track_id"] / f"{seg['segment_id']}.flac"
    path.unlink()
    os.mkfifo(path)
    summary = run_verify(w, rel, allow_missing=True, progress=False)
    assert summary.failed and any(seg["segment_id"] in i and "FIFO" in i
                                  for i in summary.invalid), summary.invalid


def test_a_work_directory_that_cannot_record_the_release_publishes_nothing(
        built, tmp_path, monkeypatch):
    from imac_builder.release import stage

    work, _, _ = built

    def read_only(root, **changes):
        raise PermissionError(13, "Permission denied", str(root / ".workdir.json.tmp"))

    monkeypatch.setattr(stage, "update_state", read_only)
    out = tmp_path / "out"
    with pytest.raises(PermissionError):
        run_release(work, out=out, progress=False, config=ReleaseConfig(name="imac"))
    assert not out.exists() or not list(out.iterdir())


def test_a_rerun_rebuild_fetches_a_damaged_segment_again(built, tmp_path):
    work, out, _ = built
    rel = out / "imac-1.0.0"
    w3 = tmp_path / "w3"
    assert not run_rebuild(w3, manifest=rel, _download_options=fast(), progress=False).failed
    seg = read_csv(rel / "segments.csv")[2]
    path = w3 / "audio" / seg["track_id"] / f"{seg['segment_id']}.flac"
    path.write_bytes(path.read_bytes()[:1000])  # cut short, as by a kill or a full disk
    assert run_verify(w3, rel, progress=False).invalid_segments == [seg["segment_id"]]
    again = run_rebuild(w3, manifest=rel, _download_options=fast(), progress=False)
    assert not again.failed and again.verify.ok == again.verify.checked == 10
    assert any("again after removing 1 damaged segment" in line
               for line in again.download_lines), again.download_lines
    assert sha(path) == sha(work / "audio" / seg["track_id"] / f"{seg['segment_id']}.flac")


def test_rebuild_refuses_a_workdir_in_the_release_and_a_foreign_split_record(
        built, tmp_path, runner):
    _, out, _ = built
    rel = tmp_path / "rel"
    shutil.copytree(out / "imac-1.0.0", rel)
    before = sorted(p.name for p in rel.iterdir())
    res = runner.invoke(cli, ["--workdir", str(rel / "w"), "rebuild", str(rel)])
    assert res.exit_code == 1 and "is inside the release" in res.output, res.output
    assert sorted(p.name for p in rel.iterdir()) == before
    for split in ("paper", {"protocol": {"a": 1}}, [], None, {"seed": "x"},
                  {"ratios": "abc"}, {"seed": 1.5}, {"ratios": [0.7, 0.1, 1.5]}):
        meta = json.loads((rel / "manifest.json").read_text())
        meta["split"] = split
        reseal(rel, meta)
        w = tmp_path / f"w{abs(hash(str(split)))}"
        with pytest.raises(UserError, match="is not a split record"):
            run_rebuild(w, manifest=rel, _download_options=fast(), progress=False)
        assert not (w / "splits").exists() and not (w / "tags").exists()


def test_a_croissant_fifo_and_a_huge_recorded_size_are_named(built, tmp_path):
    import os

    _, out, _ = built
    rel = tmp_path / "rel"
    shutil.copytree(out / "imac-1.0.0", rel)
    meta = json.loads((rel / "manifest.json").read_text())
    meta["files"]["songs.csv"]["bytes"] = 1e308
    reseal(rel, meta)
    with pytest.raises(UserError, match=r"bytes of songs.csv: '1e\+308' is out of range"):
        Manifest.load(rel)
    meta["files"]["songs.csv"]["bytes"] = (rel / "songs.csv").stat().st_size
    reseal(rel, meta)
    (rel / "croissant.json").unlink()
    os.mkfifo(rel / "croissant.json")
    with pytest.raises(UserError, match="FIFO"):
        Manifest.load(rel)


@pytest.mark.parametrize("edit, says", [
    (lambda m: m["files"]["segments.csv"].update(rows="9"), "rows of segments.csv is text"),
    (lambda m: m.update(counts=[1, 2]), '"counts" is not a table'),
])
def test_recorded_counts_of_another_type_are_refused(built, tmp_path, edit, says):
    _, out, _ = built
    rel = tmp_path / "rel"
    shutil.copytree(out / "imac-1.0.0", rel)
    meta = json.loads((rel / "manifest.json").read_text())
    edit(meta)
    reseal(rel, meta)
    with pytest.raises(UserError, match=says):
        Manifest.load(rel)


def test_a_release_without_a_split_record_rebuilds_with_the_papers_pairs(built, tmp_path):
    _, out, _ = built
    rel = tmp_path / "rel"
    shutil.copytree(out / "imac-1.0.0", rel)
    meta = json.loads((rel / "manifest.json").read_text())
    del meta["split"]  # written before releases recorded the pair protocol
    reseal(rel, meta)
    w = tmp_path / "w"
    assert not run_rebuild(w, manifest=rel, _download_options=fast(), progress=False).failed
    assert json.loads((w / "splits" / "split.json").read_text()) == {"protocol": "paper"}
