"""The models ``train`` and ``evaluate`` know: what each reads, how it is built, how its
inputs are prepared and which recipe it trains with by default (no torch at import).

The trainer, the data loader and the evaluator ask this registry instead of testing model
names. A new model is its own module (a builder and, if its inputs need preparing, a
pipeline) and one :func:`register` call::

    register(ModelEntry("toy", "Toy", stores=("images", "music"),
                        builder="mypkg.toy:build"))

``builder(config) -> nn.Module`` receives the checkpoint's model configuration (the
:class:`ModelEntry.arch_fields` of the run's ``TrainConfig``, ``image_shape`` and
``music_shape``); the module must offer ``fit_inputs``, ``embed_image``, ``embed_music``,
``fuse``, ``forward`` and ``eval_batch`` (see ``model.ACPNet``). ``pipeline(image_array,
music_array, config) -> (image_x, music_x)`` turns the two stores' arrays into CPU
tensors (default: the arrays as they are).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import UserError

ACP_ARCH = ("image_widths", "music_widths", "fusion_widths", "dropout", "subnet_dropout",
            "norm", "init")


@dataclass(frozen=True)
class ModelEntry:
    name: str  #: the ``--model`` value
    paper_name: str  #: its row in Table 4
    stores: tuple[str, str]  #: image and music stores (``features/<name>.h5``)
    builder: str  #: "module:function", config dict -> nn.Module
    pipeline: str = "imac_builder.train.data:as_tensors"  #: "module:function"
    recipe: str = "default"  #: the recipe a run gets when none is named
    #: TrainConfig fields the network is built from (saved in the checkpoint)
    arch_fields: tuple[str, ...] = ACP_ARCH
    #: recipe fields the training uses (metrics record only these)
    recipe_fields: tuple[str, ...] = ("lr", "batch_size", "dropout", "subnet_dropout",
                                      "norm", "init", "min_epochs", "pairs_per_image",
                                      "class_head_weight")
    class_heads: bool = True  #: can train with per-modality class heads
    autocast: bool = False  #: bf16 autocast and channels_last on a GPU
    #: the music input's last axis may differ between stores (crops are taken from it)
    variable_music_length: bool = False
    paper_accuracy: float | None = None  #: paper Table 4 (%), None when not in the paper

    def build(self, config: dict) -> Any:
        return _resolve(self.builder)(config)

    def prepare(self, image_array: Any, music_array: Any, config: Any) -> tuple[Any, Any]:
        return _resolve(self.pipeline)(image_array, music_array, config)


def _resolve(dotted: str) -> Callable[..., Any]:
    module, _, name = dotted.partition(":")
    return getattr(importlib.import_module(module), name)


REGISTRY: dict[str, ModelEntry] = {}


def register(entry: ModelEntry) -> ModelEntry:
    REGISTRY[entry.name] = entry
    return entry


def get(name: str) -> ModelEntry:
    try:
        return REGISTRY[name]
    except KeyError:
        raise UserError(f"unknown model {name!r}: choose {', '.join(REGISTRY)}") from None


register(ModelEntry("acp", "ACP-Net", ("images", "music"),
                    "imac_builder.train.model:build_acp", paper_accuracy=61.67))
register(ModelEntry("spectrogram-acp", "Spectrogram-ACP", ("images", "spectrograms"),
                    "imac_builder.train.model:build_acp",
                    pipeline="imac_builder.train.data:spectrogram_blocks",
                    arch_fields=(*ACP_ARCH, "spec_blocks"), paper_accuracy=55.84))
register(ModelEntry("l3", "L3-Net", ("pixels", "spectrograms"),
                    "imac_builder.train.model:build_l3",
                    pipeline="imac_builder.train.data:l3_inputs", recipe="l3",
                    arch_fields=("l3_channels", "l3_fusion", "crop_frames", "test_crops"),
                    recipe_fields=("lr", "batch_size", "min_epochs", "pairs_per_image"),
                    class_heads=False,
                    autocast=True, variable_music_length=True, paper_accuracy=57.17))

#: The built-in models, in the paper's Table 4 order (the CLI's ``--model`` choices).
MODELS = tuple(REGISTRY)
