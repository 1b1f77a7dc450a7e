"""``imac-build``: a thin click layer over the library; the only package that imports click.

Every command parses its options and calls one library function through
:meth:`App.run`. The command list follows the stage registry
(:data:`imac_builder.stages.STAGES`), then the commands that are not stages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .. import __version__, stages
from ..config import CONFIGS, load_config, stage_config
from ..errors import UserError
from ..guard import printable
from ..workdir import Workdir, read_state
from . import (
    demo,
    doctor,
    download,
    features,
    images,
    plan,
    release,
    review,
    search,
    status,
    tags,
    train,
)
from .app import App, ImacGroup, _set_flag

#: Commands that are not stages of the registry, in the order ``--help`` lists them.
EXTRA_COMMANDS = ("verify", "rebuild", "diff", "plan", "status", "review", "doctor", "demo")


@click.group(cls=ImacGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("imac-data"), show_default=True,
              help="Work directory every stage reads and writes.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Pipeline file (TOML); command-line options override it. The work "
                   "directory remembers it: later commands use it when --config is absent.")
@click.option("--no-config", is_flag=True,
              help="Ignore the pipeline file the work directory remembers (built-in "
                   "defaults) for this command.")
@click.option("-v", "--verbose", count=True, help="Log to stderr too (-vv: debug).")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary.")
@click.version_option(__version__, prog_name="imac-build")
@click.pass_context
def cli(ctx: click.Context, workdir: Path, config_path: Path | None, no_config: bool,
        verbose: int, quiet: bool, as_json: bool) -> None:
    """Build the IMAC dataset and train ACP-Net on it, stage by stage."""
    if config_path is not None and no_config:
        raise UserError("--config and --no-config exclude each other")
    remembered = False
    if config_path is None and not no_config:
        config_path, remembered = remembered_pipeline(workdir), True
    if config_path is not None:
        doc = load_config(config_path)
        check_config(doc, cli, config_path)
        ctx.default_map = doc
    ctx.obj = App(Workdir(workdir), verbose=verbose, quiet=quiet, json=as_json,
                  config_path=config_path, config_remembered=remembered)


def remembered_pipeline(workdir: Path) -> Path | None:
    """The pipeline file the work directory was built with (``workdir.json``), if any."""
    path = read_state(workdir).get("pipeline")
    if not isinstance(path, str) or not path:
        return None
    if not Path(path).is_file():
        what = "which is gone" if not Path(path).exists() else "which is no longer a file"
        raise UserError(f"work directory {workdir} was built with the pipeline file "
                        f"{printable(path)}, {what}: pass --config FILE (remembered from then "
                        "on) or --no-config")
    return Path(path)


def check_config(doc: dict[str, dict[str, Any]], group: click.Group, path: Path) -> None:
    """Refuse tables and keys that no command or option has (typos would pass silently)."""
    for section, values in doc.items():
        cmd = group.commands.get(section)
        if cmd is None:
            raise UserError(f"config file {path}: no command named [{section}]")
        names = {p.name for p in cmd.params}
        unknown = sorted(set(values) - names)
        if unknown:
            raise UserError(
                f"config file {path}: [{section}] has no option {', '.join(unknown)} "
                f"(known: {', '.join(sorted(names))})"
            )
        if section in CONFIGS:  # validated; a single value where a list goes is a list
            config = stage_config(section, values, path)
            values.update({k: getattr(config, k) for k in values if hasattr(config, k)})
        for p in cmd.params:
            if p.name in values and getattr(p, "multiple", False) and \
                    not isinstance(values[p.name], list | tuple):
                values[p.name] = [values[p.name]]


def _commands() -> dict[str, click.Command]:
    found: dict[str, click.Command] = {}
    for module in (tags, search, download, images, features, train, release, plan, status,
                   review, doctor, demo):
        for value in vars(module).values():
            if isinstance(value, click.Command):
                found[value.name or ""] = value
    return found


def _register() -> None:
    found = _commands()
    order = (*stages.ORDER, *EXTRA_COMMANDS)
    missing = [n for n in order if n not in found]
    if missing:
        raise RuntimeError(f"no command for {missing}")  # a registry entry without a command
    for name in (*order, *sorted(set(found) - set(order))):
        cmd = found[name]
        cmd.params += [
            click.Option(["-q", "--quiet"], is_flag=True, expose_value=False,
                         callback=_set_flag("quiet"), help="Print nothing but errors."),
            click.Option(["--json"], is_flag=True, expose_value=False,
                         callback=_set_flag("json"), help="Print a machine-readable summary."),
        ]
        cli.add_command(cmd)


_register()


def main() -> None:
    from ..stopping import install

    install()  # SIGTERM and SIGHUP stop a stage as Ctrl-C does (exit 143 and 129)
    cli(prog_name="imac-build")


__all__ = ["App", "cli", "main"]
