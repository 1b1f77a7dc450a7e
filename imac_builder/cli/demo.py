"""``imac-build demo``: every stage on the built-in sample."""

from __future__ import annotations

import click

from .app import App


@click.command()
@click.option("--small", is_flag=True, help="Fewer songs and images (a quicker check).")
@click.option("--force", is_flag=True,
              help="Run even in a work directory that holds another build (overwrites it).")
@click.pass_obj
def demo(app: App, small: bool, force: bool) -> None:
    """Run every stage end to end on the built-in sample (no network, no API key)."""
    from ..demo import run_demo

    app.run("demo", run_demo, workdir=app.workdir, small=small, progress=app.progress,
            force=force)
