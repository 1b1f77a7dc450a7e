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
    assert "3 songs (3 shared video or PCM" in r.output
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


def write_images(wd: Path, n: int, root: Path) -> None:
    """``n`` distinct coarse pictures as JPEG under ``root`` and their ``images.csv``;
    image 7 is image 6 rescaled and re-encoded at another quality, 20 and 90 share bytes
    (as images.csv says)."""
    from PIL import Image

    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    rows = []
    for k in range(n):
        base = rng.integers(0, 256, (8, 8, 3)).astype(np.uint8)
        im = Image.fromarray(base).resize((96, 96), Image.Resampling.BILINEAR)
        quality = 90
        if k == 7:  # a near-duplicate of image 6: rescaled and re-encoded
            im = Image.open(root / "p6.jpg").convert("RGB").resize((80, 80))
            quality = 60
        buf = io.BytesIO()
        im.save(buf, format="JPEG", quality=quality)
        (root / f"p{k}.jpg").write_bytes(buf.getvalue())
        sha = "same" if k in (20, 90) else f"sha{k}"  # identical bytes per images.csv
        rows.append((f"img{k:05d}", f"p{k}.jpg", sha))
    (wd / "images").mkdir(exist_ok=True)
    with (wd / "images/images.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["image_id", "path", "sha256"])
        w.writerows(rows)


def write_artists(wd: Path, tracks: list[str], same: tuple[int, int]) -> None:
    """tags/songs.csv: every track its own artist, except the two of ``same``, whose
    artist is written differently (case, spacing)."""
    (wd / "tags").mkdir(exist_ok=True)
    with (wd / "tags/songs.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["track_id", "artist_name"])
        for k, t in enumerate(tracks):
            name = ("The  Artist" if k == same[0] else "the artist") if k in same \
                else f"artist {k}"
            w.writerow([t, name])


def test_near_duplicate_images_and_same_artist_songs_never_straddle_by_default(
        tmp_path: Path, runner) -> None:
    """No option given: the re-encoded JPEG pair (images in the images stage's folder, or
    the folder the work directory remembers) and two songs of one artist stay together
    across seeds, while an unrelated pair sometimes separates."""
    pytest.importorskip("imagehash")
    from imac_builder.workdir import update_state

    make_stores(tmp_path, informative=True, n_images=120, n_songs=30, segs_per_song=2)
    write_images(tmp_path, 120, tmp_path / "images/files")
    tracks = [f"TRSYNTH{i:011d}" for i in range(30)]
    write_artists(tmp_path, tracks, (2, 17))
    r = runner.invoke(cli, ["--workdir", str(tmp_path), "split", "--seed", "0"])
    assert r.exit_code == 0, r.output
    assert "1 same artist" in r.output and "pHash, images in" in r.output
    apart = 0
    for seed in range(8):
        s = run_split(tmp_path, progress=False, config=SplitConfig(seed=seed))
        assert s.merged["images"] == 2 and s.songs_joined["artist"] == 1
        sp = {row["item_id"]: row["split"] for row in read_csv(tmp_path / "splits/splits.csv")}
        assert sp["img00006"] == sp["img00007"] and sp["img00020"] == sp["img00090"]
        assert sp[f"{tracks[2]}_000"] == sp[f"{tracks[17]}_000"]
        apart += sp["img00003"] != sp["img00004"]
    assert apart > 0
    # the folder remembered by the work directory (images --root elsewhere) is used too
    moved = tmp_path / "elsewhere"
    (tmp_path / "images/files").rename(moved)
    one = SplitConfig(seed=0)
    assert run_split(tmp_path, progress=False, config=one).merged["images"] == 1  # bytes only
    update_state(tmp_path, image_root=str(moved))
    assert run_split(tmp_path, progress=False, config=one).merged["images"] == 2
    # artist grouping is an option
    s = run_split(tmp_path, progress=False, config=SplitConfig(seed=0, artist_groups=False))
    assert s.songs_joined.get("artist", 0) == 0


def test_near_identical_audio_is_one_recording(tmp_path: Path) -> None:
    """Two tracks whose segments are the same audio re-encoded (features a hair apart,
    PCM hashes different) are joined, and the split reports it."""
    from imac_builder.features.store import FeatureStore, write_store

    make_stores(tmp_path, informative=True, n_images=120, n_songs=30, segs_per_song=2)
    m = FeatureStore.open(tmp_path / "features/music.h5")
    x = m.features.copy()
    x[10] = x[2] * (1 + 1e-3)  # track 5's first segment: track 1's, re-encoded
    write_store(tmp_path / "features/music.h5", x, m.ids, m.labels, m.extra, {},
                modality="music")
    for seed in range(4):
        s = run_split(tmp_path, progress=False, config=SplitConfig(seed=seed))
        assert s.songs_joined["audio"] == 1
        sp = {row["item_id"]: row["split"] for row in read_csv(tmp_path / "splits/splits.csv")}
        assert sp[m.ids[2]] == sp[m.ids[10]]
    info = json.loads((tmp_path / "splits/split.json").read_text())
    assert info["songs_joined"]["audio"] == 1


def test_pair_rows_are_shuffled(tmp_path: Path) -> None:
    """A row's position says nothing about its target (before: true, false, true, ...)."""
    make_stores(tmp_path, informative=True, n_images=300, n_songs=60)
    for protocol in ("balanced", "paper"):
        run_split(tmp_path, progress=False, config=SplitConfig(seed=0, protocol=protocol))
        t = np.array([int(r["target"]) for r in read_csv(tmp_path / "splits/pairs_test.csv")])
        parity = np.arange(len(t)) % 2 == 0
        assert 0.4 < (t == parity).mean() < 0.6, protocol
        assert t.mean() == 0.5


def simulate(sims: int = 200, seed: int = 0, true_acc: float = 0.70, false_acc: float = 0.45,
             effect: float = 0.25, **boot) -> tuple[float, float, float]:
    """Coverage of the true accuracy by the bootstrap (``boot``: its stratification) and by
    Wilson, and the bootstrap's mean width, when errors cluster by song and by image about
    equally (uniform effects of ±``effect``) and the (image class, music class) cells
    differ in accuracy (``true_acc`` on true pairs, ``false_acc`` on false), as a trained
    model's do. Cells hold fixed shares of the pairs, as the
    balanced protocol fixes them; the truth is the cell accuracies at those shares."""
    rng = np.random.default_rng(seed)
    n_cls, per_img, per_song = 3, 16, 16  # images and songs per class
    base = np.full((3, 3), false_acc) + np.eye(3) * (true_acc - false_acc)
    img_cls = np.repeat(np.arange(n_cls), per_img)
    song_cls = np.repeat(np.arange(n_cls), per_song)
    # every image meets every song of each class twice: cell shares are fixed
    img, song = (g.ravel() for g in np.meshgrid(np.arange(len(img_cls)),
                                                 np.arange(len(song_cls)), indexing="ij"))
    keep = rng.random(len(img)) < 0.5  # half the pairs, thinned at random
    img, song = img[keep], song[keep]
    ci, cm = img_cls[img], song_cls[song]
    share = np.array([[np.mean((ci == i) & (cm == j)) for j in range(3)] for i in range(3)])
    truth = float((share * base).sum())
    cover = wil = 0
    widths = []
    for k in range(sims):
        u = rng.uniform(-effect, effect, len(song_cls))  # song effects
        v = rng.uniform(-effect, effect, len(img_cls))  # image effects
        ok = rng.random(len(img)) < base[ci, cm] + u[song] + v[img]
        kw = {"image_stratum": ci, "song_stratum": cm, "cell": ci * 3 + cm} \
            if boot.get("stratified", True) else {}
        lo, hi = cluster_bootstrap(ok, img if boot.get("images", True) else np.zeros_like(img),
                                   song, replicates=300, seed=k, **kw)
        cover += lo <= truth <= hi
        widths.append(hi - lo)
        lo, hi = wilson_interval(int(ok.sum()), len(ok))
        wil += lo <= truth <= hi
    return cover / sims, wil / sims, float(np.mean(widths))


def test_stratified_two_way_bootstrap_covers_about_95_percent_where_wilson_does_not() -> None:
    boot, wil, width = simulate()
    print(f"\ncoverage: stratified two-way bootstrap {boot:.3f} (mean width {width:.3f}), "
          f"Wilson {wil:.3f}")
    assert 0.90 <= boot <= 0.99  # 200 simulations: ±1.5 points of sampling error
    assert wil < 0.80  # pairs treated as independent: far too narrow


def test_a_one_way_bootstrap_undercovers_and_an_unstratified_one_is_wider() -> None:
    """What the test above would miss: resampling songs only (images held fixed) ignores
    half the clustering; resampling without the class strata lets the mix of cells vary,
    which the protocol fixes, and widens the interval for nothing."""
    one_way, _, _ = simulate(sims=200, images=False)
    assert one_way < 0.88, one_way
    cells = {"true_acc": 0.95, "false_acc": 0.15, "effect": 0.05}  # a model that learned
    strat_cover, _, strat = simulate(sims=60, **cells)
    _, _, plain = simulate(sims=60, stratified=False, **cells)
    print(f"\none-way coverage {one_way:.3f}; widths stratified {strat:.3f}, plain {plain:.3f}")
    assert strat < 0.8 * plain and strat_cover >= 0.88


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
