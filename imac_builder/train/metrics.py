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
