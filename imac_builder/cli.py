"""``imac-build``: a thin click front end; every stage is a library function."""

from __future__ import annotations

import errno
import json
import logging
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from . import __version__
from .config import check_config, load_config
from .errors import UserError
from .workdir import Workdir

log = logging.getLogger("imac_builder")
#: Stages that need an existing work directory, and what to run before them; the others
#: (tags, images, demo, rebuild) may start a new one.
NEEDS = {"search": "tags stage", "download": "search stage",
         "features": "download stage", "split": "features stage",
         "train": "split stage", "evaluate": "train stage", "release": "stages",
         "verify": "rebuild (or the stages)"}


@dataclass
class App:
    """Options shared by every command (the click context object)."""

    workdir: Workdir
    verbose: int = 0
    quiet: bool = False
    json: bool = False

    @property
    def progress(self) -> bool:
        """Progress bars only for a person watching a terminal."""
        return not (self.quiet or self.json) and sys.stderr.isatty()

    def setup_logging(self) -> Path:
        """Log to ``W/logs/imac-build.log`` (and to stderr with -v)."""
        path = self.workdir.logs / "imac-build.log"
        root = logging.getLogger("imac_builder")
        root.setLevel(logging.DEBUG)
        for h in [h for h in root.handlers if getattr(h, "_imac", False)]:
            root.removeHandler(h)  # a previous command in this process (tests, notebooks)
            h.close()
        handlers: list[logging.Handler] = [logging.FileHandler(path, encoding="utf-8")]
        handlers[0].setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        if self.verbose:
            handlers.append(logging.StreamHandler(sys.stderr))
            handlers[1].setLevel(logging.DEBUG if self.verbose > 1 else logging.INFO)
        for h in handlers:
            h._imac = True  # type: ignore[attr-defined]
            root.addHandler(h)
        return path

    def run(self, stage: str, fn: Callable[..., Any], **kwargs: Any) -> Any:
        """Run one stage under the work-directory lock and print its summary."""
        if stage in NEEDS and not self.workdir.root.is_dir():
            raise UserError(f"work directory {self.workdir.root} does not exist: run the "
                            f"{NEEDS[stage]} first (or give the right --workdir)")
        self.setup_logging()
        log.info("%s started (imac-build %s)", stage, __version__)
        with self.workdir.lock(stage):
            summary = fn(**kwargs)
        if self.json:
            click.echo(json.dumps({"command": stage, **summary.to_dict()}, sort_keys=True))
        elif not self.quiet:
            for line in summary.lines():
                click.echo(line)
        return summary


def _json_error(argv: list[str], message: str, code: int) -> None:
    """With ``--json``, an error is also a JSON object on stdout, for programs."""
    if "--json" in argv:
        click.echo(json.dumps({"error": message, "exit_code": code}, sort_keys=True))


class ImacGroup(click.Group):
    """Turns user errors, Ctrl-C and full disks into one clear line and an exit code."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        """As click's, but a usage error is one line too (no usage block)."""
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        argv = list(args[0] if args and args[0] is not None else kwargs.get("args") or
                    sys.argv[1:])
        try:
            rv = super().main(*args, standalone_mode=False, **kwargs)
        except click.UsageError as e:
            where = e.ctx.command_path if e.ctx else "imac-build"
            _json_error(argv, e.format_message(), e.exit_code)
            click.echo(f"Error: {e.format_message()} (see '{where} --help')", err=True)
            sys.exit(e.exit_code)
        except click.ClickException as e:
            _json_error(argv, e.format_message(), e.exit_code)
            e.show()
            sys.exit(e.exit_code)
        except click.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)  # pipeline order, not alphabetical

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UserError as e:
            raise click.ClickException(str(e)) from None
        except KeyboardInterrupt:
            click.echo("interrupted: finished work is kept; run the same command again "
                       "to resume", err=True)
            ctx.exit(130)
        except OSError as e:
            if e.errno == errno.ENOSPC:
                raise click.ClickException(
                    f"disk full ({e.filename or 'work directory'}): free space and run the "
                    "same command again; finished work is kept") from None
            if isinstance(e, PermissionError | FileNotFoundError | IsADirectoryError):
                raise click.ClickException(str(e)) from None
            raise
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as e:
            if isinstance(e, ModuleNotFoundError):  # an optional dependency: name its extra
                from .extras import missing_dependency

                if (err := missing_dependency(e)) is not None:
                    raise click.ClickException(str(err)) from None
            app = ctx.obj
            if isinstance(app, App) and app.verbose:
                raise
            where = ""
            if isinstance(app, App):
                logging.getLogger("imac_builder").error("internal error\n%s",
                                                        traceback.format_exc())
                where = f"; traceback in {app.workdir.root / 'logs' / 'imac-build.log'}"
            raise click.ClickException(
                f"internal error ({type(e).__name__}: {e}){where}; please report it") from None


