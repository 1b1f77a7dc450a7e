"""The ``features`` stage: 193-d music features and Inception-v3 image features (spec §5).

Names are imported on first use, so importing the CLI does not load numpy or h5py.
"""

from __future__ import annotations

import importlib
from typing import Any

_NAMES = {"FeaturesSummary": "stage", "ModalitySummary": "summary", "run_features": "stage",
          "FeatureStore": "store", "write_store": "store"}
__all__ = sorted(_NAMES)


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        return getattr(importlib.import_module(f".{_NAMES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
