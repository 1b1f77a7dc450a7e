"""Pair protocols, shortcut baselines, grouping and intervals: numbers a reviewer can trust.

The class proportions follow paper Table 3; expected values are computed here from the
proportions (the paper protocol's music-only accuracy) or by counting the written pair
files, never taken from the code under test.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from imac_builder.config import SplitConfig

pytest.importorskip("h5py")

from train_support import (  # noqa: E402
    LABELS,
    TABLE3_IMAGES,
    TABLE3_SONGS,
    make_stores,
    make_table3_stores,
)

from imac_builder.cli import cli  # noqa: E402
from imac_builder.errors import UserError  # noqa: E402
from imac_builder.train.metrics import (  # noqa: E402
    cluster_bootstrap,
    retrieval_scores,
    roc_auc,
    shortcut_baselines,
    wilson_interval,
)
from imac_builder.train.split import balanced_pair_rows, run_split  # noqa: E402


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def labelled_pairs(wd: Path, split: str) -> list[tuple[str, str, int]]:
    """(image class, music class, target) of every pair of ``pairs_<split>.csv``."""
    from imac_builder.features.store import FeatureStore

    im = FeatureStore.open(wd / "features/images.h5")
    mu = FeatureStore.open(wd / "features/music.h5")
    il = dict(zip(im.ids, im.labels, strict=True))
    ml = dict(zip(mu.ids, mu.labels, strict=True))
    return [(il[r["image_id"]], ml[r["segment_id"]], int(r["target"]))
            for r in read_csv(wd / f"splits/pairs_{split}.csv")]


def best_single_rule(pairs: list[tuple[str, str, int]], side: int) -> float:
    """Accuracy of answering, for each class on one side, that class's majority target."""
    by = Counter((p[side], p[2]) for p in pairs)
    return sum(max(by[(c, 0)], by[(c, 1)]) for c in LABELS) / len(pairs)


def paper_music_only() -> float:
    """The music-only rule's expected accuracy under the paper protocol, from Table 3:
    P(true, music j) = p_j / 2, P(false, music j) = sum_{i≠j} p_i q_j / (1 - q_i) / 2."""
    p = np.array(TABLE3_IMAGES) / sum(TABLE3_IMAGES)
    q = np.array(TABLE3_SONGS) / sum(TABLE3_SONGS)
    false = [sum(p[i] * q[j] / (1 - q[i]) for i in range(3) if i != j) / 2 for j in range(3)]
    return float(sum(max(p[j] / 2, false[j]) for j in range(3)))


def test_balanced_protocol_gives_every_single_modality_rule_exactly_half(tmp_path: Path
                                                                          ) -> None:
    make_table3_stores(tmp_path)
    s = run_split(tmp_path, progress=False, config=SplitConfig(seed=0))
    assert s.protocol == "balanced"
    assert json.loads((tmp_path / "splits/split.json").read_text())["protocol"] == "balanced"
    for split in ("val", "test"):
        pairs = labelled_pairs(tmp_path, split)
        # true and false pairs equally many within every image class and every music class
        for side in (0, 1):
            by = Counter((p[side], p[2]) for p in pairs)
            assert all(by[(c, 1)] == by[(c, 0)] > 0 for c in LABELS), (split, side, by)
        assert best_single_rule(pairs, 0) == best_single_rule(pairs, 1) == 0.5
        assert sum(p[2] for p in pairs) * 2 == len(pairs)
        # a pair is true exactly when image and music share the class
        assert all(p[2] == int(p[0] == p[1]) for p in pairs)
        # every image of the split is used, each as often true as false (±1)
        rows = read_csv(tmp_path / f"splits/pairs_{split}.csv")
        splits = {r["item_id"]: r["split"] for r in read_csv(tmp_path / "splits/splits.csv")}
        used = Counter((r["image_id"], r["target"]) for r in rows)
        images = {i for i, v in splits.items() if v == split and i.startswith("img")}
        assert {i for i, _ in used} == images
        assert all(abs(used[(i, "1")] - used[(i, "0")]) <= 1 for i in images)


