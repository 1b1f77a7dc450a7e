"""``imac-build search``: the click front end of :func:`run_search`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from .app import configured, ytdlp_options
from .subset_options import subset_options, subset_spec, typed_subset_options

if TYPE_CHECKING:
    from ..config import SearchConfig
    from .app import App

#: Exit status of a search stopped by the daily quota with songs left (EX_TEMPFAIL):
#: run the same command after the reset.
QUOTA_STOP_EXIT = 75
#: Exit status of a search stopped by failed searches in a row (EX_UNAVAILABLE: the
#: network or the backend is down): the same command picks those songs up again.
FAILURES_STOP_EXIT = 69


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
@subset_options
@click.pass_obj
def search(app: App, limit: int | None, rerank: bool, rematch: bool,
           retry_failed: str | None, api_key_file: Path | None, js_runtime: str | None,
           cookies_from_browser: str | None, extractor_args: tuple[str, ...],
           config: SearchConfig, **subset: object) -> None:
    """Find each labelled song on YouTube and choose its video (resumable)."""
    from ..errors import UserError
    from ..search.stage import run_search
    from ..ytdlp_access import YtdlpAccess

    typed = typed_subset_options()
    if (rerank or rematch) and typed:
        raise UserError(f"--{'rerank' if rerank else 'rematch'} chooses again for every "
                        "searched song: subset options do not apply to it; leave out "
                        f"{', '.join(typed)}")
    spec, no_subset = subset_spec(subset)
    if rerank or rematch:  # from a pipeline file: no subset applies to choosing again
        spec, no_subset = None, False
    summary = app.run("search", run_search, workdir=app.workdir, config=config, limit=limit,
                      subset=spec, no_subset=no_subset,
                      rerank=rerank, rematch=rematch, retry_failed=retry_failed or False,
                      api_key_file=api_key_file, progress=app.progress,
                      access=YtdlpAccess(js_runtime, cookies_from_browser,
                                         tuple(extractor_args)))
    from ..search.stage import MAX_FAILURES_IN_A_ROW

    if summary.stopped and summary.failed_in_a_row >= MAX_FAILURES_IN_A_ROW:
        click.get_current_context().exit(FAILURES_STOP_EXIT)  # cron can tell it apart
    by_quota = summary.stopped and summary.failed_in_a_row < MAX_FAILURES_IN_A_ROW
    if by_quota and summary.remaining:
        # stopped by the quota with songs left: not an error, but a cron job can tell
        click.get_current_context().exit(QUOTA_STOP_EXIT)
