"""The features stage: shards and parts, failures recorded, resume, no-op rerun, changed
configuration refused, Dask, and the click command."""

from __future__ import annotations

import json

import numpy as np
import pytest
from features_support import assert_same_features, decode, music_files, write_segments

from imac_builder.cli import cli
from imac_builder.config import FeaturesConfig
from imac_builder.errors import UserError
from imac_builder.features import FeatureStore, run_features
from imac_builder.features.music import fast_segment, load_segment

GOOD_A = "TRAAAAAAAAAAAAAAAA_000"
GOOD_B = "TRBBBBBBBBBBBBBBBB_000"
CORRUPT = "TRAAAAAAAAAAAAAAAA_001"
MISSING = "TRAAAAAAAAAAAAAAAA_002"
ESCAPE = "TRCCCCCCCCCCCCCCCC_000"
MALFORMED = "TRshort_000"


@pytest.fixture(scope="module")
def pieces() -> dict[str, np.ndarray]:
    """Two real 60 s segments as the download stage stores them (16-bit FLAC)."""
    a, b = music_files(2)
    return {GOOD_A: decode(a, start=20.0), GOOD_B: decode(b, start=40.0)}


@pytest.fixture(scope="module")
def expected(pieces, tmp_path_factory) -> dict[str, np.ndarray]:
    """The fast engine's vectors of the FLAC-decoded segments, computed directly."""
    root = tmp_path_factory.mktemp("expected")
    write_segments(root, pieces)
    return {sid: fast_segment(load_segment(root / f"audio/{sid.split('_')[0]}/{sid}.flac"))
            for sid in pieces}


def failing_only(root):
    write_segments(root, {CORRUPT: b"this is not audio", MISSING: None})


def test_music_store_failures_noop_and_resume(tmp_path, pieces, expected):
    segs = {**pieces, CORRUPT: b"this is not audio", MISSING: None, ESCAPE: pieces[GOOD_A],
            MALFORMED: pieces[GOOD_A]}
    write_segments(tmp_path, segs, paths={ESCAPE: "../outside.flac"})
    s = run_features(tmp_path, progress=False,
                     config=FeaturesConfig(modality="music", engine="fast", shard_size=2))
    m = s.modalities[0]
    assert (m.items, m.shards, m.shards_run, m.rows, m.failed) == (6, 3, 3, 2, 4)
    assert m.failed_reasons == {"decode": 1, "missing": 1, "bad_path": 1, "bad_row": 1}
    store = FeatureStore.open(tmp_path / "features/music.h5")
    assert store.ids == [GOOD_A, GOOD_B]
    assert store.extra["track_id"] == [GOOD_A[:18], GOOD_B[:18]]
    assert store.labels == ["positive", "positive"]
    for k, sid in enumerate(store.ids):
        assert_same_features(expected[sid], store.features[k])
    assert store.attrs["engine"] == "fast" and store.attrs["n_failed"] == 4
    assert store.attrs["versions"]["librosa"] == "0.11.0"
    assert store.columns[40] == "chroma_C" and store.attrs["config"]["params"]["sr"] == 22050
    failures = (tmp_path / "features/music_failures.csv").read_text().splitlines()
    assert failures[0] == "segment_id,reason,detail" and len(failures) == 5
    assert any(line.startswith(f"{ESCAPE},bad_path") for line in failures)
    assert not (tmp_path / "outside.flac").exists()

    # unchanged configuration and inputs: nothing to do, the store is not rewritten
    mtime = (tmp_path / "features/music.h5").stat().st_mtime_ns
    again = run_features(tmp_path, progress=False,
                         config=FeaturesConfig(modality="music", engine="fast",
                                               shard_size=2)).modalities[0]
    assert again.unchanged and again.rows == 2 and again.shards_run == 0
    assert (tmp_path / "features/music.h5").stat().st_mtime_ns == mtime

    # interrupted run: the store and the last shard's part are missing; only it runs
    (tmp_path / "features/music.h5").unlink()
    parts = sorted((tmp_path / "features/parts").glob("music-*/*.h5"))
    assert len(parts) == 3
    parts[2].unlink()
    resumed = run_features(tmp_path, progress=False,
                           config=FeaturesConfig(modality="music", engine="fast",
                                                 shard_size=2)).modalities[0]
    assert (resumed.shards_reused, resumed.shards_run, resumed.rows) == (2, 1, 2)
    again = FeatureStore.open(tmp_path / "features/music.h5")
    np.testing.assert_array_equal(again.features, store.features)
    assert again.ids == store.ids