def test_paper_protocol_lets_the_music_alone_score_about_69(tmp_path: Path) -> None:
    make_table3_stores(tmp_path, n_images=6000, n_songs=1000)
    run_split(tmp_path, progress=False, config=SplitConfig(seed=0, protocol="paper"))
    pairs = labelled_pairs(tmp_path, "test")
    expected = paper_music_only()
    assert expected == pytest.approx(0.6875, abs=1e-3)  # the "about 69%"
    assert best_single_rule(pairs, 1) == pytest.approx(expected, abs=0.025)  # 2,400 pairs
    assert all(p[2] == int(p[0] == p[1]) for p in pairs)
    assert json.loads((tmp_path / "splits/split.json").read_text())["protocol"] == "paper"


def test_shortcut_baselines_match_counting() -> None:
    rng = np.random.default_rng(0)
    il, ml = rng.integers(0, 3, 500), rng.integers(0, 3, 500)
    t = (il == ml) | (rng.random(500) < 0.2)
    b = shortcut_baselines(il, ml, t)
    pairs = [(LABELS[a], LABELS[m], int(x)) for a, m, x in zip(il, ml, t, strict=True)]
    assert b["image_class_only"] == best_single_rule(pairs, 0)
    assert b["music_class_only"] == best_single_rule(pairs, 1)
    assert b["class_prior"] == max(t.mean(), 1 - t.mean())


def test_balanced_rows_refuse_a_missing_class() -> None:
    with pytest.raises(UserError, match="no music labelled negative"):
        balanced_pair_rows(np.array([0, 1, 2]), np.array([0, 1, 1]),
                           np.random.default_rng(0), split="test")


