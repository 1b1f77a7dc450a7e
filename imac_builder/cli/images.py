"""The ``images`` command: parses options and calls :func:`run_images`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from .app import Folder, configured

if TYPE_CHECKING:
    from ..config import ImagesConfig
    from .app import App


@configured("images")
@click.command()
@click.option("--image-root", "--root", "root", type=Folder(),
              help="Image root: <emotion>/*.jpg folders and/or flat <emotion>_NNNN.jpg files. "
                   "Downloads land here too (default: W/images/files).")
@click.option("--votes", type=click.Path(file_okay=False, path_type=Path),
              help="Folder of the original vote CSVs (<emotion>_*.csv: id,url,disagree,agree); "
                   "images they list that are not on disk are downloaded.")
@click.option("--urls", "urls", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Image URL list to download (CSV with url,emotion[,image_id][,path], "
                   "<emotion>_*.csv vote rows, or one URL a line); repeatable.")
@click.option("--retry-failed", is_flag=True,
              help="Ask again for URLs that failed for good in an earlier run (404, too large).")
@click.option("--offline", is_flag=True,
              help="Download nothing; images not on disk are reported as missing.")
@click.pass_obj
def images(app: App, root: Path | None, votes: Path | None, urls: tuple[Path, ...],
           retry_failed: bool, offline: bool, config: ImagesConfig) -> None:
    """Check the Image Emotion database and regroup it into 3 classes (paper Table 1)."""
    from ..images.stage import run_images

    root = app.image_root(root)
    app.run("images", run_images, workdir=app.workdir, config=config, root=root, votes=votes,
            urls=list(urls), retry_failed=retry_failed, offline=offline,
            progress=app.progress)
