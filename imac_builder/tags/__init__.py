"""The ``tags`` stage: Last.fm tags of the Million Song Dataset to emotion labels (spec §1)."""

from .emotion import GROUPS, LABELS, Exclusions, TagDecision, classify_tag, is_candidate
from .stage import TagsSummary, run_tags

__all__ = [
    "GROUPS",
    "LABELS",
    "Exclusions",
    "TagDecision",
    "TagsSummary",
    "classify_tag",
    "is_candidate",
    "run_tags",
]