def test_tracks_sharing_a_video_or_pcm_never_straddle_splits(tmp_path: Path, runner) -> None:
    make_stores(tmp_path, informative=True, n_images=300, n_songs=90, segs_per_song=2)
    tracks = [f"TRSYNTH{i:011d}" for i in range(90)]
    seg_rows = []
    for k, t in enumerate(tracks):
        video = "vidSHARED01" if k in (0, 45) else f"vid{k:08d}"  # one video, two MSD ids
        for s in range(2):
            sha = "ab" * 32 if (k, s) in ((10, 0), (70, 1)) else f"{k:060d}{s:04d}"
            seg_rows.append((f"{t}_{s:03d}", t, video, s, sha))
    (tmp_path / "download").mkdir()
    with (tmp_path / "download/segments.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["segment_id", "track_id", "video_id", "index", "sha256"])
        w.writerows(seg_rows)
    (tmp_path / "search").mkdir()
    with (tmp_path / "search/matches.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["track_id", "video_id", "status"])
        w.writerows([(tracks[3], "vidMATCH", "matched"), (tracks[48], "vidMATCH", "matched"),
                     (tracks[5], "vidNONE", "no_match"), (tracks[50], "vidNONE", "no_match")])
    r = runner.invoke(cli, ["--workdir", str(tmp_path), "split", "--seed", "4"])
    assert r.exit_code == 0, r.output
    assert "3 songs (shared video or PCM)" in r.output
    split_of = {row["item_id"].rsplit("_", 1)[0]: row["split"]
                for row in read_csv(tmp_path / "splits/splits.csv")
                if row["modality"] == "music"}
    for a, b in ((0, 45), (10, 70), (3, 48)):
        assert split_of[tracks[a]] == split_of[tracks[b]], (a, b)
    assert json.loads((tmp_path / "splits/split.json").read_text())["merged"]["songs"] == 3
    # across seeds the joined pairs never separate, while an unjoined pair sometimes does
    apart = 0
    for seed in range(8):
        run_split(tmp_path, progress=False, config=SplitConfig(seed=seed))
        sp = {row["item_id"].rsplit("_", 1)[0]: row["split"]
              for row in read_csv(tmp_path / "splits/splits.csv")}
        assert all(sp[tracks[a]] == sp[tracks[b]] for a, b in ((0, 45), (10, 70), (3, 48)))
        apart += sp[tracks[5]] != sp[tracks[50]]
    assert apart > 0


def test_images_grouped_by_bytes_and_by_perceptual_hash(tmp_path: Path) -> None:
    pytest.importorskip("imagehash")
    from PIL import Image

    make_stores(tmp_path, informative=True, n_images=120, n_songs=30, segs_per_song=2)
    root = tmp_path / "files"
    root.mkdir()
    rng = np.random.default_rng(0)
    rows = []
    for k in range(120):
        base = rng.integers(0, 256, (8, 8, 3)).astype(np.uint8)  # distinct coarse pictures
        im = Image.fromarray(base).resize((96, 96), Image.Resampling.BILINEAR)
        if k == 7:  # a near-duplicate of image 6: rescaled and re-encoded
            im = Image.open(root / "p6.png").resize((80, 80))
        buf = io.BytesIO()
        im.save(buf, format="PNG")
        (root / f"p{k}.png").write_bytes(buf.getvalue())
        sha = "same" if k in (20, 90) else f"sha{k}"  # identical bytes per images.csv
        rows.append((f"img{k:05d}", f"p{k}.png", sha))
    (tmp_path / "images").mkdir()
    with (tmp_path / "images/images.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["image_id", "path", "sha256"])
        w.writerows(rows)
    s = run_split(tmp_path, image_root=root, progress=False, config=SplitConfig(seed=1))
    assert s.merged["images"] == 2
    sp = {r["item_id"]: r["split"] for r in read_csv(tmp_path / "splits/splits.csv")}
    assert sp["img00006"] == sp["img00007"] and sp["img00020"] == sp["img00090"]
    s = run_split(tmp_path, progress=False,
                  config=SplitConfig(seed=1))  # without the folder: bytes only
    assert s.merged["images"] == 1


def simulate_coverage(sims: int = 200, seed: int = 0) -> tuple[float, float]:
    """Coverage of the true accuracy 0.6 by the cluster bootstrap and by Wilson, when
    errors cluster by song (and a little by image): each song and image has its own
    probability of being judged right, drawn from Beta distributions of mean 0.6."""
    rng = np.random.default_rng(seed)
    boot = wil = 0
    for k in range(sims):
        n_songs, n_images = 40, 400
        p_song = rng.beta(3, 2, n_songs)  # mean 0.6, song-level spread
        p_img = rng.beta(6, 4, n_images)  # mean 0.6
        img = np.repeat(np.arange(n_images), 2)
        song = rng.integers(0, n_songs, len(img))
        ok = rng.random(len(img)) < (0.8 * p_song[song] + 0.2 * p_img[img])
        lo, hi = cluster_bootstrap(ok, img, song, replicates=300, seed=k)
        boot += lo <= 0.6 <= hi
        lo, hi = wilson_interval(int(ok.sum()), len(ok))
        wil += lo <= 0.6 <= hi
    return boot / sims, wil / sims


def test_cluster_bootstrap_covers_about_95_percent_where_wilson_does_not() -> None:
    boot, wil = simulate_coverage()
    print(f"\ncoverage: cluster bootstrap {boot:.3f}, Wilson {wil:.3f}")
    assert 0.90 <= boot <= 0.99  # 200 simulations: ±1.5 points of sampling error
    assert wil < 0.80  # pairs treated as independent: far too narrow


def test_metrics_agree_with_scipy_and_scikit_learn() -> None:
    torch = pytest.importorskip("torch")
    sk = pytest.importorskip("sklearn.metrics")
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 400)
    score = np.round(rng.random(400) + 0.3 * y, 1)  # rounded: many ties
    assert roc_auc(torch.tensor(score), torch.tensor(y)) == pytest.approx(
        sk.roc_auc_score(y, score), abs=1e-12)
    for k, n in ((0, 10), (3, 10), (57, 100), (100, 100)):
        ci = stats.binomtest(k, n).proportion_ci(0.95, method="wilson")
        assert wilson_interval(k, n) == pytest.approx((ci.low, ci.high), abs=1e-6)
    scores = rng.random((30, 25))
    rel = (rng.random((30, 25)) < 0.3).astype(int)
    rel[0] = 0
    rel[0, 3] = 1
    order = np.argsort(-scores, axis=1)
    ranked = np.take_along_axis(rel, order, axis=1)
    out = retrieval_scores(torch.tensor(ranked))
    ap = [sk.average_precision_score(rel[i], scores[i]) for i in range(30) if rel[i].any()]
    assert out["mean_average_precision"] == pytest.approx(np.mean(ap), abs=1e-12)
    assert out["precision_at_5"] == pytest.approx(ranked[:, :5].mean(), abs=1e-12)
