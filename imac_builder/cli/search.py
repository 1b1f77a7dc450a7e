"""``imac-build search``: the click front end of :func:`run_search`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from .app import configured, ytdlp_options

if TYPE_CHECKING:
    from ..config import SearchConfig
    from .app import App

#: Exit status of a search stopped by the daily quota with songs left (EX_TEMPFAIL):
#: run the same command after the reset.
QUOTA_STOP_EXIT = 75


@configured("search")
@click.command()
@click.option("--limit", type=click.IntRange(min=0), default=None,
              help="Search at most N songs in this run.")
@click.option("--rerank", is_flag=True,
              help="Recompute matches.csv from candidates.jsonl: no network, no quota.")
@click.option("--rematch", is_flag=True,
              help="Choose again, from stored candidates, for every song whose video failed "
                   "to download for good: no network, no quota.")
@click.option("--retry-failed", "retry_failed", is_flag=False, flag_value="all", default=None,
              metavar="[REASON]",
              help="Search again the songs left without a match: all of them, or those of one "
                   "reason (search_failed, no_match, below_threshold, no_candidates, "
                   "no_candidates_left).")
@click.option("--api-key-file", type=click.Path(dir_okay=False, path_type=Path),
              help="File holding the API key (default: $YOUTUBE_API_KEY).")
@ytdlp_options("ytdlp backend: ")
@click.pass_obj
def search(app: App, limit: int | None, rerank: bool, rematch: bool,
           retry_failed: str | None, api_key_file: Path | None, js_runtime: str | None,
           cookies_from_browser: str | None, extractor_args: tuple[str, ...],
           config: SearchConfig) -> None:
    """Find each labelled song on YouTube and choose its video (resumable)."""
    from ..search.stage import run_search
    from ..ytdlp_access import YtdlpAccess

    summary = app.run("search", run_search, workdir=app.workdir, config=config, limit=limit,
                      rerank=rerank, rematch=rematch, retry_failed=retry_failed or False,
                      api_key_file=api_key_file, progress=app.progress,
                      access=YtdlpAccess(js_runtime, cookies_from_browser,
                                         tuple(extractor_args)))
    from ..search.stage import MAX_FAILURES_IN_A_ROW

    by_quota = summary.stopped and summary.failed_in_a_row < MAX_FAILURES_IN_A_ROW
    if by_quota and summary.remaining:
        # stopped by the quota with songs left: not an error, but a cron job can tell
        click.get_current_context().exit(QUOTA_STOP_EXIT)
