"""The ``imac-build doctor`` command (click only; the checks are in :mod:`.doctor`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..doctor import DEVICES, STAGES  # the library module imports only the standard library here

if TYPE_CHECKING:
    from .app import App


@click.command()
@click.option("--for", "stages", multiple=True, type=click.Choice(STAGES),
              help="Exit non-zero if something this stage needs is missing (repeatable).")
@click.option("--cookies", type=click.Path(dir_okay=False, path_type=Path),
              help="Cookie file to check (youtube.com cookies are counted, never shown).")
@click.option("--api-key-file", type=click.Path(dir_okay=False, path_type=Path),
              help="File holding the API key (default: $YOUTUBE_API_KEY; never shown).")
@click.option("--js-runtime", metavar="NAME[:PATH]",
              help="The JavaScript runtime download would use (default: the deno package's).")
@click.option("--device", type=click.Choice(DEVICES), default="cpu", show_default=True,
              help="Where features and train will compute: with cuda, a visible GPU, a "
                   "CUDA build of torch and a torchvision with nvJPEG are needs too.")
@click.pass_context
def doctor(ctx: click.Context, stages: tuple[str, ...], cookies: Path | None,
           api_key_file: Path | None, js_runtime: str | None, device: str) -> None:
    """Check this machine offline: Python, ffmpeg, yt-dlp and its JS runtime, keys, disk,
    torch and the Inception weights."""
    from ..doctor import run_doctor

    app: App = ctx.obj
    backend = None
    if app.config_path is not None:  # the pipeline file's search backend, if it names one
        from ..config import load_config

        backend = load_config(app.config_path).get("search", {}).get("backend")
    report = run_doctor(app.workdir.root, stages, cookies=cookies, api_key_file=api_key_file,
                        js_runtime=js_runtime, device=device, search_backend=backend)
    if app.json:
        click.echo(json.dumps({"command": "doctor", **report.to_dict()}, sort_keys=True))
    elif not app.quiet:
        from ..guard import printable

        click.echo("\n".join(printable(x) for x in report.lines()))
    if not report.ok:
        ctx.exit(1)
