"""``imac-build review``: the click front end of :func:`imac_builder.review.write_review`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from .app import App


@click.command()
@click.option("--open", "open_page", is_flag=True,
              help="Open the page in the default browser.")
@click.option("--serve", "port", is_flag=False, flag_value=0, default=None,
              type=click.IntRange(0, 65535), metavar="[PORT]",
              help="Serve the page on 127.0.0.1 (PORT, or a free one) and save decisions "
                   "straight to search/overrides.csv; Ctrl-C stops.")
@click.option("--jobs", type=click.IntRange(min=0), default=0, show_default=True,
              help="Workers scoring candidates not in the page's cache (0: one per core).")
@click.pass_obj
def review(app: App, open_page: bool, port: int | None, jobs: int) -> None:
    """Write W/review/index.html: check every song's match in a browser and decide."""
    from ..errors import UserError

    if not app.workdir.root.is_dir():
        raise UserError(f"work directory {app.workdir.root} does not exist: run the tags "
                        "and search stages first (or give the right --workdir)")
    if port is None:
        from ..review import write_review

        summary = app.run("review", write_review, workdir=app.workdir, jobs=jobs)
        if open_page:
            _open(summary.page)
        return
    from ..review.server import ReviewServer

    server = app.run("review", ReviewServer, workdir=app.workdir, port=port, jobs=jobs)
    try:
        if open_page:
            _open(server.url)
        server.serve_forever()
    except KeyboardInterrupt:  # Ctrl-C, SIGTERM: every save is already on disk
        if not app.quiet:
            click.echo("stopped serving; saved decisions are in search/overrides.csv", err=True)
    finally:
        server.server_close()


def _open(target: str) -> None:
    import webbrowser
    from pathlib import Path

    url = target if target.startswith("http") else Path(target).resolve().as_uri()
    if not webbrowser.open(url):
        click.echo(f"no browser found to open {url}: open it by hand", err=True)
