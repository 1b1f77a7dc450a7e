"""The ``images`` stage: the Image Emotion database regrouped per Table 1 (spec §4)."""

from .regroup import EMOTIONS, LABELS, PAPER_TABLE3, TABLE1, label_of
from .stage import IMAGES_COLUMNS, ImagesSummary, run_images

__all__ = [
    "EMOTIONS",
    "IMAGES_COLUMNS",
    "LABELS",
    "PAPER_TABLE3",
    "TABLE1",
    "ImagesSummary",
    "label_of",
    "run_images",
]
