"""``imac-build tags``: the click front end of :func:`imac_builder.tags.run_tags`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from .app import App, configured

if TYPE_CHECKING:
    from ..config import TagsConfig


@configured("tags")
@click.command()
@click.option("--lastfm", "lastfm", multiple=True,
              type=click.Path(path_type=Path),
              help="lastfm_tags.db, a folder of track JSON files, or lastfm_*.zip (repeatable).")
@click.option("--metadata", type=click.Path(path_type=Path),
              help="track_metadata.db or unique_tracks.txt (omit for JSON input).")
@click.option("--imac-scores", type=click.Path(dir_okay=False, path_type=Path),
              help="The IMAC authors' Song Emotion Score File (CSV or TSV: song name, artist "
                   "name, posScore, neuScore, negScore): compare its labels with ours "
                   "(tags/imac_agreement.md). Alone, compares with the existing songs.csv.")
@click.pass_obj
def tags(app: App, lastfm: tuple[Path, ...], metadata: Path | None, imac_scores: Path | None,
         config: TagsConfig) -> None:
    """Label MSD songs positive/neutral/negative from their Last.fm tags."""
    from ..errors import UserError
    from ..tags import run_tags

    if not lastfm and imac_scores is None:
        raise UserError("give at least one --lastfm source (or --imac-scores FILE to compare "
                        "the authors' labels with an existing tags/songs.csv)")
    if lastfm:
        app.run("tags", run_tags, workdir=app.workdir, lastfm=list(lastfm),
                metadata=metadata, config=config, progress=app.progress)
    if imac_scores is not None:
        from ..tags.imac_scores import compare_imac_scores

        app.run("imac-scores", compare_imac_scores, workdir=app.workdir, scores=imac_scores,
                metadata=metadata, progress=app.progress)
