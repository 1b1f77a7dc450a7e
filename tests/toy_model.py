"""A model that is not built in: registered by tests/test_registry.py with one line."""

from __future__ import annotations

import torch
from torch import nn


class Toy(nn.Module):
    """Each side projected to 8 dimensions; their product and the sides, then 2 logits."""

    eval_batch = 256

    def __init__(self, image_dim: int, music_dim: int) -> None:
        super().__init__()
        self.image = nn.Linear(image_dim, 8)
        self.music = nn.Linear(music_dim, 8)
        self.out = nn.Linear(24, 2)

    def fit_inputs(self, image_x: torch.Tensor, image_rows: torch.Tensor,
                   music_x: torch.Tensor, music_rows: torch.Tensor) -> None:
        pass

    def embed_image(self, x: torch.Tensor) -> torch.Tensor:
        return self.image(x.float())

    def embed_music(self, x: torch.Tensor) -> torch.Tensor:
        return self.music(x.float() / 50)

    def fuse(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.out(torch.cat([a, b, a * b], dim=1))

    def forward(self, image: torch.Tensor, music: torch.Tensor) -> torch.Tensor:
        return self.fuse(self.embed_image(image), self.embed_music(music))


def build(config: dict) -> Toy:
    return Toy(config["image_shape"][0], config["music_shape"][0])
