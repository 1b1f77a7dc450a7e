"""The ``imac-build download`` command (click only; the work is in :mod:`.stage`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from .app import configured, ytdlp_options
from .subset_options import subset_options, subset_spec

if TYPE_CHECKING:
    from ..config import DownloadConfig
    from .app import App


@configured("download")
@click.command()
@click.option("--retry-failed", is_flag=True,
              help="Retry earlier failures that may pass now (blocked, rate_limited, "
                   "network, js_runtime, error); unavailable, invalid_media and too_short "
                   "never are.")
@click.option("--cookies", type=click.Path(dir_okay=False, path_type=Path),
              help="Cookie file (Netscape format) handed to yt-dlp as its cookiefile.")
@click.option("--proxy", metavar="URL", help="Proxy for yt-dlp (http://, socks5://...).")
@click.option("--limit", type=click.IntRange(0), help="Download at most N songs this run.")
@ytdlp_options("")
@subset_options
@click.pass_obj
def download(app: App, retry_failed: bool, cookies: Path | None, proxy: str | None,
             limit: int | None, js_runtime: str | None, cookies_from_browser: str | None,
             extractor_args: tuple[str, ...], config: DownloadConfig,
             **subset: object) -> None:
    """Fetch matched videos' audio and cut it into exact 60 s FLAC segments."""
    from ..download.stage import run_download
    from ..ytdlp_access import YtdlpAccess

    spec, no_subset = subset_spec(subset)
    app.run("download", run_download, workdir=app.workdir, config=config,
            subset=spec, no_subset=no_subset, retry_failed=retry_failed, limit=limit,
            cookies=cookies, proxy=proxy,
            access=YtdlpAccess(js_runtime, cookies_from_browser, tuple(extractor_args)),
            progress=app.progress)
