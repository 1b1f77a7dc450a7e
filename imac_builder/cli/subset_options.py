"""The subset options of ``search`` and ``download`` (:mod:`imac_builder.subset`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ..vocab import LABELS


def subset_options(fn: Callable[..., Any] | None = None, *, forget: bool = True) -> Any:
    """``--tracks``, ``--per-class``, ``--classes``, ``--seed``, ``--offset``,
    ``--no-subset``; the command takes them as ``**subset`` and calls
    :func:`subset_spec`."""
    options = [
        click.option("--tracks", type=click.Path(dir_okay=False,
                                                                  path_type=Path),
                     help="Only these songs: MSD track ids one a line, a CSV with a "
                          "track_id column, or the authors' Song Emotion Score File "
                          "(matched as tags --imac-scores matches it)."),
        click.option("--per-class", type=click.IntRange(1),
                     help="Only N songs of each label, drawn with --seed (balanced)."),
        click.option("--classes", multiple=True,
                     type=click.Choice(LABELS),
                     help="Only songs of these labels (repeatable)."),
        click.option("--seed", type=click.IntRange(0), default=0,
                     show_default=True, help="Seed of the --per-class draw."),
        click.option("--offset", type=click.IntRange(0), default=0,
                     show_default=True,
                     help="Leave out the first N songs of the subset (by track id); "
                          "--limit then caps this run."),
        click.option("--no-subset", "no_subset", is_flag=True,
                     help="Forget the subset the work directory recorded: every song."),
    ]
    if not forget:
        options.pop()

    def apply(f: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            f = option(f)
        return f

    return apply if fn is None else apply(fn)


def subset_spec(params: dict[str, Any]) -> Any:
    """The SubsetSpec of the options (taken from ``params``), and ``no_subset``."""
    from ..errors import UserError
    from ..subset import SubsetSpec

    spec = SubsetSpec(tracks=params.pop("tracks"),
                      per_class=params.pop("per_class"),
                      classes=tuple(params.pop("classes") or ()),
                      seed=params.pop("seed") or 0,
                      offset=params.pop("offset") or 0)
    no_subset = params.pop("no_subset", False)
    if no_subset and spec.given:
        raise UserError("--no-subset and the subset options exclude each other")
    return spec, no_subset


#: The subset options' parameter names.
SUBSET_PARAMS = ("tracks", "per_class", "classes", "seed", "offset", "no_subset")


def typed_subset_options() -> list[str]:
    """The subset options typed on this command line (not those a pipeline file or a
    default gives), as ``--per-class`` etc."""
    from click.core import ParameterSource

    ctx = click.get_current_context()
    return [f"--{name.replace('_', '-')}" for name in SUBSET_PARAMS
            if ctx.get_parameter_source(name) == ParameterSource.COMMANDLINE]

