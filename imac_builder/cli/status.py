"""``imac-build status``: each stage's state and what to run next."""

from __future__ import annotations

import json

import click

from ..errors import UserError
from .app import App


@click.command()
@click.option("--failures", is_flag=True,
              help="List every failed song, grouped by reason, with what to do.")
@click.pass_obj
def status(app: App, failures: bool) -> None:
    """Show each stage's state in the work directory and what to run next."""
    from ..status import workdir_status

    if not app.workdir.root.is_dir():
        raise UserError(f"work directory {app.workdir.root} does not exist: nothing has run "
                        "there yet (start with 'imac-build demo' or the tags stage)")
    from ..config import load_config

    path = app.config_path
    summary = workdir_status(app.workdir, pipeline=load_config(path) if path else None,
                             pipeline_path=None if app.config_remembered else path)
    if app.json:
        click.echo(json.dumps({"command": "status", **summary.to_dict()}, sort_keys=True))
    elif not app.quiet:
        from ..guard import printable

        click.echo("\n".join(printable(x) for x in summary.lines(failures=failures)))
