"""The stage registry: the pipeline's shape, in order, written once.

Each :class:`Stage` names its run function (imported only when called, so the library
loads without any stage's dependencies), the declared files it reads and writes
(:mod:`imac_builder.tables`), and what ``status`` suggests to run it. The CLI's command
list, the "run X first" errors, ``status`` and the demo are derived from :data:`STAGES`.
Adding a stage is one package and one entry here (``docs/contributing.md``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import tables as T
from .config import CONFIGS, StageConfig
from .errors import UserError


@dataclass(frozen=True)
class Stage:
    """One stage of the pipeline."""

    name: str
    #: ``module:function`` of the library function that runs it.
    run: str
    inputs: tuple[T.File, ...]
    outputs: tuple[T.File, ...]
    #: The arguments ``status`` suggests after ``imac-build <name>``.
    hint: str = ""
    #: Optional modules it imports (``doctor`` checks them; a missing one names its
    #: extra, and the demo asks for all of them first).
    modules: tuple[str, ...] = ()
    #: What it needs from the machine, as words of :data:`NEEDS` (``doctor --for``).
    needs: tuple[str, ...] = ()
    #: ``module:function`` judging its state for ``status`` (a ``StageState`` from the
    #: tables ``status`` has read); "" for a stage ``status`` does not judge.
    judge: str = ""

    @property
    def config(self) -> type[StageConfig] | None:
        """Its configuration dataclass (the ``[<name>]`` table), if it has settings."""
        return CONFIGS.get(self.name)

    def function(self) -> Callable[..., Any]:
        """The run function (its module is imported now)."""
        module, name = self.run.split(":")
        return getattr(importlib.import_module(module), name)

    def judgement(self) -> Callable[..., Any]:
        """The function judging its state (its module is imported now)."""
        module, name = self.judge.split(":")
        return getattr(importlib.import_module(module), name)

    def missing_inputs(self, root: Path | str) -> list[T.File]:
        """Declared inputs not yet written under ``root``."""
        return [f for f in self.inputs if not f.at(root).exists()]


#: What a stage may need from the machine (``doctor`` names the stages needing each):
#: ``ffmpeg`` (and its decoders), ``youtube`` (yt-dlp, its JS runtime, cookies),
#: ``api_key`` (the YouTube Data API key, for ``search --backend api``), ``backend`` (an
#: installed search backend, the configured one above all), ``disk`` (space
#: for audio and stores), ``torch``, ``gpu`` (with ``--device cuda`` only), ``nvjpeg``
#: (torchvision's GPU JPEG decoder, with ``--device cuda`` only), ``inception`` (the
#: image model's weights).
NEEDS = ("ffmpeg", "youtube", "api_key", "backend", "disk", "torch", "gpu", "nvjpeg",
         "inception")

STAGES: tuple[Stage, ...] = (
    Stage("tags", "imac_builder.tags.stage:run_tags", (),
          (T.SONGS, T.EMOTION_TAGS, T.TAGS_REPORT),
          "--lastfm lastfm_tags.db --metadata track_metadata.db",
          judge="imac_builder.status:judge_tags"),
    Stage("search", "imac_builder.search.stage:run_search", (T.SONGS,),
          (T.CANDIDATES, T.MATCHES), modules=("rapidfuzz", "tzdata"),
          needs=("api_key", "backend"),
          judge="imac_builder.status:judge_search"),
    Stage("download", "imac_builder.download.stage:run_download", (T.SONGS, T.MATCHES),
          (T.SEGMENTS, T.LEDGER), modules=("yt_dlp", "soundfile"),
          needs=("ffmpeg", "youtube", "disk"), judge="imac_builder.status:judge_download"),
    Stage("images", "imac_builder.images.stage:run_images", (), (T.IMAGES, T.IMAGES_REPORT),
          "--image-root IMAGE_EMOTION_DIR", modules=("PIL",),
          judge="imac_builder.status:judge_images"),
    Stage("features", "imac_builder.features.stage:run_features", (T.SEGMENTS, T.IMAGES),
          (T.MUSIC_STORE, T.IMAGE_STORE), "--image-root IMAGE_EMOTION_DIR",
          modules=("librosa", "soundfile", "h5py", "PIL", "threadpoolctl"),
          needs=("ffmpeg", "disk", "torch", "gpu", "nvjpeg", "inception"),
          judge="imac_builder.status:judge_features"),
    Stage("split", "imac_builder.train.split:run_split", (T.MUSIC_STORE, T.IMAGE_STORE),
          (T.SPLITS, *T.PAIRS.values(), T.SPLIT_INFO), judge="imac_builder.status:judge_split"),
    Stage("train", "imac_builder.train.trainer:run_train",
          (T.MUSIC_STORE, T.IMAGE_STORE, T.SPLITS, *T.PAIRS.values()), (T.RUN,),
          modules=("h5py", "matplotlib"), needs=("torch", "gpu"),
          judge="imac_builder.status:judge_train"),
    Stage("evaluate", "imac_builder.train.evaluate:run_evaluate", (T.SPLITS, *T.PAIRS.values()),
          (T.RUN,), modules=("matplotlib",),
          judge="imac_builder.status:judge_evaluate"),
    Stage("release", "imac_builder.release.stage:run_release",
          (T.SONGS, T.MATCHES, T.SEGMENTS), (T.MANIFEST,),
          "--name imac --version X.Y.Z", modules=("mlcroissant",)),
)
BY_NAME: dict[str, Stage] = {s.name: s for s in STAGES}
ORDER: tuple[str, ...] = tuple(s.name for s in STAGES)
#: The demo runs every stage on the built-in sample (not a stage: it writes no table of
#: its own); what it needs is listed here beside the stages'.
DEMO = Stage("demo", "imac_builder.demo:run_demo", (), (),
             modules=("PIL", "soundfile", "yt_dlp", "librosa", "h5py", "matplotlib",
                      "rapidfuzz", "threadpoolctl", "torch"),
             needs=("ffmpeg", "disk", "torch", "inception"))


def needing(what: str, cuda: bool = False) -> list[str]:
    """The stages (and the demo) that need ``what`` from the machine; ``gpu`` and
    ``nvjpeg`` only when they will compute on CUDA."""
    assert what in NEEDS, what
    if what in ("gpu", "nvjpeg") and not cuda:
        return []
    return [s.name for s in (*STAGES, DEMO) if what in s.needs]


def get(name: str) -> Stage:
    try:
        return BY_NAME[name]
    except KeyError:
        raise UserError(f"no stage named {name!r} (stages: {', '.join(ORDER)})") from None


def writers_of(name: str) -> list[str]:
    """The stages that write a stage's inputs, in pipeline order."""
    want = {f.writer for f in get(name).inputs}
    return [s for s in ORDER if s in want]


def needs_message(name: str, root: Path | str) -> str | None:
    """The "run X first" line for a stage whose work directory does not exist yet."""
    before = writers_of(name)
    if not before or Path(root).is_dir():
        return None
    return (f"work directory {root} does not exist: run the {' and '.join(before)} "
            f"stage{'s' if len(before) > 1 else ''} first (or give the right --workdir)")


def check_inputs(name: str, root: Path | str) -> None:
    """Raise the uniform "run X first" line for the first declared input that is missing."""
    missing = get(name).missing_inputs(root)
    if missing:
        raise T.missing_error(root, missing[0])


def call(name: str, *args: Any, **kwargs: Any) -> Any:
    """Run a stage's library function by name."""
    return get(name).function()(*args, **kwargs)
