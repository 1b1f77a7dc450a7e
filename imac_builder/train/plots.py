"""Training curves and heat maps as PNG (matplotlib, headless)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:
    from .. import atomic

    with atomic.atomic_open(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=110, bbox_inches="tight")


def plot_curves(history: Sequence[dict], path: Path, title: str) -> None:
    plt = _plt()
    ep = [h["epoch"] for h in history]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.8))
    a.plot(ep, [h["loss"] for h in history], marker="o", ms=3)
    a.set(xlabel="epoch", ylabel="training loss (cross-entropy)", title="loss")
    b.plot(ep, [h["train_accuracy"] for h in history], marker="o", ms=3, label="train pairs")
    b.plot(ep, [h["val_accuracy"] for h in history], marker="o", ms=3, label="validation pairs")
    b.axhline(0.5, color="grey", ls="--", lw=1, label="chance")
    b.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    b.legend()
    fig.suptitle(title)
    _save(fig, path)
    plt.close(fig)


def plot_heatmap(matrix: Sequence[Sequence[float]], rows: Sequence[str], cols: Sequence[str],
                 path: Path, title: str) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.8, 4))
    im = ax.imshow(matrix, vmin=0, vmax=1, cmap="viridis")
    ax.set_xticks(range(len(cols)), cols)
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel("music class")
    ax.set_ylabel("image class")
    for i, r in enumerate(matrix):
        for j, v in enumerate(r):
            ax.text(j, i, "—" if v != v else f"{v:.2f}", ha="center", va="center",
                    color="white" if v == v and v < 0.6 else "black")
    fig.colorbar(im, ax=ax, label="accuracy")
    ax.set_title(title)
    _save(fig, path)
    plt.close(fig)
