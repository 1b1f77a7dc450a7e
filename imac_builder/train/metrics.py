"""Evaluation statistics in plain torch: confidence intervals, ROC-AUC, retrieval."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

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


def _stratified_weights(group: np.ndarray, stratum: np.ndarray | None, c: int,
                       rng: np.random.Generator) -> np.ndarray:
    """``c`` × groups bootstrap counts: each stratum's groups drawn with replacement as
    many times as the stratum has groups (all groups one stratum when ``stratum`` is None)."""
    import numpy as np

    n = int(group.max()) + 1
    if stratum is None:
        return rng.multinomial(n, np.full(n, 1 / n), size=c).astype(np.float32)
    of_group = np.zeros(n, dtype=np.int64)
    of_group[group] = stratum
    w = np.zeros((c, n), dtype=np.float32)
    for s in np.unique(of_group):
        members = np.flatnonzero(of_group == s)
        k = len(members)
        w[:, members] = rng.multinomial(k, np.full(k, 1 / k), size=c)
    return w


def cluster_bootstrap(correct, image_group, song_group, replicates: int = 1000,  # noqa: ANN001
                      seed: int = 0, level: float = 0.95, image_stratum=None,  # noqa: ANN001
                      song_stratum=None, cell=None) -> tuple[float, float]:  # noqa: ANN001
    """Percentile interval of the accuracy by a two-way cluster bootstrap: images and songs
    are each resampled with replacement (independently), and a pair counts as many times
    as its image times its song was drawn. Pairs share images and songs, so they are not
    independent; this interval accounts for it, the Wilson interval does not.

    Stratified (what ``evaluate`` uses): images are resampled within their class
    (``image_stratum`` per pair: the image's class) and songs within theirs
    (``song_stratum``), and with ``cell`` (per pair: its (image class, music class) cell)
    each replicate's accuracy is the mean of the cells' accuracies weighted by the cells'
    fixed shares of the pairs. The protocol fixes how many pairs each cell holds, so
    letting the mix of cells vary (the plain bootstrap) widens the interval for nothing.
    """
    import numpy as np

    ok = np.asarray(correct, dtype=float)
    if len(ok) == 0:
        return (float("nan"), float("nan"))
    _, img = np.unique(np.asarray(image_group), return_inverse=True)
    _, song = np.unique(np.asarray(song_group), return_inverse=True)
    img_st = None if image_stratum is None else np.asarray(image_stratum)
    song_st = None if song_stratum is None else np.asarray(song_stratum)
    if cell is not None:
        _, cells = np.unique(np.asarray(cell), return_inverse=True)
    else:
        cells = np.zeros(len(ok), dtype=np.int64)
    share = np.bincount(cells) / len(ok)
    rng = np.random.default_rng(seed)
    chunk = max(1, (1 << 24) // len(ok))
    stats = []
    for b in range(0, replicates, chunk):
        c = min(chunk, replicates - b)
        wi = _stratified_weights(img, img_st, c, rng)
        ws = _stratified_weights(song, song_st, c, rng)
        w = wi[:, img] * ws[:, song]
        acc = np.zeros(c)
        weight = np.zeros(c)
        for k in range(len(share)):
            m = cells == k
            total = w[:, m].sum(1)
            have = total > 0
            acc[have] += share[k] * (w[have][:, m] @ ok[m]) / total[have]
            weight[have] += share[k]
        stats.append(np.where(weight > 0, acc / np.maximum(weight, 1e-12), np.nan))
    acc = np.concatenate(stats)
    acc = acc[~np.isnan(acc)]
    lo, hi = np.quantile(acc, [(1 - level) / 2, (1 + level) / 2])
    return (float(lo), float(hi))
