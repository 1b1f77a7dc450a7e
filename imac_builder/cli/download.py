"""The ``imac-build download`` command (click only; the work is in :mod:`.stage`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from .app import configured, ytdlp_options
from .subset_options import subset_options, subset_spec

if TYPE_CHECKING:
    from .app import App


@configured("download")
@click.command()
@click.option("--jobs", type=click.IntRange(1, 64), help="Songs downloaded in parallel.")
@click.option("--retry-failed", is_flag=True,
              help="Retry earlier failures that may pass now (blocked, rate_limited, "
                   "network, js_runtime, error); unavailable, invalid_media and too_short "
                   "never are.")
@click.option("--cookies", type=click.Path(dir_okay=False, path_type=Path),
              help="Cookie file (Netscape format) handed to yt-dlp as its cookiefile.")
@click.option("--proxy", metavar="URL", help="Proxy for yt-dlp (http://, socks5://...).")
@click.option("--rate", type=click.FloatRange(0),
              help="Videos an hour across all workers together, jittered (0: unpaced); "
                   "YouTube tolerates about 300 an hour per session.")
@click.option("--sleep", type=click.FloatRange(0),
              help="A further pause of each worker before each download, in seconds.")
@click.option("--limit", type=click.IntRange(0), help="Download at most N songs this run.")
@click.option("--keep-original", is_flag=True,
              help="Keep each downloaded original in download/originals/.")
@click.option("--socket-timeout", type=click.FloatRange(0.1),
              help="Seconds without data before a connection counts as failed.")
@click.option("--retries", type=click.IntRange(0),
              help="yt-dlp's retries of an interrupted transfer.")
@click.option("--rate-limit-wait", type=click.FloatRange(0),
              help="First pause of all workers after an HTTP 429 (doubles each time).")
@ytdlp_options("")
@subset_options
@click.pass_obj
def download(app: App, jobs: int, retry_failed: bool, cookies: Path | None, proxy: str | None,
             rate: float, sleep: float, limit: int | None, keep_original: bool,
             socket_timeout: float, retries: int, rate_limit_wait: float,
             js_runtime: str | None, cookies_from_browser: str | None,
             extractor_args: tuple[str, ...], **subset: object) -> None:
    """Fetch matched videos' audio and cut it into exact 60 s FLAC segments."""
    from ..download.stage import run_download

    spec, no_subset = subset_spec(subset)
    app.run("download", run_download, workdir=app.workdir, jobs=jobs,
            subset=spec, no_subset=no_subset,
            retry_failed=retry_failed, cookies=cookies, proxy=proxy, rate=rate, sleep=sleep,
            limit=limit,
            keep_original=keep_original, socket_timeout=socket_timeout, retries=retries,
            rate_limit_wait=rate_limit_wait, js_runtime=js_runtime,
            cookies_from_browser=cookies_from_browser, extractor_args=extractor_args,
            progress=app.progress)