@click.group(cls=ImacGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("imac-data"), show_default=True,
              help="Work directory every stage reads and writes.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Pipeline file (TOML); command-line options override it.")
@click.option("-v", "--verbose", count=True, help="Log to stderr too (-vv: debug).")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary.")
@click.version_option(__version__, prog_name="imac-build")
@click.pass_context
def cli(ctx: click.Context, workdir: Path, config_path: Path | None, verbose: int,
        quiet: bool, as_json: bool) -> None:
    """Build the IMAC dataset and train ACP-Net on it, stage by stage."""
    if config_path is not None:
        doc = load_config(config_path)
        check_config(doc, cli, config_path)
        ctx.default_map = doc
    ctx.obj = App(Workdir(workdir), verbose=verbose, quiet=quiet, json=as_json)


@cli.command()
@click.option("--lastfm", "lastfm", multiple=True, required=True,
              type=click.Path(path_type=Path),
              help="lastfm_tags.db, a folder of track JSON files, or lastfm_*.zip (repeatable).")
@click.option("--metadata", type=click.Path(path_type=Path),
              help="track_metadata.db or unique_tracks.txt (omit for JSON input).")
@click.option("--exclusions", type=click.Path(path_type=Path),
              help="Exclusion list replacing the shipped default.")
@click.option("--min-tag-weight", type=click.FloatRange(0, 100), default=0, show_default=True,
              help="Ignore tag entries whose Last.fm weight is below this.")
@click.pass_obj
def tags(app: App, lastfm: tuple[Path, ...], metadata: Path | None, exclusions: Path | None,
         min_tag_weight: float) -> None:
    """Label MSD songs positive/neutral/negative from their Last.fm tags."""
    from .tags import run_tags

    app.run("tags", run_tags, workdir=app.workdir, lastfm=list(lastfm), metadata=metadata,
            exclusions=exclusions, min_tag_weight=min_tag_weight, progress=app.progress)


@cli.command()
@click.option("--small", is_flag=True, help="Fewer songs and images (a quicker check).")
@click.pass_obj
def demo(app: App, small: bool) -> None:
    """Run every stage end to end on the built-in sample (no network, no API key)."""
    from .demo import run_demo

    app.run("demo", run_demo, workdir=app.workdir, small=small, progress=app.progress)


@cli.command()
@click.pass_obj
def status(app: App) -> None:
    """Show each stage's state in the work directory and what to run next."""
    from .status import workdir_status

    if not app.workdir.root.is_dir():
        raise UserError(f"work directory {app.workdir.root} does not exist: nothing has run "
                        "there yet (start with 'imac-build demo' or the tags stage)")
    summary = workdir_status(app.workdir)
    if app.json:
        click.echo(json.dumps({"command": "status", **summary.to_dict()}, sort_keys=True))
    elif not app.quiet:
        click.echo("\n".join(summary.lines()))


#: Stage commands defined beside their stage (``<package>.command:<name>``), in pipeline
#: order. Each command module imports only click at module level.
STAGE_COMMANDS = (
    "imac_builder.search.command:search",
    "imac_builder.download.command:download",
    "imac_builder.images.command:images",
    "imac_builder.features.command:features",
    "imac_builder.train.command:split",
    "imac_builder.train.command:train",
    "imac_builder.train.command:evaluate",
    "imac_builder.release.command:release",
    "imac_builder.release.command:verify",
    "imac_builder.release.command:rebuild",
    "imac_builder.release.command:diff",
    "imac_builder.doctor_command:doctor",
)


def _register_stage_commands() -> None:
    import importlib
    import importlib.util

    for spec in STAGE_COMMANDS:
        module, name = spec.split(":")
        if importlib.util.find_spec(module.rsplit(".", 1)[0]) is None:
            continue  # the stage has not landed in this checkout yet
        if importlib.util.find_spec(module) is None:
            continue
        cli.add_command(getattr(importlib.import_module(module), name))


_register_stage_commands()


def _set_flag(name: str) -> Callable[[click.Context, click.Parameter, bool], None]:
    def callback(ctx: click.Context, param: click.Parameter, value: bool) -> None:
        if value and isinstance(ctx.obj, App):
            setattr(ctx.obj, name, True)

    return callback


def _add_output_options() -> None:
    """``--quiet`` and ``--json`` work after any command too (``imac-build tags --json``)."""
    for cmd in cli.commands.values():
        cmd.params += [
            click.Option(["-q", "--quiet"], is_flag=True, expose_value=False,
                         callback=_set_flag("quiet"), help="Print nothing but errors."),
            click.Option(["--json"], is_flag=True, expose_value=False,
                         callback=_set_flag("json"), help="Print a machine-readable summary."),
        ]


_add_output_options()


def main() -> None:
    cli(prog_name="imac-build")
