"""The ``split``, ``train`` and ``evaluate`` commands."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..train.paper import MODELS
from .app import configured

if TYPE_CHECKING:
    from ..config import EvaluateConfig, SplitConfig
    from .app import App

DEVICE = click.Choice(["auto", "cpu", "cuda"])
MODEL = click.Choice(list(MODELS))


RECIPE = click.Choice(["default", "paper"])  # trainer.RECIPES


@configured("split")
@click.command()
@click.option("--image-root", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Folder of the image files: also group near-duplicate "
                                 "images by perceptual hash (otherwise identical bytes only).")
@click.pass_obj
def split(app: App, image_root: Path | None, config: SplitConfig) -> None:
    """Split 70:10:20 (music by recording, images by content) and fix the evaluation
    pairs."""
    from ..train.split import run_split

    app.run("split", run_split, workdir=app.workdir, config=config, image_root=image_root,
            progress=app.progress)


@click.command()
@click.option("--model", type=MODEL, default="acp", show_default=True,
              help="ACP-Net, or a baseline of paper Table 4: Spectrogram-ACP (needs "
                   "features/spectrograms.h5) or L3-Net (spectrograms.h5 and pixels.h5).")
@click.option("--run", default=None, help="Name of the run (runs/<NAME>/; default: the model).")
@click.option("--device", type=DEVICE, default="auto", show_default=True,
              help="auto (a GPU when there is one), cpu or cuda.")
@click.option("--epochs", type=click.IntRange(1), default=50, show_default=True,
              help="Most epochs to train (early stopping may end sooner).")
@click.option("--patience", type=click.IntRange(1), default=10, show_default=True,
              help="Stop after this many epochs without a better validation accuracy.")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True,
              help="Seed of the weights' initialisation and of the batch order.")
@click.option("--batch-size", type=click.IntRange(1), default=None,
              help="Pairs per step (default: the recipe's, 32 or 256).")
@click.option("--recipe", type=RECIPE, default="default", show_default=True,
              help="'default' (learns at the paper's widths) or 'paper' (paper §4 "
                   "literally: lr 1e-4, dropout after every layer, torch's initialisation).")
@click.option("--lr", type=click.FloatRange(0, min_open=True), default=None,
              help="Learning rate (default: the recipe's, 1e-3 or 1e-4).")
@click.option("--dropout", type=click.FloatRange(0, 1, max_open=True), default=None,
              help="Dropout (default: the recipe's, 0.4).")
@click.option("--min-epochs", type=click.IntRange(0), default=None,
              help="No early stop before this epoch (default: the recipe's, 20 or 0).")
@click.option("--fresh", is_flag=True, help="Start over instead of resuming the run.")
@click.pass_obj
def train(app: App, model: str, run: str | None, device: str, epochs: int, patience: int,
          seed: int, batch_size: int | None, recipe: str, lr: float | None, dropout: float | None,
          min_epochs: int | None, fresh: bool) -> None:
    """Train ACP-Net (or a baseline) on the stores and the split."""
    from ..train.trainer import TrainConfig, run_train

    run = run or model
    cfg = TrainConfig.recipe_config(recipe, model=model, epochs=epochs, patience=patience,
                                    seed=seed, batch_size=batch_size, lr=lr,
                                    dropout=dropout, min_epochs=min_epochs)
    app.run("train", run_train, workdir=app.workdir, run=run, device=device, config=cfg,
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
