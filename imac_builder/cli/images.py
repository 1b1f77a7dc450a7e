"""The ``images`` command: parses options and calls :func:`run_images`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from .app import configured

if TYPE_CHECKING:
    from .app import App


@configured("images")
@click.command()
@click.option("--image-root", "--root", "root", type=click.Path(file_okay=False, path_type=Path),
              help="Image root: <emotion>/*.jpg folders and/or flat <emotion>_NNNN.jpg files. "
                   "Downloads land here too (default: W/images/files).")
@click.option("--votes", type=click.Path(file_okay=False, path_type=Path),
              help="Folder of the original vote CSVs (<emotion>_*.csv: id,url,disagree,agree); "
                   "images they list that are not on disk are downloaded.")
@click.option("--verified-only", is_flag=True,
              help="Keep only images with at least 3 agreeing votes of 5 (needs --votes).")
@click.option("--urls", "urls", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Image URL list to download (CSV with url,emotion[,image_id][,path], "
                   "<emotion>_*.csv vote rows, or one URL a line); repeatable.")
@click.option("--jobs", type=click.IntRange(min=0),
              help="Processes checking images (0: one per core).")
@click.option("--min-size", type=click.IntRange(min=1),
              help="Images whose shorter side is under this many pixels are too_small.")
@click.option("--max-pixels", type=click.IntRange(min=1),
              help="Images declaring more pixels are refused as bombs before decoding.")
@click.option("--placeholder-copies", type=click.IntRange(min=2),
              help="Content found this many times or more is a dead-link placeholder.")
@click.option("--timeout", type=click.FloatRange(min=0.1),
              help="Seconds to wait for a server to answer or send data.")
@click.option("--max-bytes", type=click.IntRange(min=1), help="Largest image file downloaded.")
@click.option("--retries", type=click.IntRange(min=0),
              help="Retries of a timeout, network error, 5xx or 429.")
@click.option("--fetch-jobs", type=click.IntRange(min=1), help="Parallel downloads.")
@click.option("--retry-failed", is_flag=True,
              help="Ask again for URLs that failed for good in an earlier run (404, too large).")
@click.option("--offline", is_flag=True,
              help="Download nothing; images not on disk are reported as missing.")
@click.option("--allow-missing-classes", is_flag=True,
              help="Go on when no input lists an image of one of the 3 classes (or, for "
                   "images under the root, of one of the 8 emotions); by default the stage "
                   "refuses, naming the layout and what it ignored.")
@click.pass_obj
def images(app: App, root: Path | None, votes: Path | None, verified_only: bool,
           urls: tuple[Path, ...], jobs: int, min_size: int, max_pixels: int,
           placeholder_copies: int, timeout: float, max_bytes: int, retries: int,
           fetch_jobs: int, retry_failed: bool, offline: bool,
           allow_missing_classes: bool) -> None:
    """Check the Image Emotion database and regroup it into 3 classes (paper Table 1)."""
    from ..images.stage import run_images

    root = app.image_root(root)
    app.run("images", run_images, workdir=app.workdir, root=root, votes=votes,
            verified_only=verified_only, urls=list(urls), jobs=jobs, min_size=min_size,
            max_pixels=max_pixels, placeholder_copies=placeholder_copies, timeout=timeout,
            max_bytes=max_bytes, retries=retries, fetch_jobs=fetch_jobs,
            retry_failed=retry_failed, offline=offline,
            allow_missing_classes=allow_missing_classes, progress=app.progress)
