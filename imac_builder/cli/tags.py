"""``imac-build tags``: the click front end of :func:`imac_builder.tags.run_tags`."""

from __future__ import annotations

from pathlib import Path

import click

from .app import App, configured


@configured("tags")
@click.command()
@click.option("--lastfm", "lastfm", multiple=True, required=True,
              type=click.Path(path_type=Path),
              help="lastfm_tags.db, a folder of track JSON files, or lastfm_*.zip (repeatable).")
@click.option("--metadata", type=click.Path(path_type=Path),
              help="track_metadata.db or unique_tracks.txt (omit for JSON input).")
@click.option("--exclusions", type=click.Path(path_type=Path),
              help="Exclusion list replacing the shipped default.")
@click.option("--min-tag-weight", type=click.FloatRange(0, 100),
              help="Ignore tag entries whose Last.fm weight is below this.")
@click.pass_obj
def tags(app: App, lastfm: tuple[Path, ...], metadata: Path | None, exclusions: Path | None,
         min_tag_weight: float) -> None:
    """Label MSD songs positive/neutral/negative from their Last.fm tags."""
    from ..tags import run_tags

    app.run("tags", run_tags, workdir=app.workdir, lastfm=list(lastfm), metadata=metadata,
            exclusions=exclusions, min_tag_weight=min_tag_weight, progress=app.progress)
