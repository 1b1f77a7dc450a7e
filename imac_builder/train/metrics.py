"""Evaluation statistics in plain torch: confidence intervals, ROC-AUC, retrieval."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def wilson_interval(correct: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """95% Wilson score interval of a proportion (sound near 0 and 1, unlike Wald's)."""
    if n == 0:
        return (float("nan"), float("nan"))
    p = correct / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def roc_auc(score: torch.Tensor, target: torch.Tensor) -> float:
    """Area under the ROC curve by the rank-sum (Mann–Whitney) formula, ties averaged."""
    import torch

    score = score.double().cpu()
    target = target.cpu().bool()
    n_pos = int(target.sum())
    n_neg = int((~target).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = torch.argsort(score)
    sorted_scores = score[order]
    ranks = torch.empty_like(score)
    ranks[order] = torch.arange(1, len(score) + 1, dtype=torch.double)
    uniq, inverse, counts = torch.unique(sorted_scores, return_inverse=True, return_counts=True)
    if len(uniq) < len(score):  # average the ranks of tied scores
        first = torch.cumsum(counts, 0) - counts + 1
        avg = first.double() + (counts.double() - 1) / 2
        ranks[order] = avg[inverse]
    return float((ranks[target].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def retrieval_scores(relevance: torch.Tensor, ks: tuple[int, ...] = (1, 5, 10)) -> dict[str, float]:
    """Mean precision@k and mean average precision; ``relevance`` is queries × ranked items
    (already sorted by score, best first), 1 where relevant."""
    import torch

    rel = relevance.double()
    # hits in the top k over k, also when fewer than k items are ranked
    out = {f"precision_at_{k}": float((rel[:, :k].sum(1) / k).mean()) for k in ks}
    hits = torch.cumsum(rel, 1)
    ranks = torch.arange(1, rel.shape[1] + 1, dtype=torch.double, device=rel.device)
    n_rel = rel.sum(1)
    ap = (hits / ranks * rel).sum(1) / n_rel.clamp_min(1)
    out["mean_average_precision"] = float(ap[n_rel > 0].mean()) if bool((n_rel > 0).any()) \
        else float("nan")
    return out


def shortcut_baselines(image_class, music_class, target) -> dict[str, float]:  # noqa: ANN001
    """Accuracy of the best rule that sees only the music's class, only the image's class,
    or nothing (the class prior), computed exactly from the pairs' labels: for each value
    it sees, the rule answers the majority target of the pairs with that value."""
    import numpy as np

    t = np.asarray(target).astype(bool)
    n = len(t)

    def best(key) -> float:  # noqa: ANN001
        key = np.asarray(key)
        if n == 0:
            return float("nan")
        _, inv = np.unique(key, return_inverse=True)
        true = np.bincount(inv, weights=t.astype(float))
        total = np.bincount(inv)
        return float(np.maximum(true, total - true).sum() / n)

    return {"music_class_only": best(music_class), "image_class_only": best(image_class),
            "class_prior": best(np.zeros(n, dtype=int))}


def cluster_bootstrap(correct, image_group, song_group, replicates: int = 1000,  # noqa: ANN001
                      seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of the accuracy by a two-way cluster bootstrap: images and songs
    are each resampled with replacement (independently), and a pair counts as many times
    as its image times its song was drawn. Pairs share images and songs, so they are not
    independent; this interval accounts for it, the Wilson interval does not."""
    import numpy as np

    ok = np.asarray(correct, dtype=float)
    if len(ok) == 0:
        return (float("nan"), float("nan"))
    _, img = np.unique(np.asarray(image_group), return_inverse=True)
    _, song = np.unique(np.asarray(song_group), return_inverse=True)
    ni, ns = int(img.max()) + 1, int(song.max()) + 1
    rng = np.random.default_rng(seed)
    chunk = max(1, (1 << 24) // len(ok))
    stats = []
    for b in range(0, replicates, chunk):
        c = min(chunk, replicates - b)
        wi = rng.multinomial(ni, np.full(ni, 1 / ni), size=c).astype(np.float32)
        ws = rng.multinomial(ns, np.full(ns, 1 / ns), size=c).astype(np.float32)
        w = wi[:, img] * ws[:, song]
        total = w.sum(1)
        stats.append(np.where(total > 0, (w @ ok) / np.maximum(total, 1), np.nan))
    acc = np.concatenate(stats)
    acc = acc[~np.isnan(acc)]
    lo, hi = np.quantile(acc, [(1 - level) / 2, (1 + level) / 2])
    return (float(lo), float(hi))
