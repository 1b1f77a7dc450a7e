"""Each stage's configuration as a dataclass: defaults and validation in one place.

A pipeline file (TOML, e.g. ``pipelines/paper.toml``) has one table per stage whose keys
are the fields below; :func:`load_pipeline` turns it into these dataclasses for Python
callers, and the CLI takes each option's default from them (``imac-build --config
pipelines/paper.toml tags ...``; an option given on the command line wins). Each stage
records the hash of the configuration it ran with, so ``status`` can tell when it changed.
Settings that only steer one invocation (``--limit``, ``--rerank``, ``--force``, input
paths, secrets) are options, not configuration.
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
import types
import typing
from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path
from typing import Any, ClassVar

from .errors import UserError
from .search.match import MatchConfig

_MATCH = MatchConfig()


@dataclass(frozen=True)
class StageConfig:
    """Base: validation, hashing and conversion shared by every stage's configuration."""

    #: field -> one line saying what it means (for ``docs/configuration.md``).
    HELP: ClassVar[dict[str, str]] = {}

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, list):
                value = tuple(value)
            if isinstance(value, os.PathLike):  # a path setting is its string: JSON-plain
                value = os.fspath(value)
            if isinstance(value, tuple):
                value = tuple(os.fspath(v) if isinstance(v, os.PathLike) else v
                              for v in value)
            object.__setattr__(self, f.name, value)
        self.validate()

    def validate(self) -> None:
        """Refuse impossible values with a ``ValueError`` naming the field."""

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    def hash(self) -> str:
        return config_hash(self.to_dict())

    @classmethod
    def from_dict(cls, values: dict[str, Any], where: str = "") -> StageConfig:
        """Build from a pipeline-file table: unknown keys and bad values are one line;
        a single value where a list is expected is taken as a list of one."""
        names = {f.name: f for f in fields(cls)}
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise UserError(f"{where}has no key {', '.join(unknown)} (known: "
                            f"{', '.join(sorted(names))})")
        clean: dict[str, Any] = {}
        for key, value in values.items():
            kind = field_type(cls, key)
            if kind is tuple and not isinstance(value, list | tuple):
                value = [value]
            clean[key] = value
        try:
            return cls(**clean)
        except (ValueError, TypeError) as e:
            raise UserError(f"{where}{e}") from None


def field_type(cls: type, name: str) -> type:
    """The plain type of a field: str, int, float, bool or tuple (None allowed or not)."""
    hint = typing.get_type_hints(cls)[name]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        hint = args[0]
    origin = typing.get_origin(hint) or hint
    return tuple if origin is tuple else origin


def field_default(f: Any) -> Any:
    return f.default_factory() if f.default is MISSING else f.default


def _range(name: str, value: float | None, lo: float | None = None,
           hi: float | None = None) -> None:
    if value is None:
        return
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        bounds = f"at least {lo}" if hi is None else f"between {lo} and {hi}"
        raise ValueError(f"{name} must be {bounds}, not {value}")


def _choice(name: str, value: str | None, choices: tuple[str, ...]) -> None:
    if value is not None and value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, not {value!r}")


@dataclass(frozen=True)
class TagsConfig(StageConfig):
    HELP: ClassVar[dict[str, str]] = {
        "min_tag_weight": "ignore tag entries whose Last.fm weight (0-100) is below this",
        "exclusions": "exclusion list replacing the shipped default (a file)",
    }
    min_tag_weight: float = 0.0
    exclusions: str | None = None

    def validate(self) -> None:
        _range("min_tag_weight", self.min_tag_weight, 0, 100)


