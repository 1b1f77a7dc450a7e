"""The ``release``, ``verify``, ``rebuild`` and ``diff`` commands (click only)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..config import MAX_JOBS
from .app import Folder, configured, ytdlp_options

if TYPE_CHECKING:
    from ..config import RebuildConfig, ReleaseConfig
    from .app import App

_MANIFEST = click.Path(exists=True, file_okay=False, path_type=Path)
_WORKDIR = click.option("--workdir", "workdir", type=click.Path(file_okay=False, path_type=Path),
                        help="Work directory (same as the global --workdir; either place).")


def _at(app: App, workdir: Path | None) -> App:
    """The app for a work directory given after the command (``rebuild M --workdir W``)."""
    import dataclasses

    from ..workdir import Workdir

    return app if workdir is None else dataclasses.replace(app, workdir=Workdir(workdir))


def _pipeline() -> dict | None:
    """The pipeline file's tables: the global ``--config``, or the one the work directory
    remembers."""
    from ..config import load_config
    from .app import App

    app = click.get_current_context().find_object(App)
    path = app.config_path if app is not None else None
    return load_config(path) if path else None


@configured("release")
@click.command()
@click.option("--version", "version", metavar="X.Y.Z",
              help="Release version (default: the smallest bump the changes allow).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Folder of releases (default: ./manifests).")
@click.option("--format", "format_", type=click.Choice(["manifest", "hf"]),
              default="manifest", show_default=True,
              help="hf: also a Hugging Face datasets folder (Parquet tables and features, "
                   "a dataset card) in the release's hf/.")
@click.option("--csv-safe", is_flag=True,
              help="Also write spreadsheet/, a copy of the tables whose cells that start "
                   "like a formula (=, +, -, @) are quoted for spreadsheets (the data are "
                   "never altered).")
@click.pass_obj
def release(app: App, version: str | None, out: Path | None, format_: str, csv_safe: bool,
            config: ReleaseConfig) -> None:
    """Write a versioned manifest (and croissant.json) of the work directory."""
    from ..release.stage import run_release

    app.run("release", run_release, workdir=app.workdir, config=config, version=version,
            out=out, pipeline=_pipeline(), csv_safe=csv_safe, format=format_,
            progress=app.progress)


@click.command()
@click.argument("manifest", type=_MANIFEST)
@click.option("--allow-missing", is_flag=True,
              help="Pass although items are missing (videos that have vanished).")
@click.option("--image-root", type=Folder(),
              help="Folder of the images (default: WORKDIR/images/files if present).")
@click.option("--jobs", type=click.IntRange(1, MAX_JOBS), help="Items checked in parallel.")
@_WORKDIR
@click.pass_obj
def verify(app: App, manifest: Path, allow_missing: bool, image_root: Path | None,
           jobs: int | None, workdir: Path | None) -> None:
    """Compare the work directory with MANIFEST: missing and invalid items, per item."""
    from ..release.verify import run_verify

    app = _at(app, workdir)
    image_root = app.image_root(image_root, remember=False)
    summary = app.run("verify", run_verify, workdir=app.workdir, manifest=manifest,
                      allow_missing=allow_missing, image_root=image_root, jobs=jobs,
                      progress=app.progress)
    if summary.failed:
        raise click.ClickException(summary.failure())


@configured("rebuild")
@click.command()
@click.argument("manifest", type=_MANIFEST)
@click.option("--allow-missing", is_flag=True,
              help="Pass although some videos could not be fetched again.")
@click.option("--image-root", type=Folder(),
              help="Folder of the images to verify too.")
@click.option("--cookies", type=click.Path(dir_okay=False, path_type=Path),
              help="Cookie file (Netscape format) for yt-dlp.")
@click.option("--proxy", metavar="URL", help="Proxy for yt-dlp.")
@ytdlp_options("")
@_WORKDIR
@click.pass_obj
def rebuild(app: App, manifest: Path, allow_missing: bool, image_root: Path | None,
            cookies: Path | None, proxy: str | None, js_runtime: str | None,
            cookies_from_browser: str | None, extractor_args: tuple[str, ...],
            workdir: Path | None, config: RebuildConfig) -> None:
    """Rebuild the audio of MANIFEST by video id (no search, no quota), then verify."""
    from ..release.rebuild import refuse_workdir_in_release, run_rebuild
    from ..ytdlp_access import YtdlpAccess

    app = _at(app, workdir)
    refuse_workdir_in_release(app.workdir.root, manifest)  # before the log is opened there
    summary = app.run("rebuild", run_rebuild, workdir=app.workdir, manifest=manifest,
                      config=config, allow_missing=allow_missing, image_root=image_root,
                      cookies=cookies, proxy=proxy or None,
                      access=YtdlpAccess(js_runtime, cookies_from_browser,
                                         tuple(extractor_args)),
                      progress=app.progress)
    if summary.failed:
        raise click.ClickException(summary.failure())


@click.command()
@click.argument("a", type=_MANIFEST)
@click.argument("b", type=_MANIFEST)
@click.pass_obj
def diff(app: App, a: Path, b: Path) -> None:
    """What changed from release A to release B (added, removed, relabelled, moved)."""
    from ..guard import printable
    from ..release.diff import run_diff

    result = run_diff(a, b)  # reads two folders only: no work directory, no lock
    if app.json:
        click.echo(json.dumps({"command": "diff", **result.to_dict()}, sort_keys=True))
    elif not app.quiet:
        for line in result.lines():
            click.echo(printable(line))
