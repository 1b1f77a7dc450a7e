"""Feature stores of known difficulty for the train tests (split, ACP-Net, baselines)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from imac_builder.features.store import write_store

LABELS = ("positive", "neutral", "negative")
EMOTIONS = {"positive": ("awe", "amusement"), "neutral": ("contentment",),
            "negative": ("fear", "sadness")}
SEP = 2.0  # class means at -SEP, 0, +SEP on the informative axis (unit noise)
IMG_DIM, MUS_DIM = 8, 8  # small stores keep the suite fast; the real sizes are benchmarked


def class_means(dim: int, informative: bool, sep: float = SEP) -> np.ndarray:
    m = np.zeros((3, dim))
    if informative:
        m[:, 0] = (-sep, 0.0, sep)
    return m


def make_stores(wd: Path, informative: bool, n_images: int = 2400, n_songs: int = 360,
                segs_per_song: int = 3, seed: int = 1, sep: float = SEP) -> None:
    """Balanced classes; image and segment features = class mean + N(0, I)."""
    rng = np.random.default_rng(seed)
    im_lab = np.arange(n_images) % 3
    x_img = class_means(IMG_DIM, informative, sep)[im_lab] + \
        rng.standard_normal((n_images, IMG_DIM))
    song_lab = np.arange(n_songs) % 3
    seg_lab = np.repeat(song_lab, segs_per_song)
    x_mus = class_means(MUS_DIM, informative, sep)[seg_lab] + \
        rng.standard_normal((len(seg_lab), MUS_DIM))
    x_mus = x_mus * 50 + 100  # unscaled, like real mel/MFCC values: the model standardises
    tracks = [f"TRSYNTH{i:011d}" for i in range(n_songs)]
    seg_track = np.repeat(tracks, segs_per_song)
    seg_ids = [f"{t}_{k % segs_per_song:03d}" for k, t in enumerate(seg_track)]
    write_store(wd / "features/music.h5", x_mus, seg_ids, [LABELS[c] for c in seg_lab],
                {"track_id": list(seg_track)}, {"extractor": "synthetic"}, modality="music")
    emotions = [EMOTIONS[LABELS[c]][k % len(EMOTIONS[LABELS[c]])]
                for k, c in enumerate(im_lab)]
    write_store(wd / "features/images.h5", x_img, [f"img{i:05d}" for i in range(n_images)],
                [LABELS[c] for c in im_lab], {"emotion": emotions}, {"extractor": "synthetic"},
                modality="images")


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One torch thread (import this fixture into a test module to use it): on a shared
    2-core machine two OpenMP threads spin against other processes and small layers run
    ten times slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


#: paper Table 3: images and songs per class (positive, neutral, negative)
TABLE3_IMAGES = (32_868, 10_796, 45_731)
TABLE3_SONGS = (1_342, 1_511, 959)


def proportional_labels(n: int, counts: tuple[int, ...]) -> np.ndarray:
    """``n`` class indices in the proportions of ``counts`` (largest remainders)."""
    share = np.array(counts, dtype=float) / sum(counts) * n
    k = np.floor(share).astype(int)
    k[np.argsort(k - share)[: n - k.sum()]] += 1
    return np.repeat(np.arange(len(counts)), k)


def make_table3_stores(wd: Path, n_images: int = 1800, n_songs: int = 300,
                       segs_per_song: int = 2, music_sep: float = 8.0,
                       image_sep: float = 0.0, seed: int = 3) -> None:
    """Class proportions of paper Table 3; the music carries its class on one axis (means
    ``music_sep`` apart: perfectly at 8), the images on another (nothing at 0)."""
    rng = np.random.default_rng(seed)
    im_lab = rng.permutation(proportional_labels(n_images, TABLE3_IMAGES))
    song_lab = rng.permutation(proportional_labels(n_songs, TABLE3_SONGS))
    seg_lab = np.repeat(song_lab, segs_per_song)
    x_img = class_means(IMG_DIM, True, image_sep)[im_lab] + \
        rng.standard_normal((n_images, IMG_DIM))
    x_mus = class_means(MUS_DIM, True, music_sep)[seg_lab] + \
        rng.standard_normal((len(seg_lab), MUS_DIM))
    tracks = np.repeat([f"TRTABLE3{i:010d}" for i in range(n_songs)], segs_per_song)
    write_store(wd / "features/music.h5", x_mus,
                [f"{t}_{k % segs_per_song:03d}" for k, t in enumerate(tracks)],
                [LABELS[c] for c in seg_lab], {"track_id": list(tracks)}, {},
                modality="music")
    write_store(wd / "features/images.h5", x_img, [f"img{i:05d}" for i in range(n_images)],
                [LABELS[c] for c in im_lab],
                {"emotion": [EMOTIONS[LABELS[c]][0] for c in im_lab]}, {},
                modality="images")
