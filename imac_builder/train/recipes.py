"""Named training recipes: presets of :class:`imac_builder.config.TrainConfig` (no torch:
the configuration and the CLI import this).

- ``default``: label-free (pair labels only, as the paper), and learns at the paper's
  widths: batch normalisation after every hidden layer, no dropout, Adam at 1e-3, batches
  of 64 pairs, 8 training pairs per image and epoch (more steps per epoch: the initial
  plateau lasts a few hundred steps).
- ``paper``: paper §4 read literally: Adam at 1e-4, dropout 0.4 after every hidden layer,
  torch's initialisation, batches of 256; label-free too. It stays on the initial plateau
  (docs/train.md, "Recipes").
- ``class-heads``: "ACP-Net + class heads": each subnet's embedding also predicts its
  item's emotion class (training-only losses). It uses per-modality class labels, which the
  paper's network never sees, so its runs are never reported as plain ACP-Net.
- ``l3``: L3-Net at its documented settings (Adam at 1e-4, as both papers).
"""

from __future__ import annotations

from typing import Any

#: ACP-Net widths the paper leaves open (ours, spec §6).
IMAGE_WIDTHS = (1024, 1024)
MUSIC_WIDTHS = (512, 1024, 1024, 1024)
FUSION_WIDTHS = (1024, 512, 128)
L3_CHANNELS = (64, 128, 256, 512)  # the original's four conv blocks
L3_FUSION = 128  # fc1 1024 -> 128, fc2 128 -> 2

#: The fields a recipe sets; everything else in TrainConfig is the run's own.
RECIPE_FIELDS = ("lr", "batch_size", "dropout", "subnet_dropout", "norm", "init",
                 "min_epochs", "pairs_per_image", "class_head_weight")

RECIPES: dict[str, dict[str, Any]] = {
    "default": {"lr": 1e-3, "batch_size": 64, "dropout": 0.0, "subnet_dropout": False,
                "norm": "batch", "init": "torch", "min_epochs": 5,
                "pairs_per_image": 8, "class_head_weight": 0.0},
    "paper": {"lr": 1e-4, "batch_size": 256, "dropout": 0.4, "subnet_dropout": True,
              "norm": "none", "init": "torch", "min_epochs": 0, "pairs_per_image": 2,
              "class_head_weight": 0.0},
    "class-heads": {"lr": 1e-3, "batch_size": 32, "dropout": 0.4, "subnet_dropout": True,
                    "norm": "none", "init": "kaiming", "min_epochs": 5,
                    "pairs_per_image": 2, "class_head_weight": 1.0},
    "l3": {"lr": 1e-4, "batch_size": 64, "dropout": 0.0, "subnet_dropout": False,
           "norm": "batch", "init": "torch", "min_epochs": 0, "pairs_per_image": 2,
           "class_head_weight": 0.0},
}
NORMS = ("batch", "none")
INITS = ("torch", "kaiming")


def uses_class_labels(config: Any) -> bool:
    """Whether a run's training saw per-modality class labels (beyond the pair labels)."""
    weight = config.get("class_head_weight", config.get("aux_weight", 0.0)) \
        if isinstance(config, dict) else config.class_head_weight
    return float(weight or 0.0) > 0


def row_name(paper_name: str, config: dict) -> str:
    """The name a run goes by in every table: a run trained with class heads is never
    plain "ACP-Net"."""
    return f"{paper_name} + class heads" if uses_class_labels(config) else paper_name
