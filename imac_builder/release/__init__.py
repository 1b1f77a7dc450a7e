"""Versioned manifests: ``release``, ``verify``, ``rebuild`` and ``diff``."""

from .diff import ReleaseDiff, run_diff
from .manifest import FORMAT_VERSION, TABLES, Manifest
from .rebuild import RebuildSummary, run_rebuild
from .stage import ReleaseSummary, run_release
from .verify import VerifySummary, run_verify

__all__ = ["FORMAT_VERSION", "TABLES", "Manifest", "RebuildSummary", "ReleaseDiff",
           "ReleaseSummary", "VerifySummary", "run_diff", "run_rebuild", "run_release",
           "run_verify"]