@dataclass(frozen=True)
class SearchConfig(StageConfig):
    HELP: ClassVar[dict[str, str]] = {
        "backend": "api: YouTube Data API v3 (needs a key); ytdlp: yt-dlp search, no key",
        "daily_quota": "API units this pipeline may spend per Pacific-time day",
        "results": "candidates fetched per song (a search.list page holds 50)",
        "min_score": "lowest total score of a match",
        "min_title": "lowest title similarity of a match",
        "min_artist": "lowest artist similarity (title or channel)",
        "duration_tolerance": "seconds a video may differ from the MSD duration",
        "duration_tolerance_pct": "the same as a percentage; the larger one applies",
        "version_penalty": "points taken per penalty word found",
        "qualifier_penalty": "points taken per part of a video title that the song's artist "
                             "and title do not explain (0: off)",
        "official_bonus": "points for a Topic, VEVO or the artist's own channel",
        "penalty_words": "words marking another version (replaces the default list)",
    }
    backend: str = "api"
    daily_quota: int = 10_000
    results: int = 10
    min_score: float = _MATCH.min_score
    min_title: float = _MATCH.min_title
    min_artist: float = _MATCH.min_artist
    duration_tolerance: float = _MATCH.duration_tolerance
    duration_tolerance_pct: float = _MATCH.duration_tolerance_pct
    version_penalty: float = _MATCH.version_penalty
    qualifier_penalty: float = _MATCH.qualifier_penalty
    official_bonus: float = _MATCH.official_bonus
    penalty_words: tuple[str, ...] = _MATCH.penalty_words

    def validate(self) -> None:
        _choice("backend", self.backend, ("api", "ytdlp"))
        _range("daily_quota", self.daily_quota, 0)
        _range("results", self.results, 1, 500)
        for name in ("min_score", "min_title", "min_artist"):
            _range(name, getattr(self, name), 0, 100)
        for name in ("duration_tolerance", "duration_tolerance_pct", "version_penalty",
                     "qualifier_penalty", "official_bonus"):
            _range(name, getattr(self, name), 0)

    def match(self) -> MatchConfig:
        """The chooser's settings."""
        words = tuple(w.strip() for w in self.penalty_words if w.strip())
        return MatchConfig(min_score=self.min_score, min_title=self.min_title,
                           min_artist=self.min_artist,
                           duration_tolerance=self.duration_tolerance,
                           duration_tolerance_pct=self.duration_tolerance_pct,
                           version_penalty=self.version_penalty,
                           qualifier_penalty=self.qualifier_penalty,
                           official_bonus=self.official_bonus,
                           penalty_words=words or _MATCH.penalty_words)


@dataclass(frozen=True)
class DownloadConfig(StageConfig):
    HELP: ClassVar[dict[str, str]] = {
        "jobs": "songs fetched at once",
        "rate": "videos an hour across all workers together, jittered (0: unpaced); "
                "YouTube tolerates about 300 an hour per session",
        "sleep": "seconds each worker waits between downloads",
        "socket_timeout": "seconds before a stalled connection fails",
        "retries": "yt-dlp's retries of one download",
        "rate_limit_wait": "seconds to pause every worker after an HTTP 429",
        "keep_original": "keep each downloaded file beside its segments",
    }
    jobs: int = 1
    rate: float = 240.0
    sleep: float = 0.0
    socket_timeout: float = 30.0
    retries: int = 3
    rate_limit_wait: float = 60.0
    keep_original: bool = False

    def validate(self) -> None:
        _range("jobs", self.jobs, 1)
        _range("rate", self.rate, 0)
        _range("sleep", self.sleep, 0)
        _range("retries", self.retries, 0)
        _range("rate_limit_wait", self.rate_limit_wait, 0)
        if self.socket_timeout <= 0:
            raise ValueError("socket_timeout must be above 0")


@dataclass(frozen=True)
class ImagesConfig(StageConfig):
    HELP: ClassVar[dict[str, str]] = {
        "verified_only": "keep only images whose votes confirm the emotion (vote CSVs)",
        "jobs": "worker processes for the checks (0: every core)",
        "min_size": "smallest width and height in pixels",
        "max_pixels": "larger images are refused as decompression bombs",
        "placeholder_copies": "identical files seen this often are placeholders",
        "timeout": "seconds per URL fetch",
        "max_bytes": "largest download accepted",
        "retries": "tries per URL",
        "fetch_jobs": "URLs fetched at once",
        "allow_missing_classes": "go on when no image of a class (or, for images on disk, "
                                 "of an emotion) is found, instead of refusing",
    }
    verified_only: bool = False
    jobs: int = 0
    min_size: int = 64
    max_pixels: int = 89_478_485
    placeholder_copies: int = 5
    timeout: float = 20.0
    max_bytes: int = 20 * 1024 * 1024
    retries: int = 2
    fetch_jobs: int = 16
    allow_missing_classes: bool = False

    def validate(self) -> None:
        for name in ("jobs", "min_size", "retries"):
            _range(name, getattr(self, name), 0)
        for name in ("max_pixels", "placeholder_copies", "max_bytes", "fetch_jobs"):
            _range(name, getattr(self, name), 1)


@dataclass(frozen=True)
class FeaturesConfig(StageConfig):
    HELP: ClassVar[dict[str, str]] = {
        "modality": "which store(s) to build (all: music and images)",
        "device": "where to compute (cuda: an NVIDIA GPU)",
        "jobs": "worker processes, each computing whole shards (0: one per available core; "
                "with device cuda, one process feeding the GPU)",
        "executor": "local processes, or an existing Dask cluster",
        "engine": "music engine: reference, fast or torch (default: fast on cpu, torch on "
                  "cuda)",
        "weights": "Inception-v3 weights: fid-helper, fid-helper:PATH, torchvision or "
                   "torchvision:PATH",
        "shard_size": "items per shard (default: 32 segments, 256 with torch, 256 images)",
        "batch_size": "images per inference batch",
    }
    modality: str = "all"
    device: str = "cpu"
    jobs: int = 0
    executor: str = "local"
    engine: str | None = None
    weights: str = "fid-helper"
    shard_size: int | None = None
    batch_size: int = 32

    def validate(self) -> None:
        _choice("modality", self.modality, ("music", "images", "all", "spectrograms",
                                            "pixels"))
        _choice("device", self.device, ("cpu", "cuda"))
        _choice("executor", self.executor, ("local", "dask"))
        _choice("engine", self.engine, ("reference", "fast", "torch"))
        _range("jobs", self.jobs, 0)
        _range("shard_size", self.shard_size, 1)
        _range("batch_size", self.batch_size, 1)


