"""The ``imac-build plan`` command (click only; the arithmetic is in :mod:`..plan`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..config import DEFAULT_RATE, MAX_RESULTS
from ..plan import IMAC_IMAGES
from .subset_options import subset_options, subset_spec

if TYPE_CHECKING:
    from .app import App


@click.command()
@click.option("--lastfm", "lastfm", multiple=True, type=click.Path(path_type=Path),
              help="The MSD Last.fm tags tags would read (repeatable); default: the work "
                   "directory's tags/songs.csv.")
@click.option("--metadata", type=click.Path(path_type=Path),
              help="track_metadata.db or unique_tracks.txt, as for tags.")
@click.option("--exclusions", type=click.Path(path_type=Path),
              help="Exclusion list replacing the shipped default, as for tags.")
@click.option("--rate", type=click.FloatRange(0),
              help=f"Videos an hour the download will run at (default: download's, "
                   f"{DEFAULT_RATE:g}).")
@click.option("--daily-quota", type=click.IntRange(0),
              help="API units a day (default: a new project's 10,000).")
@click.option("--results", type=click.IntRange(1, MAX_RESULTS), default=10, show_default=True,
              help="Candidates fetched per song, as search --results.")
@click.option("--images", type=click.IntRange(0), default=IMAC_IMAGES, show_default=True,
              help="Images the feature stores will hold (default: IMAC's, paper Table 3; "
                   "the plan says so).")
@click.option("--cores", type=click.IntRange(1),
              help="Cores for the hours here (default: this process's).")
@subset_options(forget=False)
@click.pass_obj
def plan(app: App, lastfm: tuple[Path, ...], metadata: Path | None, exclusions: Path | None,
         rate: float | None, daily_quota: int | None, results: int, images: int,
         cores: int | None, **subset: object) -> None:
    """What a build will cost, before anything is spent: songs, searches and days of quota
    per backend, videos and hours, disk, hours of features and training."""
    from ..plan import run_plan

    spec, _ = subset_spec(subset)
    # nothing is written, so no lock and no log: the work directory may not exist
    summary = run_plan(app.workdir.root, list(lastfm), metadata, exclusions, rate,
                       daily_quota, results, images, cores, spec, progress=app.progress)
    if app.json:
        click.echo(json.dumps({"command": "plan", **summary.to_dict()}, sort_keys=True))
    elif not app.quiet:
        click.echo("\n".join(summary.lines()))
