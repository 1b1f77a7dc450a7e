"""The paper's Table 1: the Image Emotion database's 8 emotions regrouped into 3 classes."""

from __future__ import annotations

from ..vocab import EMOTIONS, LABELS, PAPER_TABLE3, TABLE1

__all__ = ["EMOTIONS", "LABELS", "PAPER_TABLE3", "TABLE1", "emotions_of", "label_of"]


def label_of(emotion: str) -> str:
    """The 3-class IMAC label of an original emotion (``KeyError`` for an unknown one)."""
    return TABLE1[emotion]


def emotions_of(label: str) -> list[str]:
    """The original emotions regrouped into ``label``, sorted."""
    return sorted(e for e, g in TABLE1.items() if g == label)
