"""Feature stores: round trip, selection by id and split, atomic writes, damaged files."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from imac_builder.errors import UserError
from imac_builder.features.store import FeatureStore, write_store


def _music(tmp_path, n=5, seed=0):
    rng = np.random.default_rng(seed)
    feats = rng.normal(size=(n, 193)).astype(np.float32)
    ids = [f"TR{'A' * 15}{k}_00{k % 2}" for k in range(n)]
    tracks = [i.split("_")[0] for i in ids]
    labels = ["positive", "neutral", "negative", "positive", "negative"][:n]
    path = tmp_path / "music.h5"
    write_store(path, feats, ids, labels, {"track_id": tracks},
                {"modality": "music", "columns": [f"c{i}" for i in range(193)],
                 "params": {"sr": 22050}, "config_hash": "abc", "versions": {"x": "1"}})
    return path, feats, ids, tracks, labels


def test_round_trip_keeps_everything(tmp_path):
    path, feats, ids, tracks, labels = _music(tmp_path)
    s = FeatureStore.open(path)
    assert s.modality == "music" and s.id_name == "segment_id"
    np.testing.assert_array_equal(s.features, feats)
    assert s.features.dtype == np.float32
    assert s.ids == ids and s.labels == labels and s.extra == {"track_id": tracks}
    assert s.columns == [f"c{i}" for i in range(193)]
    assert s.attrs["params"] == {"sr": 22050} and s.attrs["versions"] == {"x": "1"}
    assert s.attrs["config_hash"] == "abc" and len(s) == 5
    with h5py.File(path) as f:  # spec §5 layout, readable without our code
        assert f["features"].chunks is None and f["features"].compression is None
        assert f["features"].dtype == np.float32
        assert set(f) == {"features", "segment_id", "label", "track_id"}
        assert f["segment_id"].asstr()[0] == ids[0]
    assert [p.name for p in tmp_path.iterdir()] == ["music.h5"]  # no temporaries left


def test_images_store_infers_modality(tmp_path):
    path = tmp_path / "images.h5"
    write_store(path, np.ones((2, 2048)), ["a", "b"], ["positive", "negative"],
                {"emotion": ["awe", "fear"]}, {"weights_sha256": "f" * 64})
    s = FeatureStore.open(path)
    assert (s.modality, s.id_name) == ("images", "image_id")
    assert s.extra["emotion"] == ["awe", "fear"] and s.features.shape == (2, 2048)


def test_select_by_id_keeps_the_order_asked(tmp_path):
    path, feats, ids, _, labels = _music(tmp_path)
    s = FeatureStore.open(path)
    sub = s.select([ids[3], ids[0]])
    assert sub.ids == [ids[3], ids[0]] and sub.labels == [labels[3], labels[0]]
    np.testing.assert_array_equal(sub.features, feats[[3, 0]])
    with pytest.raises(UserError, match="not in the store"):
        s.select([ids[0], "nope"])
    assert s.select([ids[1], "nope"], missing="skip").ids == [ids[1]]


def test_select_split_by_id_rows_and_by_song(tmp_path):
    path, feats, ids, tracks, _ = _music(tmp_path)
    s = FeatureStore.open(path)
    mapping = {ids[0]: "train", ids[1]: "test", ids[2]: "train"}
    assert s.select_split(mapping, "train").ids == [ids[0], ids[2]]
    rows = [{"item_id": ids[4], "modality": "music", "split": "val"},
            {"item_id": ids[3], "modality": "images", "split": "val"}]  # other modality
    assert s.select_split(rows, "val").ids == [ids[4]]
    by_song = [{"track_id": tracks[1], "split": "test"}]
    got = s.select_split(by_song, "test")
    assert got.ids == [i for i, t in zip(ids, tracks, strict=True) if t == tracks[1]]
    np.testing.assert_array_equal(got.features, feats[[ids.index(i) for i in got.ids]])
    with pytest.raises(UserError, match="split"):
        s.select_split([{"item_id": ids[0]}], "train")


def test_failed_write_keeps_the_old_store(tmp_path):
    path, feats, *_ = _music(tmp_path)
    with pytest.raises(ValueError, match="values for"):
        write_store(path, feats, ["x"], ["positive"], {"track_id": ["t"]},
                    {"modality": "music"})
    np.testing.assert_array_equal(FeatureStore.open(path).features, feats)
    assert [p.name for p in tmp_path.iterdir()] == ["music.h5"]


def test_damaged_or_foreign_files_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        FeatureStore.open(tmp_path / "none.h5")
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not hdf5 at all")
    with pytest.raises(UserError, match="not a readable HDF5"):
        FeatureStore.open(junk)
    path, *_ = _music(tmp_path)
    with h5py.File(path, "a") as f:
        del f["label"]
    with pytest.raises(UserError, match="lacks dataset.*label"):
        FeatureStore.open(path)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["features"] = np.zeros((1, 3))
    with pytest.raises(UserError, match="not a feature store"):
        FeatureStore.open(other)
