"""Loading the result: imac_builder.data (PyTorch datasets of pairs and single items) on
the demo's stores, and `release --format hf` loaded with the real `datasets` library."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("h5py")


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_one_epoch_through_the_pair_dataset(demo_small):
    from torch.utils.data import DataLoader

    from imac_builder.data import PairDataset
    from imac_builder.features import FeatureStore
    from imac_builder.train.model import ACPNet

    torch.manual_seed(0)
    train = PairDataset(demo_small, split="train", seed=0)
    assert len(train) > 0
    music, image, target = train[0]
    assert music.shape == (193,) and image.shape == (2048,) and target in (0, 1)
    # the vectors are the stores' rows of the pair's ids
    store = FeatureStore.open(demo_small / "features" / "music.h5")
    m, _, _ = train.pairs[0]
    assert torch.equal(music, torch.from_numpy(store.features[m]))
    model = ACPNet()
    before = [p.detach().clone() for p in model.parameters()]
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    seen = 0
    for music, image, target in DataLoader(train, batch_size=16, shuffle=True):
        loss = torch.nn.functional.cross_entropy(model(image, music), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        seen += len(target)
        assert torch.isfinite(loss)
    assert seen == len(train)
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(),
                                                     strict=True))
    # the training pairs follow the split's protocol (balanced: as many true as false)
    targets = [t for _, _, t in train.pairs]
    assert targets.count(1) == targets.count(0)
    old = list(train.pairs)
    train.reshuffle(1)
    assert train.pairs != old and len(train.pairs) == len(old)


def test_fixed_pairs_and_single_items_match_the_split(demo_small):
    from imac_builder.data import ItemDataset, PairDataset

    test = PairDataset(demo_small, split="test")
    rows = read_csv(demo_small / "splits" / "pairs_test.csv")
    assert len(test) == len(rows)
    got = [(test.images.ids[i], test.music.ids[m], t) for m, i, t in test.pairs]
    assert got == [(r["image_id"], r["segment_id"], int(r["target"])) for r in rows]
    splits = read_csv(demo_small / "splits" / "splits.csv")
    for modality in ("music", "images"):
        for split in ("train", "val", "test"):
            items = ItemDataset(demo_small, modality, split)
            want = {r["item_id"] for r in splits
                    if r["modality"] == modality and r["split"] == split}
            assert set(items.ids) == want and len(items) == len(want)
    # end-to-end: the files, not the vectors
    audio = ItemDataset(demo_small, "music", "val", kind="paths")
    path, label = audio[0]
    assert Path(path).is_file() and path.endswith(".flac") and label in (0, 1, 2)
    pairs = PairDataset(demo_small, split="val", kind="paths")
    m, i, _ = pairs[0]
    assert Path(m).is_file() and Path(i).is_file()


def test_release_format_hf_loads_with_datasets(demo_small, tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets")
    from imac_builder.config import ReleaseConfig
    from imac_builder.release import run_release
    from imac_builder.release.manifest import TABLES

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    s = run_release(demo_small, config=ReleaseConfig(name="hfdemo"), version="1.0.0",
                    out=tmp_path / "m", format="hf", progress=False)
    rel = Path(s.folder)
    meta = json.loads((rel / "manifest.json").read_text())
    hf = rel / "hf"
    for name, table in TABLES.items():
        if name.startswith("pairs_"):
            path = hf / "data" / "pairs" / ("validation" if name.endswith("val") else "test")
            path = path.with_suffix(".parquet")
        else:
            path = hf / "data" / f"{name}.parquet"
        d = datasets.load_dataset("parquet", data_files=str(path), split="train")
        assert d.num_rows == meta["counts"][name], name
        assert d.column_names == list(table.columns), name
    # the card's configurations: a table, the features with their splits
    seg = datasets.load_dataset(str(hf), "segments", split="train")
    assert seg.num_rows == meta["counts"]["segments"]
    music = datasets.load_dataset(str(hf), "music_features")
    assert sum(music[s].num_rows for s in music) == meta["feature_stores"]["music"]["rows"]
    assert len(music["train"][0]["features"]) == meta["feature_stores"]["music"]["dims"]
    splits = read_csv(rel / "splits.csv")
    assert sorted(music["validation"]["segment_id"]) == sorted(
        r["item_id"] for r in splits if r["modality"] == "music" and r["split"] == "val")
    images = datasets.load_dataset(str(hf), "image_features")
    assert sum(images[s].num_rows for s in images) == meta["feature_stores"]["images"]["rows"]
    card = (hf / "README.md").read_text(encoding="utf-8")
    assert "Verma" in card and "ICASSP 2019" in card and "@inproceedings" in card
    for source in ("Million Song Dataset", "YouTube", "Image Emotion database"):
        assert source in card
    # the manifest is still a release a collaborator can verify (hf/ is not one of its files)
    from imac_builder.release import Manifest

    assert Manifest.load(rel).rows("segments")
