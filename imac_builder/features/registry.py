"""Feature extractors by name, and the music engines: one build path for every store.

Each extractor's builder takes the work directory and the stage's ``BuildOptions``
(device, jobs, the executor, weights, ...) and returns a ``ModalitySummary``; the names
are the choices of ``features --modality``. Entries name a ``module:function`` that is
imported on use, so this module loads nothing heavy and imports no extractor.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from ..errors import UserError

#: store name -> its builder (``docs/contributing.md``, "Add a feature extractor").
EXTRACTORS: dict[str, str] = {
    "music": "imac_builder.features.stage:build_music",
    "images": "imac_builder.features.stage:build_images",
    "spectrograms": "imac_builder.features.spectrogram:build",
    "pixels": "imac_builder.features.pixels:build",
}
#: Where shards are computed: local processes, or an existing Dask cluster.
EXECUTORS: tuple[str, ...] = ("local", "dask")
#: music engine -> its per-segment function (the same 193 numbers, spec §5).
MUSIC_ENGINES: dict[str, str] = {
    "reference": "imac_builder.features.music:reference_segment",
    "fast": "imac_builder.features.music:fast_segment",
    "torch": "imac_builder.features.music_torch:torch_segment",
}


def _load(spec: str) -> Any:
    module, name = spec.split(":")
    return getattr(importlib.import_module(module), name)


def builder(name: str) -> Callable[..., Any]:
    """The builder of a registered store."""
    if name not in EXTRACTORS:
        raise UserError(f"unknown feature store {name!r} (choose from "
                        f"{', '.join(EXTRACTORS)})")
    return _load(EXTRACTORS[name])


def music_engine(engine: str) -> Callable[[Any], Any]:
    """The per-segment function of a music engine. ``torch`` here runs on the CPU, one
    segment at a time; the stage batches it on the device instead."""
    if engine not in MUSIC_ENGINES:
        raise UserError(f"unknown music engine {engine!r} (choose from "
                        f"{', '.join(MUSIC_ENGINES)})")
    return _load(MUSIC_ENGINES[engine])