@dataclass(frozen=True)
class SplitConfig(StageConfig):
    HELP: ClassVar[dict[str, str]] = {
        "seed": "seed of the split and of the pairs",
        "protocol": "balanced (every single-modality rule scores 50%) or paper (one true "
                    "and one uniformly drawn false partner per image)",
        "phash_distance": "images whose 64-bit perceptual hashes differ in at most this "
                          "many bits are one group (with --image-root)",
    }
    seed: int = 0
    protocol: str = "balanced"
    phash_distance: int = 4

    def validate(self) -> None:
        _range("seed", self.seed, 0, 2**32 - 1)
        _choice("protocol", self.protocol, ("balanced", "paper"))
        _range("phash_distance", self.phash_distance, 0, 64)


@dataclass(frozen=True)
class EvaluateConfig(StageConfig):
    HELP: ClassVar[dict[str, str]] = {
        "device": "auto (cuda when there is one), cpu or cuda",
        "retrieval_images": "test images used as retrieval queries (none: all on a GPU, "
                            "300 on the CPU; 0 skips retrieval)",
    }
    device: str = "auto"
    retrieval_images: int | None = None

    def validate(self) -> None:
        _choice("device", self.device, ("auto", "cpu", "cuda"))
        _range("retrieval_images", self.retrieval_images, 0)


@dataclass(frozen=True)
class ReleaseConfig(StageConfig):
    HELP: ClassVar[dict[str, str]] = {
        "name": "dataset name",
        "url": "where the dataset is published (Croissant url)",
        "license_url": "license URL of the manifest (default CC BY 4.0)",
    }
    name: str = "imac"
    url: str = ""
    license_url: str = ""


@dataclass(frozen=True)
class RebuildConfig(StageConfig):
    HELP: ClassVar[dict[str, str]] = {
        "jobs": "songs fetched at once",
        "sleep": "seconds each worker waits between downloads",
    }
    jobs: int = 1
    sleep: float = 0.0

    def validate(self) -> None:
        _range("jobs", self.jobs, 1)
        _range("sleep", self.sleep, 0)


#: Every configurable command and its dataclass, in pipeline order.
CONFIGS: dict[str, type[StageConfig]] = {
    "tags": TagsConfig, "search": SearchConfig, "download": DownloadConfig,
    "images": ImagesConfig, "features": FeaturesConfig, "split": SplitConfig,
    "evaluate": EvaluateConfig,
    "release": ReleaseConfig, "rebuild": RebuildConfig,
}


def load_config(path: Path) -> dict[str, dict[str, Any]]:
    """Read a pipeline file's tables as they are; UserError when it is not TOML of tables."""
    try:
        with Path(path).open("rb") as fh:
            doc = tomllib.load(fh)
    except FileNotFoundError:
        raise UserError(f"config file {path} does not exist") from None
    except IsADirectoryError:
        raise UserError(f"config file {path} is a folder, not a TOML file") from None
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"config file {path} is not valid TOML: {e}") from None
    except UnicodeDecodeError:
        raise UserError(f"config file {path} is not UTF-8 text") from None
    for key, value in doc.items():
        if not isinstance(value, dict):
            raise UserError(f"config file {path}: '{key}' must be a table ([{key}])")
    return doc


def load_pipeline(path: Path | str | None = None) -> dict[str, StageConfig]:
    """Every stage's configuration from a pipeline file (defaults where it is silent).

    Keys that are not configuration (input paths such as ``lastfm``, given to the CLI as
    option defaults) are left out here.
    """
    doc = load_config(Path(path)) if path is not None else {}
    return {name: stage_config(name, doc.get(name, {}), Path(path) if path else None)
            for name in CONFIGS}


def stage_config(name: str, values: dict[str, Any], path: Path | None = None) -> StageConfig:
    """One stage's configuration from a table's values (other keys ignored)."""
    cls = CONFIGS[name]
    names = {f.name for f in fields(cls)}
    where = f"config file {path}: [{name}] " if path else f"[{name}] "
    return cls.from_dict({k: v for k, v in values.items() if k in names}, where)


def config_hash(values: dict[str, Any]) -> str:
    """A stable sha256 of a configuration (sorted keys, JSON), for provenance."""
    blob = json.dumps(values, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


__all__ = ["CONFIGS", "StageConfig", "config_hash", "load_config", "load_pipeline"]
