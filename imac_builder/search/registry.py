"""The search backends by name: adding one is one module and one line here.

A backend module defines a class following :class:`~.backend.Searcher` and a factory
``make(ctx: BackendContext) -> Searcher``. Its line in :data:`BACKENDS` names the
factory ("module:function", imported only when the backend is used), the module the
backend needs (for a one-line install hint), whether it spends API quota, and a few
words for ``--help``, ``status`` and ``doctor``. See docs/contributing.md.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UserError

if TYPE_CHECKING:
    from ..ytdlp_access import YtdlpAccess
    from .backend import Backoff, Searcher
    from .quota import QuotaLedger


@dataclass(frozen=True)
class BackendContext:
    """What a backend's factory may use; each takes what it needs."""

    ledger: QuotaLedger
    results: int = 10
    api_key_file: Path | None = None
    http: object = None
    backoff: Backoff | None = None
    access: YtdlpAccess | None = None


@dataclass(frozen=True)
class BackendInfo:
    """One registered search backend."""

    name: str
    factory: str  # "package.module:function", the function taking a BackendContext
    needs: str  # the import name of the package it needs ("" for none)
    package: str  # what to pip install for it
    uses_quota: bool
    help: str

    def available(self) -> bool:
        """Whether the package it needs is installed."""
        return not self.needs or importlib.util.find_spec(self.needs) is not None

    def make(self, ctx: BackendContext) -> Searcher:
        """The backend, or one clear line naming what to install."""
        if not self.available():
            raise UserError(f"the {self.name} backend needs {self.package}: "
                            "pip install 'imac_builder[search]'")
        module, func = self.factory.split(":")
        return getattr(importlib.import_module(module), func)(ctx)


BACKENDS: dict[str, BackendInfo] = {
    b.name: b for b in (
        BackendInfo("api", "imac_builder.search.youtube_api:make", "googleapiclient",
                    "google-api-python-client", True,
                    "YouTube Data API v3 (needs a key, spends quota)"),
        BackendInfo("ytdlp", "imac_builder.search.ytdlp_search:make", "yt_dlp", "yt-dlp",
                    False, "yt-dlp's YouTube search (no key, no quota)"),
        BackendInfo("ytmusic", "imac_builder.search.ytmusic_search:make", "ytmusicapi",
                    "ytmusicapi", False,
                    "YouTube Music through ytmusicapi (no key, no quota; release audio "
                    "with artists, album and duration)"),
    )
}


def backend_info(name: str) -> BackendInfo:
    """The registered backend ``name``, or one line listing the known ones."""
    if name not in BACKENDS:
        raise UserError(f"unknown backend {name!r}: choose one of {', '.join(BACKENDS)}")
    return BACKENDS[name]


def describe(name: str) -> str:
    """A few words on a backend for status lines: its name and whether it uses quota."""
    info = BACKENDS.get(name)
    if info is None:
        return f"{name} backend"
    return f"{name} backend: {'API quota' if info.uses_quota else 'no quota'}"