def test_changed_configuration_is_refused_unless_forced(tmp_path):
    failing_only(tmp_path)
    first = run_features(tmp_path, progress=False,
                         config=FeaturesConfig(modality="music", engine="fast"))
    assert first.modalities[0].rows == 0 and first.modalities[0].failed == 2
    with pytest.raises(UserError, match="another configuration.*engine.*--force"):
        run_features(tmp_path, progress=False,
                     config=FeaturesConfig(modality="music", engine="reference"))
    assert FeatureStore.open(tmp_path / "features/music.h5").attrs["engine"] == "fast"
    forced = run_features(tmp_path, force=True, progress=False,
                          config=FeaturesConfig(modality="music",
                                                engine="reference")).modalities[0]
    # everything recomputed (a small run is cut into one shard per worker)
    assert not forced.unchanged and forced.shards_run == forced.shards >= 1
    assert forced.shards_reused == 0
    store = FeatureStore.open(tmp_path / "features/music.h5")
    assert store.attrs["engine"] == "reference"
    assert [p.name for p in (tmp_path / "features/parts").iterdir()] == [
        f"music-{forced.config_hash[:16]}"]
    # unfinished parts of another configuration are refused as well
    (tmp_path / "features/parts/music-0000000000000000").mkdir()
    with pytest.raises(UserError, match="unfinished music parts"):
        run_features(tmp_path, progress=False,
                     config=FeaturesConfig(modality="music", engine="reference"))


def test_new_inputs_compute_only_their_shards(tmp_path):
    failing_only(tmp_path)
    first = run_features(tmp_path, progress=False,
                         config=FeaturesConfig(modality="music", shard_size=1))
    assert (first.modalities[0].shards_run, first.modalities[0].failed) == (2, 2)
    # the download stage added a segment and dropped one
    write_segments(tmp_path, {CORRUPT: b"this is not audio", ESCAPE: None},
                   paths={ESCAPE: "../x.flac"})
    m = run_features(tmp_path, progress=False,
                     config=FeaturesConfig(modality="music", shard_size=1)).modalities[0]
    assert (m.shards, m.shards_reused, m.shards_run) == (2, 1, 1)
    assert not m.unchanged and m.failed_reasons == {"decode": 1, "bad_path": 1}
    assert len(list((tmp_path / "features/parts").glob("music-*/*.h5"))) == 2
    rows = (tmp_path / "features/music_failures.csv").read_text().splitlines()[1:]
    assert [r.split(",")[0] for r in rows] == [CORRUPT, ESCAPE]


def test_dask_local_cluster(tmp_path, pieces, expected):
    distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")
    write_segments(tmp_path, {GOOD_B: pieces[GOOD_B], CORRUPT: b"junk"})
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        s = run_features(tmp_path, scheduler=cluster.scheduler_address, progress=False,
                         config=FeaturesConfig(modality="music", engine="fast", shard_size=1,
                                               executor="dask")).modalities[0]
    assert (s.shards, s.shards_run, s.rows, s.failed) == (2, 2, 1, 1)
    store = FeatureStore.open(tmp_path / "features/music.h5")
    assert_same_features(expected[GOOD_B], store.features[0])


def test_torch_engine_batches_a_shard(tmp_path, pieces, expected):
    """The torch engine through the stage (on the CPU here; on a GPU with --device cuda)."""
    pytest.importorskip("torch", reason="torch is not installed")
    write_segments(tmp_path, {GOOD_B: pieces[GOOD_B], CORRUPT: b"junk", MISSING: None})
    s = run_features(tmp_path, progress=False,
                     config=FeaturesConfig(modality="music", engine="torch",
                                           device="cpu")).modalities[0]
    assert (s.shards, s.rows, s.failed) == (1, 1, 2)
    store = FeatureStore.open(tmp_path / "features/music.h5")
    assert store.attrs["engine"] == "torch" and store.attrs["config"]["device"] == "cpu"
    assert_same_features(expected[GOOD_B], store.features[0], tol=1e-3)


def test_dask_needs_a_scheduler(tmp_path):
    failing_only(tmp_path)
    with pytest.raises(UserError, match="--scheduler"):
        run_features(tmp_path, progress=False,
                     config=FeaturesConfig(modality="music", executor="dask"))


def test_cli_runs_the_stage_and_reports_user_errors(tmp_path, runner):
    failing_only(tmp_path)
    res = runner.invoke(cli, ["--workdir", str(tmp_path), "--json", "features",
                              "--modality", "music", "--engine", "fast", "--jobs", "2",
                              "--shard-size", "1"])  # two spawned worker processes
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["command"] == "features"
    assert out["modalities"][0]["failed_reasons"] == {"decode": 1, "missing": 1}
    assert out["modalities"][0]["shards_run"] == 2
    res = runner.invoke(cli, ["--workdir", str(tmp_path), "features", "--modality", "music",
                              "--engine", "reference"])
    assert res.exit_code == 1 and "--force" in res.output and "engine" in res.output
    res = runner.invoke(cli, ["--workdir", str(tmp_path), "features", "--modality", "images"])
    assert res.exit_code == 1 and "--image-root" in res.output
    assert "Traceback" not in res.output
    empty = tmp_path / "empty"
    res = runner.invoke(cli, ["--workdir", str(empty), "features", "--modality", "music"])
    assert res.exit_code == 1 and "run the download and images stages first" in res.output
