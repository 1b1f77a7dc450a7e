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

    def function(self) -> Callable[..., Any]:
        """The run function (its module is imported now)."""
        module, name = self.run.split(":")
        return getattr(importlib.import_module(module), name)

    def missing_inputs(self, root: Path | str) -> list[T.File]:
        """Declared inputs not yet written under ``root``."""
        return [f for f in self.inputs if not f.at(root).exists()]


STAGES: tuple[Stage, ...] = (
    Stage("tags", "imac_builder.tags.stage:run_tags", (),
          (T.SONGS, T.EMOTION_TAGS, T.TAGS_REPORT),
          "--lastfm lastfm_tags.db --metadata track_metadata.db"),
    Stage("search", "imac_builder.search.stage:run_search", (T.SONGS,),
          (T.CANDIDATES, T.MATCHES)),
    Stage("download", "imac_builder.download.stage:run_download", (T.SONGS, T.MATCHES),
          (T.SEGMENTS, T.LEDGER)),
    Stage("images", "imac_builder.images.stage:run_images", (), (T.IMAGES, T.IMAGES_REPORT),
          "--image-root IMAGE_EMOTION_DIR"),
    Stage("features", "imac_builder.features.stage:run_features", (T.SEGMENTS, T.IMAGES),
          (T.MUSIC_STORE, T.IMAGE_STORE), "--image-root IMAGE_EMOTION_DIR"),
    Stage("split", "imac_builder.train.split:run_split", (T.MUSIC_STORE, T.IMAGE_STORE),
          (T.SPLITS, *T.PAIRS.values(), T.SPLIT_INFO)),
    Stage("train", "imac_builder.train.trainer:run_train",
          (T.MUSIC_STORE, T.IMAGE_STORE, T.SPLITS, *T.PAIRS.values()), (T.RUN,)),
    Stage("evaluate", "imac_builder.train.evaluate:run_evaluate", (T.SPLITS, *T.PAIRS.values()),
          (T.RUN,)),
    Stage("release", "imac_builder.release.stage:run_release",
          (T.SONGS, T.MATCHES, T.SEGMENTS), (T.MANIFEST,),
          "--name imac --version X.Y.Z"),
)
BY_NAME: dict[str, Stage] = {s.name: s for s in STAGES}
ORDER: tuple[str, ...] = tuple(s.name for s in STAGES)


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
