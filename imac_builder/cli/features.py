"""``imac-build features``: the click front end of :func:`run_features`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from .app import Folder, configured

if TYPE_CHECKING:
    from ..config import FeaturesConfig
    from .app import App


@configured("features")
@click.command()
@click.option("--scheduler", metavar="ADDRESS",
              help="Dask scheduler address (tcp://host:8786) for --executor dask.")
@click.option("--image-root", type=Folder(),
              help="Folder that images/images.csv paths are relative to (default: "
                   "W/images/files, the images stage's default, when it exists).")
@click.option("--force", is_flag=True,
              help="Discard results made with another configuration and rebuild.")
@click.pass_obj
def features(app: App, scheduler: str | None, image_root: Path | None, force: bool,
             config: FeaturesConfig) -> None:
    """Compute music (193-d) and image (Inception-v3, 2048-d) feature stores (resumable)."""
    from ..features.stage import run_features

    image_root = app.image_root(image_root)
    app.run("features", run_features, workdir=app.workdir, config=config,
            scheduler=scheduler, image_root=image_root, force=force, progress=app.progress)
