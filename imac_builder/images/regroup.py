"""The paper's Table 1: the Image Emotion database's 8 emotions regrouped into 3 classes."""

from __future__ import annotations

#: The 8 emotions of the Image Emotion database (You et al., AAAI 2016), sorted.
EMOTIONS: tuple[str, ...] = ("amusement", "anger", "awe", "contentment", "disgust",
                             "excitement", "fear", "sadness")
#: The IMAC classes, in the paper's order.
LABELS: tuple[str, ...] = ("positive", "neutral", "negative")
#: Paper Table 1 (spec §4).
TABLE1: dict[str, str] = {
    "awe": "positive", "amusement": "positive", "excitement": "positive",
    "contentment": "neutral",
    "fear": "negative", "disgust": "negative", "anger": "negative", "sadness": "negative",
}
#: Paper Table 3: image samples per class in the IMAC database.
PAPER_TABLE3: dict[str, int] = {"positive": 32_868, "neutral": 10_796, "negative": 45_731}


def label_of(emotion: str) -> str:
    """The 3-class IMAC label of an original emotion (``KeyError`` for an unknown one)."""
    return TABLE1[emotion]


def emotions_of(label: str) -> list[str]:
    """The original emotions regrouped into ``label``, sorted."""
    return sorted(e for e, g in TABLE1.items() if g == label)
