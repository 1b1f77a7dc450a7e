"""The ``search`` stage: find each labelled song on YouTube and choose its video."""

from .match import Candidate, MatchConfig, choose
from .query import build_query, clean_artist, clean_title
from .stage import SearchSummary, run_search

__all__ = ["Candidate", "MatchConfig", "SearchSummary", "build_query", "choose",
           "clean_artist", "clean_title", "run_search"]
