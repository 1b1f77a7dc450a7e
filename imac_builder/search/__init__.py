"""The ``search`` stage: find each labelled song on YouTube and choose its video.

Names are imported on first use, so the configuration (which reads the chooser's
defaults from :mod:`.match`) does not load the stage.
"""

from __future__ import annotations

import importlib
from typing import Any

_NAMES = {"Candidate": "match", "MatchConfig": "match", "choose": "match",
          "build_query": "query", "clean_artist": "query", "clean_title": "query",
          "SearchSummary": "stage", "run_search": "stage"}
__all__ = sorted(_NAMES)


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        return getattr(importlib.import_module(f".{_NAMES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
