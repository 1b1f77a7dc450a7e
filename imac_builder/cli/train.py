"""The ``split``, ``train`` and ``evaluate`` commands."""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path
from typing import TYPE_CHECKING

import click
from click.core import ParameterSource

from ..train.recipes import RECIPE_FIELDS
from .app import CONFIG_KEY, Folder, configured

if TYPE_CHECKING:
    from ..config import EvaluateConfig, SplitConfig, TrainConfig
    from .app import App

DEVICE = click.Choice(["auto", "cpu", "cuda"])


@configured("split")
@click.command()
@click.option("--image-root", type=Folder(),
              default=None, help="Folder of the image files, for grouping near-duplicate "
                                 "images by perceptual hash (default: the folder the work "
                                 "directory remembers, or images/files).")
@click.pass_obj
def split(app: App, image_root: Path | None, config: SplitConfig) -> None:
    """Split 70:10:20 (music by recording and artist, images by content) and fix the
    evaluation pairs."""
    from ..train.split import run_split

    app.run("split", run_split, workdir=app.workdir, config=config,
            image_root=app.image_root(image_root), progress=app.progress)


@configured("train")
@click.command()
@click.option("--run", default=None, help="Name of the run (runs/<NAME>/; default: the model).")
@click.option("--device", type=DEVICE, default="auto", show_default=True,
              help="auto (a GPU when there is one), cpu or cuda.")
@click.option("--seeds", type=click.IntRange(1, 20), default=1, show_default=True,
              help="Train this many seeds (--seed, --seed+1, ...) as runs NAME-s<seed>: "
                   "evaluate's Table 4 shows their mean and spread.")
@click.option("--fresh", is_flag=True, help="Start over instead of resuming the run.")
@click.pass_context
def train(ctx: click.Context, run: str | None, device: str, seeds: int, fresh: bool,
          config: TrainConfig) -> None:
    """Train ACP-Net (or a baseline) on the stores and the split."""
    from ..config import TrainConfig
    from ..train.trainer import run_train

    app: App = ctx.obj
    # A recipe fills the recipe settings given neither on the command line nor in the
    # pipeline file; every other setting is the run's own.
    given = {f.name: getattr(config, f.name) for f in fields(config)
             if f.name not in RECIPE_FIELDS and f.name != "recipe"
             or ctx.get_parameter_source(f.name) != ParameterSource.DEFAULT}
    recipe = given.pop("recipe", None)
    cfg = TrainConfig.recipe_config(recipe, **given)
    ctx.meta[CONFIG_KEY] = cfg  # what workdir.json records
    base = run or cfg.model
    for k in range(seeds):
        one = replace(cfg, seed=cfg.seed + k)
        name = base if seeds == 1 else f"{base}-s{one.seed}"
        app.run("train", run_train, workdir=app.workdir, run=name, device=device, config=one,
                fresh=fresh, progress=app.progress)


@configured("evaluate")
@click.command()
@click.option("--run", default="acp", show_default=True,
              help="Name of the trained run to evaluate (runs/<NAME>/).")
@click.option("--no-probes", is_flag=True, help="Skip the Table 5 embedding probes.")
@click.pass_obj
def evaluate(app: App, run: str, no_probes: bool, config: EvaluateConfig) -> None:
    """Evaluate a run: Tables 4 (every trained run) and 5 beside the paper, cells, ROC-AUC,
    retrieval."""
    from ..train.evaluate import run_evaluate

    app.run("evaluate", run_evaluate, workdir=app.workdir, config=config, run=run,
            probes=not no_probes, progress=app.progress)
