"""The ``split``, ``train`` and ``evaluate`` commands."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from ..train.recipes import RECIPE_FIELDS, RECIPES
from ..train.registry import MODELS
from .app import configured

if TYPE_CHECKING:
    from .app import App

DEVICE = click.Choice(["auto", "cpu", "cuda"])
MODEL = click.Choice(list(MODELS))


PROTOCOL = click.Choice(["balanced", "paper"])  # split.PROTOCOLS (torch-free import)
RECIPE = click.Choice(list(RECIPES))


@configured("split")
@click.command()
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), help="Seed of the split and pairs.")
@click.option("--protocol", type=PROTOCOL,
              help="Pairs: 'balanced' (every single-modality rule scores 50%) or 'paper' "
                   "(one true and one uniformly drawn false partner per image).")
@click.option("--image-root", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Folder of the image files, for grouping near-duplicate "
                                 "images by perceptual hash (default: the folder the work "
                                 "directory remembers, or images/files).")
@click.option("--phash-distance", type=click.IntRange(0, 64),
              help="Images whose 64-bit pHashes differ in at most this many bits are one "
                   "group.")
@click.option("--artist-groups/--no-artist-groups", default=None,
              help="Keep every song of an artist in one split.")
@click.pass_obj
def split(app: App, seed: int, protocol: str, image_root: Path | None,
          phash_distance: int, artist_groups: bool) -> None:
    """Split 70:10:20 (music by recording and artist, images by content) and fix the
    evaluation pairs."""
    from ..train.split import run_split

    app.run("split", run_split, workdir=app.workdir, seed=seed, protocol=protocol,
            image_root=app.image_root(image_root), phash_distance=phash_distance,
            artist_groups=artist_groups, progress=app.progress)


class IntList(click.ParamType):
    """'1024,1024' -> (1024, 1024); a list or tuple (pipeline file, default) passes."""

    name = "N,N,..."

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> tuple[int, ...]:
        if isinstance(value, tuple | list):
            return tuple(int(v) for v in value)
        try:
            return tuple(int(v) for v in str(value).split(",") if v.strip())
        except ValueError:
            self.fail(f"{value!r}: give whole numbers separated by commas", param, ctx)


def _widths(name: str, what: str) -> Callable[[Any], Any]:
    return click.option(f"--{name}", type=IntList(), help=what)


@configured("train")
@click.command()
@click.option("--model", type=MODEL,
              help="ACP-Net, or a baseline of paper Table 4: Spectrogram-ACP (needs "
                   "features/spectrograms.h5) or L3-Net (spectrograms.h5 and pixels.h5).")
@click.option("--run", default=None, help="Name of the run (runs/<NAME>/; default: the model).")
@click.option("--device", type=DEVICE, default="auto", show_default=True,
              help="auto (a GPU when there is one), cpu or cuda.")
@click.option("--epochs", type=click.IntRange(1),
              help="Most epochs to train (early stopping may end sooner).")
@click.option("--patience", type=click.IntRange(1),
              help="Stop after this many epochs without a better validation accuracy.")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1),
              help="Seed of the weights' initialisation and of the training pairs.")
@click.option("--seeds", type=click.IntRange(1, 20), default=1, show_default=True,
              help="Train this many seeds (--seed, --seed+1, ...) as runs NAME-s<seed>: "
                   "evaluate's Table 4 shows their mean and spread.")
@click.option("--recipe", type=RECIPE,
              help="A named preset of the recipe options: 'default' (label-free; learns at "
                   "the paper's widths), 'paper' (paper §4 literally), 'class-heads' "
                   "(ACP-Net + class heads: uses class labels), 'l3' (L3-Net's). Default: "
                   "the model's own. Options given explicitly override it.")
@click.option("--batch-size", type=click.IntRange(1), help="Pairs per step (recipe).")
@click.option("--lr", type=click.FloatRange(0, min_open=True), help="Learning rate (recipe).")
@click.option("--dropout", type=click.FloatRange(0, 1, max_open=True), help="Dropout (recipe).")
@click.option("--subnet-dropout/--no-subnet-dropout", default=None,
              help="Dropout in the subnets too (recipe).")
@click.option("--norm", type=click.Choice(["batch", "none"]),
              help="Batch normalisation after every hidden layer (recipe).")
@click.option("--init", type=click.Choice(["torch", "kaiming"]), help="Initialisation (recipe).")
@click.option("--min-epochs", type=click.IntRange(0),
              help="No early stop before this epoch (recipe).")
@click.option("--pairs-per-image", type=click.IntRange(2),
              help="Training pairs per image and epoch (recipe).")
@click.option("--class-head-weight", type=click.FloatRange(0),
              help="Weight of the per-modality class-label losses (recipe; > 0 makes the run "
                   "'ACP-Net + class heads').")
@_widths("image-widths", "ACP-Net image subnet widths.")
@_widths("music-widths", "ACP-Net music subnet widths.")
@_widths("fusion-widths", "ACP-Net fusion widths (before the 2 outputs).")
@click.option("--spec-blocks", type=click.IntRange(1), help="Spectrogram-ACP: 1 s blocks.")
@_widths("l3-channels", "L3-Net: channels of the four conv blocks.")
@click.option("--l3-fusion", type=click.IntRange(1), help="L3-Net: fusion hidden width.")
@click.option("--crop-frames", type=click.IntRange(1), help="L3-Net: frames per crop.")
@click.option("--test-crops", type=click.IntRange(1), help="L3-Net: crops per segment.")
@click.option("--fresh", is_flag=True, help="Start over instead of resuming the run.")
@click.pass_context
def train(ctx: click.Context, run: str | None, device: str, seeds: int, fresh: bool,
          **values: Any) -> None:
    """Train ACP-Net (or a baseline) on the stores and the split."""
    from ..config import TrainConfig
    from ..train.trainer import run_train

    app: App = ctx.obj
    recipe_fields = set(RECIPE_FIELDS)
    given = {k: v for k, v in values.items() if v is not None and (
        k not in recipe_fields and k != "recipe"
        or ctx.get_parameter_source(k) != ParameterSource.DEFAULT)}
    recipe = given.pop("recipe", None)
    cfg = TrainConfig.recipe_config(recipe, **given)
    ctx.params.update(cfg.to_dict())  # what workdir.json records
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
@click.option("--device", type=DEVICE, help="auto (a GPU when there is one), cpu or cuda.")
@click.option("--retrieval-images", type=click.IntRange(0),
              help="Test images used as retrieval queries (default: all on a GPU, 300 on "
                   "the CPU; 0 skips retrieval).")
@click.option("--no-probes", is_flag=True, help="Skip the Table 5 embedding probes.")
@click.pass_obj
def evaluate(app: App, run: str, device: str, retrieval_images: int | None,
             no_probes: bool) -> None:
    """Evaluate a run: Tables 4 (every trained run) and 5 beside the paper, cells, ROC-AUC,
    retrieval."""
    from ..train.evaluate import run_evaluate

    app.run("evaluate", run_evaluate, workdir=app.workdir, run=run, device=device,
            retrieval_images=retrieval_images, probes=not no_probes, progress=app.progress)
